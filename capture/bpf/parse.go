package bpf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// dirQual is the direction qualifier of a primitive.
type dirQual uint8

const (
	dirEither dirQual = iota // src or dst (the default)
	dirSrc
	dirDst
	dirBoth // src and dst
)

// quals are the qualifiers of a primitive; a bare value after and/or
// inherits the previous primitive's (pcap-filter(7): "port 80 or 443").
type quals struct {
	proto string // "", ip, ip6, arp, rarp, tcp, udp, sctp
	dir   dirQual
	kind  string // host, net, port, portrange, proto
}

type parser struct {
	expr string
	toks []token
	i    int
	lay  layout
	last *quals // qualifiers of the previous primitive
}

func (p *parser) errAt(pos int, format string, args ...any) error {
	return &SyntaxError{Expr: p.expr, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{pos: len(p.expr)}, false
}

func (p *parser) next() (token, bool) {
	t, ok := p.peek()
	if ok {
		p.i++
	}
	return t, ok
}

func (p *parser) parse() (node, error) {
	n, err := p.expr1()
	if err != nil {
		return nil, err
	}
	if t, ok := p.peek(); ok {
		return nil, p.errAt(t.pos, "unexpected %q", t.s)
	}
	return n, nil
}

// expr1: unary { (and|or) unary }, left to right, equal precedence.
func (p *parser) expr1() (node, error) {
	n, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t, ok := p.peek()
		if !ok {
			return n, nil
		}
		var isAnd bool
		switch strings.ToLower(t.s) {
		case "and", "&&":
			isAnd = true
		case "or", "||":
		default:
			return n, nil
		}
		p.i++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		if isAnd {
			n = andNode{n, r}
		} else {
			n = orNode{n, r}
		}
	}
}

func (p *parser) unary() (node, error) {
	t, ok := p.peek()
	if !ok {
		return nil, p.errAt(t.pos, "expression expected")
	}
	switch strings.ToLower(t.s) {
	case "not", "!":
		p.i++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return not1(x), nil
	case "(":
		p.i++
		x, err := p.expr1()
		if err != nil {
			return nil, err
		}
		c, ok := p.next()
		if !ok || c.s != ")" {
			return nil, p.errAt(c.pos, "missing )")
		}
		return x, nil
	}
	return p.primitive()
}

var protoNames = map[string]bool{"ip": true, "ip6": true, "arp": true, "rarp": true, "tcp": true, "udp": true, "sctp": true, "icmp": true, "icmp6": true}

