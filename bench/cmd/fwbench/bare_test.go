package main

import (
	"bytes"
	"testing"

	"finwave/internal/synth"
)

// TestBareLoop: the bare loop decodes every frame of a synthetic capture
// and counts one map entry per direction of each connection.
func TestBareLoop(t *testing.T) {
	var buf bytes.Buffer
	st, err := synth.Write(&buf, synth.Config{Conns: 120, Concurrency: 10})
	if err != nil {
		t.Fatal(err)
	}
	pkts, flows, err := bareLoop(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if pkts != st.Frames || flows != 2*120 {
		t.Errorf("bare loop: %d packets, %d directions; want %d and %d", pkts, flows, st.Frames, 2*120)
	}
}

// TestRunUsage: unknown and missing commands fail with distinct statuses.
func TestRunUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"nonsense"}, &out, &errb); code != 1 {
		t.Errorf("unknown command: exit %d, want 1", code)
	}
	if code := run(nil, &out, &errb); code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
}
