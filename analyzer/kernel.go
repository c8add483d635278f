package analyzer

import (
	"net/netip"
	"time"

	"finwave/flow"
	"finwave/host"
)

// Kernel is the kernel's own account of this host's sockets, for finwave
// run on the host that owns them (finwave live; Config.Kernel). The
// analyzer asks it once per flow, as the flow finishes, and knows nothing
// of how it is read (process tables, an eBPF trace, conntrack): it puts
// what it is told beside what the machines made of the wire.
type Kernel interface {
	// View fills v (reset by the caller) with what the kernel knows of
	// the flow between client and server, seen from first to last: each
	// endpoint that is a socket of this host (KernelSocket.Local), its
	// owner and traced events, and the flow's conntrack entry.
	View(client, server netip.AddrPort, first, last time.Time, v *KernelView)
	// ExplainReset says why this host sent a RST from → to at the time
	// given, when its netfilter state explains it (a segment conntrack
	// found INVALID, answered un-translated); "" when it does not.
	ExplainReset(from, to netip.AddrPort, at time.Time) string
}

// KernelView is the kernel's account of one flow (Teardown.Kernel).
type KernelView struct {
	// Sockets are the flow's two endpoints, indexed by Side.
	Sockets [2]KernelSocket
	// Conntrack is the flow's netfilter conntrack entry, when Tracked:
	// its state, timeout and NAT translation. ConntrackNote says why
	// there is none when conntrack was read ("" otherwise).
	Conntrack     host.Entry
	Tracked       bool
	ConntrackNote string
	// ConntrackResets are the flow's RSTs (any sender) that the host's
	// netfilter state explains (Kernel.ExplainReset), with Frame, Time
	// and the explanation in Conntrack.
	ConntrackResets []KernelReset
}

// KernelSocket is what the kernel said of one endpoint's socket.
type KernelSocket struct {
	// Local: the endpoint's address is this host's; nothing below is
	// set otherwise.
	Local bool
	// Owner is the process that held the socket, when OwnerKnown;
	// OwnerNote says why not otherwise (e.g. "the socket was gone before
	// it could be attributed").
	Owner      host.Owner
	OwnerKnown bool
	OwnerNote  string
	// Traced: the kernel's tracepoints were followed since TracedSince
	// (Events is then the whole account from that time: no event is no
	// change). Events are the socket's traced events, in time order.
	Traced      bool
	TracedSince time.Time
	Events      []host.Event

	// What the analyzer made of Events (reconcile):
	// KernelConfirmed counts the machine's tentative changes the kernel
	// traced, now confirmed; Differences are where the two disagree;
	// Resets are the RSTs the kernel sent or took, matched to the wire;
	// Drops the segments it dropped, with its reason; Retransmits the
	// segments it retransmitted.
	KernelConfirmed int
	Differences     []KernelDifference
	Resets          []KernelReset
	Drops           []KernelDrop
	Retransmits     int
}

// KernelDifference is one disagreement between the mirrored machine of an
// endpoint and the kernel's trace of its socket: a change one saw and the
// other did not.
type KernelDifference struct {
	// Machine is the machine's change (Frame, its cause; 0 for a timer),
	// zero when only the kernel traced one; Kernel the kernel's traced
	// change, zero (Kind 0 and no Time) when only the machine made one.
	Machine Change
	Kernel  host.Event
	// OnlyKernel: the kernel traced Kernel and the machine made no such
	// change; otherwise the machine made Machine and the trace has none.
	OnlyKernel bool
}

// KernelReset is a RST the kernel sent (Sent) or took, with the wire's
// segment it matched (Frame, 0 when the capture has none: filtered, or
// never on this interface).
type KernelReset struct {
	Frame  int64
	Time   time.Time
	Sent   bool
	State  host.State // the socket's state when traced (0: no socket)
	Reason string     // the kernel's reason (sk_rst_reason), "" for one taken
	// Conntrack: the host's netfilter state explains why it was sent
	// (KernelView.ConntrackResets only).
	Conntrack string
}

