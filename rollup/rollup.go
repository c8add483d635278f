package rollup

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"finwave/analyzer"
	"finwave/flow"
)

// Options are the kernel settings the figures are measured against, and
// the caps on what a Rollup keeps. The zero value of a field means its
// default (DefaultOptions).
type Options struct {
	PortRange    [2]uint16     // net.ipv4.ip_local_port_range; zero: 32768, 60999 (28,232 ports)
	MaxTWBuckets int           // net.ipv4.tcp_max_tw_buckets; 0: 262144
	TimeWait     time.Duration // TIME_WAIT length when an end state has no Until; 0: 60 s (TCP_TIMEWAIT_LEN)

	// MaxHosts, MaxServices and MaxPairs cap the entries kept (0: 100,000
	// each). Past a cap the entries with the smallest keys are kept
	// (address order), whatever the order of the Add calls; the
	// connections of the others are counted in Result.Untracked.
	MaxHosts, MaxServices, MaxPairs int
	// MaxSeries is how many hosts (most connections first) get their
	// Population.Series; the others get Peak, PeakAt and AtEnd only.
	// 0: 1000; negative: none.
	MaxSeries int
}

// DefaultOptions returns the Linux defaults and the default caps.
func DefaultOptions() Options {
	return Options{
		PortRange:    [2]uint16{32768, 60999},
		MaxTWBuckets: 262144,
		TimeWait:     60 * time.Second,
		MaxHosts:     100_000,
		MaxServices:  100_000,
		MaxPairs:     100_000,
		MaxSeries:    1000,
	}
}

// The series of a Population, and of Host.InState for the first three.
const (
	TimeWait  = iota // TIME_WAIT
	CloseWait        // CLOSE_WAIT
	FinWait2         // FIN_WAIT_2
	// Orphaned: FIN_WAIT_1, FIN_WAIT_2, CLOSING or LAST_ACK, the states
	// of a socket that sent its FIN and waits on its peer. Linux counts
	// such a socket as an orphan (sockstat "orphan") once the application
	// closed it; the wire cannot tell close() from shutdown(SHUT_WR), so
	// this is an upper bound of the orphan count.
	Orphaned
	NumSeries
)

// Internal array sizes: analyzer's enumerations must fit (checked by init).
const (
	maxPatterns = 16
	maxKinds    = 32
)

func init() {
	if len(analyzer.Patterns()) > maxPatterns || len(analyzer.Kinds()) > maxKinds {
		panic("rollup: raise maxPatterns / maxKinds")
	}
}

// Rollup accumulates teardowns into per-host, per-service and per-pair
// figures. It is not safe for concurrent use.
type Rollup struct {
	o           Options
	hosts       table[netip.Addr, hostAcc]
	services    table[flow.Endpoint, serviceAcc]
	pairs       table[pairKey, pairAcc]
	flows       int64
	first, last int64 // capture span seen (Unix ns), valid when flows > 0

	// Scratch reused by Add.
	chg     [2][]change // each side's changes (collect)
	sp      [2][]span
	scratch []int32
}

type pairKey struct {
	client netip.Addr
	server flow.Endpoint
}

// change is one state change of one side, as Add reads them.
type change struct {
	t  int64
	to analyzer.State
}

// span is one side's time in a tracked state; to is openEnd when the
// state lasted past the end of the capture.
type span struct {
	st       analyzer.State
	from, to int64
}

// tally is what hosts and services count alike.
type tally struct {
	conns    int64
	patterns [maxPatterns]int64
	closers  Closers
	anoms    [maxKinds]int64
}

// openSum totals intervals still running at the capture end: their count
// and the sum of their starts, resolved once the end is known.
type openSum struct{ n, sec, nsec int64 }

func (o *openSum) add(from int64) {
	o.n++
	o.sec += from / 1e9
	o.nsec += from % 1e9
}

// until is the intervals' total length if they ran until end.
func (o *openSum) until(end int64) int64 {
	if o.n == 0 {
		return 0
	}
	return max(0, (o.n*(end/1e9)-o.sec)*1e9+o.n*(end%1e9)-o.nsec)
}

