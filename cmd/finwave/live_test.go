package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The end-to-end test re-executes this test binary inside network
// namespaces as a small TCP server or client; the mode is chosen by
// FINWAVE_LIVE_HELPER and runs before any test.
func init() {
	// finwave live run in this process keeps root (privdrop.go); the
	// end-to-end test runs the binary, which drops to nobody.
	liveUser = "root"
	if mode := os.Getenv("FINWAVE_LIVE_HELPER"); mode != "" {
		if err := liveHelper(mode, os.Getenv("FINWAVE_LIVE_ADDR")); err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: %v\n", mode, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// keptForProcesses is the capability set finwave live keeps for process
// attribution: 1<<CAP_DAC_READ_SEARCH | 1<<CAP_SYS_PTRACE.
const keptForProcesses = "0000000000080004"

// Scenario ports. Each connection ends one way, chosen by the kernel
// paths of tcp_close (net/ipv4/tcp.c):
const (
	portNormal  = 7001 // client closes first, server reads EOF, waits, closes: FIN/ACK FIN/ACK
	portUnread  = 7002 // server closes with unread data: RST (LINUX_MIB_TCPABORTONCLOSE)
	portLinger0 = 7003 // client closes with SO_LINGER {1, 0}: RST (LINUX_MIB_TCPABORTONDATA)
	portOpen    = 7004 // still open when finwave is stopped: cut off by the end of the capture
	portLeak    = 7010 // the "leak" helper: accepted, never closed (CLOSE_WAIT)
)

func liveHelper(mode, addr string) error {
	switch mode {
	case "server":
		var lns []net.Listener
		for _, p := range []int{portNormal, portUnread, portLinger0, portOpen} {
			ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(p)))
			if err != nil {
				return err
			}
			lns = append(lns, ln)
		}
		fmt.Println("ready")
		done := make(chan error, 3)
		go func() { // normal: read to EOF, then close after the delayed ACK of the FIN went out
			c, err := lns[0].Accept()
			if err == nil {
				_, err = io.Copy(io.Discard, c)
				time.Sleep(300 * time.Millisecond)
				c.Close()
			}
			done <- err
		}()
		go func() { // unread: let the data arrive, close without reading it
			c, err := lns[1].Accept()
			if err == nil {
				time.Sleep(300 * time.Millisecond)
				c.Close()
			}
			done <- err
		}()
		go func() { // linger 0: wait for the client's RST
			c, err := lns[2].Accept()
			if err == nil {
				io.Copy(io.Discard, c)
				c.Close()
			}
			done <- err
		}()
		go func() { // open: hold until the client goes away
			c, err := lns[3].Accept()
			if err == nil {
				io.Copy(io.Discard, c)
				c.Close()
			}
			done <- err
		}()
		for range 4 {
			if err := <-done; err != nil {
				return err
			}
		}
		return nil
	case "client":
		dial := func(p int) (*net.TCPConn, error) {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(p)), 5*time.Second)
			if err != nil {
				return nil, err
			}
			return c.(*net.TCPConn), nil
		}
		c, err := dial(portNormal)
		if err != nil {
			return err
		}
		c.Write([]byte("hello"))
		time.Sleep(100 * time.Millisecond)
		c.Close()
		time.Sleep(700 * time.Millisecond)

		if c, err = dial(portUnread); err != nil {
			return err
		}
		c.Write(bytes.Repeat([]byte("x"), 100))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 10)); !errors.Is(err, syscall.ECONNRESET) {
			return fmt.Errorf("unread: read = %v, want ECONNRESET", err)
		}
		c.Close()
		time.Sleep(300 * time.Millisecond)

		if c, err = dial(portLinger0); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
		c.SetLinger(0)
		c.Close()
		time.Sleep(300 * time.Millisecond)
		return nil
	case "leak":
		// A server that leaks its connections: it accepts and never
		// reads or closes, so each peer's close leaves CLOSE_WAIT.
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(portLeak)))
		if err != nil {
			return err
		}
		fmt.Println("ready")
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				return err
			}
			held = append(held, c)
		}
	case "hold":
		c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(portOpen)), 5*time.Second)
		if err != nil {
			return err
		}
		c.Write([]byte("hold"))
		fmt.Println("connected")
		time.Sleep(time.Minute) // killed by the test
		return nil
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}

