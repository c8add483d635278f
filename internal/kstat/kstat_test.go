package kstat

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestReadPaired(t *testing.T) {
	in := "Ip: Forwarding DefaultTTL InReceives\nIp: 2 64 7\nTcp: RtoAlgorithm MaxConn ActiveOpens\nTcp: 1 -1 3\n"
	c := Counters{}
	if err := ReadPaired(strings.NewReader(in), c); err != nil {
		t.Fatal(err)
	}
	want := Counters{"IpForwarding": 2, "IpDefaultTTL": 64, "IpInReceives": 7, "TcpRtoAlgorithm": 1, "TcpMaxConn": -1, "TcpActiveOpens": 3}
	if len(c) != len(want) {
		t.Errorf("got %v, want %v", c, want)
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %d, want %d", k, c[k], v)
		}
	}
}

func TestReadPaired_malformed(t *testing.T) {
	for _, in := range []string{
		"TcpExt: TW\n",                       // no values
		"TcpExt: TW TWRecycled\nTcpExt: 1\n", // too few values
		"TcpExt: TW\nIpExt: 1\n",             // values of another prefix
		"TcpExt: TW\nTcpExt: x\n",            // not a number
		"TcpExt TW\nTcpExt 1\n",              // no colon
	} {
		if err := ReadPaired(strings.NewReader(in), Counters{}); err == nil {
			t.Errorf("%q: no error", in)
		} else if !strings.Contains(err.Error(), "line ") {
			t.Errorf("%q: error %q names no line", in, err)
		}
	}
}

func TestReadFlat(t *testing.T) {
	c := Counters{}
	if err := ReadFlat(strings.NewReader("Ip6InReceives                   \t5\nIp6OutRequests 2\n"), c); err != nil {
		t.Fatal(err)
	}
	if c["Ip6InReceives"] != 5 || c["Ip6OutRequests"] != 2 || len(c) != 2 {
		t.Errorf("got %v", c)
	}
	if err := ReadFlat(strings.NewReader("Ip6InReceives\n"), Counters{}); err == nil {
		t.Error("a name without a value: no error")
	}
}

func TestDelta(t *testing.T) {
	d := Delta(Counters{"TcpExtTW": 3, "TcpActiveOpens": 1}, Counters{"TcpExtTW": 5, "TcpActiveOpens": 1, "TcpOutRsts": 2})
	if len(d) != 2 || d["TcpExtTW"] != 2 || d["TcpOutRsts"] != 2 {
		t.Errorf("got %v", d)
	}
}

// TestNamesAsNstat: in a fresh network namespace, every counter nstat -az
// prints is in the Snapshot, with the same name and value (the
// namespace is idle, so nothing moves between the two reads).
func TestNamesAsNstat(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("kstat: needs root for a network namespace (ip netns add)")
	}
	for _, tool := range []string{"ip", "nstat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("kstat: %s not installed (Debian package iproute2)", tool)
		}
	}
	ns := "kstat" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("kstat: ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	exec.Command("ip", "-n", ns, "link", "set", "lo", "up").Run()
	// A process inside the namespace opens its /proc/net; its pid's net
	// directory is that namespace's.
	cmd := exec.Command("ip", "netns", "exec", ns, "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// ip netns exec enters the namespace, then execs sleep in the same
	// process: wait until the pid is in it.
	in := false
	for i := 0; i < 100 && !in; i++ {
		if in = inNamespace(cmd.Process.Pid, ns); !in {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !in {
		t.Fatalf("pid %d never entered namespace %s", cmd.Process.Pid, ns)
	}
	c, err := Snapshot("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/net")
	if err != nil {
		t.Fatal(err)
	}
	// -a: absolute values, -z: zeros too, -s: no history file.
	out, err := exec.Command("ip", "netns", "exec", ns, "nstat", "-azs").Output()
	if err != nil {
		t.Fatalf("nstat: %v", err)
	}
	want := ParseNstat(string(out))
	for name, v := range want {
		got, ok := c[name]
		if !ok {
			t.Errorf("nstat prints %s, the snapshot has no such counter", name)
		} else if got != v {
			t.Errorf("%s = %d, nstat says %d", name, got, v)
		}
	}
	n := len(want)
	if n < 100 {
		t.Fatalf("nstat printed only %d counters:\n%s", n, out)
	}
	t.Logf("%d counters as nstat names them (%d in the snapshot)", n, len(c))
}

// inNamespace reports whether pid's network namespace is the named one.
func inNamespace(pid int, ns string) bool {
	a, err1 := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net")
	st, err2 := os.Stat("/run/netns/" + ns)
	self, err3 := os.Stat("/proc/" + strconv.Itoa(pid) + "/ns/net")
	return err1 == nil && err2 == nil && err3 == nil && a != "" && os.SameFile(st, self)
}
