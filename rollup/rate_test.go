package rollup

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"finwave/analyzer"
	"finwave/flow"
	"finwave/internal/synth"
)

var (
	timeZero   time.Time
	synthStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	synthCli   = netip.MustParseAddr("10.1.0.0")
	synthSrv   = flow.Endpoint{Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
)

// Construction of synth's rate mode: connection i opens at i/rate; its 11
// frames are synth's default gap (10 µs) apart; the client enters
// TIME_WAIT on the server's FIN (frame 9 of 0-10) and holds it 60 s
// (Linux TCP_TIMEWAIT_LEN).
const (
	gap        = 10 * time.Microsecond
	twLen      = 60 * time.Second
	twEntry    = 9 * gap  // SYN to the server's FIN
	connFrames = 11 * gap // SYN to one gap after the last frame
)

func host(t *testing.T, res *Result, a netip.Addr) *Host {
	t.Helper()
	for i := range res.Hosts {
		if res.Hosts[i].Addr == a {
			return &res.Hosts[i]
		}
	}
	t.Fatalf("no host %v", a)
	return nil
}

func pairOf(t *testing.T, res *Result, c netip.Addr, s flow.Endpoint) *Pair {
	t.Helper()
	for i := range res.Pairs {
		if res.Pairs[i].Client == c && res.Pairs[i].Server == s {
			return &res.Pairs[i]
		}
	}
	t.Fatalf("no pair %v → %v", c, s)
	return nil
}

// sampleTime is the time of sample i of p.
func sampleTime(p *Population, i int) time.Time { return p.Start.Add(time.Duration(i) * p.Step) }

// TestRateLongCapture: 100 connections a second for 150 s (longer than
// TIME_WAIT), each closed client-first. By construction: in steady state
// (a full 60 s after the first TIME_WAIT, up to the last connection) any
// 60 s window holds exactly rate×60 s = 6000 TIME_WAIT entries; the
// client's ports are held SYN to TIME_WAIT's end, 60 s + 90 µs, so
// rate×hold = 6000.009 and 6000 or 6001 are held at once; with a range
// of 5000 ports the client runs out after 5000/100 = 50 s.
func TestRateLongCapture(t *testing.T) {
	const rate, n = 100, 15000
	period := time.Second / rate
	tds := synthFlows(t, synth.Config{Conns: n, Rate: rate})
	if len(tds) != n {
		t.Fatalf("%d flows, want %d", len(tds), n)
	}
	lastSYN := synthStart.Add((n - 1) * period)
	o := Options{PortRange: [2]uint16{40000, 44999}}
	res := rollupOf(o, tds)

	cl := host(t, res, synthCli)
	if cl.Conns != n || cl.AsClient != n || cl.AsServer != 0 || cl.ClosedFirst != n {
		t.Errorf("client host: conns %d as client %d as server %d closed first %d", cl.Conns, cl.AsClient, cl.AsServer, cl.ClosedFirst)
	}
	if cl.InState[TimeWait] != n*twLen {
		t.Errorf("client TIME_WAIT total %v, want %v", cl.InState[TimeWait], n*twLen)
	}
	p := &cl.Population
	steady := int32(rate * twLen / time.Second)
	var checked int
	firstTWEnd := synthStart.Add(twEntry + twLen)
	for i, v := range p.Series[TimeWait] {
		at := sampleTime(p, i)
		switch {
		case !at.Before(firstTWEnd) && !at.After(lastSYN):
			checked++
			if v != steady {
				t.Errorf("TIME_WAIT at %v: %d, want %d", at.Sub(synthStart), v, steady)
			}
		case at.After(lastSYN.Add(twEntry + twLen)):
			if v != 0 {
				t.Errorf("TIME_WAIT at %v (after every one ended): %d", at.Sub(synthStart), v)
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d samples in the steady state (step %v)", checked, p.Step)
	}
	if p.Peak[TimeWait] != steady || p.AtEnd[TimeWait] != steady {
		t.Errorf("TIME_WAIT peak %d at end %d, want %d", p.Peak[TimeWait], p.AtEnd[TimeWait], steady)
	}
	if at := p.PeakAt[TimeWait]; at.Before(firstTWEnd.Add(-time.Second)) || at.After(lastSYN) {
		t.Errorf("TIME_WAIT peak at %v", at.Sub(synthStart))
	}
	if want := float64(steady) / 262144; cl.TWBuckets != want {
		t.Errorf("TWBuckets %v, want %v", cl.TWBuckets, want)
	}

	pr := pairOf(t, res, synthCli, synthSrv)
	hold := twEntry + twLen
	if pr.Conns != n || !pr.First.Equal(synthStart) || !pr.Last.Equal(lastSYN) {
		t.Errorf("pair: %d conns %v..%v", pr.Conns, pr.First, pr.Last)
	}
	if math.Abs(pr.Rate-rate) > 1e-6 {
		t.Errorf("rate %v, want %d", pr.Rate, rate)
	}
	if pr.Hold < hold || pr.Hold > hold+connFrames {
		t.Errorf("hold %v, want %v (+ at most %v)", pr.Hold, hold, connFrames)
	}
	if want := rate * hold.Seconds(); math.Abs(float64(pr.PeakPorts)-want) > 1 {
		t.Errorf("peak ports %d, want rate×hold = %v", pr.PeakPorts, want)
	}
	if pr.Ports != 5000 || pr.PortReuse != 0 || pr.SynInTimeWait != 0 {
		t.Errorf("ports %d reuse %d syn-in-time-wait %d", pr.Ports, pr.PortReuse, pr.SynInTimeWait)
	}
	if want := 50 * time.Second; pr.Exhaustion < want-time.Millisecond || pr.Exhaustion > want+time.Millisecond {
		t.Errorf("exhaustion %v, want %v", pr.Exhaustion, want)
	}
	// With the default range (28,232 ports) 6000 fit: no exhaustion.
	if e := pairOf(t, rollupOf(Options{}, tds), synthCli, synthSrv).Exhaustion; e != 0 {
		t.Errorf("default range: exhaustion %v", e)
	}

	sv := res.Services[0]
	if sv.Server != synthSrv || sv.Conns != n || sv.Clients != 1 || sv.PeerClosedFirst != n ||
		sv.Patterns[analyzer.PatternFourWay] != n || sv.Idle.N != 0 || sv.CloseWait != 0 {
		t.Errorf("service %+v", sv)
	}
	srv := host(t, res, synthSrv.Addr)
	if srv.AsServer != n || srv.PeerClosedFirst != n || srv.Population.Peak[TimeWait] != 0 {
		t.Errorf("server host: as server %d, peer closed first %d, TIME_WAIT peak %d", srv.AsServer, srv.PeerClosedFirst, srv.Population.Peak[TimeWait])
	}
}

// TestRateShortCapture: 1000 connections in 10 s, shorter than TIME_WAIT:
// every TIME_WAIT is still there at the end (peak = at end = 1000), each
// counts its full 60 s, and the population drains after the capture: at
// s after the first SYN it is the connections opened after s - 60 s - 90 µs.
func TestRateShortCapture(t *testing.T) {
	const rate, n = 100, 1000
	period := time.Second / rate
	tds := synthFlows(t, synth.Config{Conns: n, Rate: rate})
	res := rollupOf(Options{}, tds)
	cl := host(t, res, synthCli)
	p := &cl.Population
	if p.Peak[TimeWait] != n || cl.InState[TimeWait] != n*twLen {
		t.Errorf("peak %d total %v, want %d, %v", p.Peak[TimeWait], cl.InState[TimeWait], n, n*twLen)
	}
	// AtEnd is sampled at ⌊Last/PeakStep⌋·PeakStep: the TIME_WAITs begun
	// by then (none has ended by the capture's end).
	last := synthStart.Add((n-1)*period + connFrames - gap)
	if !res.Last.Equal(last) {
		t.Errorf("Last %v, want %v", res.Last, last)
	}
	endAt := time.Unix(0, last.UnixNano()/int64(p.PeakStep)*int64(p.PeakStep)).Sub(synthStart)
	if want := int32((endAt-twEntry)/period) + 1; p.AtEnd[TimeWait] != want {
		t.Errorf("at end %d, want %d (sampled at %v)", p.AtEnd[TimeWait], want, endAt)
	}
	end := sampleTime(p, len(p.Series[TimeWait])-1)
	if lastTW := synthStart.Add((n-1)*period + twEntry + twLen); end.Before(lastTW) {
		t.Errorf("series end at %v, before the last TIME_WAIT ends (%v)", end.Sub(synthStart), lastTW.Sub(synthStart))
	}
	draining := 0
	for i, v := range p.Series[TimeWait] {
		at := sampleTime(p, i)
		if at.Sub(synthStart) <= twLen+twEntry || at.Sub(synthStart) >= twLen+twEntry+(n-1)*period {
			continue
		}
		// Still in TIME_WAIT at at: opened after at - 60 s - 90 µs.
		since := at.Sub(synthStart) - twLen - twEntry
		want := n - int32(since/period) - 1
		if v != want {
			t.Errorf("TIME_WAIT at %v: %d, want %d", at.Sub(synthStart), v, want)
		}
		draining++
	}
	if draining < 10 {
		t.Errorf("only %d samples while draining", draining)
	}
	pr := pairOf(t, res, synthCli, synthSrv)
	if pr.PeakPorts != n || pr.Exhaustion != 0 {
		t.Errorf("peak ports %d, exhaustion %v", pr.PeakPorts, pr.Exhaustion)
	}
}

// TestRateBurstNoForecast: a burst is no rate. 100 connections at 5000
// a second (20 ms, under a tenth of the 60 s a port is held) would run out
// of 5000 ports in 1 s if the burst went on: nothing says it does, so no
// exhaustion is projected; 29 connections spread over 20 s (fewer than
// minRateConns) neither; 30 over 20 s are.
func TestRateBurstNoForecast(t *testing.T) {
	o := Options{PortRange: [2]uint16{10000, 10009}} // 10 ports
	burst := synthFlows(t, synth.Config{Conns: 100, Rate: 5000})
	if e := pairOf(t, rollupOf(Options{PortRange: [2]uint16{10000, 14999}}, burst), synthCli, synthSrv).Exhaustion; e != 0 {
		t.Errorf("burst: exhaustion %v projected", e)
	}
	few := synthFlows(t, synth.Config{Conns: minRateConns - 1, Rate: 1.4})
	if e := pairOf(t, rollupOf(o, few), synthCli, synthSrv).Exhaustion; e != 0 {
		t.Errorf("%d connections: exhaustion %v projected", minRateConns-1, e)
	}
	const rate = 1.4
	enough := synthFlows(t, synth.Config{Conns: minRateConns, Rate: rate})
	pr := pairOf(t, rollupOf(o, enough), synthCli, synthSrv)
	want := time.Duration(float64(10*time.Second) / pr.Rate)
	if math.Abs(pr.Rate-rate) > 1e-6 || pr.Exhaustion < want-time.Millisecond || pr.Exhaustion > want+time.Millisecond {
		t.Errorf("%d connections at %v/s, 10 ports: rate %v, exhaustion %v, want %v", minRateConns, rate, pr.Rate, pr.Exhaustion, want)
	}
}
