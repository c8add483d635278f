package rollup

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"finwave/analyzer"
	"finwave/flow"
	"finwave/internal/synth"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ep(s string) flow.Endpoint {
	ap := netip.MustParseAddrPort(s)
	return flow.Endpoint{Addr: ap.Addr(), Port: ap.Port()}
}

func at(d time.Duration) time.Time { return t0.Add(d) }

// seg is a segment carrying changes.
func seg(ch ...analyzer.Change) analyzer.LabelledSegment {
	return analyzer.LabelledSegment{Time: ch[0].Time, Changes: ch}
}

func chg(s analyzer.Side, from, to analyzer.State, d time.Duration) analyzer.Change {
	return analyzer.Change{Side: s, From: from, To: to, Time: at(d), Frame: 1}
}

// clientClose is a four-way close, the client first, opened at open:
// FIN at +1 s, TIME_WAIT from +1.1 s for 60 s.
func clientClose(cli, srv string, open time.Duration) *analyzer.Teardown {
	c, s := analyzer.Client, analyzer.Server
	return &analyzer.Teardown{
		Client: ep(cli), Server: ep(srv), FirstTime: at(open), LastTime: at(open + 1100*time.Millisecond),
		Pattern: analyzer.PatternFourWay, Closer: analyzer.CloserClient,
		Segments: []analyzer.LabelledSegment{
			seg(chg(c, analyzer.Established, analyzer.FinWait1, open+time.Second), chg(s, analyzer.Established, analyzer.CloseWait, open+time.Second)),
			seg(chg(c, analyzer.FinWait1, analyzer.FinWait2, open+1050*time.Millisecond)),
			seg(chg(s, analyzer.CloseWait, analyzer.LastAck, open+1100*time.Millisecond), chg(c, analyzer.FinWait2, analyzer.TimeWait, open+1100*time.Millisecond)),
			seg(chg(s, analyzer.LastAck, analyzer.Closed, open+1100*time.Millisecond)),
		},
		ClientEnd: analyzer.EndState{State: analyzer.TimeWait, Since: at(open + 1100*time.Millisecond), Until: at(open + 61100*time.Millisecond)},
		ServerEnd: analyzer.EndState{State: analyzer.Closed, Since: at(open + 1100*time.Millisecond)},
	}
}

// crafted makes n random teardowns among a few hosts and services over
// two hours: every state, undone changes, open CLOSE_WAITs, timers
// (end states that moved on without a change), anomalies, counters.
func crafted(n int, seed uint64) []*analyzer.Teardown {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []*analyzer.Teardown
	states := []analyzer.State{analyzer.FinWait1, analyzer.FinWait2, analyzer.TimeWait, analyzer.CloseWait,
		analyzer.LastAck, analyzer.Closing, analyzer.Closed, analyzer.Established}
	for range n {
		cli := netip.AddrFrom4([4]byte{10, 5, 0, byte(rng.IntN(30))})
		srv := flow.Endpoint{Addr: netip.AddrFrom4([4]byte{10, 6, 0, byte(rng.IntN(3))}), Port: uint16(80 + rng.IntN(2))}
		open := time.Duration(rng.Int64N(int64(2 * time.Hour)))
		td := &analyzer.Teardown{
			Client: flow.Endpoint{Addr: cli, Port: uint16(30000 + rng.IntN(50))}, Server: srv,
			FirstTime: at(open), Pattern: analyzer.Pattern(rng.IntN(len(analyzer.Patterns()))),
			Closer: analyzer.Closer(rng.IntN(4)), Continued: rng.IntN(20) == 0,
		}
		tm := open
		for range rng.IntN(6) {
			tm += time.Duration(rng.Int64N(int64(20 * time.Second)))
			var chs []analyzer.Change
			for range 1 + rng.IntN(2) {
				c := chg(analyzer.Side(rng.IntN(2)), analyzer.Established, states[rng.IntN(len(states))], tm)
				c.Undone = rng.IntN(8) == 0
				chs = append(chs, c)
			}
			td.Segments = append(td.Segments, seg(chs...))
		}
		td.LastTime = at(tm)
		for _, e := range []*analyzer.EndState{&td.ClientEnd, &td.ServerEnd} {
			e.State = states[rng.IntN(len(states))]
			e.Since = at(tm - time.Duration(rng.Int64N(int64(time.Second))))
			if e.State == analyzer.TimeWait || (e.State == analyzer.FinWait2 && rng.IntN(2) == 0) {
				e.Until = e.Since.Add(60 * time.Second)
			}
		}
		for range rng.IntN(3) {
			td.Anomalies = append(td.Anomalies, analyzer.Anomaly{Kind: analyzer.Kind(rng.IntN(len(analyzer.Kinds()))), Endpoint: analyzer.Side(rng.IntN(2))})
		}
		for s := range td.Counters {
			for i := range td.Counters[s] {
				v := uint32(rng.IntN(3))
				td.Counters[s][i] = analyzer.Bound{Min: v, Max: v + uint32(rng.IntN(2))}
			}
		}
		if rng.IntN(2) == 0 {
			td.IdleBeforeClose = time.Duration(1+rng.IntN(4)) * 5 * time.Second
		}
		if rng.IntN(3) == 0 {
			td.ReuseIdle = time.Duration(rng.Int64N(int64(30 * time.Second)))
		}
		out = append(out, td)
	}
	return out
}

