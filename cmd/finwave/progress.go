package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"finwave/pipeline"
)

// progressLine draws one self-overwriting status line on a terminal's
// stderr while a capture is read: bytes, packets per second and, when the
// file size is known and the file is not compressed, the time left.
type progressLine struct {
	w     io.Writer
	name  string
	size  int64 // bytes of the file; 0 when unknown (stdin, pipes, gzip)
	drawn bool
	// cols is the terminal's width: the line never reaches it, or it
	// would wrap and leave stale lines behind every redraw.
	cols int
}

// showAfter keeps small files silent: no line before this much wall time.
const showAfter = time.Second

func newProgressLine(w io.Writer, path string, cols int) *progressLine {
	p := &progressLine{w: w, name: displayName(path), cols: cols}
	if path != "-" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && !isGzip(path) {
			p.size = fi.Size()
		}
	}
	return p
}

func isGzip(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [2]byte
	n, _ := io.ReadFull(f, b[:])
	return n == 2 && b[0] == 0x1f && b[1] == 0x8b
}

// pcapRecordHeader approximates per-frame overhead in the file when the
// source cannot tell its offset (pcap: 16 bytes; pcapng EPB: 32).
const pcapRecordHeader = 16

func (p *progressLine) update(pr pipeline.Progress) {
	if pr.Elapsed < showAfter {
		return
	}
	st := pr.Stats
	off := pr.Offset
	if off < 0 {
		off = st.Bytes + pcapRecordHeader*st.Frames
	}
	secs := pr.Elapsed.Seconds()
	head := fmt.Sprintf(": %s", humanBytes(off))
	if p.size > 0 {
		frac := float64(off) / float64(p.size)
		if frac > 0.99 {
			frac = 0.99
		}
		head += fmt.Sprintf(" of %s (%d%%)", humanBytes(p.size), int(frac*100))
		if frac > 0 {
			left := time.Duration(secs * (1 - frac) / frac * float64(time.Second))
			head += fmt.Sprintf(", %s left", left.Round(time.Second))
		}
	}
	packets := fmt.Sprintf(", %d packets", st.Frames)
	rate := fmt.Sprintf(", %.0f packets/s", float64(st.Frames)/secs)
	// The whole line if it fits; else the file's base name, then without
	// the packet count; then cut (fitWidth).
	name, line := p.name, head+packets+rate
	for _, try := range [][2]string{{p.name, head + packets + rate}, {filepath.Base(p.name), head + packets + rate}, {filepath.Base(p.name), head + rate}} {
		name, line = try[0], try[1]
		if utf8.RuneCountInString(name)+utf8.RuneCountInString(line) < p.cols {
			break
		}
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", fitWidth(name, line, p.cols))
	p.drawn = true
}

// clear erases the line so the report or errors start on a clean line.
func (p *progressLine) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