// KernelDrop is a segment of the flow the kernel dropped on its way to the
// socket, with its reason (skb_drop_reason), and the wire's segment it
// matched (0 when none is kept: data and plain ACKs are not).
type KernelDrop struct {
	Frame  int64
	Time   time.Time
	Reason string
}

// kernelStates maps the kernel's state numbering to the machine's; Unknown
// for the kernel's own steps the machines do not model (a request
// socket's NEW_SYN_RECV, BOUND_INACTIVE).
var kernelStates = [...]State{
	host.Established: Established, host.SynSent: SynSent, host.SynRecv: SynReceived,
	host.FinWait1: FinWait1, host.FinWait2: FinWait2, host.TimeWait: TimeWait, host.Close: Closed,
	host.CloseWait: CloseWait, host.LastAck: LastAck, host.Listen: Listen, host.Closing: Closing,
	host.NewSynRecv: Unknown, host.BoundInactive: Unknown,
}

// kernelState is kernelStates[s]; ok is false where it is Unknown.
func kernelState(s host.State) (State, bool) {
	if int(s) < len(kernelStates) && kernelStates[s] != Unknown {
		return kernelStates[s], true
	}
	return Unknown, false
}

// untraceable reports whether entering state s cannot be tied to the
// flow's socket in the trace: SYN_RECEIVED is a request socket's until the
// handshake's ACK creates the full socket (tcp_create_openreq_child, which
// enters SYN_RECV and ESTABLISHED at once), and a connecting socket
// enters SYN_SENT before its local port is chosen (tcp_v4_connect:
// tcp_set_state, then inet_hash_connect), so the trace names it with
// port 0.
func untraceable(s State) bool { return s == SynReceived || s == SynSent }

// noSocket reports whether m is the change of a side that had no socket:
// CLOSED from nothing (a RST answering for a port nothing listens on,
// tcp_v4_send_reset with no sk): no socket, no trace.
func noSocket(m *change) bool {
	return m.to == Closed && (m.from == Unknown || m.from == Listen || m.from == Closed)
}

// handover reports whether the kernel's change from → CLOSE is Linux's
// tcp_time_wait: the full socket is closed (tcp_done) and a timewait
// socket, which no tracepoint follows, holds the connection from then on
// — TIME_WAIT, or FIN_WAIT_2 for an orphan (tw_substate).
func handover(from State) bool {
	return from == FinWait1 || from == FinWait2 || from == Closing
}

// kernelMatches reports whether the kernel's traced change k stands for the
// machine's change m: the same state entered, or TIME_WAIT entered through
// the timewait handover.
func kernelMatches(m *change, kfrom, kto State) bool {
	if m.to == kto {
		return true
	}
	return m.to == TimeWait && kto == Closed && handover(kfrom)
}

// reconcileKernel puts the kernel's trace of side s beside the machine's
// changes: a tentative change the kernel traced is confirmed; a change
// one made and the other did not is a difference. Called at finish,
// before the counters and end states are derived from the changes.
//
// What no tracepoint shows is never a difference: SYN_SENT and
// SYN_RECEIVED (untraceable), what a timewait socket does after the
// handover (its TIME_WAIT ending, an orphan's FIN_WAIT_2 becoming
// TIME_WAIT), and changes before the trace began.
func (c *conn) reconcileKernel(s Side, v *KernelSocket) {
	if !v.Traced {
		return
	}
	var kev [64]int // indices into v.Events of state changes the machines model
	kn := 0
	for i := range v.Events {
		ev := &v.Events[i]
		if ev.Kind != host.StateChange {
			continue
		}
		to, ok := kernelState(ev.New)
		if !ok || untraceable(to) || kn == len(kev) {
			continue
		}
		kev[kn] = i
		kn++
	}
	k := 0 // next kernel change to match
	handed := false
	var lastTo State
	for i := range c.changes {
		m := &c.changes[i]
		if m.side != s || m.undone || m.frame == retracted || untraceable(m.to) || noSocket(m) {
			continue
		}
		at := c.frameTime(m.frame)
		if handed || (!at.IsZero() && at.Before(v.TracedSince)) {
			continue // in a timewait socket, or before the trace
		}
		lastTo = m.to
		found := -1
		for j := k; j < kn; j++ {
			ev := &v.Events[kev[j]]
			kfrom, _ := kernelState(ev.Old)
			kto, _ := kernelState(ev.New)
			if kernelMatches(m, kfrom, kto) {
				found = j
				break
			}
		}
		if found < 0 {
			v.Differences = append(v.Differences, KernelDifference{Machine: c.publicChange(m, at)})
			continue
		}
		for j := k; j < found; j++ {
			v.Differences = append(v.Differences, KernelDifference{Kernel: v.Events[kev[j]], OnlyKernel: true})
		}
		k = found + 1
		ev := &v.Events[kev[found]]
		if kto, _ := kernelState(ev.New); kto == Closed && m.to == TimeWait {
			handed = true
		}
		if m.tentative {
			m.tentative, m.confirmed = false, m.frame
			c.unpend(s, i)
			v.KernelConfirmed++
		}
	}
	for j := k; j < kn; j++ {
		ev := &v.Events[kev[j]]
		kfrom, _ := kernelState(ev.Old)
		kto, _ := kernelState(ev.New)
		if kto == Closed && handover(kfrom) && (lastTo == kfrom || lastTo == TimeWait) {
			// An orphan's FIN_WAIT_2 (or a TIME_WAIT) handed to a
			// timewait socket: the machine is still in that state.
			handed = true
			continue
		}
		v.Differences = append(v.Differences, KernelDifference{Kernel: *ev, OnlyKernel: true})
	}
}