// IP protocol numbers (IANA).
var ipProtos = map[string]uint32{"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "ipv6-icmp": 58, "icmp6": 58, "sctp": 132, "gre": 47, "esp": 50, "ah": 51}

func (p *parser) primitive() (node, error) {
	start, _ := p.peek()
	var q quals
	explicit := false
	// Protocol qualifier.
	if t, ok := p.peek(); ok && protoNames[strings.ToLower(t.s)] {
		q.proto = strings.ToLower(t.s)
		explicit = true
		p.i++
		if n, ok := p.peek(); ok && n.s == "[" {
			return p.byteTest(q.proto, t)
		}
		if !p.qualifierFollows() {
			return p.protoAlone(q.proto, t)
		}
	}
	// Direction qualifier: src, dst, "src or dst", "src and dst".
	if t, ok := p.peek(); ok && (strings.EqualFold(t.s, "src") || strings.EqualFold(t.s, "dst")) {
		explicit = true
		p.i++
		q.dir = dirSrc
		if strings.EqualFold(t.s, "dst") {
			q.dir = dirDst
		}
		if p.i+1 < len(p.toks) {
			j, o := strings.ToLower(p.toks[p.i].s), strings.ToLower(p.toks[p.i+1].s)
			if (j == "or" || j == "and") && (o == "src" || o == "dst") && o != strings.ToLower(t.s) {
				p.i += 2
				q.dir = dirEither
				if j == "and" {
					q.dir = dirBoth
				}
			}
		}
	}
	// Kind.
	if t, ok := p.peek(); ok {
		switch k := strings.ToLower(t.s); k {
		case "host", "net", "port", "portrange", "proto":
			q.kind = k
			explicit = true
			p.i++
		case "ether", "vlan", "mpls", "gateway", "broadcast", "multicast", "less", "greater", "len", "inbound", "outbound":
			return nil, p.errAt(t.pos, "%q is not supported by finwave's built-in filter compiler", t.s)
		}
	}
	if !explicit {
		if p.last == nil {
			// A bare value with nothing before it: libpcap reads it as a host.
			q.kind = "host"
		} else {
			q = *p.last
		}
	}
	if q.kind == "" {
		q.kind = "host"
	}
	v, ok := p.next()
	if !ok || isOperator(v.s) {
		return nil, p.errAt(v.pos, "value expected after %q", p.expr[start.pos:v.pos])
	}
	n, err := p.value(q, v)
	if err != nil {
		return nil, err
	}
	p.last = &q
	return n, nil
}

// qualifierFollows reports whether the token after a protocol name
// continues the same primitive (a direction, a kind) rather than an
// operator or the end: "tcp port 80" versus "tcp and ...".
func (p *parser) qualifierFollows() bool {
	t, ok := p.peek()
	if !ok {
		return false
	}
	switch strings.ToLower(t.s) {
	case "src", "dst", "host", "net", "port", "portrange", "proto":
		return true
	}
	return false
}

func isOperator(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "not", "&&", "||", "!", "(", ")", "[", "]", "&", "|", "=", "==", "!=", "<", "<=", ">", ">=", ":":
		return true
	}
	return false
}

