package flow

import (
	"net/netip"
	"testing"
	"time"
	"unsafe"
)

type finishRec struct {
	id  int64
	why Finish
	at  time.Time
}

func newTestTable(cfg TableConfig) (*Table, *[]finishRec) {
	var recs []finishRec
	cfg.OnFinish = func(c *Conn, why Finish, now time.Time) { recs = append(recs, finishRec{c.ID, why, now}) }
	return NewTable(cfg), &recs
}

var t0 = time.Unix(1_700_000_000, 0)

func tseg(src, dst Endpoint, flags Flags, seq, ack uint32, at time.Duration) *Segment {
	s := seg(flags, seq, ack, 0)
	s.Src, s.Dst, s.Time = src, dst, t0.Add(at)
	return s
}

var (
	epA = Endpoint{ip4a, 40000}
	epB = Endpoint{ip4b, 80}
	epC = Endpoint{ip4a, 40001}
)

// track runs a segment through the table and Half as the analyzer does.
func track(tab *Table, s *Segment) (*Conn, Dir, bool) {
	c, dir, created := tab.Track(s)
	c.Half[dir].Observe(s, &c.Half[dir.Reverse()])
	return c, dir, created
}

func TestTableDirections(t *testing.T) {
	tab, _ := newTestTable(TableConfig{})
	// The first segment seen comes from B (the server): B becomes Conn.A.
	first, second := tseg(epB, epA, SYN|ACK, 500, 101, 0), tseg(epA, epB, ACK, 101, 501, time.Millisecond)
	first.Frame, second.Frame = 7, 8
	c, dir, created := track(tab, first)
	if !created || dir != DirAB || c.A != epB || c.B != epA || c.ID != 0 {
		t.Fatalf("first: created %v dir %v A %v B %v id %d", created, dir, c.A, c.B, c.ID)
	}
	c2, dir, created := track(tab, second)
	if c2 != c || dir != DirBA || created {
		t.Fatalf("reverse: same %v dir %v created %v", c2 == c, dir, created)
	}
	if c.FirstFrame != 7 || c.LastFrame != 8 {
		t.Errorf("frames: first %d last %d, want 7 and 8", c.FirstFrame, c.LastFrame)
	}
	if !c.Half[DirBA].Seen || c.Half[DirBA].Packets != 1 || c.Half[DirAB].Packets != 1 {
		t.Errorf("halves: %+v", c.Half)
	}
	if tab.Len() != 1 {
		t.Errorf("Len %d", tab.Len())
	}
}

