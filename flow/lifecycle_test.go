package flow

import (
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"testing"
	"time"
)

// lifeGen generates a realistic stream of short connections, as a loopback
// capture of many clients shows them: each conn sends SYN, SYN-ACK, ACK,
// data, FIN, ACK, FIN, ACK. Round r carries the k-th segment of conn r-k
// for k = 0..7, so eight conns are in flight. After its last ACK a conn is
// marked done with the analyzer's grace, and with 8 segments per round
// roughly 2s/round of them are held at once.
//
// Every third conn takes its 4-tuple from a small pool, so it comes back
// with a new ISN while its previous conn is still held (FinishReused); the
// others cycle through a large pool, long after their previous conn has
// finished (an ended-stream lookup, a new stream).
type lifeGen struct {
	round int
	k     int
	tick  time.Duration // timestamps are truncated to it (ties when coarse)
	dur   time.Duration // time per round
	small int           // size of the pool reused while held
	large int           // size of the other pool
}

const lifeGrace = 2 * time.Second

var lifeServer = Endpoint{netip.AddrFrom4([4]byte{10, 0, 0, 1}), 80}

func newLifeGen(held int, tick time.Duration) *lifeGen {
	dur := lifeGrace / time.Duration(held)
	// The small pool comes back after 3*small rounds: within the grace.
	return &lifeGen{tick: tick, dur: dur, small: held / 4, large: 100_000}
}

// client returns the client endpoint of conn i.
func (g *lifeGen) client(i int) Endpoint {
	if i%3 == 0 {
		return Endpoint{netip.AddrFrom4([4]byte{10, 2, 0, 1}), uint16(1000 + (i/3)%g.small)}
	}
	j := (i - i/3 - 1) % g.large
	return Endpoint{netip.AddrFrom4([4]byte{10, byte(3 + j>>16), byte(j >> 8), byte(j)}), 40000}
}

// next fills seg with the next segment and reports whether the analyzer
// would mark its conn done after it.
func (g *lifeGen) next(seg *Segment) (last bool) {
	for g.round-g.k < 0 {
		g.step()
	}
	i, k := g.round-g.k, g.k
	g.step()
	cli := g.client(i)
	cisn := uint32(i) * 2654435761
	sisn := cisn ^ 0x5bd1e995
	at := time.Duration(i)*g.dur + time.Duration(k)*g.dur/8
	*seg = Segment{Frame: int64(g.round*8 + k), Time: t0.Add(at.Truncate(g.tick)),
		Src: cli, Dst: lifeServer, Window: 512, WScale: NoOption, MSS: NoOption}
	c2s := func(f Flags, seq, ack uint32) { seg.Flags, seg.Seq, seg.Ack = f, Seq(seq), Seq(ack) }
	s2c := func(f Flags, seq, ack uint32) {
		seg.Src, seg.Dst = lifeServer, cli
		c2s(f, seq, ack)
	}
	switch k {
	case 0:
		c2s(SYN, cisn, 0)
	case 1:
		s2c(SYN|ACK, sisn, cisn+1)
	case 2:
		c2s(ACK, cisn+1, sisn+1)
	case 3:
		c2s(PSH|ACK, cisn+1, sisn+1)
		seg.Len = 100
	case 4:
		c2s(FIN|ACK, cisn+101, sisn+1)
	case 5:
		s2c(ACK, sisn+1, cisn+102)
	case 6:
		s2c(FIN|ACK, sisn+1, cisn+102)
	default:
		c2s(ACK, cisn+102, sisn+2)
	}
	return k == 7
}

func (g *lifeGen) step() {
	if g.k++; g.k == 8 {
		g.k, g.round = 0, g.round+1
	}
}

// drive runs n segments of g through tab as the analyzer does.
func (g *lifeGen) drive(tab *Table, n int) {
	var seg Segment
	for range n {
		last := g.next(&seg)
		c, dir, _ := tab.Track(&seg)
		c.Half[dir].Observe(&seg, &c.Half[dir.Reverse()])
		if last {
			tab.MarkDone(c, seg.Time.Add(lifeGrace))
		}
	}
}

