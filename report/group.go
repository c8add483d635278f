package report

import (
	"cmp"
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"time"

	"finwave/analyzer"
	"finwave/flow"
)

// Groups: the default text report (and the JSON document's "groups")
// gathers the flows worth reading by what makes them alike: teardown
// pattern, the anomaly kinds with the side each was found at, who closed
// first, the service (server ip:port) and the client host (ip). One
// (pattern, kinds, closer, service) seen from more than foldHosts client
// hosts is folded into one group over every client host. Each group keeps
// its counters, its lowest stream ids and, for the text report, the
// rendering of its exemplar (the flow with the lowest stream id): the
// exemplar is rendered again only when a flow with a lower stream id joins
// the group, which flows finishing roughly in stream order rarely do.
//
// Every part of a group (counts, times, lowest streams, exemplar, the
// client hosts' sketch, folding) is order independent: any order of the
// Flow calls gives the same groups, up to the group cap.

const (
	// maxGroups caps the groups of one capture (per-host and folded ones
	// alive at once). Past it, flows that would open a new group are
	// counted in one overflow group ("further flows"); which groups are
	// kept then depends on the order flows finish (-j), the overflow's
	// flows are still counted in the summary. Memory per group is a few
	// hundred bytes plus its exemplar's rendering (a few kB).
	maxGroups = 10_000
	// foldHosts: one (pattern, kinds, closer, service) from more client
	// hosts than this is one group over every client host.
	foldHosts = 3
	// groupStreams is how many of a group's lowest stream ids are kept:
	// the exemplar and the next lowest to open in Wireshark.
	groupStreams = 6
	// hostSketchK is the size of the client hosts' sketch of a folded
	// group: counts are exact below it, estimated (K minimum values) from it.
	hostSketchK = 64
	// maxServices caps the per-service flow counts behind a group's share.
	// Past it, services not yet seen are not counted: their groups' share
	// is unknown.
	maxServices = 100_000
)

// groupKey is what the flows of a group share, the client host aside.
type groupKey struct {
	service flow.Endpoint
	kinds   uint64 // bit 2*kind+side for each anomaly (kinds < maxKinds)
	pattern analyzer.Pattern
	closer  analyzer.Closer
}

// kindSet returns the (kind, side) bits of t's anomalies and their highest
// severity.
func kindSet(t *analyzer.Teardown) (uint64, analyzer.Severity) {
	var k uint64
	sev := analyzer.Info
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		if int(a.Kind) < maxKinds {
			k |= 1 << (2*uint(a.Kind) + uint(a.Endpoint&1))
		}
		sev = max(sev, a.Severity)
	}
	return k, sev
}

// hostSketch counts distinct client hosts in bounded memory, independent
// of the order they come in: it keeps the hostSketchK smallest hashes.
type hostSketch struct {
	h [hostSketchK]uint64
	n int
}

// hashAddr is a fixed 64-bit hash of an address (splitmix64 finaliser over
// its 16 bytes): the same in every run, unlike maphash.
func hashAddr(a netip.Addr) uint64 {
	b := a.As16()
	mix := func(x uint64) uint64 {
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		return x ^ x>>31
	}
	return mix(mix(binary.BigEndian.Uint64(b[:8])) ^ binary.BigEndian.Uint64(b[8:]))
}

func (s *hostSketch) add(a netip.Addr) { s.n = insertLowest(s.h[:], s.n, hashAddr(a)) }

// insertLowest inserts x into a[:n], ascending and distinct, keeping the
// len(a) lowest values; it returns the new n.
func insertLowest[T cmp.Ordered](a []T, n int, x T) int {
	i, found := slices.BinarySearch(a[:n], x)
	if found || i == len(a) {
		return n
	}
	if n < len(a) {
		n++
	}
	copy(a[i+1:n], a[i:n-1])
	a[i] = x
	return n
}

// count returns the number of distinct hosts added, exact when exact.
func (s *hostSketch) count() (n int64, exact bool) {
	if s.n < hostSketchK {
		return int64(s.n), true
	}
	frac := float64(s.h[hostSketchK-1]) / math.Exp2(64)
	return int64(math.Round(float64(hostSketchK-1) / frac)), false
}

