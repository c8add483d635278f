package flow

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
)

// mapKey is a Key packed without pointers, in canonical order (both
// directions of a connection pack to the same mapKey), with the overlay
// the connection lives in (Tunnel.Overlay, 0 for none): the key of the
// table's index, kept in each Conn and endedStream. 48 octets compared as
// seven words, hashed by connHash.
//
// Addresses are stored as As16 (IPv4 IPv4-mapped) with their family, so
// 10.0.0.1 and ::ffff:10.0.0.1 stay distinct as they are in Key. Zones are
// not kept: the decoder never sets one (addresses come from packet bytes).
type mapKey struct {
	a, b  [2]uint64 // the two addresses, As16 as little-endian words
	ports uint32    // a's port << 16 | b's port
	fams  uint16    // a's family << 8 | b's family (see family)
	ovl   uint64    // Tunnel.Overlay of the connection's segments
}

// family distinguishes IPv4, IPv6 and the invalid zero Addr, whose As16
// equals that of ::.
func family(a netip.Addr) uint16 {
	switch {
	case a.Is4():
		return familyIPv4
	case a.Is6():
		return familyIPv6
	}
	return 0
}

// The address families of packedEnd.rest (0: the zero Addr).
const (
	familyIPv4 = 1
	familyIPv6 = 2
)

// packedEnd is one endpoint as three words, ordered for canonicalisation.
type packedEnd struct {
	w0, w1 uint64
	rest   uint32 // family << 16 | port
}

func packEnd(e *Endpoint) packedEnd {
	if e.Addr.Is4() {
		// As16 of a.b.c.d is ::ffff:a.b.c.d: the first word 0, the
		// second the octets 0, 0, ff, ff, a, b, c, d read as below.
		a := e.Addr.As4()
		return packedEnd{
			w1:   0xffff<<16 | uint64(binary.LittleEndian.Uint32(a[:]))<<32,
			rest: familyIPv4<<16 | uint32(e.Port),
		}
	}
	b := e.Addr.As16()
	return packedEnd{
		w0:   binary.LittleEndian.Uint64(b[:8]),
		w1:   binary.LittleEndian.Uint64(b[8:]),
		rest: uint32(family(e.Addr))<<16 | uint32(e.Port),
	}
}

func (p packedEnd) less(q packedEnd) bool {
	if p.w0 != q.w0 {
		return p.w0 < q.w0
	}
	if p.w1 != q.w1 {
		return p.w1 < q.w1
	}
	return p.rest < q.rest
}

// packKey returns the canonical mapKey of the connection from src to dst
// and whether src is its first endpoint. Any fixed order of the two
// endpoints would do: the order decides only the orientation of the
// stored key, and endedStreams record which side was Conn.A.
//
// The endpoints are passed by pointer: Track packs every segment's, and
// copying them (a Key is 64 octets) cost more than packing.
func packKey(src, dst *Endpoint) (mk mapKey, srcFirst bool) {
	s, d := packEnd(src), packEnd(dst)
	srcFirst = !d.less(s)
	if !srcFirst {
		s, d = d, s
	}
	return mapKey{
		a: [2]uint64{s.w0, s.w1}, b: [2]uint64{d.w0, d.w1},
		ports: s.rest<<16 | d.rest&0xffff,
		fams:  uint16(s.rest>>16)<<8 | uint16(d.rest>>16),
	}, srcFirst
}

// sameTuple says whether k and o are the same 4-tuple, in whatever
// overlay; it is written out field by field: the compiler's == on the
// struct calls a generated function that compares memory.
func (k *mapKey) sameTuple(o *mapKey) bool {
	return k.a[0] == o.a[0] && k.a[1] == o.a[1] && k.b[0] == o.b[0] && k.b[1] == o.b[1] &&
		k.ports == o.ports && k.fams == o.fams
}

// ends returns the two endpoints of k, first one first.
func (k *mapKey) ends() (first, second Endpoint) {
	return Endpoint{unpackAddr(k.a, k.fams>>8), uint16(k.ports >> 16)},
		Endpoint{unpackAddr(k.b, k.fams&0xff), uint16(k.ports)}
}

func unpackAddr(w [2]uint64, fam uint16) netip.Addr {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], w[0])
	binary.LittleEndian.PutUint64(b[8:], w[1])
	switch fam {
	case 1:
		return netip.AddrFrom4([4]byte(b[12:]))
	case 2:
		return netip.AddrFrom16(b)
	}
	return netip.Addr{}
}

// hashSeed keys connHash; random per Table so that a capture cannot be
// crafted to make every 4-tuple collide.
type hashSeed [4]uint64

func newHashSeed() hashSeed {
	return hashSeed{rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64()}
}

// mix is the wyhash folding step: the two halves of the 128-bit product
// xored.
func mix(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	return hi ^ lo
}

// connHash hashes k's 4-tuple to 32 bits. The overlay is left out on
// purpose: the conns of one 4-tuple in several overlays share a probe run
// of the index, so that one lookup finds the exact key and the fallbacks
// of Table.lookup together.
func connHash(k *mapKey, s *hashSeed) uint32 {
	h := mix(k.a[0]^s[0], k.a[1]^s[1])
	h = mix(h^k.b[0]^s[2], k.b[1]^s[3])
	h = mix(h^(uint64(k.ports)<<16|uint64(k.fams))^s[1], s[2]|1)
	return uint32(h) ^ uint32(h>>32)
}
