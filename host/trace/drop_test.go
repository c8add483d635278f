package trace

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"finwave/host"
	"finwave/internal/netnstest"
)

// TestDropOutOfWindow: a segment injected with a raw socket whose sequence
// number is 2^30 past what the server expects is dropped by
// tcp_validate_incoming with drop reason TCP_INVALID_SEQUENCE
// (tcp_sequence: after(seq, rcv_nxt + tcp_receive_window)). The server's
// rcv_nxt is read from the acknowledgment number of a segment it sends,
// captured with a packet socket in A.
func TestDropOutOfWindow(t *testing.T) {
	p := netnstest.NewPair(t, prefix)
	tr := openTracer(t, p.A, p.B)
	col := collect(t, tr)
	c, s, tu := connectPair(t, p)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := s.Read(buf); err != nil {
		t.Fatal(err)
	}

	var pfd int
	inNS(t, p.A, func() error {
		ifi, err := net.InterfaceByName(p.VethA)
		if err != nil {
			return err
		}
		pfd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM, int(htons(unix.ETH_P_IP)))
		if err != nil {
			return err
		}
		return unix.Bind(pfd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index})
	})
	defer unix.Close(pfd)
	tv := unix.NsecToTimeval(int64(10 * time.Second))
	if err := unix.SetsockoptTimeval(pfd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	// The server's segment carrying "x": seq is its snd_nxt-1, ack its rcv_nxt.
	var seq, ack uint32
	pkt := make([]byte, 2048)
	for seq == 0 && ack == 0 {
		n, _, err := unix.Recvfrom(pfd, pkt, 0)
		if err != nil {
			t.Fatalf("capturing the server's segment: %v", err)
		}
		ip := pkt[:n]
		if n < 40 || ip[9] != unix.IPPROTO_TCP {
			continue
		}
		ihl := int(ip[0]&15) * 4
		tcp := ip[ihl:]
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[12:16])), binary.BigEndian.Uint16(tcp))
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[16:20])), binary.BigEndian.Uint16(tcp[2:]))
		payload := int(binary.BigEndian.Uint16(ip[2:])) - ihl - int(tcp[12]>>4)*4
		if src == tu.Remote && dst == tu.Local && payload > 0 {
			seq, ack = binary.BigEndian.Uint32(tcp[4:])+uint32(payload), binary.BigEndian.Uint32(tcp[8:])
		}
	}

	seg := tcpSegment(tu.Local, tu.Remote, ack+1<<30, seq, 0x18 /* PSH|ACK */, []byte("out of window"))
	inNS(t, p.A, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Sendto(fd, seg, 0, &unix.SockaddrInet4{Addr: tu.Remote.Addr().As4()})
	})
	drop := col.waitFor(t, "the injected segment's drop", func(ev host.Event) bool {
		return ev.Kind == host.Drop && ev.Tuple == tu.Reverse()
	}, nonEmpty)
	t.Log(evString(drop[0]))
	if drop[0].Reason != "TCP_INVALID_SEQUENCE" {
		t.Errorf("drop reason %q, want TCP_INVALID_SEQUENCE", drop[0].Reason)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// TestRetransmit: with the server's namespace dropping everything from the
// client (iptables), the client's data is retransmitted
// (tcp_retransmit_skb), and each copy is dropped by netfilter with drop
// reason NETFILTER_DROP.
func TestRetransmit(t *testing.T) {
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables to drop segments in a namespace")
	}
	p := netnstest.NewPair(t, prefix)
	tr := openTracer(t, p.A, p.B)
	col := collect(t, tr)
	c, _, tu := connectPair(t, p)
	if out, err := netnstest.Command(p.B, "iptables", "-I", "INPUT", "-p", "tcp", "-s", netnstest.AddrA, "-j", "DROP").CombinedOutput(); err != nil {
		t.Skipf("iptables in a namespace: %v: %s", err, out)
	}
	if _, err := c.Write([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	re := col.waitFor(t, "a retransmission", func(ev host.Event) bool {
		return ev.Kind == host.Retransmit && ev.Tuple == tu
	}, nonEmpty)
	t.Log(evString(re[0]))
	if re[0].New != host.Established {
		t.Errorf("retransmitted in state %v, want ESTABLISHED", re[0].New)
	}
	drop := col.waitFor(t, "netfilter's drops", func(ev host.Event) bool {
		return ev.Kind == host.Drop && ev.Tuple == tu.Reverse()
	}, func(e []host.Event) bool { return len(e) >= 2 })
	for _, d := range drop {
		if d.Reason != "NETFILTER_DROP" {
			t.Errorf("drop %s: want reason NETFILTER_DROP", evString(d))
		}
	}
}

// TestNamespaceFilter: a tracer for namespace A delivers A's events and
// none of B's, though B's happen first; and no drop of a UDP datagram.
func TestNamespaceFilter(t *testing.T) {
	p := netnstest.NewPair(t, prefix)
	tr := openTracer(t, p.A)
	col := collect(t, tr)
	// B's server listens on a port below the ephemeral range, which no
	// socket of A uses.
	loop := func(ns, addr string) host.Tuple {
		ln := listen(t, ns, addr)
		c := dial(t, ns, ln.Addr().String())
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		tu := host.Tuple{Local: addrPort(c.LocalAddr()), Remote: addrPort(c.RemoteAddr())}
		c.Close()
		s.Close()
		ln.Close()
		return tu
	}
	inB := loop(p.B, "127.0.0.1:2001")
	// A RST and a drop in B too: a connect to B's closed port.
	inNS(t, p.B, func() error {
		if c, err := dialErr(inB.Remote.String()); err == nil {
			c.Close()
		}
		return nil
	})
	// A UDP datagram to a closed port of A is dropped too (NO_SOCKET,
	// __udp4_lib_rcv) but is not TCP: the program leaves it out.
	inNS(t, p.A, func() error {
		u, err := net.Dial("udp", "127.0.0.1:2002")
		if err != nil {
			return err
		}
		defer u.Close()
		_, err = u.Write([]byte("not tcp"))
		return err
	})
	inA := loop(p.A, "127.0.0.1:0")
	col.waitFor(t, "A's server closing", func(ev host.Event) bool {
		return ev.Kind == host.StateChange && ev.Tuple == inA.Reverse()
	}, func(e []host.Event) bool { return endsWith(e, "LAST_ACK→CLOSE") })
	for _, ev := range col.events() {
		if ev.Tuple.Local.Port() == inB.Remote.Port() || ev.Tuple.Remote.Port() == inB.Remote.Port() {
			t.Errorf("event of namespace B delivered: %s", evString(ev))
		}
		if ev.Tuple.Local.Port() == 2002 {
			t.Errorf("a UDP drop delivered: %s", evString(ev))
		}
	}
}
