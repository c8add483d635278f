package report

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"finwave/analyzer"
	"finwave/flow"
)

// notReceived marks a state change later undone: the segment never reached
// that endpoint (e.g. the peer retransmitted the FIN this ACK acknowledged).
const notReceived = "(not received)"

// cell is a formatted ladder cell: bytes [off, end) of ladderScratch.cells,
// w columns wide.
type cell struct{ off, end, w int }

// ladderRow is one segment of the ladder, formatted but not yet padded.
type ladderRow struct {
	frame, time    cell
	client, server cell // state after the segment, empty when unchanged
	text           cell // flags and numbers inside the arrow
	label          cell
	toServer       bool
	rst            bool
	evidence       int    // 1 + highest severity of a warning/error anomaly citing the frame, 0 none
	explain        string // from the segment: a string, never a slice of the Teardown
}

// ladderScratch is the ladder's reusable memory: the cells of every row in
// one byte slice. It holds no reference to a Teardown after ladder returns
// other than immutable strings.
type ladderScratch struct {
	rows  []ladderRow
	cells []byte
	cols  int        // Options.Width: 0 no limit
	time  TimeFormat // Options.Time
}

// add closes the cell started at off: the bytes appended since.
func (l *ladderScratch) add(off int) cell {
	return cell{off, len(l.cells), utf8.RuneCount(l.cells[off:])}
}

// appendCell appends c left-aligned in a field of n columns.
func (l *ladderScratch) appendCell(b []byte, c cell, n int) []byte {
	return appendSpaces(append(b, l.cells[c.off:c.end]...), n-c.w)
}

