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
	expr    string
	lastLT  layers.LinkType
	lastVM  *xbpf.VM
	vms     map[layers.LinkType]*xbpf.VM
	errs    map[layers.LinkType]error
	compile func(string, layers.LinkType, int) ([]xbpf.Instruction, error)
}

// NewMatcher checks expr's syntax (compiling it for Ethernet) and returns a
// Matcher for it. The error is a *SyntaxError for an expression the
// compiler does not accept.
func NewMatcher(expr string) (*Matcher, error) {
	if _, err := Compile(expr, layers.LinkTypeEthernet, 0); err != nil {
		return nil, err
	}
	return &Matcher{expr: expr, vms: map[layers.LinkType]*xbpf.VM{},
		errs: map[layers.LinkType]error{}, compile: Compile}, nil
}

// Expr returns the expression the Matcher was made from.
func (m *Matcher) Expr() string { return m.expr }

// Match reports whether the filter accepts frame data of link type lt.
// The error, the same for every frame of lt, says the compiler does not
// support lt (UnsupportedLinkError).
func (m *Matcher) Match(lt layers.LinkType, data []byte) (bool, error) {
	if lt != m.lastLT || m.lastVM == nil {
		vm, err := m.vm(lt)
		if err != nil {
			return false, err
		}
		m.lastLT, m.lastVM = lt, vm
	}
	// The VM rejects a frame whose loads fall outside it (returns 0), as
	// the kernel's and libpcap's interpreters do.
	n, err := m.lastVM.Run(data)
	return err == nil && n > 0, nil
}

func (m *Matcher) vm(lt layers.LinkType) (*xbpf.VM, error) {
	if vm, ok := m.vms[lt]; ok {
		return vm, nil
	}
	if err, ok := m.errs[lt]; ok {
		return nil, err
	}
	prog, err := m.compile(m.expr, lt, 0)
	var vm *xbpf.VM
	if err == nil {
		vm, err = xbpf.NewVM(prog)
	}
	if err != nil {
		err = &UnsupportedLinkError{LinkType: lt, Err: err}
		m.errs[lt] = err
		return nil, err
	}
	m.vms[lt] = vm
	return vm, nil
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
