package htmlreport

import (
	"cmp"
	"io"
	"slices"
	"time"

	"finwave/analyzer"
	"finwave/flow"
	"finwave/report"
	"finwave/rollup"
)

// Defaults of Options' caps.
const (
	// DefaultMaxRows is how many flows the flows table lists at most: about
	// 250 bytes of HTML each. Table layout is what a page's opening time
	// grows with: 1 000 rows open in 1.6 s in headless Chromium on the 2-core
	// test machine (the whole 200 k-connection page), 5 000 in 5 s.
	DefaultMaxRows = 1_000
	// DefaultMaxLadders is how many listed flows (flows worth reading, the
	// lowest stream ids first) get their ladder drawn, group exemplars
	// aside: a ladder is a few kB of SVG.
	DefaultMaxLadders = 200
	// DefaultMaxGroups caps the groups of alike flows; flows that would
	// open a further group are counted together.
	DefaultMaxGroups = 300
)

// Options shape the page.
type Options struct {
	// Report holds the roll-up's kernel limits (Report.Rollup) and Only
	// (only flows with one of these anomalies are listed and drawn).
	Report report.Options
	// MaxRows, MaxLadders and MaxGroups cap the page's size; 0 = default.
	MaxRows, MaxLadders, MaxGroups int
	// Version is written in the page's footer ("" for none: goldens).
	Version string
}

// row is what the page keeps of one flow: a few dozen bytes, whatever
// the flow's length, so that every flow of a large capture fits.
type row struct {
	stream         int64
	client, server flow.Endpoint
	first, last    int64  // Unix nanoseconds; 0 when unknown
	kinds          uint64 // bit k for each anomaly kind k (< 64)
	segs           int32  // labelled segments
	pattern        analyzer.Pattern
	closer         analyzer.Closer
	sev            analyzer.Severity
	anomalous      bool // has an anomaly
	worth          bool // report.WorthReading
	clientEnd      analyzer.State
	serverEnd      analyzer.State
	vantage        analyzer.VantagePoint
}

// ladder is one drawn flow.
type ladder struct {
	stream  int64
	svg     []byte
	verdict string
}

// groupKey is what the flows of a group share (report/group.go's key
// without the per-client-host split).
type groupKey struct {
	service flow.Endpoint
	kinds   uint64
	pattern analyzer.Pattern
	closer  analyzer.Closer
}

// group is one group of alike flows; its exemplar is its lowest stream.
type group struct {
	key         groupKey
	flows       int64
	sev         analyzer.Severity
	first, last int64
	clients     map[flow.Endpoint]struct{} // distinct client hosts (port 0), up to maxGroupHosts
	ex          ladder
}

const maxGroupHosts = 1000

type renderer struct {
	w       io.Writer
	o       Options
	rows    rowStore
	roll    *rollup.Rollup
	ladders []ladder // the lowest streams of the listed flows, at most MaxLadders
	groups  map[groupKey]*group
	other   int64 // flows past MaxGroups
	buf     []byte
}

// New returns a renderer writing one self-contained HTML page per capture
// to w at Finish. Flow keeps a compact row per flow and draws the ladders
// of the flows it lists (the lowest stream ids first, up to MaxLadders)
// and of each group's exemplar at once: nothing of the Teardown is kept.
func New(w io.Writer, o Options) report.Renderer {
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.MaxLadders <= 0 {
		o.MaxLadders = DefaultMaxLadders
	}
	if o.MaxGroups <= 0 {
		o.MaxGroups = DefaultMaxGroups
	}
	if o.Report.Rollup == (rollup.Options{}) {
		o.Report.Rollup = rollup.DefaultOptions()
	}
	return &renderer{w: w, o: o, groups: map[groupKey]*group{}}
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// selected reports whether t passes Options.Report.Only.
func (r *renderer) selected(t *analyzer.Teardown) bool {
	if len(r.o.Report.Only) == 0 {
		return true
	}
	for _, k := range r.o.Report.Only {
		if t.HasAnomaly(k) {
			return true
		}
	}
	return false
}

func (r *renderer) Flow(t *analyzer.Teardown) error {
	if r.roll == nil {
		r.roll = rollup.New(r.o.Report.Rollup)
	}
	r.roll.Add(t)
	if !r.selected(t) {
		return nil
	}
	rw := row{
		stream: t.Stream, client: t.Client, server: t.Server,
		first: nanos(t.FirstTime), last: nanos(t.LastTime),
		segs: int32(min(len(t.Segments)+t.SegmentsOmitted, 1<<31-1)), pattern: t.Pattern, closer: t.Closer,
		anomalous: len(t.Anomalies) > 0, worth: report.WorthReading(t),
		clientEnd: t.ClientEnd.State, serverEnd: t.ServerEnd.State, vantage: t.Vantage.At,
	}
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		if a.Kind < 64 {
			rw.kinds |= 1 << a.Kind
		}
		rw.sev = max(rw.sev, a.Severity)
	}
	r.rows.add(rw)
	r.group(t, &rw)
	if rw.worth || rw.anomalous {
		r.addLadder(t)
	}
	return nil
}