// TestOrderIndependent: the teardowns of every fixture, of a synth
// capture and crafted ones, added in shuffled orders, give DeepEqual
// results, with the default options and with caps small enough to evict;
// and Reset then the same teardowns again give the same too. Leaving one
// teardown out changes the result (the comparison sees a difference).
func TestOrderIndependent(t *testing.T) {
	var tds []*analyzer.Teardown
	for _, f := range []string{"close_wait_leak", "idle_close_race", "syn_in_time_wait", "many_flows", "lost_final_ack",
		"fin_wait2_timeout", "time_wait_assassination", "midstream", "ipv6", "simultaneous_close", "orphan_timeout"} {
		tds = append(tds, fixtureFlows(t, f)...)
	}
	tds = append(tds, synthFlows(t, synth.Config{Conns: 600, Concurrency: 13})...)
	tds = append(tds, crafted(3000, 7)...)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, o := range []Options{{}, {MaxHosts: 7, MaxServices: 3, MaxPairs: 11, MaxSeries: 2}} {
		want := rollupOf(o, tds)
		if o.MaxHosts > 0 && (len(want.Hosts) != 7 || len(want.Services) != 3 || len(want.Pairs) != 11 ||
			want.Untracked.Hosts == 0 || want.Untracked.Services == 0 || want.Untracked.Pairs == 0) {
			t.Fatalf("caps: %d hosts %d services %d pairs, untracked %+v", len(want.Hosts), len(want.Services), len(want.Pairs), want.Untracked)
		}
		if reflect.DeepEqual(want, rollupOf(o, tds[1:])) {
			t.Fatal("leaving a teardown out changes nothing")
		}
		r := New(o)
		for i := range 4 {
			rng.Shuffle(len(tds), func(i, j int) { tds[i], tds[j] = tds[j], tds[i] })
			r.Reset()
			for _, td := range tds {
				r.Add(td)
			}
			if got := r.Result(timeZero, timeZero); !reflect.DeepEqual(got, want) {
				t.Fatalf("options %+v, shuffle %d: result differs", o, i)
			}
		}
	}
}

