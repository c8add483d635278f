package hostview

import (
	"net/netip"
	"time"

	"finwave/analyzer"
	"finwave/host"
)

// Owners finds the process that holds a local socket (host/sockets).
type Owners interface {
	// Owner is the owner of socket t; when not known, note says why
	// ("the socket was gone before it could be attributed", "permission
	// denied reading /proc/PID/fd").
	Owner(t host.Tuple, first, last time.Time) (o host.Owner, ok bool, note string)
}

// Conntrack finds a flow's netfilter conntrack entry (host/conntrack).
type Conntrack interface {
	// Entry is the entry of the flow whose segment went src → dst, the
	// pair before or after translation, in either direction.
	Entry(src, dst netip.AddrPort) (host.Entry, bool)
	// ExplainReset says why this host sent a RST src → dst at time at,
	// when netfilter's state explains it; "" otherwise.
	ExplainReset(src, dst netip.AddrPort, at time.Time) string
}

// Kernel is the kernel's own account of this host's sockets, for the
// analyzer (analyzer.Kernel): which endpoints are local, their owners,
// their traced events, the flow's conntrack entry. Any part may be nil:
// that part is not read (the --kernel list, or the host does not allow
// it).
type Kernel struct {
	Locals    *Locals
	Owners    Owners
	Journal   *Journal
	Conntrack Conntrack
}

var _ analyzer.Kernel = (*Kernel)(nil)

// View implements analyzer.Kernel.
func (k *Kernel) View(client, server netip.AddrPort, first, last time.Time, v *analyzer.KernelView) {
	ends := [2]netip.AddrPort{client, server}
	for s := range ends {
		local, remote := ends[s], ends[s^1]
		if !k.Locals.Has(local.Addr()) {
			continue
		}
		ks := &v.Sockets[s]
		ks.Local = true
		t := host.Tuple{Local: local, Remote: remote}.Unmap()
		if k.Owners != nil {
			ks.Owner, ks.OwnerKnown, ks.OwnerNote = k.Owners.Owner(t, first, last)
		}
		if k.Journal != nil {
			ks.Traced, ks.TracedSince = true, k.Journal.Since()
			ks.Events = k.Journal.Take(t, first, last, ks.Events)
			if !ks.OwnerKnown {
				ownerFromTrace(ks)
			}
		}
	}
	if k.Conntrack != nil {
		v.Conntrack, v.Tracked = k.Conntrack.Entry(client, server)
	}
}

// ExplainReset implements analyzer.Kernel.
func (k *Kernel) ExplainReset(from, to netip.AddrPort, at time.Time) string {
	if k.Conntrack == nil {
		return ""
	}
	return k.Conntrack.ExplainReset(from, to, at)
}

// ownerFromTrace names the owner of a socket too short-lived for the
// socket table from its trace: ESTABLISHED → FIN_WAIT1 and CLOSE_WAIT →
// LAST_ACK are made only by the owner's own close() or shutdown()
// (tcp_close, tcp_shutdown: tcp_close_state, in the calling task), so the
// task traced then is the socket's process. Changes in softirq (a segment
// received, a timer) run in whatever task was there and tell nothing.
func ownerFromTrace(ks *analyzer.KernelSocket) {
	for i := range ks.Events {
		ev := &ks.Events[i]
		if ev.Kind != host.StateChange || ev.PID == 0 {
			continue
		}
		if (ev.Old == host.Established && ev.New == host.FinWait1) || (ev.Old == host.CloseWait && ev.New == host.LastAck) {
			ks.Owner = host.Owner{PID: int(ev.PID), Comm: ev.Comm}
			ks.OwnerKnown = true
			ks.OwnerNote = "from the kernel trace: the task that called close() or shutdown() (" + ev.Old.String() + " → " + ev.New.String() + ")"
			return
		}
	}
}
