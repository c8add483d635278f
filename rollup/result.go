package rollup

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"finwave/analyzer"
	"finwave/flow"
)

// Result is what a Rollup found, every list in a fixed order (ties broken
// by address, never by map order).
type Result struct {
	First, Last time.Time // capture span the figures are measured against
	Flows       int64     // teardowns added
	Hosts       []Host    // most connections first, then address
	Services    []Service // most connections first, then address
	Pairs       []Pair    // most connections first, then client, then service
	// Leaks are copies of the services with server sockets in CLOSE_WAIT
	// at the end of the capture, the most such sockets first.
	Leaks []Service
	// Untracked counts the connections not in Hosts, Services or Pairs
	// because of the caps (Options.MaxHosts...): each connection counts
	// once per host, service or pair left out.
	Untracked struct{ Hosts, Services, Pairs int64 }
}

// Closers says who closed first, from one endpoint's point of view.
type Closers struct {
	ClosedFirst     int64 // this endpoint (a host's any of its endpoints; at one host, either side)
	PeerClosedFirst int64 // the other end
	BothClosed      int64 // simultaneous close
}

func (c *Closers) add(who int) {
	switch who {
	case 0:
		c.ClosedFirst++
	case 1:
		c.PeerClosedFirst++
	case 2:
		c.BothClosed++
	}
}

// Bound is a sum of predicted counter increments (analyzer.Bound).
type Bound struct{ Min, Max int64 }

// Tally is what hosts and services count alike.
type Tally struct {
	Conns int64
	// Patterns counts connections by how they ended, indexed by
	// analyzer.Pattern (len(analyzer.Patterns())).
	Patterns []int64
	Closers
	// Anomalies counts anomalies at the endpoint(s) of this host or
	// service, indexed by analyzer.Kind (len(analyzer.Kinds())).
	Anomalies []int64
}

// Host is one IP address; a client's ports are never a host.
type Host struct {
	Addr netip.Addr
	// Conns counts connections with an end at the host once (both ends at
	// it, loopback: once in Conns, in both AsClient and AsServer).
	Tally
	AsClient, AsServer int64
	// InState is the total time the host's sockets spent in TIME_WAIT,
	// CLOSE_WAIT and FIN_WAIT_2 (indexed TimeWait, CloseWait, FinWait2):
	// a state with a known end (a TIME_WAIT's Until, even past the end of
	// the capture) to its end, one still there at the capture end to Last.
	InState [3]time.Duration
	// Counters sums the predicted nstat increments (Teardown.Counters) of
	// the host's endpoints, indexed by analyzer.Counter.
	Counters   [analyzer.NumCounters]Bound
	Population Population
	// TWBuckets is the peak TIME_WAIT population as a fraction of
	// Options.MaxTWBuckets (1: the kernel starts to refuse TIME_WAITs,
	// TCPTimeWaitOverflow).
	TWBuckets float64
}

// Population is a host's sockets in each series (TimeWait, CloseWait,
// FinWait2, Orphaned) over time. Series[s][i] is the number at
// Start+i·Step: sockets whose state began at or before it and ended after
// it. Step is 1 ms·2^k, the least that covers the span (the capture and
// the TIME_WAITs past its end) in at most 256 samples; every host of a
// Result has the same Start and Step. Series is nil for hosts past
// Options.MaxSeries.
type Population struct {
	Start  time.Time
	Step   time.Duration
	Series [NumSeries][]int32
	// Peak is the most sockets at once at the samples of PeakStep, the
	// host's own step (its own span in at most 256 samples: Step or
	// finer), PeakAt the first such sample; AtEnd the number at the last
	// such sample at or before Last (⌊Last/PeakStep⌋·PeakStep, Unix time):
	// sockets that came or went within PeakStep of Last may be missed.
	Peak     [NumSeries]int32
	PeakAt   [NumSeries]time.Time
	AtEnd    [NumSeries]int32
	PeakStep time.Duration
}