// netnsPair creates two namespaces joined by a veth pair (192.0.2.1 in a,
// 192.0.2.2 in b) and removes them at cleanup. It skips without root or
// iproute2.
func netnsPair(t *testing.T) (a, b, vethA string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture test needs root (network namespaces, AF_PACKET)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("live capture test needs iproute2's ip")
	}
	id := strconv.Itoa(os.Getpid() % 100000)
	a, b, vethA = "fwlive-a"+id, "fwlive-b"+id, "fwa"+id
	ip := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := ip("netns", "add", a); err != nil {
		t.Skipf("ip netns unavailable: %v", err)
	}
	t.Cleanup(func() { ip("netns", "del", a) })
	if err := ip("netns", "add", b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ip("netns", "del", b) })
	for _, args := range [][]string{
		{"link", "add", vethA, "netns", a, "type", "veth", "peer", "name", "fwb" + id, "netns", b},
		{"-n", a, "addr", "add", "192.0.2.1/24", "dev", vethA},
		{"-n", b, "addr", "add", "192.0.2.2/24", "dev", "fwb" + id},
		{"-n", a, "link", "set", vethA, "up"},
		{"-n", b, "link", "set", "fwb" + id, "up"},
		{"-n", a, "link", "set", "lo", "up"},
		{"-n", b, "link", "set", "lo", "up"},
	} {
		if err := ip(args...); err != nil {
			t.Fatal(err)
		}
	}
	return a, b, vethA
}

// buildFinwave builds the command (CGO_ENABLED=0, the default build).
func buildFinwave(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "finwave")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// liveFlow is the part of a flow's JSON the test checks.
type liveFlow struct {
	Type        string `json:"type"`
	Stream      int64  `json:"stream"`
	Client      string `json:"client"`
	Server      string `json:"server"`
	Pattern     string `json:"pattern"`
	Closer      string `json:"closer"`
	ClientState string `json:"client_state"`
	ServerState string `json:"server_state"`
	Finish      string `json:"finish"`
	Segments    []struct {
		Frame int64  `json:"frame"`
		From  string `json:"from"`
		Flags string `json:"flags"`
		Label string `json:"label"`
	} `json:"segments"`
	Anomalies []struct {
		Kind     string `json:"kind"`
		Endpoint string `json:"endpoint"`
	} `json:"anomalies"`
}

func (f *liveFlow) kinds() string {
	var k []string
	for _, a := range f.Anomalies {
		k = append(k, a.Kind+"@"+a.Endpoint)
	}
	return strings.Join(k, ",")
}

// netstat reads one TcpExt counter in a namespace: the kernel's own count
// of the close paths it took.
func netstat(t *testing.T, ns, name string) int64 {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "cat", "/proc/net/netstat").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(out), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		keys, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(keys) == 0 || keys[0] != "TcpExt:" {
			continue
		}
		for j, k := range keys {
			if k == name && j < len(vals) {
				n, _ := strconv.ParseInt(vals[j], 10, 64)
				return n
			}
		}
	}
	t.Fatalf("TcpExt %s not in /proc/net/netstat", name)
	return 0
}