// everOpen reports whether side s's machine ever entered a state only a
// socket has (SYN_SENT on, LISTEN aside).
func (c *conn) everOpen(s Side) bool {
	for i := range c.changes {
		if m := &c.changes[i]; m.side == s && !m.undone && m.to != Closed && m.to != Unknown && m.to != Listen {
			return true
		}
	}
	return c.ep[s].state != Closed && c.ep[s].state != Unknown && c.ep[s].state != Listen
}

// unpend drops the pending record of change idx of side s: the kernel
// settled it.
func (c *conn) unpend(s Side, idx int) {
	e := &c.ep[s]
	pend := c.pendings(e)
	n := 0
	for _, p := range pend {
		if int(p.idx) == idx {
			continue
		}
		pend[n] = p
		n++
	}
	e.npend = uint8(n)
}

// publicChange is m as a Change, at time at.
func (c *conn) publicChange(m *change, at time.Time) Change {
	return Change{Side: m.side, From: m.from, To: m.to, Frame: m.frame, Time: at,
		Tentative: m.tentative, Confirmed: m.confirmed, Undone: m.undone}
}

// frameTime is when frame was seen, if one of the flow's kept segments is
// it; zero otherwise (a timer's change, frame 0).
func (c *conn) frameTime(frame int64) time.Time {
	if frame <= 0 {
		return time.Time{}
	}
	for i := range c.segs {
		if c.segs[i].frame == frame {
			return c.segs[i].t.time()
		}
	}
	for i := range c.synSegs {
		if c.haveSyn[i] && c.synSegs[i].frame == frame {
			return c.synSegs[i].t.time()
		}
	}
	return time.Time{}
}

// kernelWindow is how far apart the kernel's trace of a RST or drop and
// the capture's timestamp of its segment may be: both are taken on this
// host, within the same softirq or system call, microseconds apart; a
// second is ample for any scheduling delay and far below the time between
// two RSTs of one flow.
const kernelWindow = time.Second

// matchKernelSegments matches the kernel's resets and drops of side s to
// the flow's RST segments, and counts its retransmissions.
func (c *conn) matchKernelSegments(s Side, v *KernelSocket) {
	used := 0 // RST segments matched, by index (a flow has few)
	for i := range v.Events {
		ev := &v.Events[i]
		switch ev.Kind {
		case host.Retransmit:
			v.Retransmits++
		case host.SendReset, host.ReceiveReset:
			sent := ev.Kind == host.SendReset
			from := s
			if !sent {
				from = s.Peer()
			}
			r := KernelReset{Time: ev.Time, Sent: sent, State: ev.New, Reason: ev.Reason}
			if j := c.nearestRST(from, ev.Time, &used); j >= 0 {
				r.Frame = c.segs[j].frame
			}
			v.Resets = append(v.Resets, r)
		case host.Drop:
			d := KernelDrop{Time: ev.Time, Reason: ev.Reason, Frame: c.segmentBefore(s.Peer(), ev.Time)}
			v.Drops = append(v.Drops, d)
		}
	}
}