type hostAcc struct {
	tally
	asClient, asServer int64
	inState            [3]int64 // ns, intervals with a known end
	open               [3]openSum
	counters           [analyzer.NumCounters]Bound
	tl                 timeline
}

type serviceAcc struct {
	tally
	peerAnoms        [maxKinds]int64
	idle, clientIdle hist
	idleRaces        int64
	closeWait        int64
	closeWaitSince   int64
}

type pairAcc struct {
	conns, synTW int64
	first, last  int64
	hold         int64 // ns, ports whose release is known
	open         openSum
	tl           timeline
	ports        portSet
}

func newHost() *hostAcc       { return &hostAcc{tl: timeline{nser: NumSeries}} }
func newService() *serviceAcc { return &serviceAcc{} }
func newPair() *pairAcc       { return &pairAcc{tl: timeline{nser: 1}} }

// New returns an empty Rollup.
func New(o Options) *Rollup {
	d := DefaultOptions()
	if o.PortRange == [2]uint16{} {
		o.PortRange = d.PortRange
	}
	if o.PortRange[1] < o.PortRange[0] {
		o.PortRange[0], o.PortRange[1] = o.PortRange[1], o.PortRange[0]
	}
	orDefault(&o.MaxTWBuckets, d.MaxTWBuckets)
	orDefault(&o.TimeWait, d.TimeWait)
	orDefault(&o.MaxHosts, d.MaxHosts)
	orDefault(&o.MaxServices, d.MaxServices)
	orDefault(&o.MaxPairs, d.MaxPairs)
	if o.MaxSeries == 0 {
		o.MaxSeries = d.MaxSeries
	}
	return &Rollup{
		o:        o,
		hosts:    newTable(o.MaxHosts, netip.Addr.Less, func(h *hostAcc) int64 { return h.conns }),
		services: newTable(o.MaxServices, endpointLess, func(s *serviceAcc) int64 { return s.conns }),
		pairs:    newTable(o.MaxPairs, pairLess, func(p *pairAcc) int64 { return p.conns }),
	}
}

// orDefault sets *v to d unless it is positive.
func orDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Options returns the options in effect (defaults filled in).
func (r *Rollup) Options() Options { return r.o }

// Reset empties the Rollup, keeping its options.
func (r *Rollup) Reset() {
	r.hosts.reset()
	r.services.reset()
	r.pairs.reset()
	r.flows, r.first, r.last = 0, 0, 0
}

