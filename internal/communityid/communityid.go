// Package communityid computes Community ID v1 flow hashes
// (https://github.com/corelight/community-id-spec), the identifier Zeek,
// Suricata and others write as community_id, so that a finwave flow can be
// joined with their logs.
//
// v1 for a protocol with ports: SHA-1 over seed (2 bytes, big endian),
// source address, destination address, protocol (1 byte), a zero pad byte,
// source port and destination port (2 bytes each, big endian), with the
// endpoints ordered so that both directions give the same hash: the
// smaller address first, or the smaller port first when the addresses are
// equal. The digest is base64 (standard, padded) encoded and prefixed
// with "1:".
package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// Protocol numbers (IANA).
const (
	TCP  uint8 = 6
	UDP  uint8 = 17
	SCTP uint8 = 132
)

// Append appends the Community ID v1 of the flow between a and b over
// proto, with seed, to dst. The direction does not matter. a and b must be
// of the same family (IPv4-mapped IPv6 addresses are unmapped); it appends
// nothing when they are not or either is invalid. It does not allocate
// when dst has room for the 30 bytes.
func Append(dst []byte, seed uint16, proto uint8, a, b netip.AddrPort) []byte {
	aa, ba := a.Addr().Unmap(), b.Addr().Unmap()
	if !aa.IsValid() || !ba.IsValid() || aa.Is4() != ba.Is4() {
		return dst
	}
	ap, bp := a.Port(), b.Port()
	if c := aa.Compare(ba); c > 0 || (c == 0 && ap > bp) {
		aa, ba, ap, bp = ba, aa, bp, ap
	}
	var buf [2 + 16 + 16 + 2 + 4]byte
	n := 0
	binary.BigEndian.PutUint16(buf[n:], seed)
	n += 2
	if aa.Is4() {
		a4, b4 := aa.As4(), ba.As4()
		n += copy(buf[n:], a4[:])
		n += copy(buf[n:], b4[:])
	} else {
		a16, b16 := aa.As16(), ba.As16()
		n += copy(buf[n:], a16[:])
		n += copy(buf[n:], b16[:])
	}
	buf[n], buf[n+1] = proto, 0
	n += 2
	binary.BigEndian.PutUint16(buf[n:], ap)
	binary.BigEndian.PutUint16(buf[n+2:], bp)
	n += 4
	sum := sha1.Sum(buf[:n])
	dst = append(dst, "1:"...)
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// String is Append for a TCP flow with seed 0, as a string ("" when the
// addresses are not of one family).
func String(a, b netip.AddrPort) string {
	var buf [32]byte
	return string(Append(buf[:0], 0, TCP, a, b))
}
