package analyzer

import (
	"net/netip"
	"testing"
	"time"

	"finwave/flow"
)

// wire builds segments for whole connections, for tests through the
// Analyzer and its flow table.
type wire struct {
	frame int64
	now   time.Time
}

func (w *wire) seg(src, dst flow.Endpoint, f flow.Flags, seq, ack flow.Seq, n uint32) *flow.Segment {
	w.frame++
	w.now = w.now.Add(time.Millisecond)
	return &flow.Segment{Frame: w.frame, Time: w.now, Src: src, Dst: dst, Seq: seq, Ack: ack,
		Flags: f, Len: n, Window: 502, WScale: flow.NoOption, MSS: flow.NoOption}
}

func clientN(i int) flow.Endpoint {
	return flow.Endpoint{Addr: netip.MustParseAddr("10.1.0.1"), Port: uint16(30000 + i)}
}

var server80 = flow.Endpoint{Addr: netip.MustParseAddr("10.1.0.2"), Port: 80}

func TestAnalyzer_streamsAndReuse(t *testing.T) {
	var got []*Teardown
	a := New(DefaultConfig(), func(td *Teardown) { got = append(got, td) })
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	c, s := clientN(1), server80
	feed := func(segs ...*flow.Segment) {
		for _, sg := range segs {
			a.Segment(sg)
		}
	}
	// Connection 1: the server closes first, so it holds TIME_WAIT.
	feed(w.seg(c, s, syn, 100, 0, 0), w.seg(s, c, synack, 900, 101, 0), w.seg(c, s, ack, 101, 901, 0),
		w.seg(s, c, finack, 901, 101, 0), w.seg(c, s, finack, 101, 902, 0), w.seg(s, c, ack, 902, 102, 0))
	// Connection 2 on the same 4-tuple, 2 s later, with a newer ISN.
	w.now = w.now.Add(2 * time.Second)
	feed(w.seg(c, s, syn, 5000, 0, 0), w.seg(s, c, synack, 7000, 5001, 0), w.seg(c, s, ack, 5001, 7001, 0),
		w.seg(c, s, rstack, 5001, 7001, 0))
	a.Close()
	if len(got) != 2 {
		t.Fatalf("%d teardowns, want 2", len(got))
	}
	first, second := got[0], got[1]
	if first.Stream != 0 || second.Stream != 1 {
		t.Errorf("streams %d, %d, want 0, 1", first.Stream, second.Stream)
	}
	if first.Pattern != PatternThreeWay || first.Closer != CloserServer || first.Roles != RolesObserved {
		t.Errorf("first: %v %v %v", first.Pattern, first.Closer, first.Roles)
	}
	if first.Client != c || first.Server != s {
		t.Errorf("roles: client %v server %v", first.Client, first.Server)
	}
	if !second.HasAnomaly(SYNInTimeWait) {
		t.Errorf("second connection: want syn-in-time-wait, got %+v", second.Anomalies)
	}
	if second.Pattern != PatternReset || second.ZeekConnState != "RSTO" {
		t.Errorf("second: pattern %v zeek %q", second.Pattern, second.ZeekConnState)
	}
}

func TestAnalyzer_midstreamRolesInferred(t *testing.T) {
	var got []*Teardown
	a := New(DefaultConfig(), func(td *Teardown) { got = append(got, td) })
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	c, s := clientN(2), server80
	a.Segment(w.seg(s, c, ack|flow.PSH, 5000, 800, 100))
	a.Segment(w.seg(s, c, finack, 5100, 800, 0))
	a.Close()
	if len(got) != 1 {
		t.Fatalf("%d teardowns", len(got))
	}
	td := got[0]
	if td.Roles != RolesInferred || td.Client != c || td.Server != s {
		t.Errorf("roles %v client %v server %v: the lower port is the server", td.Roles, td.Client, td.Server)
	}
	if td.Closer != CloserServer || td.Pattern != PatternHalfClosed || td.ServerEnd.State != FinWait1 {
		t.Errorf("closer %v pattern %v server %v", td.Closer, td.Pattern, td.ServerEnd.State)
	}
}

