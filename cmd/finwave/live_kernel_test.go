package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"finwave/internal/netnstest"
)

// liveKernelLine is the part of the "type":"live" object the kernel view
// tests read.
type liveKernelLine struct {
	Type     string `json:"type"`
	Counters *struct {
		Flows    int64 `json:"flows_local"`
		Foreign  int64 `json:"flows_foreign"`
		Differ   int   `json:"differ"`
		Counters []struct {
			Name   string `json:"name"`
			Kernel int64  `json:"kernel"`
			Min    uint32 `json:"predicted_min"`
			Max    uint32 `json:"predicted_max"`
			Agree  bool   `json:"agree"`
			Reason string `json:"reason"`
		} `json:"counters"`
	} `json:"kernel_counters"`
	CountersError *string `json:"kernel_counters_error"`
}

// runLive starts finwave live in namespace ns with args, runs traffic once
// it listens, waits settle, stops it with SIGINT and returns its JSON lines
// and stderr.
func runLive(t *testing.T, bin, ns string, args []string, traffic func(), settle time.Duration) (lines []string, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fw := netnstest.Command(ns, bin, append([]string{"live", "--json", "--status", "never"}, args...)...)
	stdout, _ := fw.StdoutPipe()
	errPipe, _ := fw.StderrPipe()
	if err := fw.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { <-ctx.Done(); fw.Process.Kill() }()
	errR := bufio.NewReader(errPipe)
	var errBuf bytes.Buffer
	for {
		l, err := errR.ReadString('\n')
		errBuf.WriteString(l)
		if err != nil {
			fw.Wait()
			t.Fatalf("finwave did not start: %v\n%s", err, errBuf.String())
		}
		if strings.Contains(l, "listening on") {
			break
		}
	}
	done := make(chan struct{})
	go func() { io.Copy(&errBuf, errR); close(done) }()
	out := make(chan []string, 1)
	go func() {
		var ls []string
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			ls = append(ls, sc.Text())
		}
		out <- ls
	}()
	traffic()
	time.Sleep(settle)
	if err := fw.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	lines = <-out
	<-done
	if err := fw.Wait(); err != nil {
		t.Fatalf("finwave after SIGINT: %v\n%s", err, errBuf.String())
	}
	return lines, errBuf.String()
}

// liveObject finds the "type":"live" line.
func liveObject(t *testing.T, lines []string) *liveKernelLine {
	t.Helper()
	for _, l := range lines {
		if strings.HasPrefix(l, `{"type":"live"`) {
			t.Logf("%s", l)
		}
		var v liveKernelLine
		if json.Unmarshal([]byte(l), &v) == nil && v.Type == "live" {
			return &v
		}
	}
	t.Fatalf("no live object in %q", lines)
	return nil
}

// serveAndClose listens in namespace ns on addr:port, reads each
// connection to its end and closes it (the client closes first).
func serveAndClose(t *testing.T, ns string, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		var l net.Listener
		if err := netnstest.Do(ns, func() (err error) { l, err = net.Listen("tcp", a); return err }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() { io.Copy(io.Discard, c); c.Close() }()
			}
		}()
	}
}

// dialAndClose makes n connections from namespace ns to addr, each
// sending a request and closing first (a four-way close, TIME_WAIT at
// the client), and waits until each has seen the server's FIN.
func dialAndClose(t *testing.T, ns, addr string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		var c net.Conn
		if err := netnstest.Do(ns, func() (err error) { c, err = net.DialTimeout("tcp", addr, 5*time.Second); return err }); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "request %d\n", i)
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c) // until the server's FIN
		c.Close()
	}
}