// appendCellRight appends c right-aligned in a field of n columns.
func (l *ladderScratch) appendCellRight(b []byte, c cell, n int) []byte {
	return append(appendSpaces(b, n-c.w), l.cells[c.off:c.end]...)
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

// appendStateCell appends the state a change led to: "?" marks a change
// the capture has not confirmed (no ACK back from that endpoint), and an
// undone change shows as not received. It returns whether either mark was used.
func appendStateCell(b []byte, c *analyzer.Change) (out []byte, tentative, undone bool) {
	switch {
	case c.Undone:
		return append(b, notReceived...), false, true
	case c.Tentative && c.Confirmed == 0:
		return append(append(b, c.To.String()...), '?'), true, false
	}
	return append(b, c.To.String()...), false, false
}

// appendStateChain appends the states side's changes on one segment led to:
// several (FIN_WAIT_1 → CLOSING → TIME_WAIT) show as a chain.
func appendStateChain(b []byte, s *analyzer.LabelledSegment, side analyzer.Side) (out []byte, tentative, undone bool) {
	first := true
	for j := range s.Changes {
		c := &s.Changes[j]
		if c.Side != side {
			continue
		}
		if !first {
			b = append(b, "→"...)
		}
		first = false
		var tent, und bool
		b, tent, und = appendStateCell(b, c)
		tentative = tentative || tent
		undone = undone || und
	}
	return b, tentative, undone
}

// AppendArrowText appends what a ladder's arrow carries: "FIN,ACK
// seq=201 ack=1449 len=10", without len when zero and without ack when
// the ACK bit is clear (the text and the HTML ladders).
func AppendArrowText(b []byte, s *analyzer.LabelledSegment) []byte {
	b = append(b, flagsString(s.Flags)...)
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

// rows formats t's labelled segments into l.rows (cells in l.cells) and
// returns whether tentative or undone marks were used.
func (l *ladderScratch) format(t *analyzer.Teardown) (tentative, undone bool) {
	l.rows = slices.Grow(l.rows[:0], len(t.Segments))[:len(t.Segments)]
	l.cells = l.cells[:0]
	// lastFIN is the time of the previous FIN from each side, to show how
	// long after it a retransmission came (the RTO the sender used).
	var lastFIN [2]time.Time
	for i := range t.Segments {
		s := &t.Segments[i]
		r := &l.rows[i]
		*r = ladderRow{evidence: evidence(t, s.Frame), explain: s.Explain,
			toServer: s.From == analyzer.Client, rst: s.Flags.Has(flow.RST)}
		off := len(l.cells)
		l.cells = strconv.AppendInt(l.cells, s.Frame, 10)
		r.frame = l.add(off)
		off = len(l.cells)
		l.cells = l.appendTime(l.cells, s.Time, t.FirstTime)
		r.time = l.add(off)
		for _, side := range [2]analyzer.Side{analyzer.Client, analyzer.Server} {
			off = len(l.cells)
			var tent, und bool
			l.cells, tent, und = appendStateChain(l.cells, s, side)
			tentative = tentative || tent
			undone = undone || und
			if side == analyzer.Client {
				r.client = l.add(off)
			} else {
				r.server = l.add(off)
			}
		}
		off = len(l.cells)
		l.cells = AppendArrowText(l.cells, s)
		r.text = l.add(off)
		off = len(l.cells)
		l.cells = append(l.cells, s.Label.String()...)
		side := s.From & 1
		if s.Flags.Has(flow.FIN) {
			if s.Label == analyzer.FINRetransmission && !lastFIN[side].IsZero() && !s.Time.IsZero() {
				l.cells = append(l.cells, " (+"...)
				l.cells = appendHumanDuration(l.cells, s.Time.Sub(lastFIN[side]))
				l.cells = append(l.cells, ')')
			}
			lastFIN[side] = s.Time
		}
		r.label = l.add(off)
	}
	return tentative, undone
}

// ladder appends the ladder diagram of t's labelled segments: frame (marked
// when an anomaly of severity warning or error cites it), relative time, client state after, an arrow in the direction of travel,
// server state after, label and explanation. It returns whether tentative
// or undone marks were used, for the legend.
func (l *ladderScratch) ladder(b []byte, t *analyzer.Teardown, color bool) (out []byte, tentative, undone bool) {
	tentative, undone = l.format(t)
	timeHead := "time(s)"
	if l.time != TimeRelative {
		timeHead = "time (UTC)"
	}
	wFrame, wTime, wClient, wServer, wText, wLabel := len("frame"), len(timeHead), len("client"), len("server"), 0, 0
	for i := range l.rows {
		r := &l.rows[i]
		wFrame = max(wFrame, r.frame.w)
		wTime = max(wTime, r.time.w)
		wClient = max(wClient, r.client.w)
		wServer = max(wServer, r.server.w)
		wText = max(wText, r.text.w)
		wLabel = max(wLabel, r.label.w)
	}
	// Arrow: "── text ──▶" or "◀── text ──", both wText+7 columns wide, at
	// least two dashes after the text. g3 and g2 are the gaps between
	// columns. When a row would not fit Options.Width even without its
	// explanation, the ladder is compacted: one-space gaps (but the three
	// after the frame, which hold the evidence marker), arrows two columns
	// shorter.
	wArrow, g3, g2 := wText+7, 3, 2
	if l.cols > 0 && 1+wFrame+3+wTime+3+wClient+2+wArrow+2+wServer+2+wLabel > l.cols {
		wArrow, g3, g2 = wText+5, 1, 1
		// A row with neither server state nor label (blind data's
		// too-old ack, RFC 5961 §5, is ten digits relative to a base it
		// precedes) may run its arrow over those empty columns when the
		// others' arrows would not fit: the ladder is sized without it,
		// and its explanation goes under it.
		if room := l.cols - (1 + wFrame + 3 + wTime + g3 + wClient + g2 + g2 + wServer) - 5; wText > room {
			w := 0
			for i := range l.rows {
				if r := &l.rows[i]; r.text.w <= room || !l.overhangs(r, wFrame, wTime, g3, wClient, g2) {
					w = max(w, r.text.w)
				}
			}
			wText, wArrow = w, w+5
		}
	}

	b = append(b, ' ')
	b = padLeft(b, "frame", len("frame"), wFrame)
	b = append(b, "   "...)
	b = padLeft(b, timeHead, len(timeHead), wTime)
	b = appendSpaces(b, g3)
	b = pad(b, "client", len("client"), wClient)
	b = appendSpaces(b, g2)
	b = appendSpaces(b, wArrow)
	b = appendSpaces(b, g2)
	b = pad(b, "server", len("server"), wServer)
	// The columns before the label: " frame ✖ time   client  arrow  server  ".
	labelCol := 1 + wFrame + 3 + wTime + g3 + wClient + g2 + wArrow + g2 + wServer + g2
	b = appendSpaces(b, g2)
	b = append(b, "label"...)
	b = append(b, '\n')

	for i := range l.rows {
		r := &l.rows[i]
		b = append(b, ' ')
		b = l.appendCellRight(b, r.frame, wFrame)
		// Frames cited by a warning or error anomaly carry its marker.
		if r.evidence > 0 {
			sev := analyzer.Severity(r.evidence - 1)
			b = append(b, ' ')
			b = paint(b, color, severityColor(sev), SeverityMarker(sev))
			b = append(b, ' ')
		} else {
			b = append(b, "   "...)
		}
		b = l.appendCellRight(b, r.time, wTime)
		b = appendSpaces(b, g3)
		b = l.appendCell(b, r.client, wClient)
		b = appendSpaces(b, g2)
		red := color && r.rst
		if red {
			b = append(b, ansiRed...)
		}
		dashes := wArrow - r.text.w - 5
		over := dashes < 0
		dashes = max(dashes, 0)
		if r.toServer {
			b = append(b, "── "...)
			b = l.appendCell(b, r.text, 0)
			b = append(b, ' ')
			b = appendDashes(b, dashes)
			b = append(b, "▶"...)
		} else {
			b = append(b, "◀── "...)
			b = l.appendCell(b, r.text, 0)
			b = append(b, ' ')
			b = appendDashes(b, dashes)
		}
		if red {
			b = append(b, ansiReset...)
		}
		b = appendSpaces(b, g2)
		b = l.appendCell(b, r.server, wServer)
		ind := labelCol
		if ind > l.cols/2 || ind > len(spaces) {
			ind = min(8, len(spaces))
		}
		if l.cols > 0 && labelCol+r.label.w > l.cols {
			// Even the label would pass the terminal's width: it goes
			// under the row, with the explanation wrapped after it.
			b = trimRight(b)
			b = append(b, '\n')
			b = append(b, spaces[:ind]...)
			if red {
				b = append(b, ansiRed...)
			}
			b = l.appendCell(b, r.label, 0)
			if red {
				b = append(b, ansiReset...)
			}
			b = append(b, '\n')
			if r.explain != "" {
				b = wrap(b, r.explain, spaces[:ind], l.cols)
			}
			continue
		}
		b = appendSpaces(b, g2)
		if red {
			b = append(b, ansiRed...)
		}
		b = l.appendCell(b, r.label, 0)
		if red {
			b = append(b, ansiReset...)
		}
		if r.explain != "" && !over && (l.cols <= 0 || labelCol+wLabel+2+width(r.explain) <= l.cols) {
			b = appendSpaces(b, wLabel-r.label.w+2)
			b = append(b, r.explain...)
		} else if r.explain != "" {
			// Too wide for the terminal: the explanation goes under the
			// row, wrapped, aligned with the label when that leaves room.
			b = trimRight(b)
			b = append(b, '\n')
			b = wrap(b, r.explain, spaces[:ind], l.cols)
			continue
		}
		b = trimRight(b)
		b = append(b, '\n')
	}
	return b, tentative, undone
}

// appendTime appends the ladder's time of a segment at t: seconds since
// first, or the wall-clock time in UTC (TimeAbsolute, TimeDate).
func (l *ladderScratch) appendTime(b []byte, t, first time.Time) []byte {
	switch {
	case l.time == TimeRelative || t.IsZero():
		return appendRelSeconds(b, t, first)
	case l.time == TimeDate:
		return t.UTC().AppendFormat(b, "2006-01-02 15:04:05.000000")
	}
	return t.UTC().AppendFormat(b, "15:04:05.000000")
}

// overhangs reports whether r's arrow may run over the server state and
// label columns, both empty in r, and still end within Options.Width.
func (l *ladderScratch) overhangs(r *ladderRow, wFrame, wTime, g3, wClient, g2 int) bool {
	return r.server.w == 0 && r.label.w == 0 && 1+wFrame+3+wTime+g3+wClient+g2+r.text.w+5 <= l.cols
}

// trimRight drops trailing spaces of the last line in b.
func trimRight(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}
