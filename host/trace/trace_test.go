package trace

import (
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"finwave/host"
	"finwave/internal/netnstest"
)

var (
	addrA = netip.MustParseAddr(netnstest.AddrA)
	addrB = netip.MustParseAddr(netnstest.AddrB)
)

// connectPair connects a client in A to a server in B across the veth pair
// and returns both ends with the client's tuple.
func connectPair(t *testing.T, p *netnstest.Pair) (client, server interface {
	io.ReadWriteCloser
}, tu host.Tuple) {
	t.Helper()
	ln := listen(t, p.B, netnstest.AddrB+":0")
	c := dial(t, p.A, ln.Addr().String())
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return c, s, host.Tuple{Local: addrPort(c.LocalAddr()), Remote: addrPort(c.RemoteAddr())}
}

// TestStatesActiveClose: a client connects across the veth pair, sends,
// and closes first. The kernel traces the client's socket through
// SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2 and then at once CLOSE: the
// socket is orphaned (close(2)), so when the ACK of its FIN arrives
// tcp_rcv_state_process hands it to tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)
// (net/ipv4/tcp_input.c, tcp_minisocks.c): the full socket is done
// (tcp_done → TCP_CLOSE) and an inet_timewait_sock takes its place, in
// substate FIN_WAIT2 and then TIME_WAIT when the peer's FIN comes, with no
// inet_sock_set_state of its own. ss shows that timewait sock as
// FIN-WAIT-2, then TIME-WAIT. The server goes ESTABLISHED, CLOSE_WAIT,
// LAST_ACK, CLOSE. ss agrees at each pause.
func TestStatesActiveClose(t *testing.T) {
	p := netnstest.NewPair(t, prefix)
	tr := openTracer(t, p.A, p.B)
	col := collect(t, tr)
	start := time.Now()

	c, s, tu := connectPair(t, p)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if _, err := io.ReadFull(s, buf[:5]); err != nil {
		t.Fatal(err)
	}
	isClient := func(ev host.Event) bool {
		// connect() traces CLOSE→SYN_SENT before the port is chosen:
		// its local port is still 0 (inet_hash_connect comes after).
		return ev.Kind == host.StateChange && ev.Tuple.Remote == tu.Remote &&
			(ev.Tuple.Local == tu.Local || ev.Tuple.Local == netip.AddrPortFrom(tu.Local.Addr(), 0))
	}
	isServer := func(ev host.Event) bool { return ev.Kind == host.StateChange && ev.Tuple == tu.Reverse() }

	c.Close()
	if n, err := s.Read(buf); err != io.EOF {
		t.Fatalf("server read %d, %v; want EOF", n, err)
	}
	col.waitFor(t, "server CLOSE_WAIT", isServer, func(e []host.Event) bool { return endsWith(e, "ESTABLISHED→CLOSE_WAIT") })
	col.waitFor(t, "client FIN_WAIT2", isClient, func(e []host.Event) bool { return endsWith(e, "FIN_WAIT1→FIN_WAIT2", "FIN_WAIT2→CLOSE") })
	if got := ssState(t, p.B, tu.Reverse()); got != "CLOSE-WAIT" {
		t.Errorf("ss in B: server socket %q, traced CLOSE_WAIT", got)
	}
	if got := ssState(t, p.A, tu); got != "FIN-WAIT-2" {
		t.Errorf("ss in A: client socket %q, traced FIN_WAIT2 then the timewait sock", got)
	}

	s.Close()
	client := col.waitFor(t, "client's end", isClient, func(e []host.Event) bool { return endsWith(e, "FIN_WAIT2→CLOSE") })
	server := col.waitFor(t, "server's end", isServer, func(e []host.Event) bool { return endsWith(e, "LAST_ACK→CLOSE") })
	if got := ssState(t, p.A, tu); got != "TIME-WAIT" {
		t.Errorf("ss in A: client socket %q after FIN_WAIT2→CLOSE, want TIME-WAIT (the timewait sock)", got)
	}
	if got := ssState(t, p.B, tu.Reverse()); got != "" {
		t.Errorf("ss in B: server socket still %q after LAST_ACK→CLOSE", got)
	}

	wantClient := []string{"CLOSE→SYN_SENT", "SYN_SENT→ESTABLISHED", "ESTABLISHED→FIN_WAIT1", "FIN_WAIT1→FIN_WAIT2", "FIN_WAIT2→CLOSE"}
	wantServer := []string{"LISTEN→SYN_RECV", "SYN_RECV→ESTABLISHED", "ESTABLISHED→CLOSE_WAIT", "CLOSE_WAIT→LAST_ACK", "LAST_ACK→CLOSE"}
	if got := transitions(client); !slices.Equal(got, wantClient) {
		t.Errorf("client transitions\n got %v\nwant %v", got, wantClient)
	}
	if got := transitions(server); !slices.Equal(got, wantServer) {
		t.Errorf("server transitions\n got %v\nwant %v", got, wantServer)
	}
	for _, ev := range append(client, server...) {
		t.Log(evString(ev))
		if ev.Time.Before(start.Add(-time.Second)) || ev.Time.After(time.Now().Add(time.Second)) {
			t.Errorf("event time %v outside the test's run (%v to now): the BPF clock's conversion is off", ev.Time, start)
		}
	}
	// close(2) made ESTABLISHED→FIN_WAIT1 in this process (tcp_close).
	fw1 := client[2]
	if fw1.PID != uint32(os.Getpid()) || !strings.HasPrefix("trace.test", fw1.Comm) || fw1.Comm == "" {
		t.Errorf("ESTABLISHED→FIN_WAIT1 by pid %d %q, want this process %d", fw1.PID, fw1.Comm, os.Getpid())
	}
}

