package conntrack

import (
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	ct "github.com/ti-mo/conntrack"
)

var (
	client  = netip.MustParseAddrPort("10.16.1.2:40000")
	vip     = netip.MustParseAddrPort("10.16.99.1:80")
	backend = netip.MustParseAddrPort("10.16.2.2:8080")
	masq    = netip.MustParseAddrPort("10.16.2.1:40000")
)

// flow builds a TCP conntrack flow orig → (DNAT) with the reply from
// replySrc to replyDst, in conntrack TCP state st (enum tcp_conntrack).
func flow(orig, replySrc, replyDst netip.AddrPort, st uint8, status ct.Status) ct.Flow {
	f := ct.NewFlow(6, status, orig.Addr(), orig.Addr(), orig.Port(), orig.Port(), 120, 0)
	f.TupleOrig.IP.DestinationAddress = vip.Addr()
	f.TupleOrig.Proto.DestinationPort = vip.Port()
	f.TupleReply.IP.SourceAddress, f.TupleReply.Proto.SourcePort = replySrc.Addr(), replySrc.Port()
	f.TupleReply.IP.DestinationAddress, f.TupleReply.Proto.DestinationPort = replyDst.Addr(), replyDst.Port()
	f.ProtoInfo.TCP = &ct.ProtoInfoTCP{State: st}
	return f
}

func mustRec(t testing.TB, f ct.Flow) rec {
	t.Helper()
	r, ok := fromFlow(&f, time.Unix(100, 0))
	if !ok {
		t.Fatal("not a TCP flow")
	}
	return r
}

// TestFindEveryPair: a DNAT'd (and a DNAT'd and masqueraded) entry is
// found by each of the four pairs the two sides of the NAT carry, and
// names which one matched.
func TestFindEveryPair(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replyDst netip.AddrPort
		snat     bool
	}{{"dnat", client, false}, {"dnat+masquerade", masq, true}} {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTable(10, 10)
			// No status bits: the NAT is read from the tuples (the kernel's
			// entries carry IPS_DST_NAT; TestNATLookup reads those).
			tb.upsert(mustRec(t, flow(client, backend, tc.replyDst, 3, 0)), 0)
			for _, c := range []struct {
				src, dst netip.AddrPort
				want     Pair
			}{
				{client, vip, Orig},
				{vip, client, OrigReversed},
				{backend, tc.replyDst, Reply},
				{tc.replyDst, backend, ReplyReversed},
			} {
				f, ok := tb.find(c.src, c.dst)
				if !ok || f.Pair != c.want {
					t.Errorf("find(%v → %v) = %v %v, want %v", c.src, c.dst, f.Pair, ok, c.want)
					continue
				}
				if f.State != "ESTABLISHED" || !f.DNAT || f.SNAT != tc.snat || f.Orig.Dst != vip || f.Reply.Src != backend {
					t.Errorf("find(%v → %v) = %+v", c.src, c.dst, f.Entry)
				}
			}
			if _, ok := tb.find(client, netip.MustParseAddrPort("10.16.2.2:8081")); ok {
				t.Error("found an entry for a pair it does not have")
			}
		})
	}
}