// The kernel's counters over a clean run agree with finwave's prediction
// for the local ends; a capture filter that hides part of the traffic
// gives a difference, with the filter named as its likely reason.
func TestLiveKernelCounters(t *testing.T) {
	p := netnstest.NewPair(t, "fk")
	bin := buildFinwave(t)
	serveAndClose(t, p.B, netnstest.AddrB+":80", netnstest.AddrB+":81")
	traffic := func() {
		dialAndClose(t, p.A, netnstest.AddrB+":80", 4)
		dialAndClose(t, p.A, netnstest.AddrB+":81", 3)
	}
	byName := func(v *liveKernelLine) map[string]int64 {
		m := map[string]int64{}
		for _, c := range v.Counters.Counters {
			m[c.Name] = c.Kernel
		}
		return m
	}

	t.Run("clean", func(t *testing.T) {
		lines, stderr := runLive(t, bin, p.A, []string{"-i", p.VethA, "-Z", "nobody", "host " + netnstest.AddrB}, traffic, 500*time.Millisecond)
		v := liveObject(t, lines)
		if v.Counters == nil {
			t.Fatalf("no kernel_counters (error %v); stderr:\n%s", v.CountersError, stderr)
		}
		// The truth: 7 connect()s, 7 TIME_WAITs at the client.
		k := byName(v)
		if k["TcpActiveOpens"] != 7 || k["TcpExtTW"] != 7 {
			t.Fatalf("kernel counted TcpActiveOpens %d TcpExtTW %d, want 7 and 7 (the test's own connections)", k["TcpActiveOpens"], k["TcpExtTW"])
		}
		if v.Counters.Flows != 7 || v.Counters.Differ != 0 {
			for _, c := range v.Counters.Counters {
				if !c.Agree {
					t.Errorf("%s: kernel %d, finwave %d–%d: %s", c.Name, c.Kernel, c.Min, c.Max, c.Reason)
				}
			}
			t.Fatalf("local flows %d, differ %d: want 7 flows and every counter agreeing", v.Counters.Flows, v.Counters.Differ)
		}
	})
	t.Run("filter hides port 81", func(t *testing.T) {
		lines, stderr := runLive(t, bin, p.A, []string{"-i", p.VethA, "-Z", "nobody", "--kernel", "counters", "port 80"}, traffic, 500*time.Millisecond)
		v := liveObject(t, lines)
		if v.Counters == nil {
			t.Fatalf("no kernel_counters (error %v); stderr:\n%s", v.CountersError, stderr)
		}
		if v.Counters.Flows != 4 {
			t.Errorf("local flows %d, want the 4 the filter let through", v.Counters.Flows)
		}
		found := false
		for _, c := range v.Counters.Counters {
			if c.Name == "TcpActiveOpens" {
				found = true
				if c.Agree || c.Kernel != 7 || c.Max != 4 || !strings.Contains(c.Reason, "3 more") || !strings.Contains(c.Reason, `filter "port 80"`) {
					t.Errorf("TcpActiveOpens: kernel %d finwave %d–%d agree %v reason %q; want 7 against 4, the 3 more put on the filter",
						c.Kernel, c.Min, c.Max, c.Agree, c.Reason)
				}
			}
		}
		if !found {
			t.Error("no TcpActiveOpens row")
		}
	})
}

// kernelFlow is the part of a flow object the kernel view tests read.
type kernelFlow struct {
	Type        string `json:"type"`
	Client      string `json:"client"`
	Server      string `json:"server"`
	ServerState string `json:"server_state"`
	Kernel      *struct {
		Client *kernelSock `json:"client"`
		Server *kernelSock `json:"server"`
	} `json:"kernel"`
	Segments []struct {
		Frame int64  `json:"frame"`
		Flags string `json:"flags"`
		From  string `json:"from"`
	} `json:"segments"`
}

type kernelSock struct {
	Owner *struct {
		PID     int    `json:"pid"`
		Command string `json:"command"`
	} `json:"owner"`
	OwnerNote   string                      `json:"owner_note"`
	Traced      bool                        `json:"traced"`
	Confirmed   int                         `json:"confirmed"`
	States      []struct{ From, To string } `json:"states"`
	Differences []struct {
		Only     string `json:"only"`
		From, To string
	} `json:"differences"`
	Resets []struct {
		Frame  int64  `json:"frame"`
		Sent   bool   `json:"sent"`
		Reason string `json:"reason"`
	} `json:"resets"`
}

// flowsOf decodes the flow objects of lines, by server port.
func flowsOf(t *testing.T, lines []string) map[string][]*kernelFlow {
	t.Helper()
	m := map[string][]*kernelFlow{}
	for _, l := range lines {
		var f kernelFlow
		if json.Unmarshal([]byte(l), &f) == nil && f.Type == "flow" {
			_, port, _ := net.SplitHostPort(f.Server)
			m[port] = append(m[port], &f)
		}
	}
	return m
}

