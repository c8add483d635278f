package conntrack

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"finwave/internal/netnstest"
)

const helperEnv = "FC_CONNTRACK_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "drop" {
		if err := dropHelper(); err != nil {
			fmt.Fprintln(os.Stderr, "drop helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// dropHelper opens the table as root in its namespace, drops to nobody
// (no capabilities left: setuid from 0 clears the effective set), then
// answers commands on stdin: "find SRC DST", "dump", "invalid", "lost".
func dropHelper() error {
	tb, err := Open(Config{StatsEvery: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	defer tb.Close()
	if err := syscall.Setgroups(nil); err != nil {
		return err
	}
	if err := syscall.Setgid(65534); err != nil {
		return err
	}
	if err := syscall.Setuid(65534); err != nil {
		return err
	}
	_, err = Open(Config{})
	fmt.Printf("ready uid=%d unavailable=%v\n", os.Getuid(), errors.Is(err, ErrUnavailable))
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "find":
			src, dst := netip.MustParseAddrPort(f[1]), netip.MustParseAddrPort(f[2])
			var e Found
			ok := netnstest.Poll(10*time.Second, func() bool {
				var ok bool
				e, ok = tb.Find(src, dst)
				return ok && e.State == "ESTABLISHED"
			})
			fmt.Printf("found %v %s %v\n", ok, e.State, e.Pair)
		case len(f) == 1 && f[0] == "dump":
			fmt.Printf("dump: %v\n", tb.dump())
		case len(f) == 1 && f[0] == "lost":
			_, err := tb.drops.read()
			fmt.Printf("lost: %d %v\n", tb.Lost(), err)
		case len(f) == 1 && f[0] == "invalid":
			v, err := tb.Invalid()
			fmt.Printf("invalid: %d %v\n", v, err)
		}
	}
	return nil
}

// TestAfterDrop: after Open as root and a drop to nobody with no
// capabilities, events keep coming (a new flow's entry is found) and the
// 'invalid' counter is still read; a dump (a resync) is refused: it needs
// CAP_NET_ADMIN when sent.
func TestAfterDrop(t *testing.T) {
	n := netnstest.NewNAT(t, "fcd", false)
	h := netnstest.Command(n.R, os.Args[0], "-test.run=^$")
	h.Env = append(os.Environ(), helperEnv+"=drop")
	p := netnstest.StartCmd(t, h)
	// Open itself, unprivileged, fails with ErrUnavailable.
	if l := p.Expect(t, "ready"); l != "ready uid=65534 unavailable=true" {
		t.Fatalf("helper: %q", l)
	}

	_, _, cport := netnstest.Connect(t, n)
	p.Send(t, fmt.Sprintf("find %s:%d %s:80", netnstest.NATClient, cport, netnstest.NATVIP))
	if l := p.Expect(t, "found"); l != "found true ESTABLISHED orig" {
		t.Errorf("after the drop, a new flow: %q", l)
	}
	p.Send(t, "invalid")
	if l := p.Expect(t, "invalid:"); !strings.HasSuffix(l, "<nil>") {
		t.Errorf("after the drop, the invalid counter: %q", l)
	}
	p.Send(t, "lost")
	if l := p.Expect(t, "lost:"); l != "lost: 0 <nil>" {
		t.Errorf("after the drop, the event socket's drop counter: %q", l)
	}
	p.Send(t, "dump")
	if l := p.Expect(t, "dump:"); !strings.Contains(l, "operation not permitted") {
		t.Errorf("after the drop, a dump: %q (want EPERM)", l)
	} else {
		t.Logf("after the drop: a new flow's entry found, counters read; %s", l)
	}
}
