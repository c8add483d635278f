package report

import (
	"strconv"
	"time"

	"finwave/analyzer"
	"finwave/flow"
)

// notReceived marks a state change later undone: the segment never reached
// that endpoint (e.g. the peer retransmitted the FIN this ACK acknowledged).
const notReceived = "(not received)"

// ladderRow is one segment of the ladder, formatted but not yet padded.
type ladderRow struct {
	frame, time    string
	client, server string // state after the segment, "" when unchanged
	text           string // flags and numbers inside the arrow
	toServer       bool
	rst            bool
	evidence       int // 1 + highest severity of a warning/error anomaly citing the frame, 0 none
	label, explain string
}

// evidence returns 1 + the highest severity (warning or error) of the
// anomalies citing frame, 0 when none does. Flows have few anomalies: a scan
// is cheaper than a map.
func evidence(t *analyzer.Teardown, frame int64) int {
	best := 0
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		if a.Severity < analyzer.Warning || int(a.Severity)+1 <= best {
			continue
		}
		for _, f := range a.Frames {
			if f == frame {
				best = int(a.Severity) + 1
				break
			}
		}
	}
	return best
}

// stateCell formats the state a change led to: "?" marks a change the
// capture has not confirmed (no ACK back from that endpoint), and an undone
// change shows as not received.
func stateCell(c *analyzer.Change) (string, bool, bool) {
	switch {
	case c.Undone:
		return notReceived, false, true
	case c.Tentative && c.Confirmed == 0:
		return c.To.String() + "?", true, false
	}
	return c.To.String(), false, false
}

// arrowText is what the arrow carries: "FIN,ACK seq=201 ack=1449 len=0"
// without len when zero and without ack when the ACK bit is clear.
func arrowText(b []byte, s *analyzer.LabelledSegment) []byte {
	b = append(b, s.Flags.String()...)
	b = append(b, " seq="...)
	b = strconv.AppendUint(b, uint64(s.Seq), 10)
	if s.Flags.Has(flow.ACK) {
		b = append(b, " ack="...)
		b = strconv.AppendUint(b, uint64(s.Ack), 10)
	}
	if s.Len > 0 {
		b = append(b, " len="...)
		b = strconv.AppendUint(b, uint64(s.Len), 10)
	}
	return b
}

// ladder appends the ladder diagram of t's labelled segments: frame (marked
// when an anomaly of severity warning or error cites it), relative time, client state after, an arrow in the direction of travel,
// server state after, label and explanation. It returns whether tentative
// or undone marks were used, for the legend.
func ladder(b []byte, t *analyzer.Teardown, color bool) (out []byte, tentative, undone bool) {
	rows := make([]ladderRow, len(t.Segments))
	// lastFIN is the time of the previous FIN from each side, to show how
	// long after it a retransmission came (the RTO the sender used).
	var lastFIN [2]time.Time
	var tmp []byte
	for i := range t.Segments {
		s := &t.Segments[i]
		r := &rows[i]
		r.frame = strconv.FormatInt(s.Frame, 10)
		r.evidence = evidence(t, s.Frame)
		r.time = relSeconds(s.Time, t.FirstTime)
		for j := range s.Changes {
			c := &s.Changes[j]
			cell, tent, und := stateCell(c)
			tentative = tentative || tent
			undone = undone || und
			// Several changes of one side on one segment (FIN_WAIT_1 →
			// CLOSING → TIME_WAIT) show as a chain.
			dst := &r.server
			if c.Side == analyzer.Client {
				dst = &r.client
			}
			if *dst != "" {
				*dst += "→"
			}
			*dst += cell
		}
		tmp = arrowText(tmp[:0], s)
		r.text = string(tmp)
		r.toServer = s.From == analyzer.Client
		r.rst = s.Flags.Has(flow.RST)
		r.label = s.Label.String()
		side := s.From & 1
		if s.Flags.Has(flow.FIN) {
			if s.Label == analyzer.FINRetransmission && !lastFIN[side].IsZero() && !s.Time.IsZero() {
				r.label += " (+" + humanDuration(s.Time.Sub(lastFIN[side])) + ")"
			}
			lastFIN[side] = s.Time
		}
		r.explain = s.Explain
	}

	wFrame, wTime, wClient, wServer, wText, wLabel := width("frame"), width("time(s)"), width("client"), width("server"), 0, 0
	for i := range rows {
		r := &rows[i]
		wFrame = max(wFrame, width(r.frame))
		wTime = max(wTime, width(r.time))
		wClient = max(wClient, width(r.client))
		wServer = max(wServer, width(r.server))
		wText = max(wText, width(r.text))
		wLabel = max(wLabel, width(r.label))
	}
	// Arrow: "── text ──▶" or "◀── text ──", both wText+7 columns wide, at
	// least two dashes after the text.
	wArrow := wText + 7

	b = append(b, ' ')
	b = padLeft(b, "frame", wFrame)
	b = append(b, "   "...)
	b = padLeft(b, "time(s)", wTime)
	b = append(b, "   "...)
	b = pad(b, "client", wClient)
	b = append(b, "  "...)
	b = pad(b, "", wArrow)
	b = append(b, "  "...)
	b = pad(b, "server", wServer)
	b = append(b, "  label"...)
	b = append(b, '\n')

	for i := range rows {
		r := &rows[i]
		b = append(b, ' ')
		b = padLeft(b, r.frame, wFrame)
		// Frames cited by a warning or error anomaly carry its marker.
		if r.evidence > 0 {
			sev := analyzer.Severity(r.evidence - 1)
			b = append(b, ' ')
			b = paint(b, color, severityColor(sev), severityMarker(sev))
			b = append(b, ' ')
		} else {
			b = append(b, "   "...)
		}
		b = padLeft(b, r.time, wTime)
		b = append(b, "   "...)
		b = pad(b, r.client, wClient)
		b = append(b, "  "...)
		tmp = tmp[:0]
		dashes := wArrow - width(r.text) - 5
		if r.toServer {
			tmp = append(tmp, "── "...)
			tmp = append(tmp, r.text...)
			tmp = append(tmp, ' ')
			tmp = appendDashes(tmp, dashes)
			tmp = append(tmp, "▶"...)
		} else {
			tmp = append(tmp, "◀── "...)
			tmp = append(tmp, r.text...)
			tmp = append(tmp, ' ')
			tmp = appendDashes(tmp, dashes)
		}
		b = paint(b, color && r.rst, ansiRed, string(tmp))
		b = append(b, "  "...)
		b = pad(b, r.server, wServer)
		b = append(b, "  "...)
		if r.explain != "" {
			b = paint(b, color && r.rst, ansiRed, r.label)
			b = pad(b, "", wLabel-width(r.label)+2)
			b = append(b, r.explain...)
		} else {
			b = paint(b, color && r.rst, ansiRed, r.label)
		}
		b = trimRight(b)
		b = append(b, '\n')
	}
	return b, tentative, undone
}

func appendDashes(b []byte, n int) []byte {
	for range n {
		b = append(b, "─"...)
	}
	return b
}

// trimRight drops trailing spaces of the last line in b.
func trimRight(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}
