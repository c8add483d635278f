package trace

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"finwave/host"
	"finwave/internal/netnstest"
)

// TestMain runs the privilege-dropping child when the test binary is
// re-executed by TestReadAfterDroppingRoot.
func TestMain(m *testing.M) {
	if os.Getenv("FT_TRACE_CHILD") != "" {
		os.Exit(dropChild())
	}
	os.Exit(m.Run())
}

// dropChild opens a Tracer for namespace FT_TRACE_NETNS, drops to uid and
// gid 65534 (all capabilities go with uid 0), shows that loading is now
// refused, and prints each state change it still reads.
func dropChild() int {
	ino, err := strconv.ParseUint(os.Getenv("FT_TRACE_NETNS"), 10, 32)
	if err != nil {
		fmt.Println("bad FT_TRACE_NETNS:", err)
		return 2
	}
	cfg := Config{NetNS: []uint32{uint32(ino)}}
	tr, err := Open(cfg)
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	if err := syscall.Setgroups(nil); err != nil {
		fmt.Println("setgroups:", err)
		return 1
	}
	if err := syscall.Setgid(65534); err != nil {
		fmt.Println("setgid:", err)
		return 1
	}
	if err := syscall.Setuid(65534); err != nil {
		fmt.Println("setuid:", err)
		return 1
	}
	if again, err := Open(cfg); err == nil {
		again.Close()
		fmt.Println("reopen: allowed")
	} else {
		fmt.Printf("reopen: refused unavailable=%v\n", errors.Is(err, ErrUnavailable))
	}
	fmt.Printf("ready uid=%d euid=%d\n", os.Getuid(), os.Geteuid())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = tr.Read(ctx, func(ev host.Event) {
		if ev.Kind == host.StateChange {
			fmt.Printf("event %s %s→%s lost=%d\n", ev.Tuple, ev.Old, ev.New, tr.Lost())
		}
	})
	if err != nil {
		fmt.Println("read:", err)
	}
	if err := tr.Close(); err != nil {
		fmt.Println("close:", err)
	}
	return 0
}

// TestReadAfterDroppingRoot: a child opens the tracer as root, drops to
// nobody (uid 65534, no capabilities) and still reads events: Read and
// Lost need nothing but the descriptors and mappings Open made.
func TestReadAfterDroppingRoot(t *testing.T) {
	p := netnstest.NewPair(t, prefix)
	openTracer(t, p.A) // skips where loading is refused
	ino, err := NetNSInode("/run/netns/" + p.A)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FT_TRACE_CHILD=1", "FT_TRACE_NETNS="+strconv.FormatUint(uint64(ino), 10))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("child ended before %s; stderr: %s", what, stderr.String())
			}
			t.Logf("child: %s", l)
			return l
		case <-time.After(30 * time.Second):
			t.Fatalf("timed out waiting for the child's %s", what)
		}
		return ""
	}
	if l := next("reopen"); l != "reopen: refused unavailable=true" {
		t.Fatalf("child after dropping root: %q, want loading refused (ErrUnavailable)", l)
	}
	if l := next("ready"); l != "ready uid=65534 euid=65534" {
		t.Fatalf("child: %q", l)
	}

	ln := listen(t, p.A, "127.0.0.1:0")
	c := dial(t, p.A, ln.Addr().String())
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	server := host.Tuple{Local: addrPort(s.LocalAddr()), Remote: addrPort(s.RemoteAddr())}
	c.Close()
	s.Close()
	want := fmt.Sprintf("event %s LAST_ACK→CLOSE lost=0", server)
	for l := next("events"); l != want; l = next("event " + want) {
		if !strings.HasPrefix(l, "event ") {
			t.Fatalf("child: %q", l)
		}
	}
}
