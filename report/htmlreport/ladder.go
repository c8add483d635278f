package htmlreport

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"finwave/analyzer"
	"finwave/flow"
	"finwave/report"
)

// LadderOptions shape one ladder diagram.
type LadderOptions struct {
	// ID prefixes every element id of the diagram (unique in the page).
	ID string
	// Width is the diagram's width in CSS pixels (0: the default, the
	// drawing's own width). The drawing scales to it (viewBox).
	Width int
	// NoStyle leaves out the embedded fallback <style>: for a page whose
	// style sheet styles every ladder (one copy instead of one per ladder).
	NoStyle bool
}

// MaxLadderArrows bounds the arrows of one diagram: the segments after it
// are counted in a note, not drawn, so a flow kept whole (--stream N keeps
// up to 65536 segments) still gives a diagram of bounded size.
const MaxLadderArrows = 400

// Geometry of the drawing, in user units (CSS pixels at the default width).
// Columns, left to right: time and frame, client states, the client's
// line, arrows, the server's line, server states, anomaly badges.
const (
	ladderW   = 920
	clientX   = 250
	serverX   = 610
	badgeX    = 740 // left edge of the anomaly badges
	topY      = 64  // first time's y: under the addresses
	rowPx     = 34  // room for an arrow's text above it and its badge below
	lineH     = 13  // one line of state or badge text
	foldAt    = 4 * rowPx
	foldPx    = 40 // height a folded gap is drawn with
	minKeyPx  = 6  // two distinct instants are at least this far apart
	charW     = 6.7
	crossSize = 5
)

// LadderCSS is the ladders' fallback style sheet, scoped to .ladder (an
// inline SVG's <style> applies to the whole page): a ladder saved alone
// still reads, in light and dark mode and in print. A page that styles its
// ladders itself may include it once and draw them with NoStyle.
const LadderCSS = `
.ladder{font:11px ui-monospace,Menlo,Consolas,monospace;color:#1b1b1b}
.ladder text{fill:currentColor}
.ladder .life{stroke:#555;stroke-width:2}
.ladder .fold path{stroke:#888;fill:none}
.ladder .fold text,.ladder .time,.ladder .note{fill:#666}
.ladder .arrow{stroke:#1f4e9a;stroke-width:1.5}
.ladder .s2c .arrow{stroke:#7a3e00}
.ladder .rst .arrow,.ladder .cross{stroke:#b00020;stroke-width:2.5}
.ladder .ah{fill:#1f4e9a}.ladder .ahb{fill:#7a3e00}.ladder .ahr{fill:#b00020}
.ladder .badge rect{fill:#fff;stroke:#555}
.ladder .anom rect{fill:#fff;stroke:#555}
.ladder .sev-warning rect{fill:#fff4d6;stroke:#a06800}
.ladder .sev-error rect{fill:#ffe3e3;stroke:#b00020}
.ladder .st .mark{stroke:currentColor}
.ladder .undone text{fill:#888}
.ladder .seg:hover .arrow,.ladder .seg:focus .arrow{stroke-width:3.5}
@media (prefers-color-scheme:dark){
.ladder{color:#e4e4e4}
.ladder .life{stroke:#aaa}
.ladder .arrow{stroke:#8fb8ff}.ladder .ah{fill:#8fb8ff}
.ladder .s2c .arrow{stroke:#ffb870}.ladder .ahb{fill:#ffb870}
.ladder .rst .arrow,.ladder .cross{stroke:#ff6b81}.ladder .ahr{fill:#ff6b81}
.ladder .badge rect,.ladder .anom rect{fill:#222}
.ladder .sev-warning rect{fill:#3a2e00}.ladder .sev-error rect{fill:#4a0010}
}
@media print{.ladder{color:#000}.ladder .badge rect,.ladder .anom rect{fill:#fff}}
`

