package hostview

import (
	"fmt"
	"net"
	"net/netip"
)

// Locals is the set of addresses of this host's network namespace: a flow
// endpoint with one of them is a local socket. Loopback (127.0.0.0/8, ::1)
// is always local.
type Locals struct {
	addrs map[netip.Addr]struct{}
}

// ReadLocals reads the addresses of every interface of the caller's
// network namespace (an RTM_GETADDR dump: no privilege needed).
func ReadLocals() (*Locals, error) {
	ifas, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("hostview: local addresses: %w", err)
	}
	l := &Locals{addrs: make(map[netip.Addr]struct{}, len(ifas))}
	for _, a := range ifas {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			l.addrs[p.Addr().Unmap()] = struct{}{}
		}
	}
	return l, nil
}

// NewLocals is a set of the given addresses (tests, and hosts whose
// addresses are known otherwise).
func NewLocals(addrs ...netip.Addr) *Locals {
	l := &Locals{addrs: make(map[netip.Addr]struct{}, len(addrs))}
	for _, a := range addrs {
		l.addrs[a.Unmap()] = struct{}{}
	}
	return l
}

// Has reports whether a is an address of this host.
func (l *Locals) Has(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() {
		return true
	}
	if l == nil {
		return false
	}
	_, ok := l.addrs[a]
	return ok
}

// Len is the number of addresses known (loopback aside).
func (l *Locals) Len() int {
	if l == nil {
		return 0
	}
	return len(l.addrs)
}
