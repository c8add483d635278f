package trace

import (
	"context"
	"runtime"
	"testing"
	"time"

	"finwave/host"
	"finwave/internal/netnstest"
)

// TestReadAllocs: draining the ring buffer allocates nothing per event
// (ringbuf.Reader.ReadInto reuses one record, Comm is interned). Events
// are made first, with nobody reading, then Read drains them.
func TestReadAllocs(t *testing.T) {
	p := netnstest.NewPair(t, prefix)
	tr := openTracer(t, p.A)
	const conns = 40
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
	want := conns * 10 // 11 state changes a connection, less the listener's
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	var before, after runtime.MemStats
	var start time.Time
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := tr.Read(ctx, func(host.Event) {
		if n == 0 {
			start = time.Now()
		}
		n++
		if n == want {
			cancel()
		}
	})
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if n < want {
		t.Fatalf("read %d events, want %d (lost %d)", n, want, tr.Lost())
	}
	per := float64(after.Mallocs-before.Mallocs) / float64(n)
	t.Logf("%d events: %.3f allocations and %v each in Read (ring buffer copy, decode, callback)", n, per, took/time.Duration(n))
	if per > 0.1 {
		t.Errorf("%.2f allocations per event", per)
	}
}