// TestResetNoSocket: a SYN to a closed port is answered by a RST the kernel
// sends with reason NO_SOCKET (tcp_v4_rcv → tcp_v4_send_reset), the SYN is
// dropped with drop reason NO_SOCKET (kfree_skb), and the client traces
// tcp_receive_reset, SYN_SENT→CLOSE.
func TestResetNoSocket(t *testing.T) {
	p := netnstest.NewPair(t, prefix)
	tr := openTracer(t, p.A, p.B)
	col := collect(t, tr)

	ln := listen(t, p.B, netnstest.AddrB+":0")
	closed := ln.Addr().String()
	ln.Close()
	var port uint16
	inNS(t, p.A, func() error {
		c, err := dialErr(closed)
		if err == nil {
			c.Close()
			t.Errorf("connect to closed port %s succeeded", closed)
		}
		return nil
	})
	port = netip.MustParseAddrPort(closed).Port()
	server := netip.AddrPortFrom(addrB, port)

	sent := col.waitFor(t, "the RST B sent", func(ev host.Event) bool {
		return ev.Kind == host.SendReset && ev.Tuple.Local == server
	}, nonEmpty)
	rst := sent[0]
	t.Log(evString(rst))
	if rst.Reason != "NO_SOCKET" || rst.New != 0 || rst.Tuple.Remote.Addr() != addrA {
		t.Errorf("send-reset %s, want reason NO_SOCKET, no socket state, remote %s", evString(rst), addrA)
	}
	client := rst.Tuple.Reverse()
	recv := col.waitFor(t, "the RST A received", func(ev host.Event) bool {
		return ev.Kind == host.ReceiveReset && ev.Tuple == client
	}, nonEmpty)
	t.Log(evString(recv[0]))
	col.waitFor(t, "client SYN_SENT→CLOSE", func(ev host.Event) bool {
		return ev.Kind == host.StateChange && ev.Tuple == client
	}, func(e []host.Event) bool { return endsWith(e, "SYN_SENT→CLOSE") })
	drop := col.waitFor(t, "the SYN dropped in B", func(ev host.Event) bool {
		return ev.Kind == host.Drop && ev.Tuple == rst.Tuple
	}, nonEmpty)
	t.Log(evString(drop[0]))
	if drop[0].Reason != "NO_SOCKET" {
		t.Errorf("drop reason %q, want NO_SOCKET", drop[0].Reason)
	}
}

func nonEmpty(e []host.Event) bool { return len(e) > 0 }

// TestResetLinger: close with SO_LINGER 0 aborts the connection: the client
// sends a RST with the kernel's reason (tcp_close → tcp_disconnect →
// tcp_send_active_reset), the server receives it.
func TestResetLinger(t *testing.T) {
	p := netnstest.NewPair(t, prefix)
	tr := openTracer(t, p.A, p.B)
	col := collect(t, tr)
	c, _, tu := connectPair(t, p)
	if err := c.(interface{ SetLinger(int) error }).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	c.Close()
	sent := col.waitFor(t, "the client's RST", func(ev host.Event) bool {
		return ev.Kind == host.SendReset && ev.Tuple == tu
	}, nonEmpty)
	t.Logf("SO_LINGER 0 close: %s", evString(sent[0]))
	f, err := readFormat("tcp", "tcp_send_reset")
	if err != nil {
		t.Fatal(err)
	}
	names := f.symbols("reason")
	known := false
	for _, n := range names {
		known = known || n == sent[0].Reason
	}
	if !known || sent[0].Reason == "NOT_SPECIFIED" {
		t.Errorf("reason %q is not a specific one of the format's list %v", sent[0].Reason, names)
	}
	// tcp_disconnect sets TCP_CLOSE before tcp_send_active_reset
	// (net/ipv4/tcp.c): the RST leaves a socket already CLOSE, and the
	// state change comes first.
	if sent[0].New != host.Close {
		t.Errorf("RST sent in state %v, want CLOSE (tcp_disconnect)", sent[0].New)
	}
	ch := col.waitFor(t, "ESTABLISHED→CLOSE", func(ev host.Event) bool {
		return ev.Kind == host.StateChange && ev.Tuple == tu
	}, func(e []host.Event) bool { return endsWith(e, "ESTABLISHED→CLOSE") })
	if last := ch[len(ch)-1]; last.Time.After(sent[0].Time) {
		t.Errorf("state change at %v after the RST at %v", last.Time, sent[0].Time)
	}
	col.waitFor(t, "the server's receive-reset", func(ev host.Event) bool {
		return ev.Kind == host.ReceiveReset && ev.Tuple == tu.Reverse()
	}, nonEmpty)
}