// TestCapKeepsSmallest: past MaxHosts the smallest addresses are kept and
// the others' connections counted as untracked, in any order.
func TestCapKeepsSmallest(t *testing.T) {
	var tds []*analyzer.Teardown
	for i := 9; i >= 1; i-- { // 10.9.0.i opens i connections to 10.0.0.1:80
		for range i {
			tds = append(tds, clientClose("10.9.0."+string(rune('0'+i))+":40000", "10.0.0.1:80", time.Duration(i)*time.Second))
		}
	}
	res := rollupOf(Options{MaxHosts: 3, MaxPairs: 2}, tds)
	var got []string
	for _, h := range res.Hosts {
		got = append(got, h.Addr.String())
	}
	if want := []string{"10.0.0.1", "10.9.0.2", "10.9.0.1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hosts %v, want %v", got, want)
	}
	if res.Untracked.Hosts != 45-3 || res.Untracked.Pairs != 45-3 || res.Untracked.Services != 0 {
		t.Errorf("untracked %+v", res.Untracked)
	}
	if res.Services[0].Clients != 2 {
		t.Errorf("clients %d, want the 2 pairs kept", res.Services[0].Clients)
	}
	// A connection whose server evicts its client's host (kept a moment
	// before) still counts in Untracked: 10.0.0.9's 2 and 10.0.0.7's 1,
	// whichever comes first.
	a := clientClose("10.0.0.5:40000", "10.0.0.9:80", 0)
	b := clientClose("10.0.0.7:40000", "10.0.0.1:80", time.Second)
	for _, order := range [][]*analyzer.Teardown{{a, a, b}, {b, a, a}} {
		res := rollupOf(Options{MaxHosts: 2}, order)
		if len(res.Hosts) != 2 || res.Hosts[0].Addr.String() != "10.0.0.5" || res.Hosts[1].Addr.String() != "10.0.0.1" || res.Untracked.Hosts != 3 {
			t.Errorf("order %p first: hosts %v %v, untracked %d, want 10.0.0.5 10.0.0.1, 3", order[0], res.Hosts[0].Addr, res.Hosts[1].Addr, res.Untracked.Hosts)
		}
	}
}

// TestIdleMode: a service that closes after 5 s idle on most flows (±30
// ms), 30 s or 1 s on others: Mode 5 s; clients reusing connections after
// 6 s (at or past it) are the race risk, after 2 s not.
func TestIdleMode(t *testing.T) {
	var tds []*analyzer.Teardown
	add := func(n int, idle, reuse time.Duration, closer analyzer.Closer) {
		for i := range n {
			td := clientClose("10.1.1.1:40000", "10.2.2.2:443", time.Duration(len(tds))*time.Second)
			td.Closer = closer
			td.IdleBeforeClose = idle + time.Duration(i%7-3)*10*time.Millisecond
			td.ReuseIdle = reuse
			tds = append(tds, td)
		}
	}
	add(20, 5*time.Second, 0, analyzer.CloserServer)
	add(4, 30*time.Second, 6*time.Second, analyzer.CloserServer)
	add(3, time.Second, 2*time.Second, analyzer.CloserServer)
	add(5, 9*time.Second, 0, analyzer.CloserClient) // the client's idle close: not the service's timeout
	res := rollupOf(Options{}, tds)
	s := res.Services[0]
	id := s.Idle
	if id.N != 27 || id.Mode != 5*time.Second || id.ModeN != 20 || id.Median != 5*time.Second ||
		id.Min != 970*time.Millisecond || id.Max != 30*time.Second {
		t.Errorf("idle %+v", id)
	}
	if s.ClientIdle.N != 7 || s.ClientIdle.Mode != 6*time.Second || s.RaceRisk != 4 {
		t.Errorf("client idle %+v, race risk %d", s.ClientIdle, s.RaceRisk)
	}
	if s.ClosedFirst != 27 || s.PeerClosedFirst != 5 {
		t.Errorf("closers %+v", s.Closers)
	}
}

