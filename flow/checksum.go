package flow

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Checksum is what the decoder found of a segment's checksums. A receiving
// kernel drops a segment whose IPv4 header checksum (ip_rcv_core) or TCP
// checksum (tcp_v4_rcv / tcp_v6_rcv, tcp_checksum_complete: TcpInCsumErrors)
// is wrong: it changes no state there. A capture taken on a sending host
// with checksum offload shows wrong TCP checksums on every outgoing
// segment, which the NIC fills in on the wire; telling the two apart is
// the analyzer's business, not the decoder's.
type Checksum uint8

const (
	// ChecksumUnchecked: the segment was not captured whole (snaplen), or
	// its IP header gave no length to check against (TSO/GSO frames).
	ChecksumUnchecked Checksum = iota
	ChecksumGood
	// ChecksumBadIP: the IPv4 header checksum (RFC 791 §3.1) is wrong.
	ChecksumBadIP
	// ChecksumBadTCP: the TCP checksum over the pseudo-header (RFC 9293
	// §3.1; IPv6: RFC 8200 §8.1) and the segment is wrong.
	ChecksumBadTCP
	// ChecksumPartial: the TCP checksum is wrong, and its field holds the
	// sum of the pseudo-header alone: the segment was captured before a
	// NIC filled the checksum in (Linux CHECKSUM_PARTIAL: the field is
	// ~tcp_v4_check(len, saddr, daddr, 0), __tcp_v4_send_check and
	// tcp_v6_send_check; GRO's merged frames get the same, tcp4_gro_complete).
	// A checksum corrupted on the way matches it once in 65536.
	ChecksumPartial
)

var checksumNames = [...]string{"unchecked", "good", "bad ip", "bad tcp", "partial"}

func (c Checksum) String() string {
	if int(c) < len(checksumNames) {
		return checksumNames[c]
	}
	return "unknown"
}

// onesSum adds b to the one's complement sum s (RFC 1071), eight octets at
// a time: 2^16 ≡ 1 modulo 2^16-1, so 64-bit words with end-around carry
// fold to the same 16-bit sum. Whole 32-octet blocks are added as one
// carry chain whose final carry goes around once (RFC 1071 §4.1's loop
// unrolled). The result is 0 only when every octet of b is 0 and s is 0:
// an end-around carry never turns a non-zero sum into 0, so how b is
// split (and in what order sums are combined) does not change the folded
// value.
func onesSum(s uint64, b []byte) uint64 {
	var c uint64
	for len(b) >= 32 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), 0)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[8:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[16:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[24:]), c)
		s, c = bits.Add64(s, c, 0) // cannot carry again after this
		s += c
		b = b[32:]
	}
	for len(b) >= 8 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), 0)
		s += c
		b = b[8:]
	}
	if len(b) >= 4 {
		s, c = bits.Add64(s, uint64(binary.BigEndian.Uint32(b)), 0)
		s += c
		b = b[4:]
	}
	if len(b) >= 2 {
		s, c = bits.Add64(s, uint64(b[0])<<8|uint64(b[1]), 0)
		s += c
		b = b[2:]
	}
	if len(b) == 1 {
		s, c = bits.Add64(s, uint64(b[0])<<8, 0)
		s += c
	}
	return s
}

// fold reduces a one's complement sum to 16 bits.
func fold(s uint64) uint16 {
	s = s>>32 + s&0xFFFFFFFF
	s = s>>32 + s&0xFFFFFFFF
	s = s>>16 + s&0xFFFF
	s = s>>16 + s&0xFFFF
	return uint16(s)
}

// ipv4HeaderOK: the sum of the header, its checksum included, is 0xFFFF.
// The usual 20-octet header (no options) is summed inline, as onesSum
// would: two words and a half.
func ipv4HeaderOK(h []byte) bool {
	if len(h) == 20 {
		s, c := bits.Add64(binary.BigEndian.Uint64(h), binary.BigEndian.Uint64(h[8:]), 0)
		s += c
		s, c = bits.Add64(s, uint64(binary.BigEndian.Uint32(h[16:])), 0)
		return fold(s+c) == 0xFFFF
	}
	return fold(onesSum(0, h)) == 0xFFFF
}

// tcpChecksumOK checks the TCP checksum of segment b, sent from src to dst:
// the pseudo-header (addresses, protocol 6, TCP length) and the segment,
// its checksum included, sum to 0xFFFF.
func tcpChecksumOK(src, dst netip.Addr, b []byte) bool {
	return tcpSumOK(pseudoSum(src, dst, len(b)), b)
}

// tcpSumOK is tcpChecksumOK given the pseudo-header's sum ps.
func tcpSumOK(ps uint64, b []byte) bool { return fold(onesSum(ps, b)) == 0xFFFF }

// tcpChecksumPartial reports whether the checksum field of segment b
// (20 octets at least) holds the folded sum of its pseudo-header alone,
// as a segment whose checksum was left to the NIC does (ChecksumPartial).
func tcpChecksumPartial(src, dst netip.Addr, b []byte) bool {
	return tcpSumPartial(pseudoSum(src, dst, len(b)), b)
}

// tcpSumPartial is tcpChecksumPartial given the pseudo-header's sum ps.
// 0 and 0xFFFF are the same number in one's complement.
func tcpSumPartial(ps uint64, b []byte) bool {
	p, f := fold(ps), uint16(b[16])<<8|uint16(b[17])
	return f == p || (f == 0 && p == 0xFFFF) || (f == 0xFFFF && p == 0)
}

// pseudoSum is the one's complement sum of the TCP pseudo-header of a
// segment of n octets (RFC 9293 §3.1; IPv6: RFC 8200 §8.1).
func pseudoSum(src, dst netip.Addr, n int) uint64 {
	var s uint64
	if src.Is4() {
		a, d := src.As4(), dst.As4()
		s = onesSum(s, a[:])
		s = onesSum(s, d[:])
	} else {
		a, d := src.As16(), dst.As16()
		s = onesSum(s, a[:])
		s = onesSum(s, d[:])
	}
	return s + uint64(ipTCP) + uint64(n)
}

// pseudoSumRaw is pseudoSum from the source and destination addresses as
// they lie, adjacent, in the IP header (IPv4 octets 12-19, IPv6 8-39):
// the decoder's path, which sums them as words instead of rebuilding them
// from netip.Addr values. The folded result is pseudoSum's (see onesSum).
func pseudoSumRaw(addrs []byte, n int) uint64 {
	return onesSum(0, addrs) + uint64(ipTCP) + uint64(n)
}