// segmentBefore is the frame of the last kept segment (labelled, or a
// first SYN kept aside) from side from at or before at, within
// kernelWindow: the segment the kernel dropped; 0 when none.
func (c *conn) segmentBefore(from Side, at time.Time) int64 {
	var frame int64
	var when time.Time
	for j := range c.segs {
		if sg := &c.segs[j]; sg.from == from {
			if st := sg.t.time(); !st.After(at) && st.After(when) {
				frame, when = sg.frame, st
			}
		}
	}
	for i := range c.synSegs {
		if ss := &c.synSegs[i]; c.haveSyn[i] && ss.from == from {
			if st := ss.t.time(); !st.After(at) && st.After(when) {
				frame, when = ss.frame, st
			}
		}
	}
	if frame == 0 || at.Sub(when) > kernelWindow {
		return 0
	}
	return frame
}

// nearestRST is the index in c.segs of the RST sent by from nearest to at,
// within kernelWindow and not used yet (used: a bitmask of the first 64
// segments matched); -1 when none.
func (c *conn) nearestRST(from Side, at time.Time, used *int) int {
	best, bestD := -1, kernelWindow+1
	for j := range c.segs {
		sg := &c.segs[j]
		if sg.from != from || sg.flags&flow.RST == 0 || (j < 64 && *used&(1<<j) != 0) {
			continue
		}
		d := sg.t.time().Sub(at)
		if d < 0 {
			d = -d
		}
		if d < bestD {
			best, bestD = j, d
		}
	}
	if best >= 0 && best < 64 {
		*used |= 1 << best
	}
	return best
}

// addrPort is side s's endpoint of t as an address and port.
func addrPort(t *Teardown, s Side) netip.AddrPort {
	e := t.Endpoint(s)
	return netip.AddrPortFrom(e.Addr, e.Port)
}

// kernelView asks cfg.Kernel for the flow and reconciles each local,
// traced endpoint; t.Kernel is set (into t's own storage) when asked.
func (c *conn) kernelView(cfg *Config, t *Teardown) {
	if cfg.Kernel == nil {
		t.Kernel = nil
		return
	}
	if t.kernel == nil {
		t.kernel = new(KernelView) // kept across Recycle
	}
	v := t.kernel
	for i := range v.Sockets {
		ks := &v.Sockets[i]
		*ks = KernelSocket{Events: ks.Events[:0], Differences: ks.Differences[:0], Resets: ks.Resets[:0], Drops: ks.Drops[:0]}
	}
	v.Conntrack, v.Tracked, v.ConntrackNote = host.Entry{}, false, ""
	v.ConntrackResets = v.ConntrackResets[:0]
	cfg.Kernel.View(addrPort(t, Client), addrPort(t, Server), c.firstAt.time(), c.lastAt.time(), v)
	for s := range v.Sockets {
		if ks := &v.Sockets[s]; ks.Local {
			c.reconcileKernel(Side(s), ks)
			c.matchKernelSegments(Side(s), ks)
			if !ks.OwnerKnown && !c.everOpen(Side(s)) {
				ks.OwnerNote = "no socket: nothing on this host held this connection"
			}
		}
	}
	// Every RST on the wire, whoever sent it: the host's netfilter state
	// may explain it (a NAT gateway's or node's own stack answering a
	// segment conntrack found INVALID, not de-NATed).
	for j := range c.segs {
		sg := &c.segs[j]
		if sg.flags&flow.RST == 0 {
			continue
		}
		at := sg.t.time()
		if note := cfg.Kernel.ExplainReset(addrPort(t, sg.from), addrPort(t, sg.from.Peer()), at); note != "" {
			v.ConntrackResets = append(v.ConntrackResets, KernelReset{Frame: sg.frame, Time: at, Sent: true, Conntrack: note})
		}
	}
	t.Kernel = v
}
