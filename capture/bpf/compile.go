package bpf

import (
	"fmt"
	"strings"

	"github.com/gopacket/gopacket/layers"
	xbpf "golang.org/x/net/bpf"
)

// DefaultSnaplen is what an accepting program returns: libpcap's
// MAXIMUM_SNAPLEN (262144), tcpdump's default snap length.
const DefaultSnaplen = 262144

// layout says where the network header and its type field are in a frame.
type layout struct {
	typeOff int    // offset of the EtherType-like field; -1 when the link has none (raw IP)
	nh      uint32 // offset of the network-layer header
}

func layoutOf(lt layers.LinkType) (layout, error) {
	switch lt {
	case layers.LinkTypeEthernet:
		return layout{typeOff: 12, nh: 14}, nil
	case layers.LinkTypeRaw, layers.LinkType(12), layers.LinkType(14):
		return layout{typeOff: -1, nh: 0}, nil
	case layers.LinkTypeLinuxSLL:
		return layout{typeOff: 14, nh: 16}, nil
	case layers.LinkType(276): // LINKTYPE_LINUX_SLL2
		return layout{typeOff: 0, nh: 20}, nil
	}
	return layout{}, fmt.Errorf("filter: link type %v not supported by the built-in compiler", lt)
}

// Compile compiles a tcpdump filter expression for frames of link type lt
// into a program that returns snaplen (0: DefaultSnaplen) for the packets
// it accepts and 0 for the others. An empty expression accepts everything.
// Errors are *SyntaxError for the expression, or an error naming an
// unsupported link type.
func Compile(expr string, lt layers.LinkType, snaplen int) ([]xbpf.Instruction, error) {
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	lay, err := layoutOf(lt)
	if err != nil {
		return nil, err
	}
	var root node = constNode(true)
	if strings.TrimSpace(expr) != "" {
		toks, err := lex(expr)
		if err != nil {
			return nil, err
		}
		p := &parser{expr: expr, toks: toks, lay: lay}
		if root, err = p.parse(); err != nil {
			return nil, err
		}
	}
	prog, err := program(root, uint32(snaplen))
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	return prog, nil
}

// CompileRaw is Compile assembled into the kernel's struct sock_filter
// form, ready for SO_ATTACH_FILTER.
func CompileRaw(expr string, lt layers.LinkType, snaplen int) ([]xbpf.RawInstruction, error) {
	prog, err := Compile(expr, lt, snaplen)
	if err != nil {
		return nil, err
	}
	raw, err := xbpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("filter %q: assemble: %w", expr, err)
	}
	return raw, nil
}