func TestLiveEndToEnd(t *testing.T) {
	nsA, nsB, veth := netnsPair(t)
	bin := buildFinwave(t)
	pcap := filepath.Join(t.TempDir(), "live.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Server in b.
	srv := exec.CommandContext(ctx, "ip", "netns", "exec", nsB, os.Args[0], "-test.run=^$")
	srv.Env = append(os.Environ(), "FINWAVE_LIVE_HELPER=server", "FINWAVE_LIVE_ADDR=192.0.2.2")
	srvOut, _ := srv.StdoutPipe()
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { t0 := time.Now(); srv.Wait(); t.Logf("server wait %v", time.Since(t0)) }()
	if l, err := bufio.NewReader(srvOut).ReadString('\n'); err != nil || l != "ready\n" {
		t.Fatalf("server helper: %q, %v", l, err)
	}

	// finwave in a, on the veth.
	fw := exec.CommandContext(ctx, "ip", "netns", "exec", nsA, bin, "live", "-i", veth, "--json", "--status", "never", "-w", pcap, "-f", "host 192.0.2.2")
	stdout, _ := fw.StdoutPipe()
	stderr, _ := fw.StderrPipe()
	if err := fw.Start(); err != nil {
		t.Fatal(err)
	}
	errR := bufio.NewReader(stderr)
	l, err := errR.ReadString('\n')
	if err != nil || !strings.Contains(l, "listening on "+veth) {
		t.Fatalf("finwave did not start: %q, %v", l, err)
	}
	var errRest bytes.Buffer
	go io.Copy(&errRest, errR)
	// Root only to open the socket and the -w file (-Z, default nobody):
	// the running process has the nobody user's ids and no capability.
	checkDroppedPrivileges(t, fw.Process.Pid, l, keptForProcesses)

	abortA, abortB := netstat(t, nsA, "TCPAbortOnData"), netstat(t, nsB, "TCPAbortOnClose")
	cli := exec.CommandContext(ctx, "ip", "netns", "exec", nsA, os.Args[0], "-test.run=^$")
	cli.Env = append(os.Environ(), "FINWAVE_LIVE_HELPER=client", "FINWAVE_LIVE_ADDR=192.0.2.2")
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("client helper: %v\n%s", err, out)
	}
	// The kernel's truth: one abort on close with unread data at the
	// server (b), one SO_LINGER 0 abort at the client (a).
	if d := netstat(t, nsB, "TCPAbortOnClose") - abortB; d != 1 {
		t.Errorf("TcpExtTCPAbortOnClose in the server namespace grew by %d, want 1", d)
	}
	if d := netstat(t, nsA, "TCPAbortOnData") - abortA; d != 1 {
		t.Errorf("TcpExtTCPAbortOnData in the client namespace grew by %d, want 1", d)
	}

	// Streaming: the three reports arrive while finwave still runs (each
	// teardown completes, its 2 s grace passes on the idle clock).
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	byPort := map[int]*liveFlow{}
	var streamed []string
	deadline := time.After(20 * time.Second)
	for len(byPort) < 3 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("finwave exited before reporting: %s", errRest.String())
			}
			streamed = append(streamed, l)
			var f liveFlow
			if err := json.Unmarshal([]byte(l), &f); err != nil || f.Type != "flow" {
				t.Fatalf("streamed line is not a flow object: %q (%v)", l, err)
			}
			_, port, _ := net.SplitHostPort(f.Server)
			p, _ := strconv.Atoi(port)
			byPort[p] = &f
		case <-deadline:
			t.Fatalf("only %d flows streamed in 20 s: %q", len(byPort), streamed)
		}
	}
	// A fourth connection, still open at SIGINT. Its SYN comes more than
	// the 2 s grace after the last teardown, so reading the -w file back
	// finishes the first three flows the way the live clock did ("done").
	hold := exec.CommandContext(ctx, "ip", "netns", "exec", nsA, os.Args[0], "-test.run=^$")
	hold.Env = append(os.Environ(), "FINWAVE_LIVE_HELPER=hold", "FINWAVE_LIVE_ADDR=192.0.2.2")
	holdOut, _ := hold.StdoutPipe()
	if err := hold.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { t0 := time.Now(); hold.Process.Kill(); hold.Wait(); t.Logf("hold wait %v", time.Since(t0)) }()
	if l, err := bufio.NewReader(holdOut).ReadString('\n'); err != nil || l != "connected\n" {
		t.Fatalf("hold helper: %q, %v", l, err)
	}
	time.Sleep(300 * time.Millisecond) // the handshake and data reach the ring
	if err := fw.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if err := fw.Wait(); err != nil {
		t.Fatalf("finwave after SIGINT: %v (want exit 0)\n%s", err, errRest.String())
	}
	if len(rest) != 3 || !strings.HasPrefix(rest[0], `{"type":"flow"`) || !strings.HasPrefix(rest[1], `{"type":"live"`) || !strings.HasPrefix(rest[2], `{"type":"summary"`) {
		t.Fatalf("after SIGINT: %q, want the open flow, the live counters and the summary", rest)
	}
	var open liveFlow
	if err := json.Unmarshal([]byte(rest[0]), &open); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(open.Server, ":"+strconv.Itoa(portOpen)) || open.Pattern != "open" || open.Finish != "end-of-capture" ||
		open.ClientState != "ESTABLISHED" || open.ServerState != "ESTABLISHED" {
		t.Errorf("flow open at SIGINT: server %s pattern %s finish %s states %s/%s; want :%d open end-of-capture ESTABLISHED/ESTABLISHED",
			open.Server, open.Pattern, open.Finish, open.ClientState, open.ServerState, portOpen)
	}
	streamed = append(streamed, rest[0])
	rest = rest[1:]
	var ls struct {
		KernelPackets uint64 `json:"kernel_packets"`
		KernelDrops   uint64 `json:"kernel_drops"`
	}
	json.Unmarshal([]byte(rest[0]), &ls)
	if ls.KernelDrops != 0 || ls.KernelPackets == 0 {
		t.Errorf("kernel counters %+v: want packets, no drops", ls)
	}
	// The live object byte for byte, but for the counts.
	liveLine := regexp.MustCompile(`^\{"type":"live","interface":"` + regexp.QuoteMeta(veth) + `","kernel_packets":[1-9][0-9]*,"kernel_drops":0,` +
		`"kernel_queue_freezes":[0-9]+,"kernel_stats_error":null,"flows_idle":[0-9]+,"flows_evicted":0,"kernel_counters":\{"flows_local":4,.*\}\}$`)
	if !liveLine.MatchString(rest[0]) {
		t.Errorf("live object %s, want it to match %s", rest[0], liveLine)
	}

	want := map[int]struct{ pattern, closer, kinds, client, server string }{
		portNormal:  {"four-way", "client", "", "TIME_WAIT", "CLOSED"},
		portUnread:  {"reset", "server", "rst-unread-data@server", "CLOSED", "CLOSED"},
		portLinger0: {"reset", "client", "rst-linger-zero@client", "CLOSED", "CLOSED"},
	}
	for p, w := range want {
		f := byPort[p]
		if f == nil {
			t.Errorf("port %d: no report", p)
			continue
		}
		if f.Finish != "done" {
			t.Errorf("port %d: finish %s, want done (reported as its teardown completed)", p, f.Finish)
		}
		if f.Pattern != w.pattern || f.Closer != w.closer || f.kinds() != w.kinds || f.ClientState != w.client || f.ServerState != w.server {
			t.Errorf("port %d: pattern %s closer %s anomalies %q states %s/%s; want %s %s %q %s/%s",
				p, f.Pattern, f.Closer, f.kinds(), f.ClientState, f.ServerState, w.pattern, w.closer, w.kinds, w.client, w.server)
		}
	}
	if f := byPort[portNormal]; f != nil {
		var labels []string
		for _, s := range f.Segments {
			labels = append(labels, s.From+":"+s.Label)
		}
		if got := strings.Join(labels, " "); !strings.HasPrefix(got, "client:wave-1 server:wave-2 server:wave-3 client:wave-4") {
			t.Errorf("normal close labels %q, want the four waves", got)
		}
	}

	// finwave ran on the client's host: the kernel's own trace of each
	// client socket agrees with the client's machine (a normal close,
	// the server's abort on unread data, the client's SO_LINGER 0 abort).
	for _, l := range streamed {
		var kf kernelFlow
		if json.Unmarshal([]byte(l), &kf) != nil || kf.Kernel == nil || kf.Kernel.Client == nil {
			t.Errorf("no kernel view of the client in %s", l)
			continue
		}
		if c := kf.Kernel.Client; c.Traced && len(c.Differences) != 0 {
			t.Errorf("flow to %s: the kernel's trace of the client differs from its machine: %+v (traced %+v)", kf.Server, c.Differences, c.States)
		}
	}

	// The -w capture, read back as a file, gives the same analysis.
	out, err := exec.Command(bin, "--json", pcap).Output()
	if err != nil {
		t.Fatalf("finwave --json %s: %v", pcap, err)
	}
	var doc struct {
		Flows []json.RawMessage `json:"flows"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Flows) != len(streamed) {
		t.Fatalf("file analysis has %d flows, live had %d", len(doc.Flows), len(streamed))
	}
	norm := func(raw []byte) string {
		var f liveFlow
		json.Unmarshal(raw, &f)
		f.Type = ""
		b, _ := json.Marshal(f)
		return string(b)
	}
	live := map[string]bool{}
	for _, l := range streamed {
		live[norm([]byte(l))] = true
	}
	for _, raw := range doc.Flows {
		if n := norm(raw); !live[n] {
			keep, _ := os.ReadFile(pcap)
			os.WriteFile(filepath.Join(os.TempDir(), "finwave-live-failed.pcap"), keep, 0o644)
			t.Errorf("file flow differs from every live flow (capture kept in %s):\n%s\nlive:\n%s", filepath.Join(os.TempDir(), "finwave-live-failed.pcap"), n, strings.Join(streamed, "\n"))
		}
	}
}

// TestLiveUsage: mistakes a user makes get clear words and exit 2 before
// any capture starts.
func TestLiveUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"live"}, "no interface given"},
		{[]string{"live", "-i", "lo", "-f", "tcp port"}, `filter "tcp port"`},
		{[]string{"live", "-i", "lo", "host", "example.com"}, "host names are not resolved"},
		{[]string{"live", "-i", "lo", "-f", "tcp", "port 80"}, "both with -f and as arguments"},
		{[]string{"live", "-i", "lo", "--status", "sometimes"}, "--status"},
		{[]string{"live", "-i", "lo", "--kernel", "counters,psychic"}, `unknown part "psychic"`},
		{[]string{"live", "-i", "lo", "-c", "-1"}, "-c -1"},
		{[]string{"live", "-i", "fwnosuch0"}, `interface "fwnosuch0": no such interface`},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), c.args, nil, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", c.args, code, errb.String(), exitUsage, c.want)
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"live", "--help"}, nil, &out, &errb); code != exitOK || !strings.Contains(out.String(), "finwave live -i IFACE") {
		t.Errorf("live --help: exit %d, %q", code, out.String())
	}
}

// TestLiveOutputBytes pins what `finwave live` writes on stdout, byte for
// byte, when the filter lets nothing through: the live counters (the
// "type":"live" object, or the kernel line), then the summary. With the
// kernel view forced off (--kernel off: no counters, trace, conntrack or
// process attribution) these are the bytes finwave live wrote before it
// had one.
func TestLiveOutputBytes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (AF_PACKET)")
	}
	const (
		jsonLines = `{"type":"live","interface":"lo","kernel_packets":0,"kernel_drops":0,"kernel_queue_freezes":0,"kernel_stats_error":null,"flows_idle":0,"flows_evicted":0}` + "\n" +
			`{"type":"summary","finwave":1,"file":"live:lo","profile":"linux","frames":0,"tcp_segments":0,"skipped":{},"read_error":null,"first_time":null,"last_time":null,"duration":0,` +
			`"summary":{"flows":0,"listed":0,"evicted":0,"patterns":{"fin-then-reset":0,"four-way":0,"half-closed":0,"half-open":0,"open":0,"refused":0,"reset":0,"simultaneous":0,"three-way":0,"timeout":0,"unanswered":0},` +
			`"anomalies":{},"closers":{"both":0,"client":0,"none":0,"server":0},"top_endpoints":[],"endpoints_untracked":0,"checksums":{"offloaded":0,"bad":0,"super":0,"largest":0,"offload_hosts":[]}}}` + "\n"
		text = "kernel: 0 packets passed the filter, 0 dropped\n" +
			"capture live:lo · 0 frames · 0 TCP flows · profile linux · 0 frames skipped\n\nno TCP flows\n"
	)
	for _, c := range []struct {
		flags []string
		want  string
	}{{[]string{"--json"}, jsonLines}, {nil, text}} {
		args := append([]string{"live", "-i", "lo", "--duration", "200ms", "--status", "never", "--kernel", "off"}, c.flags...)
		args = append(args, "port 9 and not port 9") // matches nothing
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, nil, &out, &errb); code != exitOK {
			t.Fatalf("%q: exit %d: %s", args, code, errb.String())
		}
		if out.String() != c.want {
			t.Errorf("%q wrote\n%q\nwant\n%q", args, out.String(), c.want)
		}
	}
}

// TestLiveWriteError: a -w file that cannot be created stops finwave live
// before it captures, naming the file and why.
func TestLiveWriteError(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (AF_PACKET)")
	}
	path := filepath.Join(t.TempDir(), "missing", "x.pcap")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"live", "-i", "lo", "--duration", "100ms", "--status", "never", "-w", path}, nil, &out, &errb)
	want := "finwave: live: -w: capture " + path + ": open " + path + ": no such file or directory\n"
	if code != exitUsage || errb.String() != want || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, nothing on stdout, stderr %q", code, out.String(), errb.String(), exitUsage, want)
	}
}

// checkDroppedPrivileges: the live process pid, started as root without
// -Z, runs as nobody (uid and gid, real, effective, saved and filesystem)
// with no capability but those it keeps, and said so when it started
// listening.
//
// keep is the capability set it keeps (hex, as /proc/PID/status shows it):
// with the kernel view's process attribution, CAP_DAC_READ_SEARCH (2) and
// CAP_SYS_PTRACE (19), permitted and effective, nothing inheritable or
// ambient.
func checkDroppedPrivileges(t *testing.T, pid int, listening string, keep string) {
	t.Helper()
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody here: %v", err)
	}
	if !strings.Contains(listening, "running as nobody") {
		t.Errorf("the listening line does not say it runs as nobody: %q", listening)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Uid":    strings.Repeat(nobody.Uid+"\t", 3) + nobody.Uid,
		"Gid":    strings.Repeat(nobody.Gid+"\t", 3) + nobody.Gid,
		"CapEff": keep,
		"CapPrm": keep,
		"CapInh": "0000000000000000",
		"CapAmb": "0000000000000000",
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		if w, ok := want[k]; ok {
			if v = strings.TrimSpace(v); v != w {
				t.Errorf("/proc/%d/status %s: %q, want %q", pid, k, v, w)
			}
			delete(want, k)
		}
	}
	if len(want) > 0 {
		t.Errorf("/proc/%d/status has no %v", pid, want)
	}
}