// ladderSeg is one drawn segment: its instants as nanoseconds since the
// flow's first time (send at the sender, seen by the capture, arrival at
// the receiver) and what is stacked beside it.
type ladderSeg struct {
	send, seen, arrive int64
	lost               bool // a change of the receiver was undone: it never arrived
	need               int  // vertical room the segment's texts take below its y
	from               analyzer.Side
	lines              [2]int // state lines stacked at each side's line (by Side)
}

// fold is a quiet gap drawn short: between key instants k-1 and k.
type fold struct {
	k  int
	dt time.Duration
}

// AppendLadder appends flow t's ladder diagram to b as one inline <svg>
// element: client and server as two vertical lines with their addresses on
// top, time going down on a true scale with long quiet gaps folded, each
// labelled segment an arrow from sender to receiver (slanted by its one-way
// delay where the vantage tells it), the states beside the lines where they
// change, anomalies as badges at their frames and the end states at the
// bottom. It keeps nothing of t. Every text from the capture is escaped.
func AppendLadder(b []byte, t *analyzer.Teardown, o LadderOptions) []byte {
	id := o.ID
	if id == "" {
		id = "ladder"
	}
	segs := t.Segments
	notDrawn := 0
	if len(segs) > MaxLadderArrows {
		notDrawn = len(segs) - MaxLadderArrows
		segs = segs[:MaxLadderArrows]
	}

	// One-way delays: the capture point's distance to each host is half
	// that host's answer time seen from it (vantage.go); at a host it is
	// zero, and an unknown vantage draws every arrow level.
	var dC, dS int64
	switch t.Vantage.At {
	case analyzer.VantageClient:
		dS = int64(t.Vantage.ServerAnswer / 2)
	case analyzer.VantageServer:
		dC = int64(t.Vantage.ClientAnswer / 2)
	case analyzer.VantageBetween:
		dC, dS = int64(t.Vantage.ClientAnswer/2), int64(t.Vantage.ServerAnswer/2)
	}

	ls := make([]ladderSeg, len(segs))
	keys := make([]int64, 0, 3*len(segs))
	for i := range segs {
		s := &segs[i]
		at := rel(s.Time, t.FirstTime)
		l := &ls[i]
		l.seen = at
		if s.From == analyzer.Client {
			l.send, l.arrive = at-dC, at+dS
		} else {
			l.send, l.arrive = at-dS, at+dC
		}
		var n [2]int
		for j := range s.Changes {
			c := &s.Changes[j]
			n[c.Side&1]++
			if c.Undone && c.Side != s.From {
				l.lost = true
			}
		}
		l.from, l.lines = s.From, n
		lines := max(n[0], n[1], anomalyBadges(t, s.Frame))
		l.need = max(rowPx, lines*lineH+10)
		keys = append(keys, l.send, l.seen, l.arrive)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	ys, folds := timeScale(keys, ls)
	y := func(ns int64) int {
		k, _ := slices.BinarySearch(keys, ns)
		return ys[k]
	}
	bottom := topY
	if len(ys) > 0 {
		bottom = ys[len(ys)-1]
	}
	if len(ls) > 0 {
		bottom += ls[len(ls)-1].need
	}
	bottom += 16
	notes := notDrawn > 0 || t.SegmentsOmitted > 0
	height := bottom + 62 // end states, the legend
	if notes {
		height += 16
	}

	// The root: a fixed drawing scaled to Width.
	w := o.Width
	if w <= 0 {
		w = ladderW
	}
	b = append(b, `<svg xmlns="http://www.w3.org/2000/svg" class="ladder" id="`...)
	b = appendEsc(b, id)
	b = append(b, `" width="`...)
	b = strconv.AppendInt(b, int64(w), 10)
	b = append(b, `" height="`...)
	b = strconv.AppendInt(b, int64(height*w/ladderW), 10)
	b = append(b, `" viewBox="0 0 `...)
	b = strconv.AppendInt(b, ladderW, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(height), 10)
	b = append(b, `" font-family="ui-monospace,monospace" font-size="11" role="img" aria-labelledby="`...)
	b = appendEsc(b, id)
	b = append(b, "-t\">\n<title id=\""...)
	b = appendEsc(b, id)
	b = append(b, `-t">`...)
	b = appendEsc(b, t.Client.String())
	b = append(b, " ⇄ "...)
	b = appendEsc(b, t.Server.String())
	b = append(b, ": "...)
	b = append(b, t.Pattern.String()...)
	b = append(b, ", stream "...)
	b = strconv.AppendInt(b, t.Stream, 10)
	b = append(b, "</title>\n"...)
	if !o.NoStyle {
		b = append(b, "<style>"...)
		b = append(b, LadderCSS...)
		b = append(b, "</style>\n"...)
	}
	// Arrowheads: one per colour class, as a marker takes its paint from
	// where it is defined, not from the line that uses it.
	b = append(b, "<defs>\n"...)
	for _, m := range [...]struct{ suffix, class string }{{"ah", "ah"}, {"ahb", "ahb"}, {"ahr", "ahr"}} {
		b = append(b, `<marker id="`...)
		b = appendEsc(b, id)
		b = append(b, '-')
		b = append(b, m.suffix...)
		b = append(b, `" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto"><path class="`...)
		b = append(b, m.class...)
		b = append(b, `" d="M0,0L10,5L0,10z"/></marker>`+"\n"...)
	}
	b = append(b, "</defs>\n"...)

	// Header: each side's role and address over its line.
	for _, side := range [2]analyzer.Side{analyzer.Client, analyzer.Server} {
		x := sideX(side)
		b = appendText(b, "role", x, 18, "middle")
		b = append(b, side.String()...)
		b = append(b, "</text>\n"...)
		b = appendText(b, "addr", x, 34, "middle")
		b = appendEsc(b, t.Endpoint(side).String())
		b = append(b, "</text>\n"...)
	}
	b = appendText(b, "time", 4, 34, "")
	b = append(b, "time (s)  frame</text>\n"...)

	// Lifelines, broken at each fold, where a zigzag and the gap's
	// duration stand for the quiet time left out.
	y0 := topY - 12
	for _, f := range folds {
		// The band sits at the bottom of the gap: above it, the texts
		// under the previous arrow; under it, those over the next.
		ya, yb := ys[f.k]-16-foldPx, ys[f.k]-16
		for _, x := range [2]int{clientX, serverX} {
			b = appendLine(b, "life", x, y0, x, ya)
		}
		b = append(b, `<g class="fold"><path d="`...)
		for _, x := range [2]int{clientX, serverX} {
			b = append(b, 'M')
			b = appendXY(b, x, ya)
			b = append(b, 'l')
			b = appendXY(b, -6, (yb-ya)/4)
			b = append(b, 'l')
			b = appendXY(b, 12, (yb-ya)/2)
			b = append(b, 'l')
			b = appendXY(b, -6, (yb-ya)/4)
		}
		b = append(b, `"/>`...)
		b = appendText(b, "", (clientX+serverX)/2, (ya+yb)/2+4, "middle")
		b = append(b, "⋯ "...)
		b = appendDuration(b, f.dt)
		b = append(b, " later ⋯</text></g>\n"...)
		y0 = yb
	}
	for _, x := range [2]int{clientX, serverX} {
		b = appendLine(b, "life", x, y0, x, bottom)
	}

	// The segments.
	for i := range segs {
		b = appendArrow(b, t, &segs[i], &ls[i], y, id)
	}

	// Anomaly badges at their frames, stacked beside the row.
	var stack []int64 // frames already given a badge, one entry per badge
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		for _, f := range a.Frames {
			j := slices.IndexFunc(segs, func(s analyzer.LabelledSegment) bool { return s.Frame == f })
			if j < 0 {
				continue
			}
			n := 0
			for _, g := range stack {
				if g == f {
					n++
				}
			}
			stack = append(stack, f)
			b = appendAnomaly(b, a, f, y(ls[j].seen)+n*(lineH+3))
		}
	}

	// End states under each line.
	for _, side := range [2]analyzer.Side{analyzer.Client, analyzer.Server} {
		e := t.End(side)
		x := sideX(side)
		b = append(b, `<g class="end s-`...)
		b = append(b, side.String()...)
		if e.Tentative {
			b = append(b, ` tentative`...)
		}
		b = append(b, `">`...)
		b = appendText(b, "", x, bottom+18, "middle")
		b = append(b, e.State.String()...)
		if e.Tentative {
			b = append(b, '?')
		}
		b = append(b, "</text>"...)
		var sub []byte
		switch {
		case e.SilentFrame != 0 || !e.SilentSince.IsZero():
			sub = append(sub, "silent after #"...)
			sub = strconv.AppendInt(sub, e.SilentFrame, 10)
		case !e.Until.IsZero():
			sub = append(sub, "until "...)
			sub = appendSeconds(sub, rel(e.Until, t.FirstTime))
			sub = append(sub, " s"...)
		}
		if len(sub) > 0 {
			b = appendText(b, "note", x, bottom+32, "middle")
			b = append(b, sub...)
			b = append(b, "</text>"...)
		}
		b = append(b, "</g>\n"...)
	}

	// Notes and a legend that reads without colour.
	ny := bottom + 52
	if notes {
		b = appendText(b, "note", 4, ny, "")
		if notDrawn > 0 {
			b = strconv.AppendInt(b, int64(notDrawn), 10)
			b = append(b, " more segments not drawn (the first "...)
			b = strconv.AppendInt(b, MaxLadderArrows, 10)
			b = append(b, " are). "...)
		}
		if t.SegmentsOmitted > 0 {
			b = strconv.AppendInt(b, int64(t.SegmentsOmitted), 10)
			b = append(b, " labelled segments beyond the per-flow cap were not kept."...)
		}
		b = append(b, "</text>\n"...)
		ny += 16
	}
	b = appendText(b, "note legend", 4, ny, "")
	b = append(b, "──▶ segment · ━ ━ RST · ┄┄ retransmission · ✕ never received · STATE? tentative · S̶T̶A̶T̶E̶ undone · vantage: "...)
	b = append(b, t.Vantage.At.String()...)
	b = append(b, "</text>\n</svg>\n"...)
	return b
}

