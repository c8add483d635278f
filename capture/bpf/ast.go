package bpf

// The parser turns an expression into a tree of these nodes; the leaves
// are atoms (one load, an optional mask, one comparison) or constants, so
// code generation knows nothing about protocols.

type node interface{ isNode() }

type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ x node }

// constNode is a test whose answer is known at compile time (ARP on a raw
// IP link: never).
type constNode bool

// cmpOp is the comparison of an atom, as classic BPF's conditional jumps
// offer them (jeq, jgt, jge, jset).
type cmpOp uint8

const (
	opEq  cmpOp = iota // A == val
	opGt               // A > val
	opGe               // A >= val
	opSet              // A & val != 0
)

// atom loads size bytes at off (from the start of the frame, or from the
// IPv4 payload when ind: X = 4*(IHL) of the header at nh, as libpcap's
// "ldxb 4*([nh]&0xf)"), masks the value when mask != 0 and compares it.
type atom struct {
	ind  bool
	nh   uint32 // offset of the IPv4 header, for ind
	off  uint32
	size uint8 // 1, 2 or 4
	mask uint32
	op   cmpOp
	val  uint32
}

func (andNode) isNode()   {}
func (orNode) isNode()    {}
func (notNode) isNode()   {}
func (constNode) isNode() {}
func (atom) isNode()      {}

// and2 and or2 build binary nodes, folding constants.
func and2(l, r node) node {
	if c, ok := l.(constNode); ok {
		if !c {
			return constNode(false)
		}
		return r
	}
	if c, ok := r.(constNode); ok {
		if !c {
			return constNode(false)
		}
		return l
	}
	return andNode{l, r}
}

func or2(l, r node) node {
	if c, ok := l.(constNode); ok {
		if c {
			return constNode(true)
		}
		return r
	}
	if c, ok := r.(constNode); ok {
		if c {
			return constNode(true)
		}
		return l
	}
	return orNode{l, r}
}

func not1(x node) node {
	if c, ok := x.(constNode); ok {
		return constNode(!c)
	}
	if n, ok := x.(notNode); ok {
		return n.x
	}
	return notNode{x}
}

func andAll(ns ...node) node {
	var out node = constNode(true)
	for _, n := range ns {
		out = and2(out, n)
	}
	return out
}

func orAll(ns ...node) node {
	var out node = constNode(false)
	for _, n := range ns {
		out = or2(out, n)
	}
	return out
}
