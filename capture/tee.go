package capture

import (
	"bufio"
	"fmt"
	"os"

	"github.com/gopacket/gopacket/layers"
)

// Tee is a Source that hands on the frames of another Source and writes
// each to a pcap file (PcapWriter) before returning it: `finwave live -w`.
//
// Invariant: after a Close that returns nil, the file holds every frame
// Next returned, in order, so reading it back gives the same frames with
// the same numbers. When writing fails, nothing more is written (the file
// may end inside a record), the frames keep coming (the analysis does not
// stop for its copy), and Close reports the first error.
type Tee struct {
	src    Source
	f      *os.File
	bw     *bufio.Writer
	pw     *PcapWriter
	werr   error // first failure to write or close the file
	closed bool
}

// CreateTee creates (or truncates) the file path, writes a pcap file header
// with linkType and snaplen, and returns a Tee over src writing to it.
func CreateTee(src Source, path string, linkType layers.LinkType, snaplen uint32) (*Tee, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", path, err)
	}
	t := &Tee{src: src, f: f, bw: bufio.NewWriterSize(f, 64<<10)}
	if t.pw, err = NewPcapWriter(t.bw, path, linkType, snaplen); err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

// Next implements Source: src's next frame, or its error, after the frame
// was written to the file.
func (t *Tee) Next(f *Frame) error {
	if err := t.src.Next(f); err != nil {
		return err
	}
	if t.werr == nil && !t.closed {
		t.werr = t.pw.WriteFrame(f)
	}
	return nil
}

// Frames returns the number of frames written to the file.
func (t *Tee) Frames() int64 { return t.pw.Frames() }

// Close flushes and closes the file and returns the first error writing it
// met, if any; frames handed on after Close are not written. It does not
// close src, which its owner closes (as Close of a Source from NewReader
// leaves the reader open). Calling Close again returns the same error.
func (t *Tee) Close() error {
	if t.closed {
		return t.werr
	}
	t.closed = true
	err := t.werr
	if ferr := t.bw.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("capture %s: write: %w", t.f.Name(), ferr)
	}
	if cerr := t.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("capture %s: close: %w", t.f.Name(), cerr)
	}
	t.werr = err
	return err
}