// TestLiveKernelView runs finwave live on the server's host (namespace B)
// while a client in A makes three kinds of connections: to a process that
// leaks them (CLOSE_WAIT), to a server that closes cleanly, and to a port
// nothing listens on. The kernel's view must name the leaking process by
// its pid and command, agree with the machines on the clean close, and
// give the refusing RST the kernel's reason (NO_SOCKET).
func TestLiveKernelView(t *testing.T) {
	p := netnstest.NewPair(t, "fv")
	bin := buildFinwave(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	leak := exec.CommandContext(ctx, "ip", "netns", "exec", p.B, os.Args[0], "-test.run=^$")
	leak.Env = append(os.Environ(), "FINWAVE_LIVE_HELPER=leak", "FINWAVE_LIVE_ADDR="+netnstest.AddrB)
	leakOut, _ := leak.StdoutPipe()
	leak.Stderr = os.Stderr
	if err := leak.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { leak.Process.Kill(); leak.Wait() }()
	if l, err := bufio.NewReader(leakOut).ReadString('\n'); err != nil || l != "ready\n" {
		t.Fatalf("leak helper: %q, %v", l, err)
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", leak.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	wantComm := strings.TrimSpace(string(comm))
	serveAndClose(t, p.B, netnstest.AddrB+":7011")

	traffic := func() {
		for range 3 {
			var c net.Conn
			if err := netnstest.Do(p.A, func() (err error) {
				c, err = net.DialTimeout("tcp", netnstest.AddrB+":"+strconv.Itoa(portLeak), 5*time.Second)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("request"))
			c.Close() // the server never answers: CLOSE_WAIT there
		}
		dialAndClose(t, p.A, netnstest.AddrB+":7011", 1)
		if err := netnstest.Do(p.A, func() error {
			_, err := net.DialTimeout("tcp", netnstest.AddrB+":7012", 5*time.Second)
			if err == nil {
				return fmt.Errorf("port 7012 answered; want it refused")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	lines, stderr := runLive(t, bin, p.B, []string{"-i", p.VethB, "--stuck-after", "500ms"}, traffic, 1500*time.Millisecond)
	flows := flowsOf(t, lines)
	if strings.Contains(stderr, "process attribution unavailable") {
		t.Skipf("process attribution not available here: %s", stderr)
	}

	// The leak: each CLOSE_WAIT socket is the leak helper's.
	leaks := flows[strconv.Itoa(portLeak)]
	if len(leaks) != 3 {
		t.Fatalf("%d flows to the leaking port, want 3:\n%s", len(leaks), strings.Join(lines, "\n"))
	}
	for _, f := range leaks {
		if f.Kernel == nil || f.Kernel.Server == nil {
			t.Fatalf("flow %s → %s: no kernel view of the server", f.Client, f.Server)
		}
		o := f.Kernel.Server.Owner
		if f.ServerState != "CLOSE_WAIT" || o == nil || o.PID != leak.Process.Pid || o.Command != wantComm {
			t.Errorf("flow %s: server %s owned by %+v (%s); want CLOSE_WAIT held by %s, pid %d", f.Client, f.ServerState, o, f.Kernel.Server.OwnerNote, wantComm, leak.Process.Pid)
		}
	}
	var notice bool
	for _, l := range lines {
		if strings.Contains(l, `"type":"stuck"`) && strings.Contains(l, fmt.Sprintf(`"pid":%d`, leak.Process.Pid)) {
			notice = true
		}
	}
	if !notice {
		t.Errorf("no stuck notice names pid %d:\n%s", leak.Process.Pid, strings.Join(lines, "\n"))
	}
	// The live object: the sockets still held, by owner — the leak.
	var held struct {
		Type string `json:"type"`
		Held []struct {
			State   string `json:"state"`
			Sockets int    `json:"sockets"`
			PID     *int   `json:"pid"`
			Command string `json:"command"`
			RecvQ   uint64 `json:"recv_q"`
		} `json:"kernel_sockets_held"`
	}
	for _, l := range lines {
		if strings.HasPrefix(l, `{"type":"live"`) {
			json.Unmarshal([]byte(l), &held)
		}
	}
	if len(held.Held) != 1 || held.Held[0].State != "CLOSE_WAIT" || held.Held[0].Sockets != 3 || held.Held[0].PID == nil ||
		*held.Held[0].PID != leak.Process.Pid || held.Held[0].Command != wantComm || held.Held[0].RecvQ != 3*uint64(len("request")+1) {
		// Recv-Q as ss shows it: rcv_nxt − copied_seq, the FIN's sequence
		// number included (7 + 1 each).
		t.Errorf("kernel_sockets_held %+v, want 3 CLOSE_WAIT sockets held by %s pid %d with Recv-Q 24", held.Held, wantComm, leak.Process.Pid)
	}

	// The clean close: the trace agrees with the server's machine.
	clean := flows["7011"]
	if len(clean) != 1 || clean[0].Kernel == nil || clean[0].Kernel.Server == nil {
		t.Fatalf("clean flow: %+v", clean)
	}
	ks := clean[0].Kernel.Server
	if !ks.Traced {
		t.Skipf("the kernel trace is not available here (%s): states and resets not checked", stderr)
	}
	if len(ks.Differences) != 0 || len(ks.States) < 3 {
		t.Errorf("clean close: traced states %+v, differences %+v; want ESTABLISHED, CLOSE_WAIT, LAST_ACK, CLOSE and no difference", ks.States, ks.Differences)
	}
	// The refused connection: the kernel's RST, NO_SOCKET, on its frame.
	ref := flows["7012"]
	if len(ref) != 1 || ref[0].Kernel == nil || ref[0].Kernel.Server == nil {
		t.Fatalf("refused flow: %+v", ref)
	}
	rs := ref[0].Kernel.Server.Resets
	var rstFrame int64
	for _, s := range ref[0].Segments {
		if strings.Contains(s.Flags, "RST") {
			rstFrame = s.Frame
		}
	}
	if len(rs) != 1 || !rs[0].Sent || rs[0].Reason != "NO_SOCKET" || rs[0].Frame != rstFrame || rstFrame == 0 {
		t.Errorf("refused: kernel resets %+v, want one sent with reason NO_SOCKET on frame %d", rs, rstFrame)
	}
}

// TestLiveKernelView_clientHost runs finwave live on the client's host: a
// clean close (the client's TIME_WAIT is the kernel's timewait handover,
// FIN_WAIT2 → CLOSE in the trace) agrees with the machine, and an abort
// with SO_LINGER {1, 0} has the kernel's own RST, with its reason, on the
// RST's frame.
func TestLiveKernelView_clientHost(t *testing.T) {
	p := netnstest.NewPair(t, "fw")
	bin := buildFinwave(t)
	serveAndClose(t, p.B, netnstest.AddrB+":7011", netnstest.AddrB+":7013")
	traffic := func() {
		dialAndClose(t, p.A, netnstest.AddrB+":7011", 1)
		var c net.Conn
		if err := netnstest.Do(p.A, func() (err error) {
			c, err = net.DialTimeout("tcp", netnstest.AddrB+":7013", 5*time.Second)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("abort"))
		time.Sleep(50 * time.Millisecond)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	page := filepath.Join(t.TempDir(), "live.html")
	lines, stderr := runLive(t, bin, p.A, []string{"-i", p.VethA, "--html", page}, traffic, 500*time.Millisecond)
	flows := flowsOf(t, lines)
	clean, abort := flows["7011"], flows["7013"]
	// The HTML page, written when SIGINT stopped the capture (opened as
	// root, before the drop): both flows in its table, with their ladders.
	if html, err := os.ReadFile(page); err != nil || !bytes.HasSuffix(bytes.TrimSpace(html), []byte("</html>")) ||
		bytes.Count(html, []byte(`<g class="seg`)) < 2 || !bytes.Contains(html, []byte(netnstest.AddrB+":7013")) {
		t.Errorf("live --html: %v, page of %d bytes without both flows drawn", err, len(html))
	}
	if len(clean) != 1 || len(abort) != 1 || clean[0].Kernel == nil || clean[0].Kernel.Client == nil || abort[0].Kernel == nil || abort[0].Kernel.Client == nil {
		t.Fatalf("flows %v / %v: want one each with the client's kernel view:\n%s", clean, abort, strings.Join(lines, "\n"))
	}
	if clean[0].Kernel.Server != nil {
		t.Error("the server is not on this host: no kernel view of it")
	}
	ks := clean[0].Kernel.Client
	if !ks.Traced {
		t.Skipf("the kernel trace is not available here: %s", stderr)
	}
	if o := ks.Owner; o == nil || o.PID != os.Getpid() {
		t.Errorf("clean close: client owned by %+v (%s), want this test, pid %d", o, ks.OwnerNote, os.Getpid())
	}
	if len(ks.Differences) != 0 || len(ks.States) < 3 {
		t.Errorf("clean close: traced %+v, differences %+v; want ESTABLISHED … FIN_WAIT2 → CLOSE and no difference", ks.States, ks.Differences)
	}
	var rstFrame int64
	for _, s := range abort[0].Segments {
		if strings.Contains(s.Flags, "RST") && s.From == "client" {
			rstFrame = s.Frame
		}
	}
	rs := abort[0].Kernel.Client.Resets
	if rstFrame == 0 || len(rs) != 1 || !rs[0].Sent || rs[0].Reason == "" || rs[0].Frame != rstFrame {
		t.Errorf("abort: kernel resets %+v, want the client's RST sent on frame %d with the kernel's reason", rs, rstFrame)
	} else {
		t.Logf("SO_LINGER 0: the kernel's reason is %s", rs[0].Reason)
	}
	if d := abort[0].Kernel.Client.Differences; len(d) != 0 {
		t.Errorf("abort: differences %+v, want none", d)
	}
}

// TestLiveKernelView_natInvalid runs finwave live on a NAT gateway (the
// router of netnstest.NAT, which DNATs a service address to a backend and
// masquerades) while the Kubernetes failure happens: an out-of-window
// segment from the backend is INVALID for conntrack, goes on un-de-NATed to
// the router's own stack, which answers with a RST that kills the backend's
// connection. finwave must match both sides of the NAT to the conntrack
// entry and name that RST.
func TestLiveKernelView_natInvalid(t *testing.T) {
	n := netnstest.NewNAT(t, "fn", true)
	bin := buildFinwave(t)
	traffic := func() {
		srv, cli, _ := netnstest.Connect(t, n)
		inj := netnstest.Start(t, n.S, netnstest.NATInjectPy, netnstest.NATRouterS)
		inj.Expect(t, "ready")
		cli.Send(t, "ping")
		inj.Expect(t, "injected")
		inj.Expect(t, "rst ")
		srv.Expect(t, "reset") // the backend's connection was killed
	}
	lines, stderr := runLive(t, bin, n.R, []string{"-i", "any"}, traffic, 2*time.Second)
	var front, back *kernelFlowNAT
	for _, l := range lines {
		var f kernelFlowNAT
		if json.Unmarshal([]byte(l), &f) != nil || f.Type != "flow" {
			continue
		}
		switch {
		case strings.HasSuffix(f.Server, netnstest.NATVIP+":80"):
			front = &f
		case strings.HasPrefix(f.Server, netnstest.NATBackend+":8080"):
			back = &f
		}
	}
	if front == nil || back == nil {
		t.Fatalf("want the client's flow to the service and the router's to the backend:\n%s\n%s", strings.Join(lines, "\n"), stderr)
	}
	if strings.Contains(stderr, "conntrack unavailable") {
		t.Skipf("conntrack not available here: %s", stderr)
	}
	for _, f := range []*kernelFlowNAT{front, back} {
		c := f.Kernel.Conntrack
		if c == nil || !c.DNAT || !c.SNAT || c.OrigDst != netnstest.NATVIP+":80" || c.ReplySrc != netnstest.NATBackend+":8080" {
			t.Errorf("flow %s → %s: conntrack %+v, want the DNAT'd, masqueraded entry to the service", f.Client, f.Server, c)
		}
	}
	var named bool
	for _, r := range back.Kernel.ConntrackResets {
		named = named || strings.Contains(r.Explanation, "INVALID")
	}
	if !named {
		t.Errorf("the router's RST to the backend is not named: %+v", back.Kernel.ConntrackResets)
	}
	if len(front.Kernel.ConntrackResets) != 0 {
		t.Errorf("the client's flow saw no RST, yet: %+v", front.Kernel.ConntrackResets)
	}
}

// kernelFlowNAT is the part of a flow object the NAT test reads.
type kernelFlowNAT struct {
	Type   string `json:"type"`
	Client string `json:"client"`
	Server string `json:"server"`
	Kernel struct {
		Conntrack *struct {
			OrigDst  string `json:"orig_dst"`
			ReplySrc string `json:"reply_src"`
			DNAT     bool   `json:"dnat"`
			SNAT     bool   `json:"snat"`
		} `json:"conntrack"`
		ConntrackResets []struct {
			Frame       int64  `json:"frame"`
			Explanation string `json:"explanation"`
		} `json:"conntrack_resets"`
	} `json:"kernel"`
}

// BenchmarkLiveLoad measures finwave live on the server's host under a load
// of short connections (connect, 100 bytes each way, close) from the other
// namespace for 5 s: the packets it took (pkts/s), the kernel's drops and
// finwave's CPU per packet, with the kernel view off and on (all parts).
// FINWAVE_BENCH_BIN runs another binary instead (an older finwave, to
// compare; it is run with --kernel only if FINWAVE_BENCH_KERNEL is set);
// FINWAVE_BENCH_KERNEL=LIST measures that --kernel value alone.
//
//	go test ./cmd/finwave -run '^$' -bench LiveLoad -benchtime 1x
func BenchmarkLiveLoad(b *testing.B) {
	p := netnstest.NewPair(b, "fb")
	bin := os.Getenv("FINWAVE_BENCH_BIN")
	if bin == "" {
		bin = buildFinwaveB(b)
	}
	echo := func(ns, addr string) {
		var l net.Listener
		if err := netnstest.Do(ns, func() (err error) { l, err = net.Listen("tcp", addr); return err }); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() { buf := make([]byte, 100); io.ReadFull(c, buf); c.Write(buf); c.Close() }()
			}
		}()
	}
	echo(p.B, netnstest.AddrB+":7020")
	variants := []struct{ name, kernel string }{{"off", "off"}, {"all", "auto"}}
	if k := os.Getenv("FINWAVE_BENCH_KERNEL"); k != "" {
		variants = []struct{ name, kernel string }{{k, k}}
	}
	if os.Getenv("FINWAVE_BENCH_BIN") != "" && os.Getenv("FINWAVE_BENCH_KERNEL") == "" {
		variants = []struct{ name, kernel string }{{"binary", ""}}
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			for range b.N {
				// --summary: no per-flow output, the live line at the end.
				args := []string{"live", "-i", p.VethB, "--json", "--status", "never", "--summary"}
				if v.kernel != "" {
					args = append(args, "--kernel", v.kernel)
				}
				fw := netnstest.Command(p.B, bin, args...)
				out, _ := fw.StdoutPipe()
				errp, _ := fw.StderrPipe()
				if err := fw.Start(); err != nil {
					b.Fatal(err)
				}
				if l, err := bufio.NewReader(errp).ReadString('\n'); err != nil || !strings.Contains(l, "listening") {
					b.Fatalf("finwave did not start: %q %v", l, err)
				}
				go io.Copy(io.Discard, errp)
				var conns atomic.Int64
				end := time.Now().Add(5 * time.Second)
				var wg sync.WaitGroup
				for range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						buf := make([]byte, 100)
						for time.Now().Before(end) {
							var c net.Conn
							if netnstest.Do(p.A, func() (err error) {
								c, err = net.DialTimeout("tcp", netnstest.AddrB+":7020", time.Second)
								return err
							}) != nil {
								continue
							}
							c.Write(buf)
							io.ReadFull(c, buf)
							c.Close()
							conns.Add(1)
						}
					}()
				}
				wg.Wait()
				time.Sleep(300 * time.Millisecond)
				fw.Process.Signal(os.Interrupt)
				var live struct {
					Type    string `json:"type"`
					Packets uint64 `json:"kernel_packets"`
					Drops   uint64 `json:"kernel_drops"`
				}
				sc := bufio.NewScanner(out)
				sc.Buffer(make([]byte, 1<<20), 1<<24)
				for sc.Scan() {
					var l liveKernelLine
					if json.Unmarshal(sc.Bytes(), &l) == nil && l.Type == "live" {
						json.Unmarshal(sc.Bytes(), &live)
					}
				}
				if err := fw.Wait(); err != nil {
					b.Fatal(err)
				}
				cpu := fw.ProcessState.UserTime() + fw.ProcessState.SystemTime()
				b.ReportMetric(float64(conns.Load())/5, "conns/s")
				b.ReportMetric(float64(live.Packets)/5, "pkts/s")
				b.ReportMetric(float64(live.Drops), "drops")
				b.ReportMetric(float64(cpu.Microseconds())/float64(max(live.Packets, 1)), "cpu-µs/pkt")
			}
		})
	}
}

// buildFinwaveB is buildFinwave for a benchmark.
func buildFinwaveB(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "finwave")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