// TestAnalyzer_allocs enforces zero allocations per segment in steady state:
// data and ACKs on established connections.
func TestAnalyzer_allocs(t *testing.T) {
	a := New(DefaultConfig(), nil)
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	const n = 64
	for i := 0; i < n; i++ {
		c := clientN(i)
		a.Segment(w.seg(c, server80, syn, 100, 0, 0))
		a.Segment(w.seg(server80, c, synack, 900, 101, 0))
		a.Segment(w.seg(c, server80, ack, 101, 901, 0))
	}
	segs := make([]*flow.Segment, 0, 2*n)
	for i := 0; i < n; i++ {
		c := clientN(i)
		segs = append(segs, w.seg(c, server80, ack|flow.PSH, 101, 901, 100), w.seg(server80, c, ack, 901, 201, 0))
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		sg := segs[i%len(segs)]
		sg.Seq += 100 // keep the data new
		sg.Time = sg.Time.Add(time.Microsecond)
		a.Segment(sg)
		i++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per segment, want 0", allocs)
	}
}

func BenchmarkAnalyzer_shortConnections(b *testing.B) {
	a := New(DefaultConfig(), func(*Teardown) {})
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c := clientN(i % 20000)
		c.Addr = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		isn := flow.Seq(i * 7919)
		a.Segment(w.seg(c, server80, syn, isn, 0, 0))
		a.Segment(w.seg(server80, c, synack, 900, isn+1, 0))
		a.Segment(w.seg(c, server80, ack, isn+1, 901, 0))
		a.Segment(w.seg(c, server80, ack|flow.PSH, isn+1, 901, 100))
		a.Segment(w.seg(server80, c, ack|flow.PSH, 901, isn+101, 500))
		a.Segment(w.seg(c, server80, finack, isn+101, 1401, 0))
		a.Segment(w.seg(server80, c, finack, 1401, isn+102, 0))
		a.Segment(w.seg(c, server80, ack, isn+102, 1402, 0))
	}
	a.Close()
}

// TestAnalyzer_duplicateCapture: tcpdump -i any sees a packet once per
// interface it crosses; the copy must not look like a retransmission.
func TestAnalyzer_duplicateCapture(t *testing.T) {
	var got []*Teardown
	a := New(DefaultConfig(), func(td *Teardown) { got = append(got, td) })
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	c, s := clientN(3), server80
	twice := func(sg *flow.Segment) {
		a.Segment(sg)
		cp := *sg
		cp.Frame = sg.Frame + 1000
		cp.Time = sg.Time.Add(20 * time.Microsecond)
		a.Segment(&cp)
	}
	twice(w.seg(c, s, syn, 100, 0, 0))
	twice(w.seg(s, c, synack, 900, 101, 0))
	twice(w.seg(c, s, ack, 101, 901, 0))
	twice(w.seg(c, s, finack, 101, 901, 0))
	twice(w.seg(s, c, finack, 901, 102, 0))
	twice(w.seg(c, s, ack, 102, 902, 0))
	a.Close()
	if len(got) != 1 {
		t.Fatalf("%d teardowns", len(got))
	}
	if td := got[0]; len(td.Anomalies) != 0 || td.Pattern != PatternThreeWay {
		t.Errorf("pattern %v anomalies %+v: copies must be ignored", td.Pattern, td.Anomalies)
	}
	if n := a.Stats().Duplicates; n != 6 {
		t.Errorf("%d duplicates counted, want 6", n)
	}
}