// TestCloseWaitLeak: in fixtures/close_wait_leak.pcap the server
// 10.77.0.2:8080 never closes one connection (ss: CLOSE-WAIT at the end).
func TestCloseWaitLeak(t *testing.T) {
	tds := fixtureFlows(t, "close_wait_leak")
	res := rollupOf(Options{}, tds)
	if len(res.Leaks) != 1 {
		t.Fatalf("%d leaks, want 1: %+v", len(res.Leaks), res.Leaks)
	}
	l := res.Leaks[0]
	if l.Server != ep("10.77.0.2:8080") || l.CloseWait != 1 || l.CloseWaitSince.IsZero() {
		t.Errorf("leak %v: %d since %v", l.Server, l.CloseWait, l.CloseWaitSince)
	}
	h := host(t, res, netip.MustParseAddr("10.77.0.2"))
	if h.Population.AtEnd[CloseWait] != 1 || h.InState[CloseWait] <= 0 || h.Anomalies[analyzer.CloseWaitStuck] != 1 {
		t.Errorf("server host: CLOSE_WAIT at end %d, total %v, close-wait-stuck %d", h.Population.AtEnd[CloseWait], h.InState[CloseWait], h.Anomalies[analyzer.CloseWaitStuck])
	}
}

// TestAddAllocs: once a host, service and pair are known (their
// timelines arrays), Add allocates nothing.
func TestAddAllocs(t *testing.T) {
	r := New(Options{})
	tds := fixtureFlows(t, "close_by_client")
	td := tds[0]
	td.Anomalies = append(td.Anomalies, analyzer.Anomaly{Kind: analyzer.IdleCloseRace}, analyzer.Anomaly{Kind: analyzer.SYNInTimeWait, Endpoint: analyzer.Server})
	td.IdleBeforeClose, td.ReuseIdle, td.Closer = 5*time.Second, 3*time.Second, analyzer.CloserServer
	for range 200 {
		r.Add(td)
	}
	if n := testing.AllocsPerRun(200, func() { r.Add(td) }); n != 0 {
		t.Errorf("%v allocations per Add", n)
	}
}

// TestSpans: states from the recorded changes, sorted by time, Undone
// ones left out; a timer's change (not recorded) ends a state where the
// end state began; TIME_WAIT without Until lasts Options.TimeWait.
func TestSpans(t *testing.T) {
	c := analyzer.Client
	undone := chg(c, analyzer.FinWait1, analyzer.TimeWait, 2*time.Second)
	undone.Undone = true
	td := &analyzer.Teardown{
		Client: ep("10.0.0.9:40000"), Server: ep("10.0.0.8:80"), FirstTime: at(0), LastTime: at(5 * time.Second),
		Segments: []analyzer.LabelledSegment{
			seg(chg(c, analyzer.FinWait2, analyzer.TimeWait, 4*time.Second)),
			seg(chg(c, analyzer.Established, analyzer.FinWait1, time.Second), undone),
			seg(chg(c, analyzer.FinWait1, analyzer.FinWait2, 3*time.Second)),
		},
		ClientEnd: analyzer.EndState{State: analyzer.Closed, Since: at(30 * time.Second)}, // TIME_WAIT killed by a timer-less end
	}
	r := New(Options{TimeWait: 2 * time.Minute})
	r.collect(td)
	got := r.spans(td, c, nil)
	want := []span{
		{analyzer.FinWait1, nanos(at(time.Second)), nanos(at(3 * time.Second))},
		{analyzer.FinWait2, nanos(at(3 * time.Second)), nanos(at(4 * time.Second))},
		{analyzer.TimeWait, nanos(at(4 * time.Second)), nanos(at(30 * time.Second))},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spans %v, want %v", got, want)
	}
	td.ClientEnd = analyzer.EndState{State: analyzer.TimeWait, Since: at(4 * time.Second)}
	r.collect(td)
	got = r.spans(td, c, nil)
	if w := nanos(at(4*time.Second + 2*time.Minute)); len(got) != 3 || got[2].to != w {
		t.Errorf("TIME_WAIT without Until: %v, want it to end at +2m4s", got)
	}
	td.Segments, td.ClientEnd = nil, analyzer.EndState{State: analyzer.CloseWait, Since: at(time.Second)}
	r.collect(td)
	if got = r.spans(td, c, nil); len(got) != 1 || got[0].to != openEnd {
		t.Errorf("CLOSE_WAIT at the end: %v, want open-ended", got)
	}
}