// TestUpdateKeepsState: an UPDATE without CTA_PROTOINFO keeps the state,
// a DESTROY moves the entry to the remembered ones, still found by every
// pair, and a new entry with the same tuples is preferred to it.
func TestUpdateDestroy(t *testing.T) {
	tb := newTable(10, 10)
	tb.upsert(mustRec(t, flow(client, backend, client, 3, 0)), 0)
	u := flow(client, backend, client, 0, 0)
	u.ProtoInfo.TCP = nil
	tb.upsert(mustRec(t, u), 0)
	if f, _ := tb.find(client, vip); f.State != "ESTABLISHED" || !f.Live() {
		t.Fatalf("after an UPDATE without state: %+v", f)
	}
	d := flow(client, backend, client, 0, 0)
	d.ProtoInfo.TCP = nil
	at := time.Unix(200, 0)
	tb.destroy(mustRec(t, d), at, false)
	if tb.nlive != 0 || len(tb.live) != 0 {
		t.Fatalf("live after DESTROY: %d %v", tb.nlive, tb.live)
	}
	for _, p := range [][2]netip.AddrPort{{client, vip}, {backend, client}, {client, backend}} {
		f, ok := tb.find(p[0], p[1])
		if !ok || f.Live() || !f.Destroyed.Equal(at) || f.State != "ESTABLISHED" {
			t.Errorf("destroyed entry by %v: %+v %v", p, f, ok)
		}
	}
	tb.upsert(mustRec(t, flow(client, backend, client, 1, 0)), 0)
	if f, _ := tb.find(client, vip); !f.Live() || f.State != "SYN_SENT" {
		t.Errorf("new entry with the same tuples: %+v", f)
	}
}

// TestBounds: the live table keeps at most MaxEntries and counts the rest;
// the destroyed ring forgets the oldest and its index with it.
func TestBounds(t *testing.T) {
	tb := newTable(3, 2)
	port := func(i int) netip.AddrPort { return netip.AddrPortFrom(client.Addr(), uint16(1000+i)) }
	for i := range 5 {
		tb.upsert(mustRec(t, flow(port(i), backend, port(i), 3, 0)), 0)
	}
	if tb.nlive != 3 || len(tb.live) != 6 || tb.overflow != 2 {
		t.Fatalf("live %d (keys %d), overflow %d; want 3, 6, 2", tb.nlive, len(tb.live), tb.overflow)
	}
	for i := range 3 {
		tb.destroy(mustRec(t, flow(port(i), backend, port(i), 7, 0)), time.Unix(int64(i), 0), false)
	}
	if len(tb.gone) != 2 || len(tb.goneIdx) != 4 {
		t.Fatalf("gone %d, index %d; want 2, 4", len(tb.gone), len(tb.goneIdx))
	}
	if _, ok := tb.find(port(0), vip); ok {
		t.Error("the oldest destroyed entry is still found")
	}
	if f, ok := tb.find(port(2), vip); !ok || f.State != "TIME_WAIT" {
		t.Errorf("the newest destroyed entry: %+v %v", f, ok)
	}
}

// TestSweep: after lost events, live entries a resync's dump no longer has
// are moved to the destroyed ones, marked Resynced.
func TestSweep(t *testing.T) {
	tb := newTable(10, 10)
	other := netip.MustParseAddrPort("10.16.1.3:5000")
	tb.upsert(mustRec(t, flow(client, backend, client, 3, 0)), 1)
	tb.upsert(mustRec(t, flow(other, backend, other, 3, 0)), 1)
	tb.upsert(mustRec(t, flow(other, backend, other, 4, 0)), 2) // seen by dump 2
	tb.sweep(2, time.Unix(300, 0))
	if f, ok := tb.find(client, vip); !ok || f.Live() || !f.Resynced {
		t.Errorf("entry missing from the dump: %+v %v", f, ok)
	}
	if f, ok := tb.find(other, vip); !ok || !f.Live() || f.State != "FIN_WAIT" {
		t.Errorf("entry in the dump: %+v %v", f, ok)
	}
}

func TestParseInvalid(t *testing.T) {
	in := "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n" +
		"00000003  00000000 00000000 00000000 0000000a 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000\n" +
		"00000003  00000000 00000000 00000000 00000011 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000\n"
	v, err := parseInvalid([]byte(in))
	if err != nil || v != 0x1b {
		t.Fatalf("parseInvalid = %d, %v; want 27", v, err)
	}
	if _, err := parseInvalid([]byte("entries found\n1 2\n")); err == nil || !strings.Contains(err.Error(), "invalid") {
		t.Errorf("no invalid column: %v", err)
	}
}