// TestAnalyzer_identicalRSTsAreNotCopies: on a single interface (tcpdump
// -i lo) a server whose socket is gone answers each of the client's data
// segments with a RST of its own, byte for byte the same (seq = their
// ack, no ACK bit, no timestamps, IP ID 0) and 20 µs apart. Both are real
// segments; only a flow whose capture showed copies of segments that
// occupy sequence space may drop an identical zero-length one.
func TestAnalyzer_identicalRSTsAreNotCopies(t *testing.T) {
	var got []*Teardown
	a := New(DefaultConfig(), func(td *Teardown) { got = append(got, td) })
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	c, s := clientN(5), server80
	a.Segment(w.seg(c, s, syn, 100, 0, 0))
	a.Segment(w.seg(s, c, synack, 900, 101, 0))
	a.Segment(w.seg(c, s, ack, 101, 901, 0))
	a.Segment(w.seg(c, s, ack|flow.PSH, 101, 901, 100))
	a.Segment(w.seg(c, s, ack|flow.PSH, 201, 901, 100))
	r1 := w.seg(s, c, rst, 901, 0, 0)
	a.Segment(r1)
	r2 := *r1
	r2.Frame, r2.Time = r1.Frame+1, r1.Time.Add(20*time.Microsecond)
	a.Segment(&r2)
	a.Close()
	if n := a.Stats().Duplicates; n != 0 {
		t.Errorf("%d duplicates counted, want 0: two RSTs answering two segments are not a copy", n)
	}
	if len(got) != 1 {
		t.Fatalf("%d teardowns", len(got))
	}
	var rsts int
	for _, sg := range got[0].Segments {
		if sg.Flags&flow.RST != 0 {
			rsts++
		}
	}
	if rsts != 2 {
		t.Errorf("%d RSTs in the teardown, want 2", rsts)
	}

	// The same pair in a flow whose SYN was captured twice (tcpdump -i any):
	// the second RST is the first's copy.
	a = New(DefaultConfig(), nil)
	c = clientN(6)
	twice := func(sg *flow.Segment) {
		a.Segment(sg)
		cp := *sg
		cp.Frame, cp.Time = sg.Frame+1000, sg.Time.Add(20*time.Microsecond)
		a.Segment(&cp)
	}
	twice(w.seg(c, s, syn, 100, 0, 0))
	twice(w.seg(s, c, rst, 901, 0, 0))
	if n := a.Stats().Duplicates; n != 2 {
		t.Errorf("%d duplicates counted, want 2 (the SYN's and the RST's copies)", n)
	}
}

// TestAnalyzer_synInTimeWaitSeverity: a reuse of a TIME_WAIT 4-tuple the
// kernel accepts (the first SYN answered by its SYN-ACK: tcp_tw_reuse,
// TCP_TW_SYN) is information; one it rejects (the SYN sent again before
// any SYN-ACK: the TIME_WAIT re-ACKed the old connection) a warning.
func TestAnalyzer_synInTimeWaitSeverity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		retried bool
		want    Severity
	}{{"accepted", false, Info}, {"rejected", true, Warning}} {
		var got []*Teardown
		a := New(DefaultConfig(), func(td *Teardown) { got = append(got, td) })
		w := &wire{now: time.Unix(1_700_000_000, 0)}
		c, s := clientN(7), server80
		for _, sg := range []*flow.Segment{w.seg(c, s, syn, 100, 0, 0), w.seg(s, c, synack, 900, 101, 0), w.seg(c, s, ack, 101, 901, 0),
			w.seg(s, c, finack, 901, 101, 0), w.seg(c, s, finack, 101, 902, 0), w.seg(s, c, ack, 902, 102, 0)} {
			a.Segment(sg)
		}
		w.now = w.now.Add(300 * time.Millisecond)
		a.Segment(w.seg(c, s, syn, 5000, 0, 0))
		if tc.retried {
			a.Segment(w.seg(s, c, ack, 902, 102, 0)) // the TIME_WAIT's ACK of the old connection
			a.Segment(w.seg(c, s, rst, 102, 0, 0))   // the client's answer to it
			w.now = w.now.Add(time.Second)
			a.Segment(w.seg(c, s, syn, 5000, 0, 0))
		}
		a.Segment(w.seg(s, c, synack, 7000, 5001, 0))
		a.Segment(w.seg(c, s, ack, 5001, 7001, 0))
		a.Close()
		var found bool
		for _, td := range got {
			for _, an := range td.Anomalies {
				if an.Kind == SYNInTimeWait {
					found = true
					if an.Severity != tc.want {
						t.Errorf("%s: severity %v, want %v (%s)", tc.name, an.Severity, tc.want, an.Detail)
					}
				}
			}
		}
		if !found {
			t.Errorf("%s: no syn-in-time-wait", tc.name)
		}
	}
}
