package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// pcap file format (libpcap savefile, pcap-savefile(5);
// draft-ietf-opsawg-pcap): a 24-byte file header, then records of a 16-byte
// header followed by incl_len captured bytes. All integers are in the byte
// order of the writer, revealed by the magic number.
const (
	pcapFileHeaderLen   = 24
	pcapRecordHeaderLen = 16
)

type pcapReader struct {
	base
	bo       binary.ByteOrder
	le       bool  // bo is little endian: Next reads records without calling through bo
	fracMul  int64 // nanoseconds per unit of the fractional timestamp: 1000 (µs) or 1 (ns)
	linkType layers.LinkType
	snaplen  uint32 // informative only: never used to size anything
}

func newPcap(b base) (*pcapReader, error) {
	r := &pcapReader{base: b}
	h, got, err := r.s.take(pcapFileHeaderLen)
	if err != nil {
		return nil, &ReadError{File: r.name, Err: short("pcap file header", got, pcapFileHeaderLen, err)}
	}
	switch binary.BigEndian.Uint32(h) {
	case magicPcapMicro:
		r.bo, r.fracMul = binary.BigEndian, 1000
	case magicPcapNano:
		r.bo, r.fracMul = binary.BigEndian, 1
	case magicPcapMicroLE:
		r.bo, r.fracMul = binary.LittleEndian, 1000
	case magicPcapNanoLE:
		r.bo, r.fracMul = binary.LittleEndian, 1
	}
	r.le = r.bo == binary.LittleEndian
	// libpcap (sf-pcap.c, pcap_check_header) refuses major versions other
	// than 2; minor versions vary in the wild (2.2, 2.3, 2.4).
	if major := r.bo.Uint16(h[4:]); major != 2 {
		return nil, &ReadError{File: r.name, Err: fmt.Errorf("%w pcap file header: major version %d, want 2", ErrCorrupt, major)}
	}
	// thiszone (h[8:12]) is ignored, as libpcap does: it is always 0 in
	// practice and timestamps are UTC.
	r.snaplen = r.bo.Uint32(h[16:])
	// The link-type field also carries FCS information in its upper bits
	// (LT_LINKTYPE in libpcap's pcap-common.h keeps the low 26 bits).
	lt := r.bo.Uint32(h[20:]) & 0x03ffffff
	if lt > 0xffff {
		return nil, &ReadError{File: r.name, Err: fmt.Errorf("%w pcap file header: link type %d out of range", ErrCorrupt, lt)}
	}
	r.linkType = layers.LinkType(lt)
	return r, nil
}

// Next implements Source.
func (r *pcapReader) Next(f *Frame) error {
	if r.err != nil {
		return r.err
	}
	// Most records lie whole in the stream's buffer: take the header and
	// the data in one step. Anything else (a record cut by the buffer's
	// end, a corrupt length, the end of input) goes the checked way below.
	if w := r.s.buffered(); len(w) >= pcapRecordHeaderLen {
		if incl := r.u32(w[8:]); incl <= MaxFrameLen && pcapRecordHeaderLen+int(incl) <= len(w) {
			n := pcapRecordHeaderLen + int(incl)
			r.s.consume(n)
			r.frame++
			r.fill(f, w[:pcapRecordHeaderLen], w[pcapRecordHeaderLen:n:n])
			return nil
		}
	}
	start := r.s.off
	h, got, err := r.s.take(pcapRecordHeaderLen)
	if err != nil {
		if got == 0 && err == io.EOF {
			r.err = io.EOF
			return io.EOF
		}
		return r.fail(start, short("record header", got, pcapRecordHeaderLen, err))
	}
	incl := r.u32(h[8:])
	// libpcap and Wireshark read a record longer than the file's snaplen
	// (and truncate or accept it), but refuse one above MAXIMUM_SNAPLEN:
	// "invalid packet capture length" (sf-pcap.c, pcap_next_packet).
	if incl > MaxFrameLen {
		return r.fail(start, fmt.Errorf("%w record header: captured length %d exceeds the maximum %d", ErrCorrupt, incl, MaxFrameLen))
	}
	// take may move the buffer h points into: keep h's fields first.
	var hdr [pcapRecordHeaderLen]byte
	copy(hdr[:], h)
	data, got, err := r.s.take(int(incl))
	if err != nil {
		return r.fail(start, short("record data", got, int(incl), err))
	}
	r.frame++
	r.fill(f, hdr[:], data)
	return nil
}

// fill sets f from a record header h and its data.
func (r *pcapReader) fill(f *Frame, h, data []byte) {
	sec, frac, orig := r.u32(h[0:]), r.u32(h[4:]), r.u32(h[12:])
	f.Number = r.frame
	// ts_sec is unsigned in the file (libpcap reads it as bpf_u_int32).
	f.Time = time.Unix(int64(sec), int64(frac)*r.fracMul)
	f.Data = data
	f.OrigLen = int(orig)
	f.LinkType = r.linkType
}

// u32 reads a 32-bit field of a record header in the file's byte order.
func (r *pcapReader) u32(b []byte) uint32 {
	v := binary.LittleEndian.Uint32(b)
	if !r.le {
		v = bits.ReverseBytes32(v)
	}
	return v
}

// Snaplen returns the snap length of the pcap file header (informative:
// what a writer of the same frames should declare).
func (r *pcapReader) Snaplen() uint32 { return r.snaplen }
