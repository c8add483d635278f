package report

import (
	"bytes"
	"encoding/json"
	"fmt"

	"finwave/host"
	"finwave/hostview"
)

// Live is what only a live capture knows: the kernel's counters and the
// flows finished on the wall clock. Given as Capture.Live, the live
// renderers write it just before the summary, so that a drop is read before
// any conclusion: NewJSONLines as one "type":"live" object (SCHEMA.md),
// NewStreamText as a line or two. NewText and NewJSON ignore it.
type Live struct {
	Interface          string
	KernelPackets      uint64 // packets the kernel filter passed (delivered or dropped)
	KernelDrops        uint64 // packets dropped because the ring was full
	KernelQueueFreezes uint64 // times the ring was frozen full (TPACKET_V3)
	KernelStatsError   string // why the counters could not be read; "" when they were
	IdleFlows          int64  // flows finished by the idle timeout
	// Counters is the namespace's nstat counters over the capture beside
	// finwave's prediction for the local endpoints; nil when not read,
	// CountersError then says why ("" when not asked for).
	Counters      *hostview.Comparison
	CountersError string
	// Trace is the kernel trace's own health (finwave live with eBPF);
	// nil when it was not running.
	Trace *Trace
	// Conntrack is the conntrack table's health (finwave live reading
	// conntrack); nil when it was not read.
	Conntrack *Conntrack
	// Held is the sockets this host still held in CLOSE_WAIT or
	// FIN_WAIT_2 when the capture stopped, by owning process, most first
	// (finwave live's process attribution): the leaks.
	Held []Held
}

// Trace says how complete the kernel's trace was.
type Trace struct {
	Lost     uint64   // events the ring buffer could not hold
	Overflow uint64   // events past the journal's limits
	Notes    []string // tracepoints left out, and why
	Error    string   // why reading stopped early, "" when it did not
}

// Conntrack says how complete finwave's copy of the conntrack table was.
type Conntrack struct {
	Live    int    // entries when the capture stopped
	Lost    uint64 // events the kernel dropped (socket buffer full)
	Resyncs uint64 // dumps made to recover from them
	Error   string // why events stopped or a resync failed
}

// Held is a number of sockets one process held in one state.
type Held struct {
	State   string // CLOSE_WAIT or FIN_WAIT_2
	Sockets int
	Owner   host.Owner // PID 0: the sockets of no known owner
	Runtime string     // the container runtime, with Owner.Container
	RecvQ   uint64     // the sockets' Recv-Q summed, as ss shows it (a FIN counts 1)
	Text    string     // "240 CLOSE_WAIT sockets held by nginx, pid 1234"
}

// jsonLive is the "type":"live" object; flows_evicted is Capture.Evicted.
type jsonLive struct {
	Type         string  `json:"type"`
	Interface    string  `json:"interface"`
	KernelPass   uint64  `json:"kernel_packets"`
	KernelDrops  uint64  `json:"kernel_drops"`
	QueueFreezes uint64  `json:"kernel_queue_freezes"`
	StatsError   *string `json:"kernel_stats_error"`
	IdleFlows    int64   `json:"flows_idle"`
	Evicted      int64   `json:"flows_evicted"`
	// omitted when the comparison was not asked for
	Counters      *jsonCounters `json:"kernel_counters,omitempty"`
	CountersError *string       `json:"kernel_counters_error,omitempty"`
	Held          []jsonHeld    `json:"kernel_sockets_held,omitempty"`
	Trace         *jsonTrace    `json:"kernel_trace,omitempty"`
	Conntrack     *jsonCtStats  `json:"conntrack,omitempty"`
}

// jsonCtStats is "conntrack".
type jsonCtStats struct {
	Live    int     `json:"entries"`
	Lost    uint64  `json:"events_lost"`
	Resyncs uint64  `json:"resyncs"`
	Error   *string `json:"error"`
}

