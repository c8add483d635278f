package analyzer

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"finwave/flow"
)

// heldFlowBytes bounds what one finished flow holds while it waits out the
// grace (Config.Grace) for late retransmissions: its conn (the 1,152-octet
// size class), its flow.Conn (400, with its slot's LRU link, activity time
// and heap position), its index and deadline entries, its room for
// changes (typicalChanges of 32 octets) and its labelled segments (4 of 32
// for a clean close): about 2,130 octets, 8 % under the bound. At 17,600
// connections a second a 2 s grace holds ~35,000 of them: most of
// finwave's peak memory (README, Performance). A conn back in the 1,536
// class, or labelled segments at their 96 octets of before, fail it.
const heldFlowBytes = 2304

// TestHeldFlows_memoryPerFlow: 20,000 clean closes, all within the grace,
// are all held at once; the live heap they take, per flow, stays within
// heldFlowBytes.
func TestHeldFlows_memoryPerFlow(t *testing.T) {
	const n = 20_000
	a := New(DefaultConfig(), nil)
	now := time.Unix(1_700_000_000, 0)
	var frame int64
	segment := func(src, dst flow.Endpoint, f flow.Flags, seq, ack flow.Seq) {
		frame++
		now = now.Add(time.Microsecond)
		a.Segment(&flow.Segment{Frame: frame, Time: now, Src: src, Dst: dst, Seq: seq, Ack: ack,
			Flags: f, Window: 502, WScale: flow.NoOption, MSS: flow.NoOption})
	}
	close4 := func(i int) {
		c := flow.Endpoint{Addr: netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), Port: 40000}
		s := server80
		segment(c, s, syn, 100, 0)
		segment(s, c, synack, 900, 101)
		segment(c, s, ack, 101, 901)
		segment(c, s, finack, 101, 901)
		segment(s, c, ack, 901, 102)
		segment(s, c, finack, 901, 102)
		segment(c, s, ack, 102, 902)
	}
	// Warm up the free lists and pools, so the measure is of held flows.
	for i := range 100 {
		close4(i)
	}
	now = now.Add(time.Hour)
	a.Advance(now)
	base := liveHeap()
	for i := range n {
		close4(100 + i)
	}
	held := liveHeap() - base
	if st := a.Stats(); st.Open < n {
		t.Fatalf("%d flows open after %d closes within the grace, want all of them held", st.Open, n)
	}
	per := held / n
	t.Logf("%d flows held: %d octets of live heap, %d per flow", n, held, per)
	if per > heldFlowBytes {
		t.Errorf("a held flow takes %d octets of live heap, want at most %d", per, heldFlowBytes)
	}
	a.Close()
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