// timeScale gives each key instant (ascending nanoseconds) its y: a true
// scale, rowPx for the median gap between segments seen, distinct instants
// at least minKeyPx apart, gaps longer than foldAt drawn foldPx high (and
// returned as folds), and each segment at least its predecessor's need
// below it. ys is ascending: y never goes back up as time goes on.
func timeScale(keys []int64, ls []ladderSeg) (ys []int, folds []fold) {
	ys = make([]int, len(keys))
	if len(keys) == 0 {
		return ys, nil
	}
	var gaps []int64
	for i := 1; i < len(ls); i++ {
		if d := ls[i].seen - ls[i-1].seen; d > 0 {
			gaps = append(gaps, d)
		}
	}
	scale := 0.0 // pixels per nanosecond
	if len(gaps) > 0 {
		slices.Sort(gaps)
		scale = rowPx / float64(gaps[(len(gaps)-1)/2]) // the lower median
	}
	ys[0] = topY
	for k := 1; k < len(keys); k++ {
		dt := keys[k] - keys[k-1]
		px := float64(dt) * scale
		switch {
		case px > foldAt:
			ys[k] = ys[k-1] + rowPx + foldPx
			folds = append(folds, fold{k, time.Duration(dt)})
		default:
			ys[k] = ys[k-1] + max(minKeyPx, int(px+0.5))
		}
	}
	// Room for each segment's texts: push everything at and after a
	// segment down when its predecessor's texts would reach it.
	for i := 1; i < len(ls); i++ {
		kp, _ := slices.BinarySearch(keys, ls[i-1].seen)
		k, _ := slices.BinarySearch(keys, ls[i].seen)
		if d := ys[kp] + ls[i-1].need - ys[k]; k > kp && d > 0 {
			for j := k; j < len(ys); j++ {
				ys[j] += d
			}
		}
		// At each line, the segment's end (where its states and,
		// at the sender, its texts go) clears the earlier segments'
		// ends there, unless those came later in time (crossing).
		for _, side := range [2]analyzer.Side{analyzer.Client, analyzer.Server} {
			k := endKey(keys, &ls[i], side)
			last := 0
			for j := range i {
				if kj := endKey(keys, &ls[j], side); kj < k {
					last = max(last, ys[kj]+max(18, ls[j].lines[side]*lineH+5))
				}
			}
			if d := last - ys[k]; d > 0 {
				for j := k; j < len(ys); j++ {
					ys[j] += d
				}
			}
		}
	}
	return ys, folds
}