// group is one group of alike flows.
type group struct {
	key      groupKey
	host     netip.Addr // the client host; invalid when folded
	folded   bool       // over every client host (hosts counts them)
	overflow bool       // the flows past maxGroups, of any key
	hosts    hostSketch // folded only
	flows    int64
	first    time.Time
	last     time.Time
	severity analyzer.Severity
	streams  [groupStreams]int64 // lowest stream ids, ascending, distinct
	nstreams int
	exemplar []byte // rendering of streams[0]'s flow (text renderer only)
	verdict  []byte // its verdict
}

// take adds t's counters and, when its stream is among the lowest, its
// stream id; a new lowest stream makes t the exemplar (render, if set,
// renders it into the group's buffer).
func (g *group) take(t *analyzer.Teardown, sev analyzer.Severity, render func([]byte, *analyzer.Teardown) []byte) {
	g.flows++
	g.severity = max(g.severity, sev)
	g.span(t.FirstTime, t.LastTime)
	if g.nstreams == 0 || t.Stream < g.streams[0] {
		if render != nil {
			g.exemplar = render(g.exemplar[:0], t)
		}
		g.verdict = append(g.verdict[:0], t.Verdict...)
	}
	g.addStream(t.Stream)
}

// span widens the group's time span to [first, last] (zero times unknown).
func (g *group) span(first, last time.Time) {
	if !first.IsZero() && (g.first.IsZero() || first.Before(g.first)) {
		g.first = first
	}
	if last.After(g.last) {
		g.last = last
	}
}

// addStream inserts id among the lowest stream ids.
func (g *group) addStream(id int64) { g.nstreams = insertLowest(g.streams[:], g.nstreams, id) }

// merge adds src's flows into g (folding); src's exemplar becomes g's when
// its stream is lower. Buffers are swapped, not copied: src keeps g's old
// ones for reuse.
func (g *group) merge(src *group) {
	if src.nstreams == 0 {
		return
	}
	if g.nstreams == 0 || src.streams[0] < g.streams[0] {
		g.exemplar, src.exemplar = src.exemplar, g.exemplar
		g.verdict, src.verdict = src.verdict, g.verdict
	}
	for _, id := range src.streams[:src.nstreams] {
		g.addStream(id)
	}
	g.flows += src.flows
	g.severity = max(g.severity, src.severity)
	g.span(src.first, src.last)
	if src.host.IsValid() {
		g.hosts.add(src.host)
	}
}

// hostGroups holds the groups of one groupKey: one per client host while
// there are at most foldHosts, then the folded one.
type hostGroups struct {
	perHost [foldHosts]*group
	n       int
	folded  *group
}

// grouper gathers the listed flows into groups and counts every flow per
// service.
type grouper struct {
	keys     map[groupKey]*hostGroups
	live     int      // groups alive (per-host and folded)
	free     []*group // released groups, reused with their buffers
	overflow *group
	services map[flow.Endpoint]int64
	// render renders a flow into the buffer it is given (text report); nil
	// keeps no rendering (JSON).
	render func([]byte, *analyzer.Teardown) []byte
}

// count counts t in its service's flows (every flow, listed or not).
func (gr *grouper) count(t *analyzer.Teardown) {
	if n, ok := gr.services[t.Server]; ok {
		gr.services[t.Server] = n + 1
		return
	}
	if len(gr.services) >= maxServices {
		return
	}
	if gr.services == nil {
		gr.services = make(map[flow.Endpoint]int64)
	}
	gr.services[t.Server] = 1
}

// newGroup returns an empty group, reusing a released one's buffers.
func (gr *grouper) newGroup(key groupKey) *group {
	gr.live++
	if n := len(gr.free); n > 0 {
		g := gr.free[n-1]
		gr.free = gr.free[:n-1]
		*g = group{key: key, exemplar: g.exemplar[:0], verdict: g.verdict[:0]}
		return g
	}
	return &group{key: key}
}

func (gr *grouper) release(g *group) {
	gr.live--
	gr.free = append(gr.free, g)
}

