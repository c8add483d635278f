package flow

import (
	"net/netip"
	"time"
)

// Endpoint is one end of a TCP connection. It is a comparable value; the zero
// Endpoint is invalid.
type Endpoint struct {
	Addr netip.Addr
	Port uint16
}

// String formats the endpoint as ip:port, IPv6 as [addr]:port.
func (e Endpoint) String() string {
	return netip.AddrPortFrom(e.Addr, e.Port).String()
}

// Key identifies one direction of a connection: segments from Src to Dst.
// Key is comparable and usable as a map key without allocation.
type Key struct {
	Src, Dst Endpoint
}

// Reverse returns the key of the opposite direction.
func (k Key) Reverse() Key { return Key{Src: k.Dst, Dst: k.Src} }

// Flags is the set of TCP control bits of a segment, as on the wire
// (RFC 9293 §3.1): the low byte of header word 4.
type Flags uint8

// TCP control bits.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// Has reports whether every bit of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// String returns the flags in Wireshark's order, comma separated, e.g.
// "FIN,ACK" or "SYN". The zero value is "none".
func (f Flags) String() string {
	if f == 0 {
		return "none"
	}
	// Order as Wireshark prints them: the teardown flags first.
	names := [...]struct {
		f Flags
		s string
	}{{SYN, "SYN"}, {FIN, "FIN"}, {RST, "RST"}, {PSH, "PSH"}, {ACK, "ACK"}, {URG, "URG"}, {ECE, "ECE"}, {CWR, "CWR"}}
	var b []byte
	for _, n := range names {
		if f&n.f != 0 {
			if len(b) > 0 {
				b = append(b, ',')
			}
			b = append(b, n.s...)
		}
	}
	return string(b)
}

// NoOption marks an absent numeric TCP option value.
const NoOption = -1

// Segment is one TCP segment, classified once from a captured frame. It is a
// plain value: payload bytes are never kept.
type Segment struct {
	Frame int64     // 1-based frame number in the capture, as Wireshark counts
	Time  time.Time // capture timestamp

	Src, Dst Endpoint
	Seq, Ack Seq
	Flags    Flags
	Window   uint16 // raw window field, unscaled

	// Len is the payload length implied by the IP header (total length minus
	// headers), not the captured byte count: a snaplen-truncated segment
	// still advances sequence space by its real length. Where the IP header
	// carries no length (TSO/GSO super-frames with length 0), the captured
	// length is used.
	Len uint32

	WScale int8   // window scale option (SYN only), NoOption when absent
	MSS    int32  // MSS option, NoOption when absent
	TSVal  uint32 // timestamp option value, valid when HasTS
	TSEcr  uint32 // timestamp echo reply, valid when HasTS
	HasTS  bool
	SACKOK bool // SACK-permitted option present

	// Truncated is set when the frame was captured shorter than the TCP
	// header or payload it declares (snaplen).
	Truncated bool

	// Checksum says whether the IPv4 header and TCP checksums are right
	// (ChecksumUnchecked when not all of the segment was captured).
	Checksum Checksum

	// Tunnel is the encapsulation the decoder removed; Type is NoTunnel
	// for a plain segment.
	Tunnel Tunnel
}

// Key returns the direction key of the segment.
func (s *Segment) Key() Key { return Key{Src: s.Src, Dst: s.Dst} }

// SeqLen is the amount of sequence space the segment occupies: its payload
// plus one for SYN and one for FIN (RFC 9293 §3.4).
func (s *Segment) SeqLen() uint32 {
	n := s.Len
	if s.Flags&SYN != 0 {
		n++
	}
	if s.Flags&FIN != 0 {
		n++
	}
	return n
}

// End is the sequence number just past the segment: Seq + SeqLen.
func (s *Segment) End() Seq { return s.Seq.Add(s.SeqLen()) }
