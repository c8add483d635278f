package netnstest

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The NAT scenario: a client namespace, a router namespace that DNATs a
// virtual service address to a backend (and masquerades towards it when
// asked), and a server namespace holding the backend.
//
//	client 10.16.1.2 ── 10.16.1.1 router 10.16.2.1 ── 10.16.2.2:8080 server
//	          connects to VIP 10.16.99.1:80, DNAT'd to the backend
const (
	NATClient  = "10.16.1.2"
	NATRouterC = "10.16.1.1"
	NATRouterS = "10.16.2.1"
	NATBackend = "10.16.2.2"
	NATVIP     = "10.16.99.1"
)

type NAT struct {
	C, R, S    string // namespaces
	Masquerade bool
}

func ipCmd(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// NewNAT builds the three namespaces (named from prefix: 2 to 4 letters
// that keep tests running at once apart) and the router's rules,
// removed at cleanup. Sysctls are set in the router's namespace only
// (net.netfilter.* and net.ipv4.ip_forward are per namespace).
func NewNAT(t testing.TB, prefix string, masquerade bool) *NAT {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces and nftables")
	}
	for _, tool := range []string{"ip", "nft", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	id := strconv.Itoa(os.Getpid() % 100000)
	n := &NAT{C: prefix + "c" + id, R: prefix + "r" + id, S: prefix + "s" + id, Masquerade: masquerade}
	vc, vrc, vrs, vs := prefix+"c"+id, prefix+"rc"+id, prefix+"rs"+id, prefix+"s"+id
	for _, ns := range []string{n.C, n.R, n.S} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Skipf("ip netns unavailable: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	ipCmd(t, "link", "add", vc, "netns", n.C, "type", "veth", "peer", "name", vrc, "netns", n.R)
	ipCmd(t, "link", "add", vs, "netns", n.S, "type", "veth", "peer", "name", vrs, "netns", n.R)
	for _, a := range [][]string{
		{"-n", n.C, "addr", "add", NATClient + "/24", "dev", vc},
		{"-n", n.R, "addr", "add", NATRouterC + "/24", "dev", vrc},
		{"-n", n.R, "addr", "add", NATRouterS + "/24", "dev", vrs},
		{"-n", n.S, "addr", "add", NATBackend + "/24", "dev", vs},
		{"-n", n.C, "link", "set", vc, "up"},
		{"-n", n.R, "link", "set", vrc, "up"},
		{"-n", n.R, "link", "set", vrs, "up"},
		{"-n", n.S, "link", "set", vs, "up"},
		{"-n", n.C, "link", "set", "lo", "up"},
		{"-n", n.R, "link", "set", "lo", "up"},
		{"-n", n.S, "link", "set", "lo", "up"},
		{"-n", n.C, "route", "add", "default", "via", NATRouterC},
		{"-n", n.S, "route", "add", "default", "via", NATRouterS},
	} {
		ipCmd(t, a...)
	}
	post := ""
	if masquerade {
		post = "ip daddr " + NATBackend + " masquerade;"
	}
	rules := `table ip finwave_nat {
	chain pre { type nat hook prerouting priority dstnat; ip daddr ` + NATVIP + ` tcp dport 80 dnat to ` + NATBackend + `:8080; }
	chain post { type nat hook postrouting priority srcnat; ` + post + ` }
}
`
	if out, err := Command(n.R, "nft", "list", "tables").CombinedOutput(); err != nil {
		t.Skipf("nftables unavailable: %v: %s", err, out)
	}
	nft := Command(n.R, "nft", "-f", "-")
	nft.Stdin = strings.NewReader(rules)
	if out, err := nft.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	for _, kv := range []string{
		"net.ipv4.ip_forward=1",
		// The Kubernetes failure needs the default: out-of-window segments
		// are INVALID (tcp_in_window → nf_tcp_log_invalid).
		"net.netfilter.nf_conntrack_tcp_be_liberal=0",
		// Short timeouts so that a closed flow's entry is destroyed soon.
		"net.netfilter.nf_conntrack_tcp_timeout_time_wait=1",
		"net.netfilter.nf_conntrack_tcp_timeout_close=1",
		"net.netfilter.nf_conntrack_tcp_timeout_last_ack=1",
		"net.netfilter.nf_conntrack_tcp_timeout_fin_wait=1",
		"net.netfilter.nf_conntrack_tcp_timeout_close_wait=1",
	} {
		Run(t, n.R, "sysctl", "-qw", kv)
	}
	return n
}

const NATServerPy = `
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("` + NATBackend + `", 8080))
s.listen()
print("listening", flush=True)
c, a = s.accept()
print("accepted", a[0], a[1], flush=True)
try:
    while True:
        d = c.recv(100)
        if not d:
            print("eof", flush=True)
            break
        c.sendall(d)
except ConnectionResetError:
    print("reset", flush=True)
c.close()
`

const NATClientPy = `
import socket, sys
c = socket.create_connection(("` + NATVIP + `", 80))
print("port", c.getsockname()[1], flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "ping":
        c.sendall(b"ping")
        print("pong" if c.recv(4) == b"ping" else "nopong", flush=True)
    elif cmd == "close":
        c.close()
        print("closed", flush=True)
        break
`

// Proc is a started helper process whose stdout is read line by line and
// whose stdin takes commands; it is killed at the test's cleanup.
type Proc struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
}

// Start runs a python3 script in namespace ns.
func Start(t testing.TB, ns, script string, args ...string) *Proc {
	t.Helper()
	return StartCmd(t, Command(ns, "python3", append([]string{"-c", script}, args...)...))
}

// StartCmd starts cmd as a Proc (its stderr goes to the test's).
func StartCmd(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{cmd: cmd, in: in, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return p
}

// Expect waits (generously) for a line starting with prefix.
func (p *Proc) Expect(t testing.TB, prefix string) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("%v ended before %q", p.cmd.Args[3:5], prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("no %q from %v", prefix, p.cmd.Args[3:5])
		}
	}
}