// jsonTrace is "kernel_trace".
type jsonTrace struct {
	Lost     uint64   `json:"events_lost"`
	Overflow uint64   `json:"events_not_kept"`
	Notes    []string `json:"notes"`
	Error    *string  `json:"error"`
}

// jsonHeld is one entry of "kernel_sockets_held".
type jsonHeld struct {
	State     string `json:"state"`
	Sockets   int    `json:"sockets"`
	PID       *int   `json:"pid"`
	Command   string `json:"command,omitempty"`
	Container string `json:"container,omitempty"`
	Cgroup    string `json:"cgroup,omitempty"`
	RecvQ     uint64 `json:"recv_q"`
}

// jsonCounters is the "kernel_counters" object of the live line.
type jsonCounters struct {
	Flows    int64            `json:"flows_local"`
	Foreign  int64            `json:"flows_foreign"`
	Differ   int              `json:"differ"`
	Counters []jsonCounterRow `json:"counters"`
}

type jsonCounterRow struct {
	Name   string `json:"name"`
	Kernel int64  `json:"kernel"`
	Min    uint32 `json:"predicted_min"`
	Max    uint32 `json:"predicted_max"`
	Agree  bool   `json:"agree"`
	Reason string `json:"reason,omitempty"`
}

// appendLiveJSON appends the "type":"live" line of c. It is encoded with
// json.Marshal, HTML characters escaped (\u003c), unlike the flow and
// summary objects: the bytes finwave live has always written.
func appendLiveJSON(b []byte, c *Capture) ([]byte, error) {
	l := c.Live
	v := jsonLive{Type: "live", Interface: l.Interface, KernelPass: l.KernelPackets, KernelDrops: l.KernelDrops,
		QueueFreezes: l.KernelQueueFreezes, IdleFlows: l.IdleFlows, Evicted: c.Evicted}
	if l.KernelStatsError != "" {
		v.StatsError = &l.KernelStatsError
	}
	if l.CountersError != "" {
		v.CountersError = &l.CountersError
	}
	if tr := l.Trace; tr != nil {
		jt := &jsonTrace{Lost: tr.Lost, Overflow: tr.Overflow, Notes: append([]string{}, tr.Notes...)}
		if tr.Error != "" {
			jt.Error = &tr.Error
		}
		v.Trace = jt
	}
	if ct := l.Conntrack; ct != nil {
		j := &jsonCtStats{Live: ct.Live, Lost: ct.Lost, Resyncs: ct.Resyncs}
		if ct.Error != "" {
			j.Error = &ct.Error
		}
		v.Conntrack = j
	}
	for _, h := range l.Held {
		j := jsonHeld{State: h.State, Sockets: h.Sockets, RecvQ: h.RecvQ}
		if h.Owner.PID != 0 {
			pid := h.Owner.PID
			j.PID, j.Command, j.Container, j.Cgroup = &pid, h.Owner.Comm, h.Owner.Container, h.Owner.Cgroup
		}
		v.Held = append(v.Held, j)
	}
	if cmp := l.Counters; cmp != nil {
		jc := &jsonCounters{Flows: cmp.Flows, Foreign: cmp.Foreign, Differ: cmp.Differ}
		for _, r := range cmp.Rows {
			jc.Counters = append(jc.Counters, jsonCounterRow{r.Name, r.Kernel, r.Predicted.Min, r.Predicted.Max, r.Agree, r.Reason})
		}
		v.Counters = jc
	}
	j, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("report: encode json live: %w", err)
	}
	return append(append(b, j...), '\n'), nil
}