// endKey is the index in keys of l's end at side's line: its send at the
// sender's, its arrival at the receiver's.
func endKey(keys []int64, l *ladderSeg, side analyzer.Side) int {
	at := l.arrive
	if side == l.from {
		at = l.send
	}
	k, _ := slices.BinarySearch(keys, at)
	return k
}

// appendArrow appends segment s as one <g>: its tooltip, the arrow from
// sender to receiver (ending in a cross short of a receiver it never
// reached), flags and numbers above it, its label as a badge under it,
// the time and frame at the left, and the state changes it caused beside
// each line.
func appendArrow(b []byte, t *analyzer.Teardown, s *analyzer.LabelledSegment, l *ladderSeg, y func(int64) int, id string) []byte {
	fromX, toX := sideX(s.From), sideX(s.From.Peer())
	y1, y2 := y(l.send), y(l.arrive)
	rst := s.Flags.Has(flow.RST)
	b = append(b, `<g class="seg`...)
	if s.From == analyzer.Client {
		b = append(b, " c2s"...)
	} else {
		b = append(b, " s2c"...)
	}
	if s.Label != analyzer.NoLabel {
		b = append(b, " l-"...)
		b = append(b, s.Label.String()...)
	}
	if rst {
		b = append(b, " rst"...)
	}
	if l.lost {
		b = append(b, " lost"...)
	}
	b = append(b, `" data-frame="`...)
	b = strconv.AppendInt(b, s.Frame, 10)
	b = append(b, `" tabindex="0">`+"\n<title>"...)
	b = append(b, "frame "...)
	b = strconv.AppendInt(b, s.Frame, 10)
	b = append(b, " at "...)
	b = appendSeconds(b, l.seen)
	b = append(b, " s, "...)
	b = append(b, s.From.String()...)
	b = append(b, " → "...)
	b = append(b, s.From.Peer().String()...)
	b = append(b, "\n"...)
	b = report.AppendArrowText(b, s)
	if s.Label != analyzer.NoLabel {
		b = append(b, "\n"...)
		b = append(b, s.Label.String()...)
		b = append(b, ": "...)
		b = appendEsc(b, s.Label.Meaning())
	}
	if s.Explain != "" {
		b = append(b, "\n"...)
		b = appendEsc(b, s.Explain)
	}
	for j := range s.Changes {
		c := &s.Changes[j]
		b = append(b, "\n"...)
		b = append(b, c.Side.String()...)
		b = append(b, ' ')
		b = append(b, c.From.String()...)
		b = append(b, "→"...)
		b = append(b, c.To.String()...)
		switch {
		case c.Undone:
			b = append(b, " (undone: not received)"...)
		case c.Tentative && c.Confirmed == 0:
			b = append(b, " (tentative)"...)
		}
		if c.Reason != "" {
			b = append(b, ": "...)
			b = appendEsc(b, c.Reason)
		}
	}
	b = append(b, "</title>\n"...)

	// The arrow: a lost one stops at 80 % of the way, under a cross.
	ex, ey := toX, y2
	if l.lost {
		ex = fromX + (toX-fromX)*8/10
		ey = y1 + (y2-y1)*8/10
	}
	b = append(b, `<line class="arrow" x1="`...)
	b = strconv.AppendInt(b, int64(fromX), 10)
	b = append(b, `" y1="`...)
	b = strconv.AppendInt(b, int64(y1), 10)
	b = append(b, `" x2="`...)
	b = strconv.AppendInt(b, int64(ex), 10)
	b = append(b, `" y2="`...)
	b = strconv.AppendInt(b, int64(ey), 10)
	b = append(b, '"')
	switch {
	case rst:
		b = append(b, ` stroke-dasharray="8 4"`...)
	case s.Label == analyzer.FINRetransmission || s.Label == analyzer.TimeWaitACK:
		b = append(b, ` stroke-dasharray="2 3"`...)
	}
	if !l.lost {
		b = append(b, ` marker-end="url(#`...)
		b = appendEsc(b, id)
		switch {
		case rst:
			b = append(b, "-ahr"...)
		case s.From == analyzer.Server:
			b = append(b, "-ahb"...)
		default:
			b = append(b, "-ah"...)
		}
		b = append(b, `)"`...)
	}
	b = append(b, "/>\n"...)
	if l.lost {
		b = append(b, `<path class="cross" d="M`...)
		b = appendXY(b, ex-crossSize, ey-crossSize)
		b = append(b, 'l')
		b = appendXY(b, 2*crossSize, 2*crossSize)
		b = append(b, 'm')
		b = appendXY(b, 0, -2*crossSize)
		b = append(b, 'l')
		b = appendXY(b, -2*crossSize, 2*crossSize)
		b = append(b, "\"/>\n"...)
	}

	// Texts near the sender's end, over the arrow where it leaves the
	// line (flags) and under it (label), aligned on that line: two
	// arrows crossing from either side keep their texts apart.
	tx, anchor := fromX+10, ""
	if s.From == analyzer.Server {
		tx, anchor = fromX-10, "end"
	}
	span := (toX - fromX) * sign(toX-fromX)
	ty := y1 + (y2-y1)*10/span
	b = appendText(b, "flags", tx, ty-4, anchor)
	b = report.AppendArrowText(b, s)
	b = append(b, "</text>\n"...)
	if s.Label != analyzer.NoLabel {
		name := s.Label.String()
		w := textW(name) + 8
		rx := tx - 4
		if anchor == "end" {
			rx = tx + 4 - w
		}
		// The arrow descends as it goes: the badge hangs under where
		// it leaves the badge's far edge.
		ty := y1 + (y2-y1)*(14+w)/span
		b = append(b, `<g class="badge"><rect x="`...)
		b = strconv.AppendInt(b, int64(rx), 10)
		b = append(b, `" y="`...)
		b = strconv.AppendInt(b, int64(ty+3), 10)
		b = append(b, `" width="`...)
		b = strconv.AppendInt(b, int64(w), 10)
		b = append(b, `" height="14" rx="7"/>`...)
		b = appendText(b, "", tx, ty+13, anchor)
		b = append(b, name...)
		b = append(b, "</text></g>\n"...)
	}
	b = appendText(b, "time", 4, y(l.seen)+4, "")
	b = appendSeconds(b, l.seen)
	b = append(b, "  #"...)
	b = strconv.AppendInt(b, s.Frame, 10)
	b = append(b, "</text>\n"...)

	// States: the sender's where it sent, the receiver's where it arrived,
	// one line per change.
	var n [2]int
	for j := range s.Changes {
		c := &s.Changes[j]
		sy := y1
		if c.Side != s.From {
			sy = y2
		}
		sy += 4 + n[c.Side&1]*lineH
		n[c.Side&1]++
		b = appendState(b, c, sy)
	}
	return append(b, "</g>\n"...)
}