func (p *Proc) Send(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// Poll calls f until it returns true or the deadline passes.
func Poll(d time.Duration, f func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if f() {
			return true
		}
	}
	return f()
}

// Connect starts the backend and a client through the NAT, exchanges a
// ping and returns the client's port.
func Connect(t testing.TB, n *NAT) (srv, cli *Proc, cport uint16) {
	t.Helper()
	srv = Start(t, n.S, NATServerPy)
	srv.Expect(t, "listening")
	cli = Start(t, n.C, NATClientPy)
	l := cli.Expect(t, "port ")
	p, err := strconv.Atoi(strings.TrimPrefix(l, "port "))
	if err != nil {
		t.Fatal(err)
	}
	srv.Expect(t, "accepted")
	cli.Send(t, "ping")
	cli.Expect(t, "pong")
	return srv, cli, uint16(p)
}

const NATInjectPy = `
import socket, struct, sys, time
peer, be = sys.argv[1], "` + NATBackend + `"
# ETH_P_ALL: a protocol-specific packet socket sees no outgoing frames (dev_queue_xmit_nit)
sn = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
print("ready", flush=True)

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b)//2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def parse(p):
    ihl = (p[0] & 15) * 4
    if p[9] != 6: return None
    src, dst = socket.inet_ntoa(p[12:16]), socket.inet_ntoa(p[16:20])
    sp, dp, seq, ack, off, fl = struct.unpack("!HHIIBB", p[ihl:ihl+14])
    plen = len(p) - ihl - (off >> 4) * 4
    tot = struct.unpack("!H", p[2:4])[0]
    plen = tot - ihl - (off >> 4) * 4
    return src, sp, dst, dp, seq, ack, fl, plen

deadline = time.time() + 20
injected = False
while time.time() < deadline:
    p, a = sn.recvfrom(65535)
    if a[1] != 0x0800: continue
    r = parse(p)
    if not r: continue
    src, sp, dst, dp, seq, ack, fl, plen = r
    if not injected and src == be and sp == 8080 and dst == peer and plen > 0:
        cport = dp
        hdr = struct.pack("!HHIIBBHHH", 8080, cport, (seq + plen + 0x40000000) & 0xffffffff, ack, 5 << 4, 0x10, 502, 0, 0)
        pseudo = socket.inet_aton(be) + socket.inet_aton(peer) + struct.pack("!BBH", 0, 6, len(hdr))
        hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        raw.sendto(hdr, (peer, 0))
        injected = True
        print("injected", flush=True)
    elif injected and dst == be and dp == 8080 and fl & 0x04:
        print("rst", src, sp, dst, dp, flush=True)
        sys.exit(0)
print("norst", flush=True)
`