func TestTableIdle(t *testing.T) {
	tab, recs := newTestTable(TableConfig{IdleTimeout: 10 * time.Second})
	track(tab, tseg(epA, epB, ACK, 1, 1, 0))
	track(tab, tseg(epC, epB, ACK, 1, 1, 5*time.Second))
	// Time going backwards must not run capture time backwards...
	track(tab, tseg(epC, epB, ACK, 2, 1, 1*time.Second))
	if !tab.Now().Equal(t0.Add(5 * time.Second)) {
		t.Errorf("Now %v, want %v", tab.Now(), t0.Add(5*time.Second))
	}
	// Exactly at the timeout nothing expires; just past it conn 0 does.
	tab.Advance(t0.Add(10 * time.Second))
	if len(*recs) != 0 {
		t.Fatalf("expired at the timeout: %v", *recs)
	}
	tab.Advance(t0.Add(10*time.Second + 1))
	if len(*recs) != 1 || (*recs)[0].id != 0 || (*recs)[0].why != FinishIdle {
		t.Fatalf("after timeout: %v", *recs)
	}
	// Conn 1 was active at capture time 5s (its last segment carried an
	// older timestamp), so it lives until 15s.
	tab.Advance(t0.Add(15 * time.Second))
	if len(*recs) != 1 {
		t.Fatalf("conn 1 expired early: %v", *recs)
	}
	tab.Advance(t0.Add(16 * time.Second))
	if len(*recs) != 2 || (*recs)[1].id != 1 {
		t.Fatalf("conn 1: %v", *recs)
	}
	if s := tab.Stats(); s.Finished[FinishIdle] != 2 || s.Created != 2 || s.Peak != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestTableMarkDone(t *testing.T) {
	tab, recs := newTestTable(TableConfig{})
	c, _, _ := track(tab, tseg(epA, epB, FIN|ACK, 1, 1, 0))
	tab.MarkDone(c, t0.Add(2*time.Second))
	tab.MarkDone(c, t0.Add(4*time.Second)) // a later deadline replaces it
	track(tab, tseg(epB, epA, ACK, 1, 2, 3*time.Second))
	if len(*recs) != 0 {
		t.Fatalf("finished before the deadline: %v", *recs)
	}
	// A later segment does not cancel; passing the deadline finishes.
	track(tab, tseg(epC, epB, ACK, 1, 1, 5*time.Second))
	if len(*recs) != 1 || (*recs)[0].why != FinishDone || (*recs)[0].id != 0 {
		t.Fatalf("%v", *recs)
	}
	if tab.Len() != 1 {
		t.Errorf("Len %d, want 1", tab.Len())
	}
}

func TestTableMarkDoneFromOnFinish(t *testing.T) {
	var tab *Table
	tab = NewTable(TableConfig{IdleTimeout: time.Second, OnFinish: func(c *Conn, _ Finish, now time.Time) {
		tab.MarkDone(c, now.Add(time.Hour)) // must be ignored
	}})
	track(tab, tseg(epA, epB, ACK, 1, 1, 0))
	tab.Advance(t0.Add(2 * time.Second))
	if len(tab.done) != 0 || tab.Len() != 0 {
		t.Errorf("finished conn re-entered the done heap: %d, Len %d", len(tab.done), tab.Len())
	}
}

func TestTableDoneHeapOrder(t *testing.T) {
	tab, recs := newTestTable(TableConfig{})
	deadlines := []int{5, 3, 9, 1, 7, 2, 8}
	for i, d := range deadlines {
		src := Endpoint{ip4a, uint16(1000 + i)}
		c, _, _ := track(tab, tseg(src, epB, ACK, 1, 1, 0))
		tab.MarkDone(c, t0.Add(time.Duration(d)*time.Second))
	}
	for s := 1; s <= 10; s++ {
		tab.Advance(t0.Add(time.Duration(s)*time.Second + 1))
	}
	want := []int64{3, 5, 1, 0, 4, 6, 2}
	if len(*recs) != len(want) {
		t.Fatalf("%v", *recs)
	}
	for i, r := range *recs {
		if r.id != want[i] {
			t.Errorf("finish %d: id %d, want %d", i, r.id, want[i])
		}
	}
}

func TestTableEviction(t *testing.T) {
	tab, recs := newTestTable(TableConfig{MaxFlows: 2})
	track(tab, tseg(epA, epB, ACK, 1, 1, 0))
	track(tab, tseg(epC, epB, ACK, 1, 1, 1))
	track(tab, tseg(epB, epA, ACK, 1, 2, 2)) // conn 0 is now the most recent
	track(tab, tseg(Endpoint{ip4a, 3}, epB, ACK, 1, 1, 3))
	if len(*recs) != 1 || (*recs)[0].id != 1 || (*recs)[0].why != FinishEvicted {
		t.Fatalf("%v", *recs)
	}
	if tab.Len() != 2 || tab.Stats().Peak != 2 {
		t.Errorf("Len %d Peak %d", tab.Len(), tab.Stats().Peak)
	}
}

func TestTableReuse(t *testing.T) {
	tab, recs := newTestTable(TableConfig{})
	track(tab, tseg(epA, epB, SYN, 100, 0, 0))
	track(tab, tseg(epB, epA, SYN|ACK, 500, 101, 1))
	c, _, created := track(tab, tseg(epA, epB, SYN, 100, 0, 2)) // retransmission
	if created || c.ID != 0 {
		t.Fatalf("SYN retransmission started a new stream")
	}
	c, _, created = track(tab, tseg(epA, epB, SYN, 9000, 0, 3))
	if !created || c.ID != 1 || len(*recs) != 1 || (*recs)[0].why != FinishReused {
		t.Fatalf("new ISN: created %v id %d finishes %v", created, c.ID, *recs)
	}
	if c.Half[DirAB].ISN != 9000 || c.Half[DirBA].Seen {
		t.Errorf("new conn halves not fresh: %+v", c.Half)
	}
}

// A conn finished for idleness comes back without a SYN: Wireshark has no
// idle timeout, so it is the same stream.
func TestTableResume(t *testing.T) {
	tab, recs := newTestTable(TableConfig{IdleTimeout: time.Second})
	track(tab, tseg(epA, epB, SYN, 100, 0, 0))
	track(tab, tseg(epB, epA, SYN|ACK, 500, 101, 1))
	track(tab, tseg(epC, epB, ACK, 1, 1, 0)) // conn 1
	c, dir, created := track(tab, tseg(epB, epA, ACK|PSH, 501, 101, 10*time.Second))
	if len(*recs) != 2 {
		t.Fatalf("idle finishes: %v", *recs)
	}
	if !created || !c.Resumed || c.ID != 0 || c.A != epA || dir != DirBA {
		t.Fatalf("resume: created %v resumed %v id %d A %v dir %v", created, c.Resumed, c.ID, c.A, dir)
	}
	if got := c.Half[DirBA].RelSeq(501); got != 1 {
		t.Errorf("relative seq after resume %d, want 1 (base kept)", got)
	}
	// A new conn still gets the next fresh id.
	c, _, _ = track(tab, tseg(Endpoint{ip4a, 5}, epB, ACK, 1, 1, 10*time.Second))
	if c.ID != 2 {
		t.Errorf("fresh id %d, want 2", c.ID)
	}
	// A SYN with a new ISN on a finished 4-tuple starts a new stream.
	tab.Advance(t0.Add(20 * time.Second))
	c, _, _ = track(tab, tseg(epC, epB, SYN, 777, 0, 20*time.Second))
	if c.ID != 3 || c.Resumed {
		t.Errorf("SYN after finish: id %d resumed %v, want 3 false", c.ID, c.Resumed)
	}
	if s := tab.Stats(); s.Resumed != 1 || s.Streams != 4 {
		t.Errorf("stats %+v", s)
	}
}

func TestTableFinishedStreamsBounded(t *testing.T) {
	tab, _ := newTestTable(TableConfig{IdleTimeout: time.Second, MaxFinished: 2})
	for i := range 5 {
		track(tab, tseg(Endpoint{ip4a, uint16(i)}, epB, ACK, 1, 1, time.Duration(i)*10*time.Second))
	}
	if n := tab.finished.n; n != 2 {
		t.Errorf("%d ended streams kept, want 2", n)
	}
	// Port 0's ended stream was dropped: it gets a new id (the documented
	// divergence); port 3's was kept: it resumes.
	c, _, _ := track(tab, tseg(Endpoint{ip4a, 3}, epB, ACK, 2, 1, 100*time.Second))
	if !c.Resumed || c.ID != 3 {
		t.Errorf("port 3: resumed %v id %d", c.Resumed, c.ID)
	}
	c, _, _ = track(tab, tseg(Endpoint{ip4a, 0}, epB, ACK, 2, 1, 100*time.Second))
	if c.Resumed || c.ID != 5 {
		t.Errorf("port 0: resumed %v id %d", c.Resumed, c.ID)
	}
}

func TestTableCloseOrder(t *testing.T) {
	tab, recs := newTestTable(TableConfig{})
	for i := range 50 {
		track(tab, tseg(Endpoint{ip4a, uint16(50 - i)}, epB, ACK, 1, 1, 0))
	}
	tab.Close()
	if len(*recs) != 50 || tab.Len() != 0 {
		t.Fatalf("%d finishes, Len %d", len(*recs), tab.Len())
	}
	for i, r := range *recs {
		if r.id != int64(i) || r.why != FinishEnd {
			t.Fatalf("finish %d: %+v", i, r)
		}
	}
}

func TestTableIPv6AndMixed(t *testing.T) {
	tab, _ := newTestTable(TableConfig{})
	a6, b6 := Endpoint{ip6a, 1}, Endpoint{ip6b, 2}
	c1, _, _ := track(tab, tseg(a6, b6, ACK, 1, 1, 0))
	c2, _, _ := track(tab, tseg(b6, a6, ACK, 1, 1, 0))
	// The IPv4-mapped form is a different address (Wireshark compares
	// address types too).
	m := Endpoint{netip.AddrFrom16(ip4a.As16()), 1}
	c3, _, _ := track(tab, tseg(m, epB, ACK, 1, 1, 0))
	if c1 != c2 || c3 == c1 || tab.Len() != 2 {
		t.Errorf("conns %p %p %p Len %d", c1, c2, c3, tab.Len())
	}
}

// TestConnSize keeps the per-conn footprint stated in the Conn comment.
func TestConnSize(t *testing.T) {
	if s := unsafe.Sizeof(Conn{}); s > 400 {
		t.Errorf("unsafe.Sizeof(Conn{}) = %d, comment says 400", s)
	} else {
		t.Logf("unsafe.Sizeof(Conn{}) = %d, Half %d", s, unsafe.Sizeof(Half{}))
	}
}

func steadySegments(n int) []Segment {
	segs := make([]Segment, 0, 2*n)
	for i := range n {
		src := Endpoint{netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(30000 + i%1000)}
		segs = append(segs, *tseg(src, epB, ACK|PSH, 1, 1, 0), *tseg(epB, src, ACK, 1, 1, 0))
		segs[len(segs)-2].Len = 100
	}
	return segs
}

// Track+Observe for existing conns must not allocate.
func TestTableNoAllocs(t *testing.T) {
	tab := NewTable(TableConfig{IdleTimeout: time.Hour, MaxFlows: 10000})
	segs := steadySegments(1000)
	for i := range segs {
		track(tab, &segs[i])
	}
	n := testing.AllocsPerRun(20, func() {
		for i := range segs {
			s := &segs[i]
			s.Seq += 100
			s.Time = s.Time.Add(time.Millisecond)
			track(tab, s)
		}
	})
	if n != 0 {
		t.Errorf("Track+Observe allocate %.1f times per %d segments", n, len(segs))
	}
}

func BenchmarkTrackObserve(b *testing.B) {
	for _, flows := range []int{100, 100_000} {
		b.Run(itoa(flows), func(b *testing.B) {
			tab := NewTable(TableConfig{IdleTimeout: time.Hour})
			segs := steadySegments(flows)
			for i := range segs {
				track(tab, &segs[i])
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s := &segs[i%len(segs)]
				s.Seq += 100
				track(tab, s)
			}
		})
	}
}

// BenchmarkChurn creates and finishes conns continuously (MaxFlows cap).
func BenchmarkChurn(b *testing.B) {
	tab := NewTable(TableConfig{MaxFlows: 1000, MaxFinished: -1})
	segs := steadySegments(5000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		track(tab, &segs[i%len(segs)])
	}
}

func itoa(n int) string {
	if n >= 1000 {
		return itoa(n/1000) + "k"
	}
	return string(rune('0'+n/100)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}