// appendState appends change c beside its side's line at y: the state it
// led to, "?" and a dashed underline while tentative, struck out when
// undone, its kernel path as tooltip.
func appendState(b []byte, c *analyzer.Change, y int) []byte {
	tent := c.Tentative && c.Confirmed == 0 && !c.Undone
	b = append(b, `<g class="st s-`...)
	b = append(b, c.Side.String()...)
	if tent {
		b = append(b, " tentative"...)
	}
	if c.Undone {
		b = append(b, " undone"...)
	}
	b = append(b, `"><title>`...)
	b = append(b, c.Side.String()...)
	b = append(b, ' ')
	b = append(b, c.From.String()...)
	b = append(b, "→"...)
	b = append(b, c.To.String()...)
	if c.Undone {
		b = append(b, " (not received)"...)
	}
	if c.Reason != "" {
		b = append(b, ": "...)
		b = appendEsc(b, c.Reason)
	}
	b = append(b, "</title>"...)
	name := c.To.String()
	w := textW(name)
	if tent {
		w += textW("?")
	}
	x, x0, anchor := clientX-8, clientX-8-w, "end"
	if c.Side == analyzer.Server {
		x, x0, anchor = serverX+8, serverX+8, ""
	}
	b = appendText(b, "", x, y, anchor)
	b = append(b, name...)
	if tent {
		b = append(b, '?')
	}
	b = append(b, "</text>"...)
	switch {
	case tent:
		b = append(b, `<line class="mark" x1="`...)
		b = appendLineXY(b, x0, y+3, x0+w, y+3)
		b = append(b, `" stroke-dasharray="3 2"/>`...)
	case c.Undone:
		b = append(b, `<line class="mark" x1="`...)
		b = appendLineXY(b, x0, y-4, x0+w, y-4)
		b = append(b, `"/>`...)
	}
	return append(b, "</g>\n"...)
}