// BenchmarkApply is the cost of one event: an UPDATE of a live entry
// (NEW and DESTROY of distinct flows alternate in BenchmarkChurn).
func BenchmarkApply(b *testing.B) {
	tb := newTable(1<<20, 4096)
	r := mustRec(b, flow(client, backend, client, 3, 0))
	b.ReportAllocs()
	for b.Loop() {
		tb.upsert(r, 0)
	}
}

func BenchmarkChurn(b *testing.B) {
	tb := newTable(1<<20, 4096)
	recs := make([]rec, 1024)
	for i := range recs {
		p := netip.AddrPortFrom(client.Addr(), uint16(1000+i))
		recs[i] = mustRec(b, flow(p, backend, p, 3, 0))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := recs[i%len(recs)]
		tb.upsert(r, 0)
		tb.destroy(r, time.Time{}, false)
		i++
	}
}

// TestMemoryPerEntry reports the heap a live entry costs (both index keys
// and the record) and one remembered destroyed entry.
func TestMemoryPerEntry(t *testing.T) {
	const n = 50000
	recs := make([]rec, n)
	for i := range recs {
		a := netip.AddrFrom4([4]byte{10, 16, byte(i >> 8), byte(i)})
		p := netip.AddrPortFrom(a, uint16(1000+i%50000))
		recs[i] = mustRec(t, flow(p, backend, p, 3, ct.StatusDstNAT))
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	h0 := heap()
	tb := newTable(n, n)
	for _, r := range recs {
		tb.upsert(r, 0)
	}
	h1 := heap()
	for _, r := range recs {
		tb.destroy(r, time.Time{}, false)
	}
	h2 := heap()
	runtime.KeepAlive(tb)
	t.Logf("live entry: %d bytes; destroyed entry remembered: %d bytes",
		(h1-h0)/n, (h2-h0)/n)
}

// TestExplainResetCounter: the RST on a NAT'd flow's translated pair is
// named INVALID only when the 'invalid' counter rose around it; a RST on
// the flow's own pair never is; a pair no NAT'd entry has is not read.
func TestExplainResetCounter(t *testing.T) {
	at := time.Unix(1000, 0)
	for _, tc := range []struct {
		name        string
		src, dst    netip.AddrPort
		rise        uint64
		ok, invalid bool
		text        string
	}{
		{"untranslated, counter rose", client, backend, 2, true, true, "found INVALID"},
		{"untranslated, counter flat", client, backend, 0, true, false, "did not rise"},
		{"own pair, counter rose", client, vip, 2, true, false, "conntrack state ESTABLISHED"},
		{"backend's RST as sent, counter rose", backend, client, 2, true, false, "conntrack state ESTABLISHED"},
		{"de-NATed reply, counter rose", vip, client, 2, true, false, "conntrack state ESTABLISHED"},
		{"no entry", client, masq, 2, false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := &Table{t: newTable(10, 10), inv: newInvSamples(8)}
			tb.t.upsert(mustRec(t, flow(client, backend, client, 3, ct.StatusDstNAT)), 0)
			tb.inv.add(invSample{at.Add(-5 * time.Second), 7})
			tb.inv.add(invSample{at.Add(-100 * time.Millisecond), 7 + tc.rise}) // within the window: not the baseline
			tb.inv.add(invSample{at.Add(200 * time.Millisecond), 7 + tc.rise})
			v, ok := tb.ExplainReset(tc.src, tc.dst, at)
			if ok != tc.ok || v.Invalid != tc.invalid || !strings.Contains(v.Text, tc.text) {
				t.Fatalf("ExplainReset(%v, %v) = %+v, %v", tc.src, tc.dst, v, ok)
			}
			if ok && (!v.Counted || v.InvalidRise != tc.rise || !v.From.Equal(at.Add(-5*time.Second))) {
				t.Errorf("counter: rise %d from %v (counted %v)", v.InvalidRise, v.From, v.Counted)
			}
		})
	}
}
