package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRun feeds arbitrary bytes to the whole program as a capture on stdin
// (`finwave --json --all -`): readers, decoder, flow table, analyzer and
// JSON renderer together. Contract: no panic, exit 0 or 2, stdout empty
// (nothing readable) or exactly one valid JSON document, and an exit 2
// explained by one stderr line naming <stdin>.
func FuzzRun(f *testing.F) {
	paths, _ := filepath.Glob("../../fixtures/*.pcap*")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && len(b) <= 4096 {
			f.Add(b)
		}
	}
	f.Add(pcapBytes(f, fourWayWithFINRetransmission))
	f.Fuzz(func(t *testing.T, in []byte) {
		var o, e bytes.Buffer
		code := run(context.Background(), []string{"--json", "--all", "-"}, bytes.NewReader(in), &o, &e)
		switch code {
		case exitOK:
			if e.Len() != 0 {
				t.Fatalf("exit 0 with stderr %q", e.String())
			}
		case exitUsage:
			if strings.Count(e.String(), "\n") != 1 || !strings.Contains(e.String(), "capture <stdin>: ") {
				t.Fatalf("exit 2 with stderr %q: want one line naming <stdin>", e.String())
			}
		default:
			t.Fatalf("exit %d", code)
		}
		if o.Len() == 0 {
			if code == exitOK {
				t.Fatal("exit 0 without a report")
			}
			return
		}
		var doc map[string]any
		if err := json.Unmarshal(o.Bytes(), &doc); err != nil {
			t.Fatalf("not one valid JSON document: %v\n%.500s", err, o.String())
		}
	})
}