// appendAnomaly appends one badge of anomaly a at frame f: severity marker
// and kind, the detail as tooltip.
func appendAnomaly(b []byte, a *analyzer.Anomaly, f int64, y int) []byte {
	name := a.Kind.String()
	b = append(b, `<g class="anom sev-`...)
	b = append(b, a.Severity.String()...)
	b = append(b, " k-"...)
	b = append(b, name...)
	b = append(b, `" data-frame="`...)
	b = strconv.AppendInt(b, f, 10)
	b = append(b, `"><title>`...)
	b = append(b, name...)
	b = append(b, " ("...)
	b = append(b, a.Severity.String()...)
	b = append(b, ", "...)
	b = append(b, a.Endpoint.String()...)
	b = append(b, ", frame "...)
	b = strconv.AppendInt(b, f, 10)
	b = append(b, ")"...)
	if a.Detail != "" {
		b = append(b, ": "...)
		b = appendEsc(b, a.Detail)
	}
	b = append(b, `</title><rect x="`...)
	b = strconv.AppendInt(b, badgeX, 10)
	b = append(b, `" y="`...)
	b = strconv.AppendInt(b, int64(y-10), 10)
	b = append(b, `" width="`...)
	b = strconv.AppendInt(b, int64(textW(name)+textW("⚠ ")+8), 10)
	b = append(b, `" height="14" rx="2"/>`...)
	b = appendText(b, "", badgeX+4, y+1, "")
	b = append(b, report.SeverityMarker(a.Severity)...)
	b = append(b, ' ')
	b = append(b, name...)
	return append(b, "</text></g>\n"...)
}

