package bench

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"finwave/analyzer"
	"finwave/flow"
)

// TestSteadyStateNoAllocPerPacket: once a connection is established, its
// data segments and ACKs allocate nothing in the analyzer (flow table, close
// machines, sequence state): a flow of 10 000 data packets costs the same
// allocations as one of 10.
func TestSteadyStateNoAllocPerPacket(t *testing.T) {
	cl := flow.Endpoint{Addr: netip.MustParseAddr("10.0.0.1"), Port: 40000}
	sv := flow.Endpoint{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := analyzer.New(analyzer.DefaultConfig(), func(*analyzer.Teardown) {})
	var frame int64
	seg := func(fromClient bool, f flow.Flags, seq, ack uint32, n uint32) {
		frame++
		s := flow.Segment{Frame: frame, Time: t0.Add(time.Duration(frame) * time.Microsecond),
			Src: cl, Dst: sv, Seq: flow.Seq(seq), Ack: flow.Seq(ack), Flags: f, Len: n, Window: 512,
			WScale: flow.NoOption, MSS: flow.NoOption}
		if !fromClient {
			s.Src, s.Dst = sv, cl
		}
		a.Segment(&s)
	}
	port := uint16(40000)
	flowOf := func(packets int) {
		port++
		cl.Port = port
		seg(true, flow.SYN, 100, 0, 0)
		seg(false, flow.SYN|flow.ACK, 500, 101, 0)
		seg(true, flow.ACK, 101, 501, 0)
		c, s := uint32(101), uint32(501)
		for range packets / 2 {
			seg(true, flow.ACK|flow.PSH, c, s, 100)
			c += 100
			seg(false, flow.ACK, s, c, 0)
		}
	}
	flowOf(10) // warm up the free lists
	small := testing.AllocsPerRun(20, func() { flowOf(10) })
	large := testing.AllocsPerRun(20, func() { flowOf(10000) })
	if large > small {
		t.Errorf("allocations grow with packets: %v for a flow of 10 packets, %v for 10000", small, large)
	}
	runtime.KeepAlive(a)
}
