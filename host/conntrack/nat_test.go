package conntrack

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	ct "github.com/ti-mo/conntrack"

	"finwave/internal/netnstest"
)

// openIn opens the table in the router's namespace.
func openIn(t *testing.T, ns string) *Table {
	t.Helper()
	var tb *Table
	err := netnstest.Do(ns, func() error {
		var err error
		tb, err = Open(Config{StatsEvery: 200 * time.Millisecond})
		return err
	})
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("conntrack not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.Close() })
	return tb
}

// TestNATLookup: a connection through the DNAT (and masquerade) is found
// by the client side's wire pairs and by the backend side's, with its
// state and both tuples; its DESTROY after the close is remembered.
func TestNATLookup(t *testing.T) {
	n := netnstest.NewNAT(t, "fcl", true)
	tb := openIn(t, n.R)
	_, cli, cport := netnstest.Connect(t, n)

	cl := netip.AddrPortFrom(netip.MustParseAddr(netnstest.NATClient), cport)
	vip := netip.MustParseAddrPort(netnstest.NATVIP + ":80")
	be := netip.MustParseAddrPort(netnstest.NATBackend + ":8080")
	var f Found
	if !netnstest.Poll(10*time.Second, func() bool {
		var ok bool
		f, ok = tb.Find(cl, vip)
		return ok && f.State == "ESTABLISHED"
	}) {
		t.Fatalf("no ESTABLISHED entry for %v → %v: %+v; stats %+v", cl, vip, f, tb.Stats())
	}
	if f.Pair != Orig || !f.DNAT || !f.SNAT || f.Orig.Src != cl || f.Orig.Dst != vip || f.Reply.Src != be ||
		f.Reply.Dst.Addr() != netip.MustParseAddr(netnstest.NATRouterS) || f.Timeout <= 0 {
		t.Fatalf("client side: %+v", f)
	}
	masq := f.Reply.Dst
	t.Logf("entry: %v → %v, reply %v → %v, %s, timeout %v", f.Orig.Src, f.Orig.Dst, f.Reply.Src, f.Reply.Dst, f.State, f.Timeout)
	for _, c := range []struct {
		name     string
		src, dst netip.AddrPort
		want     Pair
	}{
		{"client side, reply", vip, cl, OrigReversed},
		{"backend side, reply", be, masq, Reply},
		{"backend side, request", masq, be, ReplyReversed},
	} {
		g, ok := tb.Find(c.src, c.dst)
		if !ok || g.Pair != c.want || g.Orig != f.Orig || g.Reply != f.Reply || g.State != "ESTABLISHED" {
			t.Errorf("%s %v → %v: %+v %v, want pair %v", c.name, c.src, c.dst, g, ok, c.want)
		}
		if e, ok := tb.Lookup(c.src, c.dst); !ok || e != g.Entry {
			t.Errorf("Lookup(%v, %v) = %+v %v", c.src, c.dst, e, ok)
		}
	}

	cli.Send(t, "close")
	cli.Expect(t, "closed")
	// conntrack destroys the entry when its (shortened) TIME_WAIT or
	// CLOSE timeout runs out and its garbage collector reaps it
	// (gc_worker, up to a minute apart); a lookup of an expired entry
	// reaps it at once (nf_ct_gc_expired), so after 10s the test looks it
	// up (IPCTNL_MSG_CT_GET) to be quicker.
	gone := func() bool { f, _ = tb.Find(be, masq); return !f.Live() }
	if !netnstest.Poll(10*time.Second, gone) {
		q := ct.NewFlow(6, 0, cl.Addr(), vip.Addr(), cl.Port(), vip.Port(), 0, 0)
		if !netnstest.Poll(80*time.Second, func() bool { tb.query.Get(q); return gone() }) {
			t.Fatalf("no DESTROY within 90s: %+v", f)
		}
		t.Log("DESTROY after a lookup of the expired entry")
	}
	if f.Destroyed.IsZero() || f.Resynced || f.Pair != Reply || f.Orig.Src != cl {
		t.Errorf("destroyed entry: %+v", f)
	}
	t.Logf("destroyed in state %s at %v; stats %+v", f.State, f.Destroyed.Format(time.StampMilli), tb.Stats())
}

// netnstest.NATInjectPy runs in the backend's namespace: it watches the backend's echo
// to the client (or the masquerading router) and sends, as the backend, an
// ACK whose sequence number is far past the window (tcp_in_window: "SEQ is
// over upper bound", INVALID; a SEQ under the lower bound is only IGNOREd
// since Linux 6.1 and still de-NATed), acknowledging exactly what the
// client sent, so that a RST answering it is acceptable to the backend.
// Then it prints the RST that comes back to the backend.
// TestInvalidReset reproduces the Kubernetes failure: an out-of-window
// segment from the backend is INVALID for the router's conntrack
// (nf_conntrack_tcp_be_liberal=0, no INVALID drop rule), so it goes on
// untracked and is not de-NATed; the stack that receives it has no socket
// for its un-translated pair and answers with a RST that conntrack does not
// track either, and which the backend accepts: the real connection dies.
// ExplainReset names that RST from the 'invalid' counter's rise.
//
// With masquerade the un-de-NATed segment is addressed to the router
// itself, whose own stack sends the RST (the host's RST); without it, the
// segment is forwarded to the client under the backend's address and the
// client's stack sends it.
func TestInvalidReset(t *testing.T) {
	for _, tc := range []struct {
		name       string
		masquerade bool
	}{{"host-rst-masquerade", true}, {"client-rst-dnat", false}} {
		t.Run(tc.name, func(t *testing.T) {
			n := netnstest.NewNAT(t, "fc"+tc.name[:1], tc.masquerade)
			tb := openIn(t, n.R)
			srv, cli, cport := netnstest.Connect(t, n)
			cl := netip.AddrPortFrom(netip.MustParseAddr(netnstest.NATClient), cport)
			vip := netip.MustParseAddrPort(netnstest.NATVIP + ":80")
			var f Found
			if !netnstest.Poll(10*time.Second, func() bool {
				var ok bool
				f, ok = tb.Find(cl, vip)
				return ok && f.State == "ESTABLISHED"
			}) {
				t.Fatalf("no ESTABLISHED entry: %+v", f)
			}
			inv0, err := tb.Invalid()
			if err != nil {
				t.Fatal(err)
			}
			// A RST through the NAT on its own pair is not the failure.
			if v, ok := tb.ExplainReset(cl, vip, time.Now()); !ok || v.Invalid || v.Untranslated || v.Pair != Orig {
				t.Errorf("RST on the flow's own pair: %+v %v", v, ok)
			}

			inj := netnstest.Start(t, n.S, netnstest.NATInjectPy, f.Reply.Dst.Addr().String())
			inj.Expect(t, "ready")
			cli.Send(t, "ping")
			inj.Expect(t, "injected")
			l := inj.Expect(t, "rst ")
			at := time.Now()
			fs := strings.Fields(l)
			sp, _ := strconv.Atoi(fs[2])
			dp, _ := strconv.Atoi(fs[4])
			src := netip.AddrPortFrom(netip.MustParseAddr(fs[1]), uint16(sp))
			dst := netip.AddrPortFrom(netip.MustParseAddr(fs[3]), uint16(dp))
			srv.Expect(t, "reset") // the backend's connection was killed
			inv1, _ := tb.Invalid()
			t.Logf("RST %v → %v reached the backend; conntrack 'invalid' %d → %d", src, dst, inv0, inv1)

			wantSrc := f.Reply.Dst // the router's masquerade address, or the client
			if src != wantSrc || dst != f.Reply.Src {
				t.Fatalf("RST %v → %v, want the un-translated pair %v → %v", src, dst, wantSrc, f.Reply.Src)
			}
			v, ok := tb.ExplainReset(src, dst, at)
			if !ok || !v.Invalid || !v.Untranslated || v.Pair != ReplyReversed || v.InvalidRise == 0 ||
				!strings.Contains(v.Text, "INVALID") || !strings.Contains(v.Text, "be_liberal=0") {
				t.Fatalf("ExplainReset(%v, %v) = %+v %v", src, dst, v, ok)
			}
			t.Logf("verdict: %s", v.Text)
			// conntrack never saw the RST as the flow's: its entry is
			// still ESTABLISHED while the backend's socket is gone.
			if g, _ := tb.Find(cl, vip); g.State != "ESTABLISHED" || !g.Live() {
				t.Errorf("entry after the untracked RST: %+v", g)
			}
		})
	}
}

const burstServerPy = `
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("` + netnstest.NATBackend + `", 8080))
s.listen(1024)
print("listening", flush=True)
while True:
    c, a = s.accept()
    c.close()
`

const burstClientPy = `
import socket, sys
for i in range(int(sys.argv[1])):
    c = socket.create_connection(("` + netnstest.NATVIP + `", 80))
    c.close()
print("done", flush=True)
`

// TestLostEvents: with a receive buffer too small for a burst of
// connections, the kernel drops events (ENOBUFS, netlink_overrun); the
// table counts them, resyncs by a dump, and then has every entry the
// kernel has and no other.
func TestLostEvents(t *testing.T) {
	// The kernel's minimum (about 2 KiB: an ENOBUFS every few events),
	// and 1 MiB: few ENOBUFS, and drops without one until the queue
	// empties (NETLINK_S_CONGESTED).
	for _, tc := range []struct {
		name           string
		bufSize, conns int
	}{{"2KiB", 1, 400}, {"1MiB", 1 << 20, 3000}} {
		t.Run(tc.name, func(t *testing.T) { testLostEvents(t, tc.name[:1], tc.bufSize, tc.conns) })
	}
}

func testLostEvents(t *testing.T, tag string, bufSize, conns int) {
	n := netnstest.NewNAT(t, "fco"+tag, false)
	// Entries that stay put while the table is compared with the kernel.
	longTimeouts(t, n)
	var tb *Table
	err := netnstest.Do(n.R, func() error {
		var err error
		tb, err = Open(Config{ReadBuffer: bufSize, StatsEvery: -1})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	srv := netnstest.Start(t, n.S, burstServerPy)
	srv.Expect(t, "listening")
	cli := netnstest.Start(t, n.C, burstClientPy, strconv.Itoa(conns))
	cli.Expect(t, "done")
	if !netnstest.Poll(20*time.Second, func() bool { s := tb.Stats(); return s.Lost > 0 && s.Resyncs > 0 }) {
		t.Fatalf("no lost events or no resync: %+v", tb.Stats())
	}
	// Let the last resync finish, then every entry the kernel has must be
	// live in the table.
	settle(tb)
	flows, err := tb.query.Dump(nil)
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for i := range flows {
		r, ok := fromFlow(&flows[i], time.Now())
		if !ok {
			continue
		}
		if f, ok := tb.Find(r.Orig.Src, r.Orig.Dst); !ok || !f.Live() {
			missing++
		}
	}
	inKernel := make(map[key]bool)
	for i := range flows {
		if r, ok := fromFlow(&flows[i], time.Now()); ok {
			inKernel[dirKey(r.Orig)] = true
		}
	}
	stale := 0
	tb.t.mu.Lock()
	for k, p := range tb.t.live {
		if k == dirKey(p.Orig) && !inKernel[k] {
			stale++
			if stale < 4 {
				t.Logf("stale %+v", p.Found)
			}
		}
	}
	tb.t.mu.Unlock()
	s := tb.Stats()
	t.Logf("%d entries in the kernel, %d missing from the table, %d stale; stats %+v", len(flows), missing, stale, s)
	if missing > 0 || stale > 0 || s.Err != nil || len(flows) < conns*9/10 {
		t.Errorf("after resync, of %d entries (%d made) %d are not live in the table, %d live in the table are not in the kernel; stats %+v",
			len(flows), conns, missing, stale, s)
	}
}

// TestEventCost measures the live path: a burst of connections through the
// NAT, the events the table applied, the wall time from the first to the
// last, and the CPU this process spent meanwhile (the table's receive,
// decode and apply; the load runs in other processes).
func TestEventCost(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	n := netnstest.NewNAT(t, "fcc", false)
	longTimeouts(t, n)
	tb := openIn(t, n.R)
	srv := netnstest.Start(t, n.S, burstServerPy)
	srv.Expect(t, "listening")
	const conns = 3000
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	t0 := time.Now()
	cli := netnstest.Start(t, n.C, burstClientPy, strconv.Itoa(conns))
	cli.Expect(t, "done")
	// Each connection: NEW, then UPDATEs (SYN_RECV, ESTABLISHED, FIN_WAIT,
	// ..., TIME_WAIT); wait until the table is quiet.
	settle(tb)
	el := time.Since(t0)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) +
		syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
	s := tb.Stats()
	t.Logf("%d connections: %d events in %v (%.0f/s offered), CPU %v (%v per event); lost %d, live %d",
		conns, s.Events, el.Round(time.Millisecond), float64(s.Events)/el.Seconds(), cpu.Round(time.Millisecond),
		(cpu / time.Duration(max(s.Events, 1))).Round(100*time.Nanosecond), s.Lost, s.Live)
	t.Logf("stats %+v", s)
	if s.Live != conns {
		t.Errorf("live entries %d, want %d", s.Live, conns)
	}
}

// settle waits until the table's counters stay put for longer than a
// maintain tick (a resync after drops comes at the next tick).
func settle(tb *Table) {
	var last Stats
	netnstest.Poll(30*time.Second, func() bool {
		s := tb.Stats()
		quiet := s.Events == last.Events && s.Resyncs == last.Resyncs && s.Lost == last.Lost &&
			s.Live == last.Live && s.Events > 0 && len(tb.resync) == 0
		last = s
		time.Sleep(1200 * time.Millisecond)
		return quiet
	})
}

// longTimeouts undoes newNAT's short timeouts: entries stay put.
func longTimeouts(t *testing.T, n *netnstest.NAT) {
	for _, s := range []string{"time_wait", "close", "last_ack", "fin_wait", "close_wait"} {
		netnstest.Run(t, n.R, "sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_timeout_"+s+"=120")
	}
}
