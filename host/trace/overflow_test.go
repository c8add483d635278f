package trace

import (
	"net/netip"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"

	"finwave/host"
	"finwave/internal/kstat"
	"finwave/internal/netnstest"
)

// TestDropListenOverflow: a listener with backlog 1 that never accepts
// has room for two connections (sk_acceptq_is_full: more than the backlog
// queued). One client connects; two more complete their handshakes on
// their side while iptables holds back their ACKs, so both wait as
// request sockets; then each sends data. The second becomes the queued
// child; the third's segment finds the accept queue full
// (tcp_v4_syn_recv_sock) and is dropped with reason TCP_LISTEN_OVERFLOW,
// which TcpExtListenOverflows counts too.
//
// A SYN that finds the queue full is counted by TcpExtListenOverflows but
// not traced by kfree_skb (seen on 6.18; tcp_conn_request gives up on it
// and tcp_rcv_state_process frees it with consume_skb), which is why the
// test holds the handshakes rather than sending SYNs to a full queue.
func TestDropListenOverflow(t *testing.T) {
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables to hold back the handshakes' ACKs")
	}
	p := netnstest.NewPair(t, prefix)
	tr := openTracer(t, p.A, p.B)
	col := collect(t, tr)
	server := netip.MustParseAddrPort(netnstest.AddrB + ":5555")
	var fd int
	inNS(t, p.B, func() (err error) {
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(server.Port()), Addr: server.Addr().As4()}); err != nil {
			return err
		}
		return unix.Listen(fd, 1)
	})
	defer unix.Close(fd)

	holdACKs := []string{"INPUT", "-p", "tcp", "--dport", "5555", "--tcp-flags", "SYN,ACK,FIN,RST", "ACK", "-j", "DROP"}
	if out, err := netnstest.Command(p.B, "iptables", append([]string{"-I"}, holdACKs...)...).CombinedOutput(); err != nil {
		t.Skipf("iptables in a namespace: %v: %s", err, out)
	}
	netnstest.Run(t, p.B, "iptables", append([]string{"-D"}, holdACKs...)...)
	dial(t, p.A, server.String())
	netnstest.Run(t, p.B, "iptables", append([]string{"-I"}, holdACKs...)...)
	first := dial(t, p.A, server.String())
	second := dial(t, p.A, server.String())
	netnstest.Run(t, p.B, "iptables", append([]string{"-D"}, holdACKs...)...)

	if _, err := first.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	firstTuple := host.Tuple{Local: server, Remote: addrPort(first.LocalAddr())}
	col.waitFor(t, "the first client's child socket", func(ev host.Event) bool {
		return ev.Kind == host.StateChange && ev.Tuple == firstTuple
	}, func(e []host.Event) bool { return endsWith(e, "SYN_RECV→ESTABLISHED") })

	if _, err := second.Write([]byte("second")); err != nil {
		t.Fatal(err)
	}
	secondTuple := host.Tuple{Local: server, Remote: addrPort(second.LocalAddr())}
	isOverflow := func(ev host.Event) bool {
		return ev.Kind == host.Drop && ev.Tuple == secondTuple && ev.Reason == "TCP_LISTEN_OVERFLOW"
	}
	drops := col.waitFor(t, "the second client's segment dropped on overflow", isOverflow, nonEmpty)
	t.Log(evString(drops[0]))

	// The second client aborts: no more retransmissions, and every
	// overflow the namespace counted was traced.
	second.SetLinger(0)
	second.Close()
	var counted int64
	col.waitFor(t, "as many drops traced as TcpExtListenOverflows", func(ev host.Event) bool {
		return ev.Kind == host.Drop && ev.Reason == "TCP_LISTEN_OVERFLOW"
	}, func(e []host.Event) bool {
		inNS(t, p.B, func() error {
			c, err := kstat.Snapshot("/proc/thread-self/net")
			counted = c["TcpExtListenOverflows"]
			return err
		})
		return int64(len(e)) == counted
	})
	t.Logf("%d listen overflow drops traced, TcpExtListenOverflows %d", counted, counted)
}