// TestLoopbackAndCounters: a connection with both ends at one host counts
// once in Conns, in both AsClient and AsServer; the host's counters sum
// both sides', the pattern and closer count once.
func TestLoopbackAndCounters(t *testing.T) {
	td := clientClose("127.0.0.1:40000", "127.0.0.1:8080", 0)
	td.Counters[analyzer.Client][analyzer.TcpActiveOpens] = analyzer.Bound{Min: 1, Max: 1}
	td.Counters[analyzer.Server][analyzer.TcpPassiveOpens] = analyzer.Bound{Min: 1, Max: 1}
	td.Counters[analyzer.Server][analyzer.TcpOutRsts] = analyzer.Bound{Min: 0, Max: 2}
	td2 := clientClose("127.0.0.1:40001", "127.0.0.1:8080", time.Second)
	td2.Counters[analyzer.Server][analyzer.TcpOutRsts] = analyzer.Bound{Min: 1, Max: 1}
	res := rollupOf(Options{}, []*analyzer.Teardown{td, td2})
	if len(res.Hosts) != 1 {
		t.Fatalf("%d hosts", len(res.Hosts))
	}
	h := res.Hosts[0]
	if h.Conns != 2 || h.AsClient != 2 || h.AsServer != 2 || h.ClosedFirst != 2 || h.PeerClosedFirst != 0 || h.Patterns[analyzer.PatternFourWay] != 2 {
		t.Errorf("loopback host %+v", h.Tally)
	}
	if h.Counters[analyzer.TcpActiveOpens] != (Bound{1, 1}) || h.Counters[analyzer.TcpPassiveOpens] != (Bound{1, 1}) ||
		h.Counters[analyzer.TcpOutRsts] != (Bound{1, 3}) {
		t.Errorf("counters %v", h.Counters)
	}
	// Two TIME_WAITs 1 s apart, 60 s each; CLOSE_WAIT 0.1 s each.
	if h.InState[TimeWait] != 2*time.Minute || h.InState[CloseWait] != 200*time.Millisecond ||
		h.InState[FinWait2] != 100*time.Millisecond || h.Population.Peak[TimeWait] != 2 {
		t.Errorf("in state %v, TIME_WAIT peak %d", h.InState, h.Population.Peak[TimeWait])
	}
	if p := res.Pairs[0]; p.Conns != 2 || p.PortReuse != 0 || p.Rate != 1 || p.Hold != 61100*time.Millisecond {
		t.Errorf("pair %+v", p)
	}
}

// TestResultSpan: an explicit end of capture counts the CLOSE_WAIT still
// open until it (10 s later: 10 s more); an empty Rollup gives an empty
// Result.
func TestResultSpan(t *testing.T) {
	r := New(Options{})
	if res := r.Result(timeZero, timeZero); res.Flows != 0 || len(res.Hosts)+len(res.Services)+len(res.Pairs)+len(res.Leaks) != 0 || !res.First.IsZero() {
		t.Errorf("empty: %+v", res)
	}
	for _, td := range fixtureFlows(t, "close_wait_leak") {
		r.Add(td)
	}
	def := r.Result(timeZero, timeZero)
	later := r.Result(def.First, def.Last.Add(10*time.Second))
	srv := netip.MustParseAddr("10.77.0.2")
	if d := host(t, later, srv).InState[CloseWait] - host(t, def, srv).InState[CloseWait]; d != 10*time.Second {
		t.Errorf("CLOSE_WAIT 10 s longer: %v more", d)
	}
}

// BenchmarkAdd: Add over synth's mixed endings (one client, one service).
func BenchmarkAdd(b *testing.B) {
	tds := synthFlows(b, synth.Config{Conns: 20000, Concurrency: 50})
	r := New(Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.Add(tds[i%len(tds)])
	}
}
