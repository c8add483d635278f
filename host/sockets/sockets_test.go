package sockets

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"finwave/host"
	"finwave/internal/netnstest"
)

// The test binary doubles as the processes the tests attribute sockets to:
// with FS_SOCKETS_HELPER set it runs that helper instead of the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("FS_SOCKETS_HELPER"); mode != "" {
		if err := helper(mode); err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: %v\n", mode, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const (
	leakPort4 = 7001 // the leaking server's IPv4-only listener
	leakPort6 = 7002 // its dual-stack listener (IPv4 peers appear as ::ffff:a.b.c.d)
)

func helper(mode string) error {
	switch mode {
	case "leak":
		return leakServer()
	case "drop":
		return dropHelper()
	case "hold":
		// Hold the descriptors inherited (ExtraFiles) until stdin closes.
		io.Copy(io.Discard, os.Stdin)
		return nil
	}
	return fmt.Errorf("unknown mode")
}

// leakServer accepts connections and never reads or closes them: once the
// peers close, its sockets sit in CLOSE_WAIT. It prints "ready PID" once
// listening and exits when stdin closes.
func leakServer() error {
	l4, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", leakPort4))
	if err != nil {
		return err
	}
	l6, err := net.Listen("tcp", fmt.Sprintf(":%d", leakPort6))
	if err != nil {
		return err
	}
	var held []net.Conn
	conns := make(chan net.Conn)
	for _, l := range []net.Listener{l4, l6} {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				conns <- c
			}
		}()
	}
	go func() {
		for c := range conns {
			held = append(held, c)
		}
	}()
	fmt.Printf("ready %d\n", os.Getpid())
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// leak is a running leakServer.
type leak struct {
	pid   int
	stdin io.WriteCloser
}

