package report

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// maxGroupRows bounds the rows of the groups table; every group is still
// printed below it.
const maxGroupRows = 40

// finishGroups writes the grouped report: the summary, the groups table,
// then each group's header and its exemplar.
func (r *textRenderer) finishGroups(c *Capture) error {
	gs := r.groups.groups()
	r.sum.groups = int64(len(gs))
	var b bytes.Buffer
	appendSummary(&b, c, &r.sum, r.roll, &r.o)
	if len(gs) > 0 && r.sum.flows > 0 {
		appendGroupTable(&b, gs, &r.groups)
	}
	err := r.write(b.Bytes())
	if err == nil && r.sum.flows > 0 {
		// Buffered: one write per 64 KiB.
		bw := bufio.NewWriterSize(r.w, 64<<10)
		var hb []byte
		for i, g := range gs {
			hb = appendGroupHeader(hb[:0], i+1, len(gs), g, &r.groups, c.First, r.o.Color)
			hb = r.fitTail(hb, 0)
			_, _ = bw.Write(hb)
			if _, err = bw.Write(g.exemplar); err != nil {
				break
			}
		}
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			err = fmt.Errorf("report: write text: %w", err)
		}
	}
	r.sum = summary{}
	r.groups.reset()
	if r.roll != nil {
		r.roll.Reset()
	}
	return err
}

// appendGroupTable writes one row per group (up to maxGroupRows).
func appendGroupTable(b *bytes.Buffer, gs []*group, gr *grouper) {
	b.WriteString("\n GROUPS (most severe first, then most flows; each detailed below with one exemplar flow)\n")
	var rows [][]string
	for i, g := range gs {
		if i == maxGroupRows {
			break
		}
		if g.overflow {
			rows = append(rows, []string{strconv.Itoa(i + 1), g.severity.String(), strconv.FormatInt(g.flows, 10),
				"(further flows, group cap)", "", "", "", "", ""})
			continue
		}
		share := "-"
		if n, ok := gr.serviceFlows(g.key.service); ok {
			share = sharePercent(g.flows, n) + "%"
		}
		rows = append(rows, []string{strconv.Itoa(i + 1), g.severity.String(), strconv.FormatInt(g.flows, 10),
			string(appendEndpoint(nil, g.key.service)), share, string(appendClients(nil, g, false)),
			g.key.pattern.String(), g.key.closer.String(), string(appendKindSides(nil, &g.key, "none"))})
	}
	writeTable(b, []string{"#", "severity", "flows", "service", "share", "clients", "teardown", "closer", "anomalies"},
		rows, []bool{true, false, true, false, true, false, false, false, false})
	if len(gs) > maxGroupRows {
		fmt.Fprintf(b, " … and %d more groups below\n", len(gs)-maxGroupRows)
	}
}

// appendClients appends a group's client hosts: the host, or "N client
// hosts" for a folded group ("≈N" once the sketch estimates).
func appendClients(b []byte, g *group, long bool) []byte {
	if !g.folded {
		if long {
			b = append(b, "client host "...)
		}
		return g.host.AppendTo(b)
	}
	n, exact := g.hosts.count()
	if !exact {
		b = append(b, "≈"...)
	}
	b = strconv.AppendInt(b, n, 10)
	return append(b, " client hosts"...)
}

// appendKindSides appends "rst-unread-data at server, syn-in-time-wait at
// client", or none when the key has no anomaly.
func appendKindSides(b []byte, k *groupKey, none string) []byte {
	ks := k.kindSides()
	if len(ks) == 0 {
		return append(b, none...)
	}
	for i, x := range ks {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, x.kind.String()...)
		b = append(b, " at "...)
		b = append(b, x.side.String()...)
	}
	return b
}

// appendGroupHeader appends the lines heading group i of n: severity,
// flows, share of the service's flows, what the flows share, when, and
// the stream ids to open; its exemplar follows.
func appendGroupHeader(b []byte, i, n int, g *group, gr *grouper, origin time.Time, color bool) []byte {
	b = append(b, "\n━━ group "...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, " of "...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, " · "...)
	b = paint(b, color, severityColor(g.severity), SeverityMarker(g.severity))
	b = append(b, ' ')
	b = append(b, g.severity.String()...)
	b = append(b, " · "...)
	b = appendPlural(b, g.flows, "flow", "flows")
	if g.overflow {
		b = append(b, " past the cap of "...)
		b = strconv.AppendInt(b, maxGroups, 10)
		b = append(b, " groups, not grouped (any teardown, anomaly or service)\n"...)
	} else {
		if sf, ok := gr.serviceFlows(g.key.service); ok {
			b = append(b, " · "...)
			b = append(b, sharePercent(g.flows, sf)...)
			b = append(b, "% of the service's "...)
			b = appendPlural(b, sf, "flow", "flows")
		}
		b = append(b, "\n   "...)
		b = append(b, patternPhrase(g.key.pattern)...)
		if cp := closerPhrase(g.key.closer, g.key.pattern); cp != "" {
			b = append(b, " · "...)
			b = append(b, cp...)
		}
		b = append(b, " · "...)
		b = appendKindSides(b, &g.key, "no anomaly")
		b = append(b, "\n   service "...)
		b = appendEndpoint(b, g.key.service)
		b = append(b, " · "...)
		b = appendClients(b, g, true)
		b = append(b, '\n')
	}
	b = append(b, "   "...)
	b = appendGroupSpan(b, g.first, g.last, origin)
	b = append(b, "\n   Wireshark: tcp.stream in {"...)
	for j, id := range g.streams[:g.nstreams] {
		if j > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	b = append(b, "} · "...)
	if g.flows > int64(g.nstreams) {
		b = append(b, "the lowest stream ids; "...)
	}
	b = append(b, "flow "...)
	b = strconv.AppendInt(b, g.streams[0], 10)
	b = append(b, " below\n\n"...)
	return b
}

// appendGroupSpan appends the wall-clock span of a group's flows, UTC,
// and the same relative to the capture's start (origin).
func appendGroupSpan(b []byte, first, last, origin time.Time) []byte {
	if first.IsZero() || last.IsZero() {
		return append(b, "time unknown"...)
	}
	const day = "2006-01-02 "
	const clock = "15:04:05.000"
	f, l := first.UTC(), last.UTC()
	b = f.AppendFormat(b, day+clock)
	b = append(b, " → "...)
	if y, d := f.YearDay(), l.YearDay(); y == d && f.Year() == l.Year() {
		b = l.AppendFormat(b, clock)
	} else {
		b = l.AppendFormat(b, day+clock)
	}
	b = append(b, " UTC"...)
	if !origin.IsZero() {
		b = append(b, " (+"...)
		b = appendHumanDuration(b, first.Sub(origin))
		b = append(b, " → +"...)
		b = appendHumanDuration(b, last.Sub(origin))
		b = append(b, " into the capture)"...)
	}
	return b
}
