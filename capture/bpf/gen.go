package bpf

import (
	"fmt"

	xbpf "golang.org/x/net/bpf"
)

// gen emits classic BPF for a node tree. Every test jumps to a true or a
// false label; labels are resolved once the program is complete. A
// conditional jump can skip at most 255 instructions (the 8-bit jt/jf
// fields of struct sock_filter): one that must go further jumps to a
// trampoline placed right after it, an unconditional ja (32-bit k), as
// libpcap's optimizer does (relax).
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
	g.relax()
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
			return nil, fmt.Errorf("internal error: a jump of more than 255 instructions left after relax")
		}
		j := g.ins[fx.at].(xbpf.JumpIf)
		j.SkipTrue, j.SkipFalse = uint8(st), uint8(sf)
		g.ins[fx.at] = j
	}
	return g.ins, nil
}

// maxSkip is the farthest a conditional jump reaches (jt, jf: 8 bits).
const maxSkip = 255

// relax gives every conditional jump whose true or false target is beyond
// maxSkip a trampoline: a ja to that target inserted right after the jump,
// which then skips 0 or 1 instruction to reach it. Nothing else reaches the
// inserted instructions (a conditional jump never falls through), and every
// label at or after them moves with the code it marks. Inserting moves
// other jumps' targets further, so it runs until none is out of reach.
func (g *gen) relax() {
	for {
		far := -1
		for i, fx := range g.fix {
			if fx.f >= 0 && (g.labels[fx.t]-(fx.at+1) > maxSkip || g.labels[fx.f]-(fx.at+1) > maxSkip) {
				far = i
				break
			}
		}
		if far < 0 {
			return
		}
		fx := g.fix[far]
		var targets []bool // the far targets of fx (true: jt), in the order of their trampolines
		if g.labels[fx.t]-(fx.at+1) > maxSkip {
			targets = append(targets, true)
		}
		if g.labels[fx.f]-(fx.at+1) > maxSkip {
			targets = append(targets, false)
		}
		n := len(targets)
		for l := range g.labels {
			if g.labels[l] > fx.at {
				g.labels[l] += n
			}
		}
		for i := range g.fix {
			if g.fix[i].at > fx.at {
				g.fix[i].at += n
			}
		}
		tramp := make([]xbpf.Instruction, n)
		for k := range tramp {
			tramp[k] = xbpf.Jump{}
		}
		g.ins = append(g.ins[:fx.at+1], append(tramp, g.ins[fx.at+1:]...)...)
		for k, jt := range targets {
			at := fx.at + 1 + k
			l := g.label()
			g.labels[l] = at
			if jt {
				g.fix = append(g.fix, fixup{at: at, t: fx.t, f: -1})
				g.fix[far].t = l
			} else {
				g.fix = append(g.fix, fixup{at: at, t: fx.f, f: -1})
				g.fix[far].f = l
			}
		}
	}
}
