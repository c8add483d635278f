package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/gopacket/gopacket/layers"
)

// PcapWriter writes frames as a pcap file (pcap-savefile(5)): version 2.4,
// little endian, nanosecond timestamps (magic a1 b2 3c 4d, written
// 4d 3c b2 a1), one link type for the whole file; the bytes gopacket's
// pcapgo.NewWriterNanos writes. Reading the file back with NewReader gives
// the written frames, numbered 1, 2, ... in the order written.
//
// A frame pcap cannot hold is refused, never written wrong: a timestamp
// before 1970 or past 2106 (ts_sec is 32 bits, unsigned), more than
// MaxFrameLen captured bytes (no reader would take it back), or more bytes
// captured than were on the wire. The zero Time (pcapng Simple Packet
// Blocks carry none) is written as 0, 1970-01-01.
//
// A refused frame is not written and the writer stays usable. A failed
// write is sticky: the output may end inside a record, and every later
// WriteFrame returns the same error.
type PcapWriter struct {
	w    io.Writer
	name string
	hdr  [pcapRecordHeaderLen]byte
	n    int64 // frames written
	err  error
}

// NewPcapWriter writes the file header to w and returns a writer of frames
// with the given link type. snaplen goes in the header, informative only
// (as Reader treats it); name is for errors.
func NewPcapWriter(w io.Writer, name string, linkType layers.LinkType, snaplen uint32) (*PcapWriter, error) {
	var h [pcapFileHeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], magicPcapNano)
	binary.LittleEndian.PutUint16(h[4:], 2) // version 2.4
	binary.LittleEndian.PutUint16(h[6:], 4)
	// h[8:16]: thiszone and sigfigs, 0 (timestamps are UTC).
	binary.LittleEndian.PutUint32(h[16:], snaplen)
	binary.LittleEndian.PutUint32(h[20:], uint32(linkType))
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("capture %s: write file header: %w", name, err)
	}
	return &PcapWriter{w: w, name: name}, nil
}

// maxPcapSec is the last second a pcap record can hold.
const maxPcapSec = 1<<32 - 1

// WriteFrame appends f as one record. f.Number and f.LinkType are not
// written: the file numbers its records itself and has one link type.
func (w *PcapWriter) WriteFrame(f *Frame) error {
	if w.err != nil {
		return w.err
	}
	var sec, nsec int64
	if !f.Time.IsZero() {
		sec, nsec = f.Time.Unix(), int64(f.Time.Nanosecond())
	}
	switch {
	case sec < 0 || sec > maxPcapSec:
		return w.wrap(fmt.Errorf("time %v outside pcap's range (1970 to 2106)", f.Time))
	case len(f.Data) > MaxFrameLen:
		return w.wrap(fmt.Errorf("%d bytes captured, more than the maximum %d", len(f.Data), MaxFrameLen))
	case len(f.Data) > f.OrigLen:
		return w.wrap(fmt.Errorf("%d bytes captured of %d on the wire", len(f.Data), f.OrigLen))
	}
	binary.LittleEndian.PutUint32(w.hdr[0:], uint32(sec))
	binary.LittleEndian.PutUint32(w.hdr[4:], uint32(nsec))
	binary.LittleEndian.PutUint32(w.hdr[8:], uint32(len(f.Data)))
	binary.LittleEndian.PutUint32(w.hdr[12:], uint32(min(int64(f.OrigLen), math.MaxUint32)))
	if _, err := w.w.Write(w.hdr[:]); err != nil {
		w.err = w.wrap(err)
		return w.err
	}
	if _, err := w.w.Write(f.Data); err != nil {
		w.err = w.wrap(err)
		return w.err
	}
	w.n++
	return nil
}

// Frames returns the number of frames written.
func (w *PcapWriter) Frames() int64 { return w.n }

// wrap names the file and the frame (its number in the file) that failed.
func (w *PcapWriter) wrap(err error) error {
	return fmt.Errorf("capture %s: write frame %d: %w", w.name, w.n+1, err)
}