func compareEndpoint(a, b flow.Endpoint) int {
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

func endpointLess(a, b flow.Endpoint) bool { return compareEndpoint(a, b) < 0 }

func comparePair(a, b pairKey) int {
	if c := a.client.Compare(b.client); c != 0 {
		return c
	}
	return compareEndpoint(a.server, b.server)
}

func pairLess(a, b pairKey) bool { return comparePair(a, b) < 0 }

// nanos is t in ns since the Unix epoch; 0 for the zero Time (a teardown
// without times, made by hand: its UnixNano would overflow).
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Add accounts one teardown. It keeps no reference to t or its slices.
func (r *Rollup) Add(t *analyzer.Teardown) {
	first, last := nanos(t.FirstTime), nanos(t.LastTime)
	if r.flows == 0 {
		r.first, r.last = first, last
	}
	r.flows++
	r.first, r.last = min(r.first, first), max(r.last, last)
	r.collect(t)
	for s := range r.sp {
		r.sp[s] = r.spans(t, analyzer.Side(s), r.sp[s][:0])
	}

	// Each host done before the next is looked up: one may evict the
	// other, with this connection counted.
	oneHost := t.Server.Addr == t.Client.Addr // loopback: one connection
	if h := r.hosts.get(t.Client.Addr, newHost); h != nil {
		h.asClient++
		r.hostSide(h, t, analyzer.Client)
		if oneHost {
			h.asServer++
			r.hostSide(h, t, analyzer.Server)
		}
		h.count(t, closerOf(t.Closer, analyzer.Client, oneHost))
	}
	if !oneHost {
		if h := r.hosts.get(t.Server.Addr, newHost); h != nil {
			h.asServer++
			r.hostSide(h, t, analyzer.Server)
			h.count(t, closerOf(t.Closer, analyzer.Server, false))
		}
	}

	if sv := r.services.get(t.Server, newService); sv != nil {
		r.service(sv, t)
	}
	if p := r.pairs.get(pairKey{t.Client.Addr, t.Server}, newPair); p != nil {
		r.pair(p, t, first)
	}
}

// count adds the per-connection figures of t to a host or service.
func (c *tally) count(t *analyzer.Teardown, closer int) {
	c.conns++
	c.patterns[t.Pattern%maxPatterns]++
	if closer >= 0 {
		c.closers.add(closer)
	}
}

// closerOf says who closed first from side s's point of view: 0 s, 1 its
// peer, 2 both, -1 nobody. At one host (loopback) the host closed first
// whichever side did.
func closerOf(c analyzer.Closer, s analyzer.Side, oneHost bool) int {
	switch {
	case c == analyzer.CloserBoth:
		return 2
	case c == analyzer.CloserNone:
		return -1
	case oneHost || (c == analyzer.CloserClient) == (s == analyzer.Client):
		return 0
	}
	return 1
}

// hostSide adds what side s of t did to its host h.
func (r *Rollup) hostSide(h *hostAcc, t *analyzer.Teardown, s analyzer.Side) {
	for i := range t.Anomalies {
		if a := &t.Anomalies[i]; a.Endpoint == s {
			h.anoms[a.Kind%maxKinds]++
		}
	}
	for i, b := range t.Counters[s] {
		h.counters[i].Min += int64(b.Min)
		h.counters[i].Max += int64(b.Max)
	}
	for _, sp := range r.sp[s] {
		ser := seriesOf(sp.st)
		if ser < 0 {
			continue
		}
		h.tl.interval(ser, sp.from, sp.to, &r.scratch)
		if sp.st == analyzer.FinWait2 {
			h.tl.interval(Orphaned, sp.from, sp.to, &r.scratch)
		}
		if ser < len(h.inState) {
			if sp.to == openEnd {
				h.open[ser].add(sp.from)
			} else {
				h.inState[ser] += sp.to - sp.from
			}
		}
	}
}

// seriesOf is the Population series of a state, -1 for an untracked one
// (a FIN_WAIT_2 socket counts in Orphaned too).
func seriesOf(s analyzer.State) int {
	switch s {
	case analyzer.TimeWait:
		return TimeWait
	case analyzer.CloseWait:
		return CloseWait
	case analyzer.FinWait2:
		return FinWait2
	case analyzer.FinWait1, analyzer.Closing, analyzer.LastAck:
		return Orphaned
	}
	return -1
}

// service adds t to its service.
func (r *Rollup) service(sv *serviceAcc, t *analyzer.Teardown) {
	sv.count(t, closerOf(t.Closer, analyzer.Server, false))
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		if a.Endpoint == analyzer.Server {
			sv.anoms[a.Kind%maxKinds]++
		} else {
			sv.peerAnoms[a.Kind%maxKinds]++
		}
		if a.Kind == analyzer.IdleCloseRace {
			sv.idleRaces++
		}
	}
	if t.Closer == analyzer.CloserServer && t.IdleBeforeClose > 0 {
		sv.idle.add(t.IdleBeforeClose)
	}
	if t.ReuseIdle > 0 {
		sv.clientIdle.add(t.ReuseIdle)
	}
	if t.ServerEnd.State == analyzer.CloseWait {
		since := nanos(t.ServerEnd.Since)
		if t.ServerEnd.Since.IsZero() {
			since = nanos(t.LastTime)
		}
		if sv.closeWait == 0 || since < sv.closeWaitSince {
			sv.closeWaitSince = since
		}
		sv.closeWait++
	}
}