// anomalyBadges counts the badges drawn at frame f.
func anomalyBadges(t *analyzer.Teardown, f int64) int {
	n := 0
	for i := range t.Anomalies {
		if slices.Contains(t.Anomalies[i].Frames, f) {
			n++
		}
	}
	return n
}

// appendText opens a <text> element at (x, y) with an optional class and
// text-anchor; the caller appends the content and "</text>".
func appendText(b []byte, class string, x, y int, anchor string) []byte {
	b = append(b, "<text"...)
	if class != "" {
		b = append(b, ` class="`...)
		b = append(b, class...)
		b = append(b, '"')
	}
	b = append(b, ` x="`...)
	b = strconv.AppendInt(b, int64(x), 10)
	b = append(b, `" y="`...)
	b = strconv.AppendInt(b, int64(y), 10)
	b = append(b, '"')
	if anchor != "" {
		b = append(b, ` text-anchor="`...)
		b = append(b, anchor...)
		b = append(b, '"')
	}
	return append(b, '>')
}

// appendLine appends a <line> of class from (x1, y1) to (x2, y2).
func appendLine(b []byte, class string, x1, y1, x2, y2 int) []byte {
	b = append(b, `<line class="`...)
	b = append(b, class...)
	b = append(b, `" x1="`...)
	b = appendLineXY(b, x1, y1, x2, y2)
	return append(b, "\"/>\n"...)
}

