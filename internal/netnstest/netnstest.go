package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Pair is two namespaces A and B joined by a veth pair: A has 192.0.2.1/24
// and 2001:db8::1/64 on VethA, B has 192.0.2.2/24 and 2001:db8::2/64 on
// VethB; loopback is up in both.
type Pair struct {
	A, B         string
	VethA, VethB string
}

// Addresses of the pair's ends.
const (
	AddrA  = "192.0.2.1"
	AddrB  = "192.0.2.2"
	Addr6A = "2001:db8::1"
	Addr6B = "2001:db8::2"
)

// NewPair creates the pair and removes it at the test's cleanup. prefix
// (2 to 4 letters) keeps the names of tests that run at once apart; the
// namespaces are named prefix+"a"+pid and prefix+"b"+pid. It skips the
// test without root or iproute2.
func NewPair(t testing.TB, prefix string) *Pair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip for network namespaces")
	}
	id := strconv.Itoa(os.Getpid() % 100000)
	p := &Pair{A: prefix + "a" + id, B: prefix + "b" + id, VethA: prefix + "va" + id, VethB: prefix + "vb" + id}
	if err := ip("netns", "add", p.A); err != nil {
		t.Skipf("ip netns unavailable: %v", err)
	}
	t.Cleanup(func() { ip("netns", "del", p.A) })
	if err := ip("netns", "add", p.B); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ip("netns", "del", p.B) })
	for _, args := range [][]string{
		{"link", "add", p.VethA, "netns", p.A, "type", "veth", "peer", "name", p.VethB, "netns", p.B},
		{"-n", p.A, "addr", "add", AddrA + "/24", "dev", p.VethA},
		{"-n", p.B, "addr", "add", AddrB + "/24", "dev", p.VethB},
		{"-n", p.A, "addr", "add", Addr6A + "/64", "dev", p.VethA, "nodad"},
		{"-n", p.B, "addr", "add", Addr6B + "/64", "dev", p.VethB, "nodad"},
		{"-n", p.A, "link", "set", p.VethA, "up"},
		{"-n", p.B, "link", "set", p.VethB, "up"},
		{"-n", p.A, "link", "set", "lo", "up"},
		{"-n", p.B, "link", "set", "lo", "up"},
	} {
		if err := ip(args...); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Command is a command to run in namespace ns (ip netns exec).
func Command(ns string, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Run runs a command in namespace ns and fails the test if it fails.
func Run(t testing.TB, ns string, name string, args ...string) string {
	t.Helper()
	out, err := Command(ns, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s %s: %v\n%s", ns, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Do runs f on a thread that entered namespace ns (/run/netns/ns): what f
// opens there (sockets, /proc/thread-self/net files) belongs to ns and
// stays so after f returns. The thread is given back to the runtime only
// if it could return to its own namespace; otherwise it is left locked and
// dies with its goroutine.
func Do(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- fmt.Errorf("netnstest: %w", err)
			return
		}
		defer self.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- fmt.Errorf("netnstest: namespace %s: %w", ns, err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netnstest: setns %s: %w", ns, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}