// pair adds t, opened at first, to its client→service pair.
func (r *Rollup) pair(p *pairAcc, t *analyzer.Teardown, first int64) {
	if p.conns == 0 || first < p.first {
		p.first = first
	}
	if p.conns == 0 || first > p.last {
		p.last = first
	}
	p.conns++
	for i := range t.Anomalies {
		if t.Anomalies[i].Kind == analyzer.SYNInTimeWait {
			p.synTW++
		}
	}
	p.ports.add(t.Client.Port)
	gone := r.released(t)
	p.tl.interval(0, first, gone, &r.scratch)
	if gone == openEnd {
		p.open.add(first)
	} else {
		p.hold += gone - first
	}
}

// released is when the client's port was free again: the end of its
// TIME_WAIT (or orphaned FIN_WAIT_2), when it closed, or openEnd while
// its socket was still there at the end of the capture.
func (r *Rollup) released(t *analyzer.Teardown) int64 {
	e := &t.ClientEnd
	switch {
	case e.State == analyzer.Closed || e.State == analyzer.Unknown:
		if e.Since.IsZero() {
			return max(nanos(t.FirstTime), nanos(t.LastTime))
		}
		return max(nanos(t.FirstTime), nanos(e.Since))
	case !e.Until.IsZero():
		return max(nanos(t.FirstTime), nanos(e.Until))
	case e.State == analyzer.TimeWait:
		return max(nanos(t.FirstTime), r.since(t, e)+int64(r.o.TimeWait))
	}
	return openEnd
}

// since is when side's end state began (the flow's last time if unknown).
func (r *Rollup) since(t *analyzer.Teardown, e *analyzer.EndState) int64 {
	if e.Since.IsZero() {
		return nanos(t.LastTime)
	}
	return nanos(e.Since)
}

// collect gathers each side's recorded changes, Undone ones left out,
// sorted by time (stable: a segment's order within a time).
func (r *Rollup) collect(t *analyzer.Teardown) {
	r.chg[0], r.chg[1] = r.chg[0][:0], r.chg[1][:0]
	for i := range t.Segments {
		cs := t.Segments[i].Changes
		for j := range cs {
			if c := &cs[j]; !c.Undone && c.Side <= analyzer.Server {
				r.chg[c.Side] = append(r.chg[c.Side], change{t: nanos(c.Time), to: c.To})
			}
		}
	}
	for s := range r.chg {
		if !slices.IsSortedFunc(r.chg[s], byTime) {
			slices.SortStableFunc(r.chg[s], byTime)
		}
	}
}

func byTime(a, b change) int { return cmp.Compare(a.t, b.t) }

// spans appends to buf side s's times in tracked states: the states its
// recorded changes (collect) entered, each until the next
// change, then its end state from its Since until its Until (TIME_WAIT
// without one: Since + Options.TimeWait), or past the end of the capture
// (openEnd). A timer's change is not among the segments' changes: a state
// whose next change is missing ends where the end state began.
func (r *Rollup) spans(t *analyzer.Teardown, s analyzer.Side, buf []span) []span {
	chg := r.chg[s]
	e := t.End(s)
	since := r.since(t, &e)
	add := func(st analyzer.State, from, to int64) []span {
		if seriesOf(st) < 0 {
			return buf
		}
		return append(buf, span{st: st, from: from, to: max(from, to)})
	}
	n := len(chg)
	for i := 0; i+1 < n; i++ {
		buf = add(chg[i].to, chg[i].t, chg[i+1].t)
	}
	end := openEnd
	switch {
	case !e.Until.IsZero():
		end = nanos(e.Until)
	case e.State == analyzer.TimeWait:
		end = since + int64(r.o.TimeWait)
	}
	if n > 0 && chg[n-1].to == e.State {
		return add(e.State, chg[n-1].t, end)
	}
	if n > 0 {
		buf = add(chg[n-1].to, chg[n-1].t, since)
	}
	return add(e.State, since, end)
}