// appendLiveText writes the live counters as text. Drops are called out,
// because a segment missing from the analysis can change its conclusions.
func appendLiveText(b *bytes.Buffer, l *Live) {
	switch {
	case l.KernelStatsError != "":
		fmt.Fprintf(b, "⚠ kernel statistics unavailable (%s): drops unknown\n", l.KernelStatsError)
	case l.KernelDrops > 0:
		fmt.Fprintf(b, "⚠ the kernel dropped %d of %d packets (ring full): segments are missing, conclusions about the affected flows may be wrong\n",
			l.KernelDrops, l.KernelPackets)
	default:
		fmt.Fprintf(b, "kernel: %d packets passed the filter, 0 dropped\n", l.KernelPackets)
	}
	if l.IdleFlows > 0 {
		fmt.Fprintf(b, "%d flows finished by the idle timeout (--idle-timeout)\n", l.IdleFlows)
	}
	if tr := l.Trace; tr != nil {
		if tr.Lost > 0 || tr.Overflow > 0 {
			fmt.Fprintf(b, "⚠ the kernel trace missed %d events (ring full) and kept %d fewer (limits): kernel views of busy flows may be incomplete\n", tr.Lost, tr.Overflow)
		}
		if tr.Error != "" {
			fmt.Fprintf(b, "⚠ the kernel trace stopped early: %s\n", tr.Error)
		}
	}
	if ct := l.Conntrack; ct != nil && (ct.Lost > 0 || ct.Error != "") {
		fmt.Fprintf(b, "⚠ conntrack: %d events lost (%d resyncs)", ct.Lost, ct.Resyncs)
		if ct.Error != "" {
			fmt.Fprintf(b, ", %s", ct.Error)
		}
		b.WriteString(": NAT and conntrack states of some flows may be missing\n")
	}
	for _, h := range l.Held {
		fmt.Fprintf(b, "⚠ still held when the capture stopped: %s", h.Text)
		if h.RecvQ > 0 {
			fmt.Fprintf(b, ", Recv-Q %d in all", h.RecvQ)
		}
		if h.State == "CLOSE_WAIT" {
			b.WriteString(" (CLOSE_WAIT leak? the process has not called close() after the peer's FIN)")
		}
		b.WriteByte('\n')
	}
	switch {
	case l.CountersError != "":
		fmt.Fprintf(b, "kernel counters not compared: %s\n", l.CountersError)
	case l.Counters != nil:
		appendCountersText(b, l.Counters)
	}
}

// appendCountersText writes the counters the kernel or finwave moved, the
// kernel's beside the prediction, and why those that differ may.
func appendCountersText(b *bytes.Buffer, c *hostview.Comparison) {
	moved := 0
	for _, r := range c.Rows {
		if r.Kernel != 0 || r.Predicted.Max != 0 {
			moved++
		}
	}
	if moved == 0 {
		fmt.Fprintf(b, "kernel counters (nstat, this namespace): none of the %d moved, as finwave predicted\n", len(c.Rows))
		return
	}
	if c.Differ == 0 {
		fmt.Fprintf(b, "kernel counters (nstat, this namespace) agree with finwave's prediction for the %d flows with a local end", c.Flows)
	} else {
		fmt.Fprintf(b, "⚠ kernel counters (nstat, this namespace): %d of %d differ from finwave's prediction for the %d flows with a local end",
			c.Differ, len(c.Rows), c.Flows)
	}
	if c.Foreign > 0 {
		fmt.Fprintf(b, " (%d flows had no local end: not this kernel's)", c.Foreign)
	}
	b.WriteString(":\n")
	w := 0
	for _, r := range c.Rows {
		if r.Kernel != 0 || r.Predicted.Max != 0 {
			w = max(w, len(r.Name))
		}
	}
	for _, r := range c.Rows {
		if r.Kernel == 0 && r.Predicted.Max == 0 {
			continue
		}
		pred := fmt.Sprint(r.Predicted.Min)
		if !r.Predicted.Exact() {
			pred = fmt.Sprintf("%d–%d", r.Predicted.Min, r.Predicted.Max)
		}
		mark := "="
		if !r.Agree {
			mark = "≠"
		}
		fmt.Fprintf(b, "  %-*s kernel %-6d %s finwave %s", w, r.Name, r.Kernel, mark, pred)
		if r.Reason != "" {
			fmt.Fprintf(b, "  (%s)", r.Reason)
		}
		b.WriteByte('\n')
	}
}