// finishLog returns a table that hashes every finish (id, reason, time,
// endpoints, halves' counters) into h.
func finishLog(cfg TableConfig, h *fnvLog) *Table {
	cfg.OnFinish = func(c *Conn, why Finish, now time.Time) {
		h.put(c.ID, int64(why), now.UnixNano(), int64(c.A.Port), int64(c.B.Port),
			int64(c.Half[0].Packets), int64(c.Half[1].Packets), c.FirstFrame, c.LastFrame)
		if c.Resumed {
			h.put(-1)
		}
		h.n++
	}
	return NewTable(cfg)
}

type fnvLog struct {
	h interface {
		Write([]byte) (int, error)
		Sum64() uint64
	}
	n int
}

func (l *fnvLog) put(vs ...int64) {
	var b [8]byte
	for _, v := range vs {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		l.h.Write(b[:])
	}
}

// TestTableFinishOrderGolden pins the order, reasons and times of finishes
// over realistic streams, ties of done deadlines included (coarse
// timestamps), against the sums of the original binary-heap table: a
// change of the done queue, the conn index or the finished streams must not
// change them.
func TestTableFinishOrderGolden(t *testing.T) {
	cases := []struct {
		name string
		cfg  TableConfig
		tick time.Duration
		held int
		n    int
		want uint64
	}{
		{"fine", TableConfig{}, time.Nanosecond, 10_000, 400_000, 0x88ce30abdee8a56a},
		{"ties", TableConfig{}, time.Millisecond, 10_000, 400_000, 0x55e5bf3772b04f24},
		{"idle-cap", TableConfig{IdleTimeout: time.Second, MaxFlows: 3000, MaxFinished: 5000}, 100 * time.Microsecond, 10_000, 400_000, 0x9a0cc4d9898ffe7c},
		// Held conns go idle before their done deadline; few ended streams kept.
		{"idle", TableConfig{IdleTimeout: 500 * time.Millisecond, MaxFinished: 2000}, time.Microsecond, 10_000, 400_000, 0xfd7db661e04e8203},
		// In-flight conns are evicted and resume from their ended streams.
		{"resume", TableConfig{MaxFlows: 5, MaxFinished: 3000}, time.Microsecond, 10_000, 400_000, 0x7a09afb02077638e},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log := &fnvLog{h: fnv.New64a()}
			tab := finishLog(tc.cfg, log)
			newLifeGen(tc.held, tc.tick).drive(tab, tc.n)
			tab.Close()
			if got := log.h.Sum64(); got != tc.want {
				t.Errorf("finish log of %d finishes: sum %#x, want %#x", log.n, got, tc.want)
			}
		})
	}
}

// BenchmarkLifecycle drives the table with short conns, ~10k held done
// (see lifeGen); it reports the cost per segment.
func BenchmarkLifecycle(b *testing.B) {
	tab := NewTable(TableConfig{IdleTimeout: 5 * time.Minute, MaxFlows: 1_000_000})
	g := newLifeGen(10_000, time.Microsecond)
	g.drive(tab, 2_000_000) // warm: pools, finished streams and queues at their steady size
	b.ReportAllocs()
	b.ResetTimer()
	g.drive(tab, b.N)
}

// The lifecycle's steady state (conns created, marked done, finished,
// kept as ended streams, 4-tuples reused) must not allocate.
func TestTableLifecycleNoAllocs(t *testing.T) {
	tab := NewTable(TableConfig{IdleTimeout: 5 * time.Minute, MaxFlows: 1_000_000})
	g := newLifeGen(10_000, time.Microsecond)
	g.drive(tab, 2_000_000)
	n := testing.AllocsPerRun(5, func() { g.drive(tab, 80_000) })
	if n != 0 {
		t.Errorf("%.1f allocations per 10k conns", n)
	}
}