// value turns qualifiers and a value into a node.
func (p *parser) value(q quals, v token) (node, error) {
	switch q.kind {
	case "host":
		if q.proto != "" && q.proto != "ip" && q.proto != "ip6" && q.proto != "arp" && q.proto != "rarp" {
			return nil, p.errAt(v.pos, "%s host: host applies to ip, ip6, arp or rarp", q.proto)
		}
		a, err := netip.ParseAddr(v.s)
		if err != nil {
			return nil, p.errAt(v.pos, "%q is not an IP address (host names are not resolved; give an address)", v.s)
		}
		return p.hostNet(q, v, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	case "net":
		if q.proto != "" && q.proto != "ip" && q.proto != "ip6" && q.proto != "arp" && q.proto != "rarp" {
			return nil, p.errAt(v.pos, "%s net: net applies to ip, ip6, arp or rarp", q.proto)
		}
		pfx, err := p.netValue(v)
		if err != nil {
			return nil, err
		}
		return p.hostNet(q, v, pfx)
	case "port", "portrange":
		if q.proto != "" && q.proto != "tcp" && q.proto != "udp" && q.proto != "sctp" {
			return nil, p.errAt(v.pos, "%s %s: ports apply to tcp, udp or sctp", q.proto, q.kind)
		}
		lo, hi, err := p.portValue(q.kind, v)
		if err != nil {
			return nil, err
		}
		return p.ports(q, lo, hi), nil
	case "proto":
		n, ok := ipProtos[strings.ToLower(v.s)]
		if !ok {
			u, err := strconv.ParseUint(v.s, 0, 8)
			if err != nil {
				return nil, p.errAt(v.pos, "%q is not a protocol number or name", v.s)
			}
			n = uint32(u)
		}
		switch q.proto {
		case "", "ip", "ip6":
		default:
			return nil, p.errAt(v.pos, "%s proto: proto applies to ip or ip6", q.proto)
		}
		var out node = constNode(false)
		if q.proto != "ip6" {
			out = or2(out, p.ip4Proto(n))
		}
		if q.proto != "ip" {
			out = or2(out, p.ip6Proto(n))
		}
		return out, nil
	}
	return nil, p.errAt(v.pos, "unsupported primitive")
}

// netValue parses CIDR, "ADDR mask MASK" or a classful partial address.
func (p *parser) netValue(v token) (netip.Prefix, error) {
	if strings.Contains(v.s, "/") {
		pfx, err := netip.ParsePrefix(v.s)
		if err != nil {
			// libpcap also takes "10/8".
			a, bits, ok := strings.Cut(v.s, "/")
			n, err2 := strconv.Atoi(bits)
			ad, err3 := partialV4(a)
			if !ok || err2 != nil || err3 != nil || n < 0 || n > 32 {
				return netip.Prefix{}, p.errAt(v.pos, "%q is not a network (want ADDR/BITS)", v.s)
			}
			pfx = netip.PrefixFrom(ad, n)
		}
		if pfx.Masked() != pfx {
			return netip.Prefix{}, p.errAt(v.pos, "non-network bits set in %q", v.s)
		}
		return pfx, nil
	}
	if t, ok := p.peek(); ok && strings.EqualFold(t.s, "mask") {
		p.i++
		m, ok := p.next()
		if !ok {
			return netip.Prefix{}, p.errAt(m.pos, "mask value expected")
		}
		a, err1 := netip.ParseAddr(v.s)
		ma, err2 := netip.ParseAddr(m.s)
		if err1 != nil || err2 != nil || !a.Is4() || !ma.Is4() {
			return netip.Prefix{}, p.errAt(v.pos, "net ADDR mask MASK wants two IPv4 addresses")
		}
		mb := ma.As4()
		mu := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
		bits := 0
		for bits < 32 && mu&(1<<(31-bits)) != 0 {
			bits++
		}
		if bits < 32 && mu<<bits != 0 {
			return netip.Prefix{}, p.errAt(m.pos, "mask %s is not contiguous", m.s)
		}
		pfx := netip.PrefixFrom(a, bits)
		if pfx.Masked() != pfx {
			return netip.Prefix{}, p.errAt(v.pos, "non-network bits set in %q for mask %s", v.s, m.s)
		}
		return pfx, nil
	}
	if a, err := netip.ParseAddr(v.s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	// Classful partial address, as libpcap's __pcap_atoin: "10" is
	// 10.0.0.0/8, "192.168.1" is 192.168.1.0/24.
	a, err := partialV4(v.s)
	if err != nil {
		return netip.Prefix{}, p.errAt(v.pos, "%q is not a network", v.s)
	}
	return netip.PrefixFrom(a, 8*(strings.Count(v.s, ".")+1)), nil
}

func partialV4(s string) (netip.Addr, error) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, fmt.Errorf("too many parts")
	}
	var b [4]byte
	for i, x := range parts {
		n, err := strconv.ParseUint(x, 10, 8)
		if err != nil {
			return netip.Addr{}, err
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b), nil
}

// Well-known service names (IANA), the ones users type.
var services = map[string]uint32{"ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "http": 80, "pop3": 110, "imap": 143, "https": 443, "ldap": 389, "mysql": 3306, "postgresql": 5432, "redis": 6379}

func (p *parser) portValue(kind string, v token) (uint32, uint32, error) {
	one := func(s string) (uint32, error) {
		if n, ok := services[strings.ToLower(s)]; ok {
			return n, nil
		}
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return 0, p.errAt(v.pos, "%q is not a port number", s)
		}
		return uint32(n), nil
	}
	if kind == "port" {
		n, err := one(v.s)
		return n, n, err
	}
	a, b, ok := strings.Cut(v.s, "-")
	if !ok {
		return 0, 0, p.errAt(v.pos, "portrange wants N-M, got %q", v.s)
	}
	lo, err := one(a)
	if err != nil {
		return 0, 0, err
	}
	hi, err := one(b)
	if err != nil {
		return 0, 0, err
	}
	if lo > hi { // libpcap swaps a reversed range
		lo, hi = hi, lo
	}
	return lo, hi, nil
}

// protoAlone is a protocol keyword on its own ("tcp", "ip6", "arp").
func (p *parser) protoAlone(proto string, t token) (node, error) {
	p.last = &quals{proto: proto, kind: "host"}
	switch proto {
	case "ip":
		return p.isIPv4(), nil
	case "ip6":
		return p.isIPv6(), nil
	case "arp":
		return p.isEtherType(0x0806), nil
	case "rarp":
		return p.isEtherType(0x8035), nil
	case "icmp":
		return p.ip4Proto(1), nil
	case "icmp6":
		return p.ip6Proto(58), nil
	}
	n := ipProtos[proto]
	return or2(p.ip4Proto(n), p.ip6Proto(n)), nil
}

// byteTest: tcp[OFF] / tcp[OFF:SIZE] [& MASK] OP VALUE.
func (p *parser) byteTest(proto string, pt token) (node, error) {
	if proto != "tcp" {
		return nil, p.errAt(pt.pos, "%s[...]: only tcp[...] is supported", proto)
	}
	p.i++ // [
	ot, ok := p.next()
	if !ok {
		return nil, p.errAt(ot.pos, "offset expected")
	}
	var off uint64
	if strings.EqualFold(ot.s, "tcpflags") {
		off = 13
	} else {
		var err error
		if off, err = strconv.ParseUint(ot.s, 0, 16); err != nil {
			return nil, p.errAt(ot.pos, "%q is not an offset", ot.s)
		}
	}
	size := uint8(1)
	t, ok := p.next()
	if ok && t.s == ":" {
		st, _ := p.next()
		switch st.s {
		case "1", "2", "4":
			size = st.s[0] - '0'
		default:
			return nil, p.errAt(st.pos, "size must be 1, 2 or 4")
		}
		t, ok = p.next()
	}
	if !ok || t.s != "]" {
		return nil, p.errAt(t.pos, "missing ]")
	}
	var mask uint32
	if t, ok := p.peek(); ok && t.s == "&" {
		p.i++
		m, err := p.flagValue()
		if err != nil {
			return nil, err
		}
		mask = m
	}
	opt, ok := p.next()
	if !ok {
		return nil, p.errAt(opt.pos, "comparison expected")
	}
	val, err := p.flagValue()
	if err != nil {
		return nil, err
	}
	a := atom{ind: true, nh: p.lay.nh, off: p.lay.nh + uint32(off), size: size, mask: mask, val: val}
	var test node
	switch opt.s {
	case "=", "==":
		a.op = opEq
		test = a
	case "!=":
		a.op = opEq
		test = not1(a)
	case ">":
		a.op = opGt
		test = a
	case ">=":
		a.op = opGe
		test = a
	case "<":
		a.op = opGe
		test = not1(a)
	case "<=":
		a.op = opGt
		test = not1(a)
	default:
		return nil, p.errAt(opt.pos, "comparison (=, !=, <, <=, >, >=) expected")
	}
	p.last = nil
	// libpcap: tcp[] is IPv4 only, and never on a non-first fragment.
	return andAll(p.ip4Proto(6), p.notFragment(), test), nil
}

var tcpFlags = map[string]uint32{"tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08, "tcp-ack": 0x10, "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80}

// flagValue: a number, a flag name, or a |-combination in parentheses or not.
func (p *parser) flagValue() (uint32, error) {
	var v uint32
	paren := false
	if t, ok := p.peek(); ok && t.s == "(" {
		paren = true
		p.i++
	}
	for {
		t, ok := p.next()
		if !ok {
			return 0, p.errAt(t.pos, "value expected")
		}
		if f, ok := tcpFlags[strings.ToLower(t.s)]; ok {
			v |= f
		} else if n, err := strconv.ParseUint(t.s, 0, 32); err == nil {
			v |= uint32(n)
		} else {
			return 0, p.errAt(t.pos, "%q is not a number or tcp flag name", t.s)
		}
		if n, ok := p.peek(); ok && n.s == "|" {
			p.i++
			continue
		}
		break
	}
	if paren {
		if t, ok := p.next(); !ok || t.s != ")" {
			return 0, p.errAt(t.pos, "missing )")
		}
	}
	return v, nil
}
