package report

import (
	"bytes"
	"encoding/json"
	"fmt"
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
}

// appendLiveJSON appends the "type":"live" line of c. It is encoded with
// json.Marshal, HTML characters escaped (\u003c), unlike the flow and
// summary objects: the bytes finwave live has always written.
func appendLiveJSON(b []byte, c *Capture) ([]byte, error) {
	l := c.Live
	v := jsonLive{"live", l.Interface, l.KernelPackets, l.KernelDrops, l.KernelQueueFreezes, nil, l.IdleFlows, c.Evicted}
	if l.KernelStatsError != "" {
		v.StatsError = &l.KernelStatsError
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
}
