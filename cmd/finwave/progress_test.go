package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"finwave/pipeline"
)

func TestProgressLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.pcap")
	if err := os.WriteFile(path, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	p := newProgressLine(&w, path)
	st := &pipeline.Stats{Frames: 1000, Bytes: 1<<20 - 16000}
	p.update(pipeline.Progress{Stats: st, Offset: -1, Elapsed: 500 * time.Millisecond})
	if w.Len() != 0 {
		t.Errorf("drawn before %v: %q", showAfter, w.String())
	}
	p.update(pipeline.Progress{Stats: st, Offset: -1, Elapsed: 2 * time.Second})
	// 1 MiB of 4 MiB read in 2 s: 25%, 6 s left, 500 packets/s.
	want := "\r\x1b[K" + path + ": 1.0 MiB of 4.0 MiB (25%), 6s left, 1000 packets, 500 packets/s"
	if w.String() != want {
		t.Errorf("line %q\nwant %q", w.String(), want)
	}
	w.Reset()
	p.clear()
	if w.String() != "\r\x1b[K" {
		t.Errorf("clear wrote %q", w.String())
	}

	// stdin: no size, no time left.
	w.Reset()
	p = newProgressLine(&w, "-")
	p.update(pipeline.Progress{Stats: st, Offset: 3 << 20, Elapsed: 2 * time.Second})
	if got := w.String(); !strings.Contains(got, "<stdin>: 3.0 MiB, 1000 packets") || strings.Contains(got, "left") {
		t.Errorf("stdin line %q", got)
	}
}
