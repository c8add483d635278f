package host

import (
	"net/netip"
	"strconv"
	"time"
)

// Tuple is a TCP socket's address pair as the local kernel names it: Local
// is the address and port of the socket on this host, Remote its peer's.
// IPv4 addresses are plain 4-byte addresses (never IPv4-mapped IPv6), so
// that a Tuple from the wire and one from the kernel compare equal.
type Tuple struct {
	Local, Remote netip.AddrPort
}

// Reverse is the same pair seen from the other end.
func (t Tuple) Reverse() Tuple { return Tuple{t.Remote, t.Local} }

// Unmap returns t with IPv4-mapped IPv6 addresses made plain IPv4
// (a dual-stack socket reports ::ffff:a.b.c.d).
func (t Tuple) Unmap() Tuple {
	return Tuple{
		netip.AddrPortFrom(t.Local.Addr().Unmap(), t.Local.Port()),
		netip.AddrPortFrom(t.Remote.Addr().Unmap(), t.Remote.Port()),
	}
}

func (t Tuple) String() string { return t.Local.String() + " ↔ " + t.Remote.String() }

// State is a TCP socket state in the kernel's own numbering
// (include/net/tcp_states.h), as sock_diag, /proc/net/tcp and the
// sock:inet_sock_set_state tracepoint report it. 0 is no state (unknown).
type State uint8

const (
	Established State = iota + 1
	SynSent
	SynRecv
	FinWait1
	FinWait2
	TimeWait
	Close
	CloseWait
	LastAck
	Listen
	Closing
	NewSynRecv
	BoundInactive
	numStates
)

var stateNames = [...]string{"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV", "BOUND_INACTIVE"}

var _ [numStates]string = stateNames // a name per state

// String is the kernel's name of the state (TCP_ without its prefix, as the
// tracepoint prints it); "" for 0, "STATE(n)" past the known ones.
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "STATE(" + strconv.Itoa(int(s)) + ")"
}

// Owner is the process that holds (or held) a socket open: what `ss -p`
// prints, with the process's cgroup and container.
type Owner struct {
	PID  int
	Comm string // the command name (/proc/PID/comm), e.g. "nginx"
	UID  uint32 // the socket's owner (sock_diag idiag_uid)
	// Cgroup is the process's cgroup v2 path (/proc/PID/cgroup, "0::"
	// line), e.g. "/system.slice/nginx.service"; Container the container
	// id found in it (docker, containerd, cri-o, podman), "" when none.
	Cgroup    string
	Container string
	Inode     uint64 // the socket's inode (0: none, e.g. TIME_WAIT)
}

// EventKind is what the kernel traced.
type EventKind uint8

const (
	StateChange  EventKind = iota // sock:inet_sock_set_state
	SendReset                     // tcp:tcp_send_reset
	ReceiveReset                  // tcp:tcp_receive_reset
	Retransmit                    // tcp:tcp_retransmit_skb
	Drop                          // skb:kfree_skb of a TCP segment, with its drop reason
	numEventKinds
)

var eventKindNames = [...]string{"state", "send-reset", "receive-reset", "retransmit", "drop"}

var _ [numEventKinds]string = eventKindNames

func (k EventKind) String() string {
	if k < numEventKinds {
		return eventKindNames[k]
	}
	return "invalid"
}

// Event is one thing the kernel traced about a TCP socket of this host.
type Event struct {
	Kind EventKind
	// Time is when the kernel traced it, on the wall clock the capture's
	// timestamps use (CLOCK_REALTIME), converted from the trace's clock.
	Time time.Time
	// Tuple is the socket's pair as the local kernel names it. For a Drop
	// it is the dropped segment's pair from the receiver's view (Local is
	// its destination); for a SendReset with no socket (a RST answering a
	// segment to a closed port) Local is the port the segment was sent to.
	Tuple Tuple
	// Old and New: a StateChange's states; a Retransmit's or a Reset's
	// socket state in New (0 when the kernel sent a RST with no socket).
	Old, New State
	// Reason names why: a SendReset's sk_rst_reason (e.g. "NO_SOCKET",
	// "TCP_ABORT_ON_CLOSE"), a Drop's skb_drop_reason (e.g.
	// "TCP_INVALID_SEQUENCE", "TCP_CSUM"), as the tracepoint prints them,
	// without the SK_RST_REASON_ / SKB_DROP_REASON_ prefix; "" when the
	// kernel gives none.
	Reason string
	// PID and Comm are the task that was running (current) when the kernel
	// traced it: the socket's process for a change a system call made
	// (close, shutdown, connect), any task or none (0) in softirq.
	PID  uint32
	Comm string
}

// Direction is one direction of a flow: a packet's source and destination.
type Direction struct {
	Src, Dst netip.AddrPort
}

// Entry is a netfilter conntrack entry for one TCP flow: its tuples before
// and after NAT, its state and timeout.
type Entry struct {
	// Orig is the flow as its first packet had it (client → server);
	// Reply what the reply direction carries, after NAT. Without NAT,
	// Reply is Orig reversed.
	Orig, Reply Direction
	// State is conntrack's TCP state (e.g. "ESTABLISHED", "TIME_WAIT",
	// "CLOSE"), Timeout the seconds left when read.
	State   string
	Timeout time.Duration
	Mark    uint32
	// SNAT and DNAT say whether the entry translates the source or the
	// destination.
	SNAT, DNAT bool
}
