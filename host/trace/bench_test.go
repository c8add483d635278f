package trace

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"finwave/host"
	"finwave/internal/netnstest"
)

// BenchmarkLoopbackConnect measures the kernel-side cost of the programs:
// a connect/accept/close loop on loopback in a namespace, untraced, traced
// (every event read and decoded), and traced for another namespace only
// (the programs run and filter everything out). Each connection makes 8
// events (6 state changes, a RST sent and received: the client closes
// with SO_LINGER 0). Compare the conns/s of the three; bpf-ns/run is the
// kernel's own accounting of the programs' run time
// (kernel.bpf_stats_enabled, BPF_ENABLE_STATS).
func BenchmarkLoopbackConnect(b *testing.B) {
	p := netnstest.NewPair(b, prefix)
	// The whole loop runs on one thread inside the namespace.
	loop := func(b *testing.B) {
		err := netnstest.Do(p.A, func() error {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer ln.Close()
			for b.Loop() {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					return err
				}
				s, err := ln.Accept()
				if err != nil {
					return err
				}
				// RST instead of FIN: no TIME_WAIT piles up over the loop.
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
				s.Close()
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
	}
	traced := func(ns string) func(b *testing.B) {
		return func(b *testing.B) {
			ino, err := NetNSInode("/run/netns/" + ns)
			if err != nil {
				b.Fatal(err)
			}
			tr, err := Open(Config{NetNS: []uint32{ino}})
			if errors.Is(err, ErrUnavailable) {
				b.Skipf("kernel tracing refused here: %v", err)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer tr.Close()
			if st, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME)); err == nil {
				defer st.Close()
				defer func() {
					var runs uint64
					var ns time.Duration
					for _, p := range tr.progs {
						if s, err := p.Stats(); err == nil {
							runs += s.RunCount
							ns += s.Runtime
						}
					}
					if runs > 0 {
						b.ReportMetric(float64(ns.Nanoseconds())/float64(runs), "bpf-ns/run")
					}
				}()
			}
			var n atomic.Int64
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				tr.Read(ctx, func(host.Event) { n.Add(1) })
				close(done)
			}()
			loop(b)
			cancel()
			<-done
			b.ReportMetric(float64(n.Load())/float64(b.N), "events/op")
			b.ReportMetric(float64(tr.Lost()), "lost")
		}
	}
	b.Run("untraced", loop)
	b.Run("traced", traced(p.A))
	b.Run("other-ns", traced(p.B))
}
