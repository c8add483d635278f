package report

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"
	"strconv"

	"finwave/analyzer"
)

// maxOffloadHosts bounds the hosts the offload note names per capture.
const maxOffloadHosts = 64

// csumSummary aggregates what the flows of a capture showed of checksums
// and offloads (analyzer.Offload, Teardown.BadChecksums): counters and a
// bounded map of the hosts whose checksums were left to the NIC.
type csumSummary struct {
	offloaded, bad, super int64
	largest               uint32
	hosts                 map[netip.Addr]int64 // host → segments with checksums left to its NIC
}

func (c *csumSummary) add(t *analyzer.Teardown) {
	for _, s := range [...]analyzer.Side{analyzer.Client, analyzer.Server} {
		o := &t.Offload[s]
		c.bad += int64(t.BadChecksums[s])
		c.super += int64(o.Super)
		c.largest = max(c.largest, o.Largest)
		if o.ChecksumPartial == 0 {
			continue
		}
		c.offloaded += int64(o.ChecksumPartial)
		a := t.Endpoint(s).Addr
		if c.hosts == nil {
			c.hosts = map[netip.Addr]int64{}
		}
		if _, ok := c.hosts[a]; ok || len(c.hosts) < maxOffloadHosts {
			c.hosts[a] += int64(o.ChecksumPartial)
		}
	}
}

type hostCount struct {
	addr netip.Addr
	n    int64
}

// hostRows are the offloading hosts, most segments first.
func (c *csumSummary) hostRows() []hostCount {
	rows := make([]hostCount, 0, len(c.hosts))
	for a, n := range c.hosts {
		rows = append(rows, hostCount{a, n})
	}
	slices.SortFunc(rows, func(x, y hostCount) int {
		if d := cmp.Compare(y.n, x.n); d != 0 {
			return d
		}
		return x.addr.Compare(y.addr)
	})
	return rows
}

// maxOffloadNamed is how many hosts the text note names.
const maxOffloadNamed = 3

// appendOffloadNote writes the capture summary's lines on checksums: a
// warning for corrupted segments, a quiet note for offload traces (frames
// that never existed on the wire as captured: not errors).
func appendOffloadNote(b *bytes.Buffer, c *csumSummary, o *Options) {
	if c.bad > 0 {
		b.WriteString(string(paint(nil, o.Color, ansiYellow, "⚠")))
		b.WriteString(" " + plural(c.bad, "segment", "segments") + " with a corrupted checksum, dropped by the receiver (bad-checksum)\n")
	}
	if c.offloaded == 0 && c.super == 0 {
		return
	}
	b.WriteString("ℹ ")
	if c.offloaded > 0 {
		b.WriteString("checksum offload on ")
		rows := c.hostRows()
		for i, h := range rows {
			if i == maxOffloadNamed {
				b.WriteString(", " + plural(int64(len(rows)-i), "other host", "other hosts"))
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(h.addr.String() + " (" + plural(h.n, "segment", "segments") + ")")
		}
		b.WriteString(": checksums left to the device, not errors")
	}
	if c.super > 0 {
		if c.offloaded > 0 {
			b.WriteString("; ")
		}
		b.WriteString(plural(c.super, "segment", "segments") + " larger than the MSS (TSO/GSO/GRO, up to " +
			strconv.FormatUint(uint64(c.largest), 10) + " octets): merged frames, not on the wire as captured")
	}
	b.WriteByte('\n')
}

// jsonChecksumSummary is the summary's "checksums" object.
type jsonChecksumSummary struct {
	Offloaded    int64           `json:"offloaded"`
	Bad          int64           `json:"bad"`
	Super        int64           `json:"super"`
	Largest      uint32          `json:"largest"`
	OffloadHosts []jsonHostCount `json:"offload_hosts"`
}

type jsonHostCount struct {
	Address  string `json:"address"`
	Segments int64  `json:"segments"`
}

func toJSONChecksumSummary(c *csumSummary) jsonChecksumSummary {
	j := jsonChecksumSummary{Offloaded: c.offloaded, Bad: c.bad, Super: c.super, Largest: c.largest, OffloadHosts: []jsonHostCount{}}
	for _, h := range c.hostRows() {
		j.OffloadHosts = append(j.OffloadHosts, jsonHostCount{h.addr.String(), h.n})
	}
	return j
}
