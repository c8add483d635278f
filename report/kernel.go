package report

import (
	"fmt"
	"strconv"
	"time"

	"finwave/analyzer"
	"finwave/host"
)

// appendJSONKernel appends "kernel": the kernel's own account of the flow
// (analyzer.KernelView), only when finwave ran on the host with a kernel
// view (finwave live): a file's flows have no such key.
func appendJSONKernel(b []byte, t *analyzer.Teardown) []byte {
	v := t.Kernel
	if v == nil {
		return b
	}
	b = append(b, `,"kernel":{`...)
	for s, key := range [2]string{"client", "server"} {
		if s > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, `":`...)
		ks := &v.Sockets[s]
		if !ks.Local {
			b = append(b, "null"...)
			continue
		}
		b = appendJSONSocket(b, ks, t.FirstTime)
	}
	b = append(b, `,"conntrack":`...)
	if v.Tracked {
		b = appendJSONEntry(b, &v.Conntrack)
	} else {
		b = append(b, "null"...)
	}
	if v.ConntrackNote != "" {
		b = appendKeyString(b, "conntrack_note", v.ConntrackNote)
	}
	b = append(b, `,"conntrack_resets":[`...)
	for i := range v.ConntrackResets {
		r := &v.ConntrackResets[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"frame":`...)
		b = strconv.AppendInt(b, r.Frame, 10)
		b = appendKeyString(b, "explanation", r.Conntrack)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendJSONSocket appends one local endpoint's kernel account.
func appendJSONSocket(b []byte, ks *analyzer.KernelSocket, first time.Time) []byte {
	b = append(b, `{"owner":`...)
	if ks.OwnerKnown {
		o := &ks.Owner
		b = append(b, `{"pid":`...)
		b = strconv.AppendInt(b, int64(o.PID), 10)
		b = appendKeyString(b, "command", o.Comm)
		b = appendKeyInt(b, "uid", int64(o.UID))
		b = appendKeyString(b, "cgroup", o.Cgroup)
		b = appendKeyString(b, "container", o.Container)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = appendKeyString(b, "owner_note", ks.OwnerNote)
	b = appendKeyBool(b, "traced", ks.Traced)
	b = appendKeyInt(b, "confirmed", int64(ks.KernelConfirmed))
	b = append(b, `,"states":[`...)
	n := 0
	for i := range ks.Events {
		ev := &ks.Events[i]
		if ev.Kind != host.StateChange {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"time":`...)
		b = appendJSONFloat(b, rel(ev.Time, first))
		b = appendKeyString(b, "from", ev.Old.String())
		b = appendKeyString(b, "to", ev.New.String())
		b = appendKeyInt(b, "pid", int64(ev.PID))
		b = appendKeyString(b, "command", ev.Comm)
		b = append(b, '}')
	}
	b = append(b, `],"differences":[`...)
	for i := range ks.Differences {
		d := &ks.Differences[i]
		if i > 0 {
			b = append(b, ',')
		}
		if d.OnlyKernel {
			b = append(b, `{"only":"kernel","time":`...)
			b = appendJSONFloat(b, rel(d.Kernel.Time, first))
			b = appendKeyString(b, "from", d.Kernel.Old.String())
			b = appendKeyString(b, "to", d.Kernel.New.String())
		} else {
			b = append(b, `{"only":"finwave","frame":`...)
			b = strconv.AppendInt(b, d.Machine.Frame, 10)
			b = appendKeyString(b, "from", d.Machine.From.String())
			b = appendKeyString(b, "to", d.Machine.To.String())
		}
		b = append(b, '}')
	}
	b = append(b, `],"resets":[`...)
	for i := range ks.Resets {
		r := &ks.Resets[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"frame":`...)
		b = strconv.AppendInt(b, r.Frame, 10)
		b = append(b, `,"time":`...)
		b = appendJSONFloat(b, rel(r.Time, first))
		b = appendKeyBool(b, "sent", r.Sent)
		b = appendKeyString(b, "state", r.State.String())
		b = appendKeyString(b, "reason", r.Reason)
		b = appendKeyString(b, "conntrack", r.Conntrack)
		b = append(b, '}')
	}
	b = append(b, `],"drops":[`...)
	for i := range ks.Drops {
		d := &ks.Drops[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"frame":`...)
		b = strconv.AppendInt(b, d.Frame, 10)
		b = append(b, `,"time":`...)
		b = appendJSONFloat(b, rel(d.Time, first))
		b = appendKeyString(b, "reason", d.Reason)
		b = append(b, '}')
	}
	b = append(b, ']')
	b = appendKeyInt(b, "retransmits", int64(ks.Retransmits))
	return append(b, '}')
}

// appendJSONEntry appends a conntrack entry.
func appendJSONEntry(b []byte, e *host.Entry) []byte {
	b = append(b, `{"state":`...)
	b = appendJSONString(b, e.State)
	b = append(b, `,"timeout":`...)
	b = appendJSONFloat(b, e.Timeout.Seconds())
	b = appendKeyString(b, "orig_src", e.Orig.Src.String())
	b = appendKeyString(b, "orig_dst", e.Orig.Dst.String())
	b = appendKeyString(b, "reply_src", e.Reply.Src.String())
	b = appendKeyString(b, "reply_dst", e.Reply.Dst.String())
	b = appendKeyBool(b, "snat", e.SNAT)
	b = appendKeyBool(b, "dnat", e.DNAT)
	b = appendKeyInt(b, "mark", int64(e.Mark))
	return append(b, '}')
}

// rel is t in seconds from first (the flow's first segment), as the
// ladder's times; 0 for a zero t.
func rel(t, first time.Time) float64 {
	if t.IsZero() || first.IsZero() {
		return 0
	}
	return t.Sub(first).Seconds()
}

// appendKernelText appends the kernel's account of the flow under its
// anomalies: per local endpoint, who owned the socket, whether the
// kernel's trace agrees with the machine, and the kernel's reasons for
// its resets and drops; then conntrack.
func appendKernelText(b []byte, t *analyzer.Teardown) []byte {
	v := t.Kernel
	if v == nil {
		return b
	}
	any := v.Tracked || v.ConntrackNote != "" || len(v.ConntrackResets) > 0
	for s := range v.Sockets {
		any = any || v.Sockets[s].Local
	}
	if !any {
		return b
	}
	b = append(b, "\n kernel (this host):\n"...)
	for s := range v.Sockets {
		ks := &v.Sockets[s]
		if !ks.Local {
			continue
		}
		side := analyzer.Side(s)
		b = append(b, "   "...)
		b = append(b, side.String()...)
		b = append(b, ' ')
		b = appendEndpoint(b, t.Endpoint(side))
		b = append(b, ": "...)
		b = appendOwner(b, ks)
		b = append(b, '\n')
		if ks.Traced {
			switch {
			case len(ks.Differences) == 0 && ks.KernelConfirmed > 0:
				b = fmt.Appendf(b, "     traced states agree with finwave's (the kernel confirmed %d change(s) the wire left unconfirmed)\n", ks.KernelConfirmed)
			case len(ks.Differences) == 0:
				b = append(b, "     traced states agree with finwave's\n"...)
			default:
				b = append(b, "     ⚠ traced states differ from finwave's:\n"...)
				for i := range ks.Differences {
					d := &ks.Differences[i]
					if d.OnlyKernel {
						b = fmt.Appendf(b, "       the kernel: %v → %v at %+.6f s; finwave saw no such change\n", d.Kernel.Old, d.Kernel.New, rel(d.Kernel.Time, t.FirstTime))
					} else {
						b = fmt.Appendf(b, "       finwave: %v → %v at frame %d; the kernel traced no such change\n", d.Machine.From, d.Machine.To, d.Machine.Frame)
					}
				}
			}
		}
		for i := range ks.Resets {
			r := &ks.Resets[i]
			b = append(b, "     RST "...)
			if r.Frame > 0 {
				b = fmt.Appendf(b, "frame %d", r.Frame)
			} else {
				b = append(b, "(not in the capture)"...)
			}
			if r.Sent {
				b = append(b, " sent by the kernel"...)
				if r.Reason != "" {
					b = append(b, ", reason "...)
					b = append(b, r.Reason...)
				}
				if r.State != 0 {
					b = append(b, " (socket in "...)
					b = append(b, r.State.String()...)
					b = append(b, ')')
				} else {
					b = append(b, " (no socket)"...)
				}
			} else {
				b = append(b, " taken by the kernel (tcp_receive_reset)"...)
			}
			b = append(b, '\n')
		}
		for i := range ks.Drops {
			d := &ks.Drops[i]
			b = append(b, "     dropped by the kernel: "...)
			if d.Frame > 0 {
				b = fmt.Appendf(b, "frame %d, ", d.Frame)
			}
			b = append(b, "reason "...)
			b = append(b, d.Reason...)
			b = append(b, '\n')
		}
		if ks.Retransmits > 0 {
			b = fmt.Appendf(b, "     the kernel retransmitted %d segment(s)\n", ks.Retransmits)
		}
	}
	if v.Tracked {
		e := &v.Conntrack
		b = fmt.Appendf(b, "   conntrack: %s, %s → %s", e.State, e.Orig.Src, e.Orig.Dst)
		if e.DNAT || e.SNAT {
			b = fmt.Appendf(b, ", translated: replies %s → %s", e.Reply.Src, e.Reply.Dst)
			switch {
			case e.DNAT && e.SNAT:
				b = append(b, " (DNAT and SNAT)"...)
			case e.DNAT:
				b = append(b, " (DNAT)"...)
			default:
				b = append(b, " (SNAT)"...)
			}
		}
		if e.Timeout > 0 {
			b = fmt.Appendf(b, ", timeout %d s", int64(e.Timeout.Seconds()))
		}
		b = append(b, '\n')
	} else if v.ConntrackNote != "" {
		b = append(b, "   conntrack: "...)
		b = append(b, v.ConntrackNote...)
		b = append(b, '\n')
	}
	for i := range v.ConntrackResets {
		r := &v.ConntrackResets[i]
		b = fmt.Appendf(b, "   ⚠ RST frame %d: %s\n", r.Frame, r.Conntrack)
	}
	return b
}

// appendOwner says who held the socket: "nginx, pid 1234, uid 33,
// container 3f2a… (cgroup …)", or why it is not known.
func appendOwner(b []byte, ks *analyzer.KernelSocket) []byte {
	if !ks.OwnerKnown {
		if ks.OwnerNote != "" {
			return append(b, ks.OwnerNote...)
		}
		return append(b, "owner unknown"...)
	}
	o := &ks.Owner
	b = fmt.Appendf(b, "%s, pid %d, uid %d", o.Comm, o.PID, o.UID)
	if o.Container != "" {
		b = append(b, ", container "...)
		b = append(b, o.Container...)
	}
	if o.Cgroup != "" {
		b = append(b, " (cgroup "...)
		b = append(b, o.Cgroup...)
		b = append(b, ')')
	}
	return b
}