// Service is one server endpoint.
type Service struct {
	Server flow.Endpoint
	Tally  // Closers and Anomalies from the server's side
	// PeerAnomalies counts anomalies at the clients' ends of the
	// service's connections, indexed by analyzer.Kind.
	PeerAnomalies []int64
	Clients       int64 // distinct client addresses (the pairs kept)
	// Idle is the service's idle timeout: IdleBeforeClose of the
	// connections the server closed first (FIN or RST).
	Idle IdleStats
	// ClientIdle: ReuseIdle of the connections clients reused, how long
	// they let a connection idle before sending on it again.
	ClientIdle IdleStats
	// RaceRisk counts connections reused after idling at least Idle.Mode
	// (both rounded to two digits): a request sent as the server may be
	// closing (keep-alive race). 0 when the server closed none idle.
	RaceRisk  int64
	IdleRaces int64 // idle-close-race anomalies (analyzer.IdleCloseRace) of its connections
	// CloseWait counts server sockets still in CLOSE_WAIT at the end of
	// the capture, CloseWaitSince when the oldest entered it.
	CloseWait      int64
	CloseWaitSince time.Time
}

// Pair is one client address and the service it connects to.
type Pair struct {
	Client netip.Addr
	Server flow.Endpoint
	Conns  int64
	// First and Last are the first and last connection's opening
	// (Teardown.FirstTime); Rate is (Conns-1)/(Last-First) per second,
	// the rate of evenly spaced openings (0 for one connection).
	First, Last time.Time
	Rate        float64
	// Hold is the mean time a client port stayed taken: from the
	// connection's first segment until the client's socket was gone (the
	// end of its TIME_WAIT, or of an orphaned FIN_WAIT_2; its close; the
	// end of the capture if still there).
	Hold time.Duration
	// PeakPorts is the most client ports held at once (open or in
	// TIME_WAIT) at the samples of the pair's own step (its span in at
	// most 256 samples), PeakAt the first such sample.
	PeakPorts int64
	PeakAt    time.Time
	Ports     int // size of Options.PortRange
	// Exhaustion is 0 when Rate×Hold fits in Ports, or when the rate is
	// no rate to project (fewer than 30 openings, or spread over less than
	// a tenth of Hold: a burst); otherwise how long
	// the client can open connections at Rate before it runs out of
	// ports: Ports/Rate.
	Exhaustion    time.Duration
	SynInTimeWait int64 // syn-in-time-wait anomalies (analyzer.SYNInTimeWait)
	// PortReuse counts connections on a client port the pair had used
	// before (4-tuple reuse, Teardown.Continued included): Conns minus
	// the distinct client ports.
	PortReuse int64
}

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func (c *tally) export(kinds int) Tally {
	return Tally{
		Conns:     c.conns,
		Patterns:  slices.Clone(c.patterns[:len(analyzer.Patterns())]),
		Closers:   c.closers,
		Anomalies: slices.Clone(c.anoms[:kinds]),
	}
}

// Result returns the figures over the capture span first..last (a zero
// time: the span of the teardowns added). The Rollup is unchanged and
// can take more teardowns.
func (r *Rollup) Result(first, last time.Time) *Result {
	res := &Result{First: first, Last: last, Flows: r.flows}
	if first.IsZero() && r.flows > 0 {
		res.First = unixTime(r.first)
	}
	if last.IsZero() && r.flows > 0 {
		res.Last = unixTime(r.last)
	}
	f, l := nanos(res.First), nanos(res.Last)
	kinds := len(analyzer.Kinds())
	res.Untracked.Hosts, res.Untracked.Services, res.Untracked.Pairs = r.hosts.lost, r.services.lost, r.pairs.lost

	r.hostsResult(res, f, l, kinds)

	clients := map[flow.Endpoint]int64{}
	for k, p := range r.pairs.m {
		clients[k.server]++
		res.Pairs = append(res.Pairs, r.pairResult(k, p, l))
	}
	slices.SortFunc(res.Pairs, func(a, b Pair) int {
		if c := cmp.Compare(b.Conns, a.Conns); c != 0 {
			return c
		}
		return comparePair(pairKey{a.Client, a.Server}, pairKey{b.Client, b.Server})
	})

	for k, sv := range r.services.m {
		s := Service{
			Server:        k,
			Tally:         sv.export(kinds),
			PeerAnomalies: slices.Clone(sv.peerAnoms[:kinds]),
			Clients:       clients[k],
			Idle:          sv.idle.stats(),
			ClientIdle:    sv.clientIdle.stats(),
			IdleRaces:     sv.idleRaces,
			CloseWait:     sv.closeWait,
		}
		if s.Idle.N > 0 {
			s.RaceRisk = sv.clientIdle.atLeast(s.Idle.Mode)
		}
		if sv.closeWait > 0 {
			s.CloseWaitSince = unixTime(sv.closeWaitSince)
		}
		res.Services = append(res.Services, s)
	}
	slices.SortFunc(res.Services, func(a, b Service) int {
		if c := cmp.Compare(b.Conns, a.Conns); c != 0 {
			return c
		}
		return compareEndpoint(a.Server, b.Server)
	})
	for _, s := range res.Services {
		if s.CloseWait > 0 {
			res.Leaks = append(res.Leaks, s)
		}
	}
	slices.SortFunc(res.Leaks, func(a, b Service) int {
		if c := cmp.Compare(b.CloseWait, a.CloseWait); c != 0 {
			return c
		}
		return compareEndpoint(a.Server, b.Server)
	})
	return res
}