// addLadder draws t when its stream is among the MaxLadders lowest of the
// listed flows so far, dropping the highest one past the cap: the set is
// the same whatever order flows finish in (-j).
func (r *renderer) addLadder(t *analyzer.Teardown) {
	if len(r.ladders) >= r.o.MaxLadders {
		hi := 0
		for i := range r.ladders {
			if r.ladders[i].stream > r.ladders[hi].stream {
				hi = i
			}
		}
		if t.Stream >= r.ladders[hi].stream {
			return
		}
		l := &r.ladders[hi]
		l.stream = t.Stream
		l.svg = AppendLadder(l.svg[:0], t, LadderOptions{ID: ladderID(t.Stream), NoStyle: true})
		l.verdict = copyString(t.Verdict) // Verdict dies with Recycle
		return
	}
	r.ladders = append(r.ladders, ladder{
		stream:  t.Stream,
		svg:     AppendLadder(nil, t, LadderOptions{ID: ladderID(t.Stream), NoStyle: true}),
		verdict: copyString(t.Verdict),
	})
}

// copyString returns a copy of s that shares no memory with it.
func copyString(s string) string { return string(append([]byte(nil), s...)) }

func ladderID(stream int64) string { return "s" + itoa(stream) }

// group adds t to its group, drawing t as the exemplar when it has the
// group's lowest stream so far.
func (r *renderer) group(t *analyzer.Teardown, rw *row) {
	key := groupKey{service: t.Server, kinds: rw.kinds, pattern: t.Pattern, closer: t.Closer}
	g := r.groups[key]
	if g == nil {
		if len(r.groups) >= r.o.MaxGroups {
			r.other++
			return
		}
		g = &group{key: key, ex: ladder{stream: -1}, clients: map[flow.Endpoint]struct{}{}}
		r.groups[key] = g
	}
	g.flows++
	g.sev = max(g.sev, rw.sev)
	if rw.first != 0 && (g.first == 0 || rw.first < g.first) {
		g.first = rw.first
	}
	if rw.last > g.last {
		g.last = rw.last
	}
	if len(g.clients) < maxGroupHosts {
		g.clients[flow.Endpoint{Addr: t.Client.Addr}] = struct{}{}
	}
	if g.ex.stream < 0 || t.Stream < g.ex.stream {
		g.ex.stream = t.Stream
		g.ex.svg = AppendLadder(g.ex.svg[:0], t, LadderOptions{ID: "g" + itoa(t.Stream), NoStyle: true})
		g.ex.verdict = copyString(t.Verdict)
	}
}

// sortedGroups returns the groups most severe first, then most flows,
// then lowest exemplar stream.
func (r *renderer) sortedGroups() []*group {
	gs := make([]*group, 0, len(r.groups))
	for _, g := range r.groups {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(a, b *group) int {
		if c := cmp.Compare(b.sev, a.sev); c != 0 {
			return c
		}
		if c := cmp.Compare(b.flows, a.flows); c != 0 {
			return c
		}
		return cmp.Compare(a.ex.stream, b.ex.stream)
	})
	return gs
}

func (r *renderer) Finish(c *report.Capture) error {
	roll := r.roll
	if roll == nil {
		roll = rollup.New(r.o.Report.Rollup)
	}
	res := roll.Result(c.First, c.Last)
	r.buf = r.appendPage(r.buf[:0], c, res)
	_, err := r.w.Write(r.buf)
	// Reset for the next capture; the page buffer is kept for reuse.
	r.rows.reset()
	r.roll = nil
	r.ladders = r.ladders[:0]
	clear(r.groups)
	r.other = 0
	if err != nil {
		return fmtErr(err)
	}
	return nil
}
