// Package host is the kernel's own view of the sockets whose segments
// finwave sees on the wire, when finwave runs on the host that owns them
// (finwave live): which process owns a socket (host/sockets), the state
// changes, resets, retransmissions and drops the kernel itself traced
// (host/trace, eBPF), and the netfilter conntrack entry and NAT
// translation of a flow (host/conntrack).
//
// This package holds only the vocabulary the three share: a socket's
// Tuple as the local kernel names it, the kernel's TCP State numbering
// (include/net/tcp_states.h), an Owner, a traced Event and a conntrack
// Entry. Like capture/, it is a source: it knows nothing of flows, close
// machines or rendering. pipeline and cmd/finwave join what it reports to
// the analyzer's teardowns by Tuple.
package host