func startLeak(t *testing.T, ns string) *leak {
	t.Helper()
	cmd := netnstest.Command(ns, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FS_SOCKETS_HELPER=leak")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var pid int
	if _, serr := fmt.Sscanf(line, "ready %d", &pid); err != nil || serr != nil {
		t.Fatalf("leak helper: %q, %v %v", line, err, serr)
	}
	return &leak{pid: pid, stdin: stdin}
}

// connectAndClose opens connections from namespace ns to each address,
// sends "hello" on each, and closes them: the peer, which never closes,
// is left in CLOSE_WAIT with the bytes and the FIN unread.
func connectAndClose(t *testing.T, ns string, addrs ...string) {
	t.Helper()
	err := netnstest.Do(ns, func() error {
		for _, a := range addrs {
			c, err := net.DialTimeout("tcp", a, 5*time.Second)
			if err != nil {
				return err
			}
			if _, err := c.Write([]byte("hello")); err != nil {
				return err
			}
			c.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// openIn opens a Resolver in namespace ns.
func openIn(t testing.TB, ns string, opts Options) *Resolver {
	t.Helper()
	var r *Resolver
	err := netnstest.Do(ns, func() (err error) {
		r, err = Open(opts)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// poll calls f until it returns "" or the deadline passes, then fails with
// f's last complaint.
func poll(t *testing.T, f func() string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msg := f()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func closeWaits(r *Resolver, ports ...uint16) map[host.Tuple]Attribution {
	out := make(map[host.Tuple]Attribution)
	r.Sockets(func(a Attribution) {
		for _, p := range ports {
			if a.Socket.State == host.CloseWait && a.Tuple.Local.Port() == p {
				out[a.Tuple] = a
			}
		}
	})
	return out
}

// ssOwner is one line of `ss -tanpH state close-wait`.
type ssOwner struct {
	comm  string
	pid   int
	recvQ uint32
}

var ssLine = regexp.MustCompile(`^(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+users:\(\("([^"]*)",pid=(\d+),`)

// ssCloseWait runs ss inside ns and returns its CLOSE_WAIT sockets by tuple.
func ssCloseWait(t *testing.T, ns string) map[host.Tuple]ssOwner {
	t.Helper()
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("needs iproute2's ss for the cross-check")
	}
	out := netnstest.Run(t, ns, "ss", "-tanpH", "state", "close-wait")
	m := make(map[host.Tuple]ssOwner)
	for line := range strings.Lines(out) {
		f := ssLine.FindStringSubmatch(strings.TrimSpace(line))
		if f == nil {
			t.Fatalf("ss line not understood: %q", line)
		}
		l, err1 := netip.ParseAddrPort(f[3])
		r, err2 := netip.ParseAddrPort(f[4])
		if err1 != nil || err2 != nil {
			t.Fatalf("ss line %q: %v %v", line, err1, err2)
		}
		rq, _ := strconv.Atoi(f[1])
		pid, _ := strconv.Atoi(f[6])
		m[host.Tuple{Local: l, Remote: r}.Unmap()] = ssOwner{comm: f[5], pid: pid, recvQ: uint32(rq)}
	}
	return m
}

var leakPeers = []string{
	"192.0.2.1:7001", "192.0.2.1:7001", "192.0.2.1:7001", "192.0.2.1:7001", // IPv4 listener
	"[2001:db8::1]:7002", "[2001:db8::1]:7002", "[2001:db8::1]:7002", // IPv6
	"192.0.2.1:7002", "192.0.2.1:7002", // IPv4 to the dual-stack listener: ::ffff:192.0.2.1
}

// TestCloseWaitLeak: a process in a namespace accepts connections and
// never closes them while its peers close; the Resolver opened in that
// namespace attributes its CLOSE_WAIT sockets (IPv4, IPv6, IPv4-mapped) by
// pid and comm as ss -tanp does, and the summary counts them.
func TestCloseWaitLeak(t *testing.T) {
	p := netnstest.NewPair(t, "fs")
	srv := startLeak(t, p.A)
	connectAndClose(t, p.B, leakPeers...)
	r := openIn(t, p.A, Options{MinInterval: -1})
	if st := r.Stats(); st.Source != "sock_diag" {
		if strings.Contains(st.Fallback, "protocol not supported") {
			t.Skipf("this kernel has no sock_diag for TCP (CONFIG_INET_DIAG): %s", st.Fallback)
		}
		t.Fatalf("source %q (fallback: %s), want sock_diag", st.Source, st.Fallback)
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", srv.pid))
	if err != nil {
		t.Fatal(err)
	}
	wantComm := strings.TrimSpace(string(comm))
	var got map[host.Tuple]Attribution
	poll(t, func() string {
		if _, err := r.Refresh(); err != nil {
			return err.Error()
		}
		got = closeWaits(r, leakPort4, leakPort6)
		owned := 0
		for _, a := range got {
			if a.Status == Owned {
				owned++
			}
		}
		if len(got) != len(leakPeers) || owned != len(got) {
			return fmt.Sprintf("%d CLOSE_WAIT sockets, %d owned; want %d owned: %v", len(got), owned, len(leakPeers), got)
		}
		return ""
	})
	var v6, mapped int
	for tu, a := range got {
		if a.Owner.PID != srv.pid || a.Owner.Comm != wantComm {
			t.Errorf("%v: owner %s (pid %d), want %s pid %d", tu, a.Owner.Comm, a.Owner.PID, wantComm, srv.pid)
		}
		if a.Owner.Inode == 0 || !a.Live {
			t.Errorf("%v: inode %d live %v", tu, a.Owner.Inode, a.Live)
		}
		switch {
		case tu.Local.Addr().Is6():
			v6++
		case tu.Local.Port() == leakPort6:
			mapped++
		}
	}
	if v6 != 3 || mapped != 2 {
		t.Errorf("%d IPv6 and %d IPv4-mapped sockets, want 3 and 2", v6, mapped)
	}
	// Cross-check with ss -tanp in the namespace: the same sockets, the
	// same process, the same Recv-Q.
	ss := ssCloseWait(t, p.A)
	if len(ss) != len(got) {
		t.Errorf("ss lists %d CLOSE_WAIT sockets, the resolver %d", len(ss), len(got))
	}
	for tu, o := range ss {
		a, ok := got[tu]
		switch {
		case !ok:
			t.Errorf("ss lists %v (%s pid %d), the resolver does not", tu, o.comm, o.pid)
		case a.Owner.PID != o.pid || a.Owner.Comm != o.comm || a.Socket.RecvQ != o.recvQ:
			t.Errorf("%v: resolver %s pid %d Recv-Q %d, ss %s pid %d Recv-Q %d", tu, a.Owner.Comm, a.Owner.PID, a.Socket.RecvQ, o.comm, o.pid, o.recvQ)
		}
	}
	// Lookup by either naming of the pair finds the socket.
	for tu := range got {
		if a := r.Lookup(tu.Reverse()); a.Status != Owned || a.Tuple != tu {
			t.Errorf("Lookup(%v reversed) = %v %v", tu, a.Status, a.Tuple)
		}
	}
	sum := r.Summary(host.CloseWait)
	if len(sum) != 1 || sum[0].Owner.PID != srv.pid || sum[0].Sockets != len(leakPeers) {
		t.Fatalf("summary %v, want %d CLOSE_WAIT held by pid %d", sum, len(leakPeers), srv.pid)
	}
	want := fmt.Sprintf("%d CLOSE_WAIT sockets held by %s, pid %d", len(leakPeers), wantComm, srv.pid)
	if sum[0].String() != want {
		t.Errorf("summary %q, want %q", sum[0], want)
	}
	t.Log(sum[0], "; Recv-Q", sum[0].RecvQ)

	// /proc/net/tcp{,6} gives the same sockets.
	t.Run("procnet", func(t *testing.T) {
		rp := openIn(t, p.A, Options{ProcNet: true})
		if st := rp.Stats(); st.Source != "/proc/net/tcp" {
			t.Fatalf("source %q", st.Source)
		}
		pgot := closeWaits(rp, leakPort4, leakPort6)
		if len(pgot) != len(got) {
			t.Fatalf("/proc/net/tcp: %d CLOSE_WAIT sockets, netlink %d", len(pgot), len(got))
		}
		for tu, a := range got {
			b := pgot[tu]
			if b.Socket.Inode != a.Socket.Inode || b.Socket.RecvQ != a.Socket.RecvQ || b.Owner.PID != a.Owner.PID || b.Socket.UID != a.Socket.UID {
				t.Errorf("%v: /proc/net/tcp %+v, netlink %+v", tu, b.Socket, a.Socket)
			}
		}
	})
}

// TestGoneAndRemembered: a socket that closed before any dump is Gone;
// one first dumped in TIME_WAIT is Unattributed (closed by its process);
// one attributed and then closed keeps its owner, through TIME_WAIT and
// after it is gone; a socket two processes hold counts the other one.
func TestGoneAndRemembered(t *testing.T) {
	p := netnstest.NewPair(t, "fs")
	var ln *net.TCPListener
	if err := netnstest.Do(p.A, func() (err error) {
		l, err := net.Listen("tcp4", netnstest.AddrA+":7100")
		ln, _ = l.(*net.TCPListener)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// dial connects from B and returns both ends, with the server's tuple.
	dial := func() (server, client *net.TCPConn, tu host.Tuple) {
		t.Helper()
		err := netnstest.Do(p.B, func() error {
			c, err := net.DialTimeout("tcp", netnstest.AddrA+":7100", 5*time.Second)
			if err != nil {
				return err
			}
			client = c.(*net.TCPConn)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		tu = host.Tuple{Local: s.LocalAddr().(*net.TCPAddr).AddrPort(), Remote: s.RemoteAddr().(*net.TCPAddr).AddrPort()}.Unmap()
		return s, client, tu
	}
	abort := func(c *net.TCPConn) { c.SetLinger(0); c.Close() } // RST: the socket is freed at once

	since := time.Now()
	s1, c1, gone := dial()
	abort(s1)
	c1.Close()

	r := openIn(t, p.A, Options{MinInterval: -1})
	if a := r.Lookup(gone); a.Status != Unseen {
		t.Errorf("Lookup of a socket closed before the first dump: %v, want unseen", a.Status)
	}
	if a, err := r.Resolve(gone, since); err != nil || a.Status != Gone {
		t.Errorf("Resolve of a socket closed before the first dump: %v %v, want gone", a.Status, err)
	} else {
		t.Log(gone, a)
	}
	self := os.Getpid()

	// Attributed, then aborted: remembered.
	s2, c2, kept := dial()
	if _, err := r.Refresh(); err != nil {
		t.Fatal(err)
	}
	if a := r.Lookup(kept); a.Status != Owned || a.Owner.PID != self || !a.Live {
		t.Fatalf("live socket: %v %+v", a.Status, a)
	}
	abort(s2)
	c2.Close()
	poll(t, func() string {
		r.Refresh()
		if a := r.Lookup(kept); a.Status != Owned || a.Owner.PID != self || a.Live {
			return fmt.Sprintf("aborted socket: %v pid %d live %v, want owned by %d, not live", a.Status, a.Owner.PID, a.Live, self)
		}
		return ""
	})

	// Attributed, then closed first by the server: its TIME_WAIT sock
	// keeps the owner, with the TIME_WAIT timer.
	s3, c3, tw := dial()
	r.Refresh()
	s3.Close()
	io.Copy(io.Discard, c3)
	c3.Close()
	poll(t, func() string {
		r.Refresh()
		a := r.Lookup(tw)
		if a.Socket.State != host.TimeWait || a.Status != Owned || a.Owner.PID != self || !a.Live {
			return fmt.Sprintf("TIME_WAIT of an attributed socket: %v %v pid %d live %v", a.Socket.State, a.Status, a.Owner.PID, a.Live)
		}
		if a.Owner.Inode == 0 {
			return "TIME_WAIT sock of an attributed socket lost the socket's inode"
		}
		if a.Socket.Timer != TimerTimeWait || a.Socket.Expires <= 0 || a.Socket.Expires > 60*time.Second {
			return fmt.Sprintf("TIME_WAIT timer %v %v", a.Socket.Timer, a.Socket.Expires)
		}
		return ""
	})

	// Closed first by the server before any dump: first seen in TIME_WAIT,
	// without an inode.
	s4, c4, closed := dial()
	s4.Close()
	io.Copy(io.Discard, c4)
	c4.Close()
	poll(t, func() string {
		r.Refresh()
		a := r.Lookup(closed)
		if a.Socket.State != host.TimeWait || a.Status != Unattributed || a.Reason != Closed {
			return fmt.Sprintf("socket closed before its first dump: %v %v %v", a.Socket.State, a.Status, a.Reason)
		}
		return ""
	})

	// Connected but not accepted: in the listener's accept queue, no
	// process holds it yet.
	var queued host.Tuple
	if err := netnstest.Do(p.B, func() error {
		c, err := net.DialTimeout("tcp", netnstest.AddrA+":7100", 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		queued = host.Tuple{Local: c.LocalAddr().(*net.TCPAddr).AddrPort(), Remote: c.RemoteAddr().(*net.TCPAddr).AddrPort()}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	poll(t, func() string {
		r.Refresh()
		a := r.Lookup(queued)
		if a.Tuple != queued.Reverse() || a.Status != Unattributed || a.Reason != Unaccepted {
			return fmt.Sprintf("unaccepted socket %v: %v %v %v", queued.Reverse(), a.Tuple, a.Status, a.Reason)
		}
		return ""
	})

	// The listener, shared with a child through an inherited descriptor.
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "FS_SOCKETS_HELPER=hold")
	child.ExtraFiles = []*os.File{f}
	stdin, _ := child.StdinPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); child.Wait() }()
	f.Close()
	listener := host.Tuple{Local: netip.MustParseAddrPort(netnstest.AddrA + ":7100"), Remote: netip.MustParseAddrPort("0.0.0.0:0")}
	// The listener was attributed at Open with no sharer; a new Resolver
	// scans afresh.
	r2 := openIn(t, p.A, Options{})
	a := r2.Lookup(listener)
	if a.Status != Owned || a.Shared != 1 || (a.Owner.PID != self && a.Owner.PID != child.Process.Pid) {
		t.Errorf("shared listener: %v pid %d shared %d, want owned by %d or %d with 1 other", a.Status, a.Owner.PID, a.Shared, self, child.Process.Pid)
	}
}

// TestFallbackAndRemember: a sock_diag dump that fails moves the Resolver
// to /proc/net/tcp for good, saying why; past Options.Remember gone
// sockets, the oldest are forgotten.
func TestFallbackAndRemember(t *testing.T) {
	p := netnstest.NewPair(t, "fs")
	var ln net.Listener
	if err := netnstest.Do(p.A, func() (err error) {
		ln, err = net.Listen("tcp4", netnstest.AddrA+":7200")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := openIn(t, p.A, Options{MinInterval: -1, Remember: 1})
	var tuples []host.Tuple
	var conns []net.Conn
	for range 3 {
		err := netnstest.Do(p.B, func() error {
			c, err := net.DialTimeout("tcp", netnstest.AddrA+":7200", 5*time.Second)
			if err != nil {
				return err
			}
			conns = append(conns, c)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, s)
		tuples = append(tuples, host.Tuple{Local: s.LocalAddr().(*net.TCPAddr).AddrPort(), Remote: s.RemoteAddr().(*net.TCPAddr).AddrPort()})
	}
	// Break the netlink socket: the next dump fails and falls back.
	unix.Close(r.diag.fd)
	r.diag.fd = -1
	if _, err := r.Refresh(); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Source != "/proc/net/tcp" || !strings.Contains(st.Fallback, "bad file descriptor") {
		t.Fatalf("after a failed dump: source %q, fallback %q", st.Source, st.Fallback)
	}
	for _, tu := range tuples {
		if a := r.Lookup(tu); a.Status != Owned || a.Owner.PID != os.Getpid() {
			t.Fatalf("%v from /proc/net/tcp: %v", tu, a)
		}
	}
	for _, c := range conns {
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	poll(t, func() string {
		r.Refresh()
		remembered := 0
		for _, tu := range tuples {
			a := r.Lookup(tu)
			if a.Live {
				return fmt.Sprintf("%v still live", tu)
			}
			if a.Status == Owned {
				remembered++
			}
		}
		if remembered != 1 || r.Stats().Gone != 1 {
			return fmt.Sprintf("%d gone sockets remembered (%d kept), want 1", remembered, r.Stats().Gone)
		}
		return ""
	})
}
