package bpf

import (
	"fmt"

	xbpf "golang.org/x/net/bpf"
)

// gen emits classic BPF for a node tree. Every test jumps to a true or a
// false label; labels are resolved once the program is complete, and a
// conditional jump longer than 255 instructions (the 8-bit jt/jf fields of
// struct sock_filter) is an error.
type gen struct {
	ins    []xbpf.Instruction
	fix    []fixup
	labels []int
}

type fixup struct {
	at   int
	t, f int // label ids; f is -1 for an unconditional jump (ja)
}

func (g *gen) label() int {
	g.labels = append(g.labels, -1)
	return len(g.labels) - 1
}

func (g *gen) place(l int) { g.labels[l] = len(g.ins) }

// cond emits code that jumps to label t when n holds and to f otherwise.
func (g *gen) cond(n node, t, f int) {
	switch n := n.(type) {
	case constNode:
		l := f
		if n {
			l = t
		}
		g.fix = append(g.fix, fixup{at: len(g.ins), t: l, f: -1})
		g.ins = append(g.ins, xbpf.Jump{})
	case notNode:
		g.cond(n.x, f, t)
	case andNode:
		m := g.label()
		g.cond(n.l, m, f)
		g.place(m)
		g.cond(n.r, t, f)
	case orNode:
		m := g.label()
		g.cond(n.l, t, m)
		g.place(m)
		g.cond(n.r, t, f)
	case atom:
		if n.ind {
			g.ins = append(g.ins, xbpf.LoadMemShift{Off: n.nh}, xbpf.LoadIndirect{Off: n.off, Size: int(n.size)})
		} else {
			g.ins = append(g.ins, xbpf.LoadAbsolute{Off: n.off, Size: int(n.size)})
		}
		if n.mask != 0 {
			g.ins = append(g.ins, xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: n.mask})
		}
		c := map[cmpOp]xbpf.JumpTest{opEq: xbpf.JumpEqual, opGt: xbpf.JumpGreaterThan, opGe: xbpf.JumpGreaterOrEqual, opSet: xbpf.JumpBitsSet}[n.op]
		g.fix = append(g.fix, fixup{at: len(g.ins), t: t, f: f})
		g.ins = append(g.ins, xbpf.JumpIf{Cond: c, Val: n.val})
	default:
		panic(fmt.Sprintf("bpf: unknown node %T", n)) // unreachable: the parser builds only the types above
	}
}

// program compiles root into a complete program returning snaplen for
// accepted packets and 0 for rejected ones.
func program(root node, snaplen uint32) ([]xbpf.Instruction, error) {
	var g gen
	accept, reject := g.label(), g.label()
	g.cond(root, accept, reject)
	g.place(accept)
	g.ins = append(g.ins, xbpf.RetConstant{Val: snaplen})
	g.place(reject)
	g.ins = append(g.ins, xbpf.RetConstant{Val: 0})
	for _, fx := range g.fix {
		skip := func(l int) (int, error) {
			d := g.labels[l] - (fx.at + 1)
			if d < 0 {
				return 0, fmt.Errorf("internal error: backward jump")
			}
			return d, nil
		}
		st, err := skip(fx.t)
		if err != nil {
			return nil, err
		}
		if fx.f < 0 {
			g.ins[fx.at] = xbpf.Jump{Skip: uint32(st)}
			continue
		}
		sf, err := skip(fx.f)
		if err != nil {
			return nil, err
		}
		if st > 255 || sf > 255 {
			return nil, fmt.Errorf("expression too long for classic BPF (a jump of more than 255 instructions)")
		}
		j := g.ins[fx.at].(xbpf.JumpIf)
		j.SkipTrue, j.SkipFalse = uint8(st), uint8(sf)
		g.ins[fx.at] = j
	}
	return g.ins, nil
}
