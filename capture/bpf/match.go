package bpf

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
	xbpf "golang.org/x/net/bpf"
)

// Matcher evaluates a compiled filter in user space, on frames read from
// files, as `tcpdump -r FILE EXPR` does with libpcap's bpf_filter: the same
// program the kernel would run for live capture, compiled for the frame's
// link type (a pcapng file may mix link types, so a program per link type,
// compiled on first sight and kept).
//
// Match does not allocate once a link type's program is compiled. A
// Matcher is not safe for concurrent use.
type Matcher struct {
	expr   string
	lastLT layers.LinkType
	last   *compiled
	progs  map[layers.LinkType]*compiled
	errs   map[layers.LinkType]error
}

// compiled is one link type's program: run by the interpreter of
// interp.go, or by x/net/bpf's VM when it holds an instruction the
// interpreter does not know (never from this compiler; a safety net).
type compiled struct {
	prog []insn
	vm   *xbpf.VM
}

// NewMatcher checks expr's syntax (compiling it for Ethernet) and returns a
// Matcher for it. The error is a *SyntaxError for an expression the
// compiler does not accept.
func NewMatcher(expr string) (*Matcher, error) {
	if _, err := Compile(expr, layers.LinkTypeEthernet, 0); err != nil {
		return nil, err
	}
	return &Matcher{expr: expr, progs: map[layers.LinkType]*compiled{},
		errs: map[layers.LinkType]error{}}, nil
}

// Expr returns the expression the Matcher was made from.
func (m *Matcher) Expr() string { return m.expr }

// Match reports whether the filter accepts frame data of link type lt.
// The error, the same for every frame of lt, says the compiler does not
// support lt (UnsupportedLinkError).
func (m *Matcher) Match(lt layers.LinkType, data []byte) (bool, error) {
	if lt != m.lastLT || m.last == nil {
		c, err := m.program(lt)
		if err != nil {
			return false, err
		}
		m.lastLT, m.last = lt, c
	}
	// Both reject a frame whose loads fall outside it (return 0), as the
	// kernel's and libpcap's interpreters do.
	if m.last.prog != nil {
		return run(m.last.prog, data) > 0, nil
	}
	n, err := m.last.vm.Run(data)
	return err == nil && n > 0, nil
}

func (m *Matcher) program(lt layers.LinkType) (*compiled, error) {
	if c, ok := m.progs[lt]; ok {
		return c, nil
	}
	if err, ok := m.errs[lt]; ok {
		return nil, err
	}
	prog, err := Compile(m.expr, lt, 0)
	c := &compiled{}
	if err == nil {
		if c.prog, err = translate(prog); err != nil {
			c.prog = nil
			c.vm, err = xbpf.NewVM(prog)
		}
	}
	if err != nil {
		err = &UnsupportedLinkError{LinkType: lt, Err: err}
		m.errs[lt] = err
		return nil, err
	}
	m.progs[lt] = c
	return c, nil
}

// UnsupportedLinkError says a filter cannot be compiled for a link type.
type UnsupportedLinkError struct {
	LinkType layers.LinkType
	Err      error
}

func (e *UnsupportedLinkError) Error() string {
	return fmt.Sprintf("filter: link type %d (%v) not supported by the filter compiler (supported: Ethernet, raw IP, Linux SLL and SLL2)", int(e.LinkType), e.LinkType)
}

func (e *UnsupportedLinkError) Unwrap() error { return e.Err }