// appendLineXY appends a line's coordinates after its opening x1=".
func appendLineXY(b []byte, x1, y1, x2, y2 int) []byte {
	b = strconv.AppendInt(b, int64(x1), 10)
	b = append(b, `" y1="`...)
	b = strconv.AppendInt(b, int64(y1), 10)
	b = append(b, `" x2="`...)
	b = strconv.AppendInt(b, int64(x2), 10)
	b = append(b, `" y2="`...)
	return strconv.AppendInt(b, int64(y2), 10)
}

// appendXY appends "x,y" for path data.
func appendXY(b []byte, x, y int) []byte {
	b = strconv.AppendInt(b, int64(x), 10)
	b = append(b, ',')
	return strconv.AppendInt(b, int64(y), 10)
}

// sign is -1, 0 or 1 as v is negative, zero or positive.
func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// sideX is the x of side's line.
func sideX(s analyzer.Side) int {
	if s == analyzer.Client {
		return clientX
	}
	return serverX
}

// textW estimates the width of s in the monospace font.
func textW(s string) int { return int(float64(utf8.RuneCountInString(s))*charW + 0.5) }

// rel is t in nanoseconds since base; a zero t counts as base.
func rel(t, base time.Time) int64 {
	if t.IsZero() || base.IsZero() {
		return 0
	}
	return int64(t.Sub(base))
}

// appendSeconds appends ns as seconds with microsecond precision.
func appendSeconds(b []byte, ns int64) []byte {
	return strconv.AppendFloat(b, float64(ns)/1e9, 'f', 6, 64)
}

// appendDuration appends a folded gap's duration, rounded to three
// significant figures' worth of units.
func appendDuration(b []byte, d time.Duration) []byte {
	switch {
	case d < time.Millisecond:
		return append(strconv.AppendInt(b, int64(d/time.Microsecond), 10), " µs"...)
	case d < time.Second:
		return append(strconv.AppendFloat(b, float64(d)/1e6, 'g', 3, 64), " ms"...)
	case d < time.Minute:
		return append(strconv.AppendFloat(b, d.Seconds(), 'f', 2, 64), " s"...)
	}
	return append(b, d.Round(time.Second).String()...)
}

// appendEsc appends s escaped for XML text and attribute values: markup
// characters as entities, and what XML 1.0 forbids (invalid UTF-8, control
// characters but tab and newline, U+FFFE, U+FFFF) as U+FFFD; the slash of
// "://" as an entity.
func appendEsc(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '<':
				b = append(b, "&lt;"...)
			case c == '>':
				b = append(b, "&gt;"...)
			case c == '&':
				b = append(b, "&amp;"...)
			case c == '"':
				b = append(b, "&quot;"...)
			case c == '\'':
				b = append(b, "&#39;"...)
			case c == '/' && i > 0 && s[i-1] == ':':
				// "://" never appears: the page names no address
				// outside itself, not even in text from a capture.
				b = append(b, "&#47;"...)
			case c < 0x20 && c != '\t' && c != '\n' || c == 0x7f:
				b = append(b, "\uFFFD"...)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF || r >= 0x80 && r <= 0x9f {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}