func (r *Rollup) hostsResult(res *Result, f, l int64, kinds int) {
	lo, hi := f, l
	var buf []int32
	for k, h := range r.hosts.m {
		hs := Host{
			Addr:     k,
			Tally:    h.export(kinds),
			AsClient: h.asClient,
			AsServer: h.asServer,
			Counters: h.counters,
		}
		for i := range hs.InState {
			hs.InState[i] = time.Duration(h.inState[i] + h.open[i].until(l))
		}
		p := &hs.Population
		for s := range NumSeries {
			var at int64
			p.Peak[s], at, p.AtEnd[s], buf = h.tl.peak(s, l, buf)
			if p.Peak[s] > 0 {
				p.PeakAt[s] = unixTime(at)
			}
		}
		if h.tl.has {
			p.PeakStep = time.Duration(h.tl.ownStep())
		}
		hs.TWBuckets = float64(p.Peak[TimeWait]) / float64(r.o.MaxTWBuckets)
		if h.tl.has {
			lo, hi = min(lo, h.tl.min), max(hi, h.tl.max)
		}
		res.Hosts = append(res.Hosts, hs)
	}
	slices.SortFunc(res.Hosts, func(a, b Host) int {
		if c := cmp.Compare(b.Conns, a.Conns); c != 0 {
			return c
		}
		return a.Addr.Compare(b.Addr)
	})
	if len(res.Hosts) == 0 {
		return
	}
	// One time axis for every host: the least step covering them all
	// (a multiple of each host's own step).
	step := stepFor(lo, hi, baseStep)
	L := ceilDiv(lo, step)
	m := int(ceilDiv(hi, step) - L + 1)
	for i := range res.Hosts {
		p := &res.Hosts[i].Population
		p.Start, p.Step = unixTime(L*step), time.Duration(step)
		if i >= r.o.MaxSeries {
			continue
		}
		h := r.hosts.m[res.Hosts[i].Addr]
		for s := range NumSeries {
			p.Series[s] = h.tl.samples(s, step, L, m, nil)
		}
	}
}

// minRateConns is the fewest connections a rate is projected from: a
// rate counted from n openings is off by about 1/√n (Poisson), 18 % at 30.
const minRateConns = 30

// Forecast reports whether the pair's rate may be projected forward: enough
// openings (minRateConns), spread over at least a tenth of the time a port
// is held, so that the projection reaches at most ten times past what was
// seen (a burst of connections, a pool filling, is no rate).
func (p *Pair) Forecast() bool {
	return p.Rate > 0 && p.Conns >= minRateConns && 10*p.Last.Sub(p.First) >= p.Hold
}

func (r *Rollup) pairResult(k pairKey, p *pairAcc, l int64) Pair {
	ports := int(r.o.PortRange[1]) - int(r.o.PortRange[0]) + 1
	pr := Pair{
		Client:        k.client,
		Server:        k.server,
		Conns:         p.conns,
		First:         unixTime(p.first),
		Last:          unixTime(p.last),
		Ports:         ports,
		SynInTimeWait: p.synTW,
		PortReuse:     p.conns - p.ports.n,
	}
	if p.conns > 1 && p.last > p.first {
		pr.Rate = float64(p.conns-1) / time.Duration(p.last-p.first).Seconds()
	}
	pr.Hold = time.Duration((p.hold + p.open.until(l)) / p.conns)
	peak, at, _, _ := p.tl.peak(0, l, nil)
	pr.PeakPorts = int64(peak)
	if peak > 0 {
		pr.PeakAt = unixTime(at)
	}
	if pr.Forecast() && pr.Rate*pr.Hold.Seconds() > float64(ports) {
		pr.Exhaustion = time.Duration(float64(ports) / pr.Rate * float64(time.Second))
	}
	return pr
}
