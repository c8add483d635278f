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
	// Options has bit k set for every TCP option kind k < 32 present
	// (OptionBit); kinds 32 and above set bit 31. With TTL, IPID and DF
	// it is what an endpoint's segments look like (its fingerprint).
	Options uint32
	// SACKBlocks is the number of SACK blocks (RFC 2018 §3) the segment
	// carries, SACK the first two of them: a D-SACK (RFC 2883 §4) is
	// reported in the first block, below the ACK or inside the second.
	SACKBlocks uint8
	SACK       [2]SACKBlock

	// The IP header around the TCP segment (the innermost one when
	// tunnelled): TTL is the IPv4 time to live or the IPv6 hop limit,
	// IPID the IPv4 identification (0 for IPv6), DF the IPv4 don't
	// fragment bit (false for IPv6).
	TTL  uint8
	DF   bool
	IPID uint16

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

// SACKBlock is one SACK block (RFC 2018 §3): the octets [Left, Right)
// were received.
type SACKBlock struct{ Left, Right Seq }

// DSACK reports whether the segment's first SACK block is a D-SACK (RFC
// 2883 §4): it reports octets the receiver got twice, so it lies below
// the cumulative ACK or within the second block.
func (s *Segment) DSACK() bool {
	if s.SACKBlocks == 0 || s.Flags&ACK == 0 {
		return false
	}
	b := s.SACK[0]
	if b.Left.Less(s.Ack) {
		return true
	}
	if s.SACKBlocks > 1 {
		o := s.SACK[1]
		return o.Left.LessEq(b.Left) && b.Right.LessEq(o.Right)
	}
	return false
}

// OptionBit is the bit of Segment.Options for TCP option kind k.
func OptionBit(k uint8) uint32 { return 1 << min(k, 31) }

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