// add puts a listed flow into its group.
func (gr *grouper) add(t *analyzer.Teardown) {
	kinds, sev := kindSet(t)
	key := groupKey{service: t.Server, kinds: kinds, pattern: t.Pattern, closer: t.Closer}
	host := t.Client.Addr
	hg := gr.keys[key]
	if hg == nil {
		if gr.live >= maxGroups {
			gr.spill(t, sev)
			return
		}
		if gr.keys == nil {
			gr.keys = make(map[groupKey]*hostGroups)
		}
		hg = &hostGroups{}
		gr.keys[key] = hg
	}
	if hg.folded != nil {
		hg.folded.hosts.add(host)
		hg.folded.take(t, sev, gr.render)
		return
	}
	for _, g := range hg.perHost[:hg.n] {
		if g.host == host {
			g.take(t, sev, gr.render)
			return
		}
	}
	if hg.n < foldHosts {
		if gr.live >= maxGroups {
			gr.spill(t, sev)
			return
		}
		g := gr.newGroup(key)
		g.host = host
		hg.perHost[hg.n] = g
		hg.n++
		g.take(t, sev, gr.render)
		return
	}
	// One client host more than foldHosts: fold them all into one group
	// (it replaces foldHosts groups, so the cap cannot stop it).
	f := gr.newGroup(key)
	f.folded = true
	for i, g := range hg.perHost[:hg.n] {
		f.merge(g)
		gr.release(g)
		hg.perHost[i] = nil
	}
	hg.n = 0
	hg.folded = f
	f.hosts.add(host)
	f.take(t, sev, gr.render)
}

// spill counts a flow past the group cap in the overflow group.
func (gr *grouper) spill(t *analyzer.Teardown, sev analyzer.Severity) {
	if gr.overflow == nil {
		gr.overflow = &group{overflow: true}
	}
	gr.overflow.take(t, sev, gr.render)
}

// groups returns the groups, most severe first, then most flows, then by
// exemplar stream id and key (deterministic); the overflow group last.
func (gr *grouper) groups() []*group {
	out := make([]*group, 0, gr.live+1)
	for _, hg := range gr.keys {
		if hg.folded != nil {
			out = append(out, hg.folded)
		}
		out = append(out, hg.perHost[:hg.n]...)
	}
	slices.SortFunc(out, compareGroups)
	if gr.overflow != nil {
		out = append(out, gr.overflow)
	}
	return out
}

func compareGroups(a, b *group) int {
	if c := cmp.Compare(b.severity, a.severity); c != 0 {
		return c
	}
	if c := cmp.Compare(b.flows, a.flows); c != 0 {
		return c
	}
	if c := cmp.Compare(a.streams[0], b.streams[0]); c != 0 {
		return c
	}
	// One stream in two groups: a continued stream whose flows differ.
	if c := cmp.Compare(a.key.pattern, b.key.pattern); c != 0 {
		return c
	}
	if c := cmp.Compare(a.key.kinds, b.key.kinds); c != 0 {
		return c
	}
	if c := cmp.Compare(a.key.closer, b.key.closer); c != 0 {
		return c
	}
	if c := a.key.service.Addr.Compare(b.key.service.Addr); c != 0 {
		return c
	}
	if c := cmp.Compare(a.key.service.Port, b.key.service.Port); c != 0 {
		return c
	}
	return a.host.Compare(b.host)
}

// serviceFlows returns the flows of a service, ok false when the service
// was past maxServices.
func (gr *grouper) serviceFlows(ep flow.Endpoint) (int64, bool) {
	n, ok := gr.services[ep]
	return n, ok
}

// kindSides lists a key's (kind, side) pairs: kinds in declaration order,
// the client's before the server's.
func (k *groupKey) kindSides() []kindSide {
	var out []kindSide
	for i := 0; i < 2*maxKinds; i++ {
		if k.kinds&(1<<uint(i)) != 0 {
			out = append(out, kindSide{analyzer.Kind(i / 2), analyzer.Side(i % 2)})
		}
	}
	return out
}

type kindSide struct {
	kind analyzer.Kind
	side analyzer.Side
}

// reset empties the grouper for the next capture, keeping render.
func (gr *grouper) reset() {
	*gr = grouper{render: gr.render}
}

// sharePercent is percent for a group's share of its service: "<0.1"
// rather than "0.0" for a share that is not nothing.
func sharePercent(n, of int64) string {
	if n > 0 && of > 0 && 1000*n < of {
		return "<0.1"
	}
	return percent(n, of)
}
