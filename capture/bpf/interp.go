package bpf

import (
	"fmt"

	xbpf "golang.org/x/net/bpf"
)

// The user-space interpreter of Matcher. x/net/bpf's VM runs any classic
// BPF program but pays for an interface type switch per instruction; the
// compiler emits few kinds of instruction, so they are translated once
// into a flat form run by a plain switch (BenchmarkInterp against
// BenchmarkVM, and BenchmarkMatch before and after: 3 to 4 times faster;
// no allocation). Semantics are those of the kernel's and libpcap's
// interpreters (bpf_filter.c): a load outside the packet rejects it.

type opcode uint8

const (
	opLdAbs  opcode = iota // A = P[k:k+size]
	opLdInd                // A = P[X+k:X+k+size]
	opLdxMsh               // X = 4*(P[k]&0xf)
	opAndK                 // A &= k
	opJa                   // pc += k
	opJeq                  // pc += A == k ? jt : jf
	opJgt                  // A > k
	opJge                  // A >= k
	opJset                 // A & k != 0
	opRet                  // return k
)

type insn struct {
	op     opcode
	size   uint8
	jt, jf uint8
	k      uint32
}

// translate turns prog into the interpreter's form; an instruction it
// does not know is an error (Matcher then uses x/net/bpf's VM).
func translate(prog []xbpf.Instruction) ([]insn, error) {
	out := make([]insn, len(prog))
	for i, in := range prog {
		var t insn
		switch x := in.(type) {
		case xbpf.LoadAbsolute:
			t = insn{op: opLdAbs, size: uint8(x.Size), k: x.Off}
		case xbpf.LoadIndirect:
			t = insn{op: opLdInd, size: uint8(x.Size), k: x.Off}
		case xbpf.LoadMemShift:
			t = insn{op: opLdxMsh, k: x.Off}
		case xbpf.ALUOpConstant:
			if x.Op != xbpf.ALUOpAnd {
				return nil, fmt.Errorf("instruction %d: %v not interpreted", i, in)
			}
			t = insn{op: opAndK, k: x.Val}
		case xbpf.Jump:
			t = insn{op: opJa, k: x.Skip}
		case xbpf.JumpIf:
			jt, jf := x.SkipTrue, x.SkipFalse
			switch x.Cond {
			case xbpf.JumpEqual:
				t.op = opJeq
			case xbpf.JumpNotEqual:
				t.op, jt, jf = opJeq, jf, jt
			case xbpf.JumpGreaterThan:
				t.op = opJgt
			case xbpf.JumpLessOrEqual:
				t.op, jt, jf = opJgt, jf, jt
			case xbpf.JumpGreaterOrEqual:
				t.op = opJge
			case xbpf.JumpLessThan:
				t.op, jt, jf = opJge, jf, jt
			case xbpf.JumpBitsSet:
				t.op = opJset
			case xbpf.JumpBitsNotSet:
				t.op, jt, jf = opJset, jf, jt
			default:
				return nil, fmt.Errorf("instruction %d: %v not interpreted", i, in)
			}
			t.jt, t.jf, t.k = jt, jf, x.Val
		case xbpf.RetConstant:
			t = insn{op: opRet, k: x.Val}
		default:
			return nil, fmt.Errorf("instruction %d: %v not interpreted", i, in)
		}
		if t.op == opLdAbs || t.op == opLdInd {
			if t.size != 1 && t.size != 2 && t.size != 4 {
				return nil, fmt.Errorf("instruction %d: load size %d", i, t.size)
			}
		}
		out[i] = t
	}
	// Every path must end in a return inside the program (x/net/bpf's
	// NewVM checks the same): jumps stay in range.
	for i, t := range out {
		switch t.op {
		case opJa:
			if uint64(i)+1+uint64(t.k) >= uint64(len(out)) {
				return nil, fmt.Errorf("instruction %d: jump out of the program", i)
			}
		case opJeq, opJgt, opJge, opJset:
			if i+1+int(max(t.jt, t.jf)) >= len(out) {
				return nil, fmt.Errorf("instruction %d: jump out of the program", i)
			}
		}
	}
	if len(out) == 0 || out[len(out)-1].op != opRet {
		return nil, fmt.Errorf("program does not end in a return")
	}
	return out, nil
}

// load reads size bytes big-endian at off; ok is false outside p.
func load(p []byte, off uint32, size uint8) (uint32, bool) {
	if uint64(off)+uint64(size) > uint64(len(p)) {
		return 0, false
	}
	switch size {
	case 1:
		return uint32(p[off]), true
	case 2:
		return uint32(p[off])<<8 | uint32(p[off+1]), true
	}
	return uint32(p[off])<<24 | uint32(p[off+1])<<16 | uint32(p[off+2])<<8 | uint32(p[off+3]), true
}

// run runs prog (from translate) on p and returns what it returns: 0
// rejects.
func run(prog []insn, p []byte) uint32 {
	var a, x uint32
	for pc := 0; pc < len(prog); pc++ {
		in := &prog[pc]
		switch in.op {
		case opLdAbs:
			v, ok := load(p, in.k, in.size)
			if !ok {
				return 0
			}
			a = v
		case opLdInd:
			v, ok := load(p, x+in.k, in.size)
			if !ok || x+in.k < x {
				return 0
			}
			a = v
		case opLdxMsh:
			if uint64(in.k) >= uint64(len(p)) {
				return 0
			}
			x = 4 * uint32(p[in.k]&0xf)
		case opAndK:
			a &= in.k
		case opJa:
			pc += int(in.k)
		case opJeq:
			pc += int(cond(a == in.k, in.jt, in.jf))
		case opJgt:
			pc += int(cond(a > in.k, in.jt, in.jf))
		case opJge:
			pc += int(cond(a >= in.k, in.jt, in.jf))
		case opJset:
			pc += int(cond(a&in.k != 0, in.jt, in.jf))
		case opRet:
			return in.k
		}
	}
	return 0
}

func cond(c bool, t, f uint8) uint8 {
	if c {
		return t
	}
	return f
}
