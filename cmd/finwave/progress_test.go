package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"finwave/analyzer"
	"finwave/pipeline"
)

func TestProgressLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.pcap")
	if err := os.WriteFile(path, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	p := newProgressLine(&w, path, 200)
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
	p = newProgressLine(&w, "-", 200)
	p.update(pipeline.Progress{Stats: st, Offset: 3 << 20, Elapsed: 2 * time.Second})
	if got := w.String(); !strings.Contains(got, "<stdin>: 3.0 MiB, 1000 packets") || strings.Contains(got, "left") {
		t.Errorf("stdin line %q", got)
	}
}

// TestProgressLineFitsTheTerminal: at 80 columns (and narrower) the line
// never reaches the last column, whatever the file's name: a line that
// wraps leaves a stale line behind at every redraw.
func TestProgressLineFitsTheTerminal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("incident-2026-12-05-", 4))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "edge-07.pcap")
	if err := os.WriteFile(path, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	st := &pipeline.Stats{Frames: 123456789, Bytes: 1<<20 - 16000}
	for _, cols := range []int{80, 60, 40, 20} {
		var w bytes.Buffer
		p := newProgressLine(&w, path, cols)
		p.update(pipeline.Progress{Stats: st, Offset: -1, Elapsed: 2 * time.Second})
		line := strings.TrimPrefix(w.String(), "\r\x1b[K")
		if n := len([]rune(line)); n >= cols || n == 0 {
			t.Errorf("%d columns: a line of %d: %q", cols, n, line)
		}
		if cols >= 80 && (!strings.Contains(line, "edge-07.pcap") || !strings.Contains(line, "packets/s")) {
			t.Errorf("%d columns: the file's name or the rate is gone: %q", cols, line)
		}
	}
}

func TestTermWidthFromColumns(t *testing.T) {
	e := &env{getenv: func(k string) (string, bool) {
		if k == "COLUMNS" {
			return "72", true
		}
		return "", false
	}}
	if n := termWidth(e, &bytes.Buffer{}); n != 72 {
		t.Errorf("COLUMNS=72: width %d", n)
	}
	e.getenv = func(string) (string, bool) { return "", false }
	if n := termWidth(e, &bytes.Buffer{}); n != 80 {
		t.Errorf("no terminal, no COLUMNS: width %d, want 80", n)
	}
}

// TestLiveStatus: on a terminal the status is one line redrawn in place,
// shorter than the terminal, and cleared (so a flow's report starts on a
// clean line); into a file (--status always) plain lines, no escapes.
func TestLiveStatus(t *testing.T) {
	st := &pipeline.Stats{Frames: 123456}
	as := analyzer.Stats{Open: 4321, Evicted: 7}
	var tty bytes.Buffer
	s := &liveStatus{w: &tty, iface: "enp0s31f6-very-long-name", tty: true, cols: 60}
	s.write(st, as, 99, "0")
	line := strings.TrimPrefix(tty.String(), "\r\x1b[K")
	if !strings.HasPrefix(tty.String(), "\r\x1b[K") || len([]rune(line)) >= 60 || strings.Contains(line, "\n") {
		t.Errorf("terminal status %q", tty.String())
	}
	tty.Reset()
	s.clear()
	if tty.String() != "\r\x1b[K" {
		t.Errorf("clear wrote %q, want the erase", tty.String())
	}
	tty.Reset()
	s.clear()
	if tty.Len() != 0 {
		t.Errorf("second clear wrote %q", tty.String())
	}

	var file bytes.Buffer
	s = &liveStatus{w: &file, iface: "eth0", cols: 80}
	s.write(st, as, 99, "0")
	s.clear()
	if got := file.String(); strings.ContainsAny(got, "\r\x1b") || !strings.HasSuffix(got, "kernel drops, 7 evicted\n") {
		t.Errorf("status into a file %q", got)
	}
}
