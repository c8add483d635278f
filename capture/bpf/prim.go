package bpf

import "net/netip"

// Primitive tests, in terms of atoms; offsets follow libpcap's gencode.c.

// isEtherType tests the link's protocol field; on a raw IP link only IPv4
// and IPv6 exist, told apart by the version nibble.
func (p *parser) isEtherType(et uint32) node {
	if p.lay.typeOff < 0 {
		switch et {
		case 0x0800:
			return atom{off: p.lay.nh, size: 1, mask: 0xf0, op: opEq, val: 0x40}
		case 0x86dd:
			return atom{off: p.lay.nh, size: 1, mask: 0xf0, op: opEq, val: 0x60}
		}
		return constNode(false)
	}
	return atom{off: uint32(p.lay.typeOff), size: 2, op: opEq, val: et}
}

func (p *parser) isIPv4() node { return p.isEtherType(0x0800) }
func (p *parser) isIPv6() node { return p.isEtherType(0x86dd) }

// ip4Proto: IPv4 with protocol n (ip[9]).
func (p *parser) ip4Proto(n uint32) node {
	return and2(p.isIPv4(), atom{off: p.lay.nh + 9, size: 1, op: opEq, val: n})
}

// ip6Proto: IPv6 whose next header is n, directly or after one fragment
// header (gen_proto's IPv6 case in libpcap).
func (p *parser) ip6Proto(n uint32) node {
	nh := atom{off: p.lay.nh + 6, size: 1, op: opEq, val: n}
	frag := and2(atom{off: p.lay.nh + 6, size: 1, op: opEq, val: 44}, atom{off: p.lay.nh + 40, size: 1, op: opEq, val: n})
	return and2(p.isIPv6(), or2(nh, frag))
}

// notFragment: not a non-first IPv4 fragment (fragment offset zero).
func (p *parser) notFragment() node {
	return not1(atom{off: p.lay.nh + 6, size: 2, op: opSet, val: 0x1fff})
}

// dirTest combines the source and destination tests by the qualifier.
func dirTest(d dirQual, src, dst node) node {
	switch d {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirBoth:
		return and2(src, dst)
	}
	return or2(src, dst)
}

// addrTest compares the address at off with pfx (IPv4: one word; IPv6:
// up to four, skipping words the prefix masks out).
func addrTest(off uint32, pfx netip.Prefix) node {
	b := pfx.Addr().AsSlice()
	bits := pfx.Bits()
	var out node = constNode(true)
	for w := 0; w < len(b)/4; w++ {
		wb := bits - 32*w
		if wb <= 0 {
			break
		}
		var mask uint32 = 0xffffffff
		if wb < 32 {
			mask = ^uint32(0) << (32 - wb)
		}
		val := (uint32(b[4*w])<<24 | uint32(b[4*w+1])<<16 | uint32(b[4*w+2])<<8 | uint32(b[4*w+3])) & mask
		a := atom{off: off + uint32(4*w), size: 4, op: opEq, val: val}
		if mask != 0xffffffff {
			a.mask = mask
		}
		out = and2(out, a)
	}
	return out
}

// hostNet is host and net: IPv4 (plus ARP and RARP sender/target protocol
// addresses unless a protocol narrows it) or IPv6.
func (p *parser) hostNet(q quals, v token, pfx netip.Prefix) (node, error) {
	nh := p.lay.nh
	if pfx.Addr().Is6() {
		if q.proto != "" && q.proto != "ip6" {
			return nil, p.errAt(v.pos, "%s with an IPv6 address", q.proto)
		}
		return and2(p.isIPv6(), dirTest(q.dir, addrTest(nh+8, pfx), addrTest(nh+24, pfx))), nil
	}
	if q.proto == "ip6" {
		return nil, p.errAt(v.pos, "ip6 with an IPv4 address")
	}
	var out node = constNode(false)
	if q.proto == "" || q.proto == "ip" {
		out = or2(out, and2(p.isIPv4(), dirTest(q.dir, addrTest(nh+12, pfx), addrTest(nh+16, pfx))))
	}
	// ARP/RARP for Ethernet and IPv4 (RFC 826): sender protocol address
	// at 14, target at 24.
	arp := dirTest(q.dir, addrTest(nh+14, pfx), addrTest(nh+24, pfx))
	switch q.proto {
	case "":
		out = or2(out, and2(or2(p.isEtherType(0x0806), p.isEtherType(0x8035)), arp))
	case "arp":
		out = and2(p.isEtherType(0x0806), arp)
	case "rarp":
		out = and2(p.isEtherType(0x8035), arp)
	}
	return out, nil
}

// ports: [tcp|udp|sctp] port/portrange, over IPv6 (ports right after the
// fixed header) and IPv4 (first fragments only, after the IHL).
func (p *parser) ports(q quals, lo, hi uint32) node {
	nh := p.lay.nh
	protos := []uint32{132, 6, 17}
	switch q.proto {
	case "tcp":
		protos = []uint32{6}
	case "udp":
		protos = []uint32{17}
	case "sctp":
		protos = []uint32{132}
	}
	portAt := func(ind bool, off uint32) node {
		a := atom{ind: ind, nh: nh, off: off, size: 2}
		if lo == hi {
			a.op, a.val = opEq, lo
			return a
		}
		ge, gt := a, a
		ge.op, ge.val = opGe, lo
		gt.op, gt.val = opGt, hi
		return and2(ge, not1(gt))
	}
	var p6, p4 node = constNode(false), constNode(false)
	for _, pr := range protos {
		p6 = or2(p6, atom{off: nh + 6, size: 1, op: opEq, val: pr})
		p4 = or2(p4, atom{off: nh + 9, size: 1, op: opEq, val: pr})
	}
	v6 := andAll(p.isIPv6(), p6, dirTest(q.dir, portAt(false, nh+40), portAt(false, nh+42)))
	v4 := andAll(p.isIPv4(), p4, p.notFragment(), dirTest(q.dir, portAt(true, nh), portAt(true, nh+2)))
	return or2(v6, v4)
}
