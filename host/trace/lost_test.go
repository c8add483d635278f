package trace

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"finwave/host"
	"finwave/internal/netnstest"
)

// TestLost: with a one-page ring buffer and nobody reading, the programs
// count what they could not write, and Read then delivers what fitted.
func TestLost(t *testing.T) {
	p := netnstest.NewPair(t, prefix)
	ino, err := NetNSInode("/run/netns/" + p.A)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Open(Config{NetNS: []uint32{ino}, RingSize: os.Getpagesize()})
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("kernel tracing refused here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	const conns = 10 // 11 state changes each
	ln := listen(t, p.A, "127.0.0.1:0")
	for range conns {
		c := dial(t, p.A, ln.Addr().String())
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		s.Close()
	}
	fits := os.Getpagesize() / (recSize + 8) // a record and its 8-byte header
	deadline := time.Now().Add(10 * time.Second)
	for tr.Lost() < uint64(conns*9-fits) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	lost := tr.Lost()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	n := 0
	if err := tr.Read(ctx, func(host.Event) { n++ }); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events read, %d lost, %d fit the ring", n, lost, fits)
	if lost == 0 || n == 0 || n > fits {
		t.Errorf("%d read and %d lost with room for %d", n, lost, fits)
	}
}
