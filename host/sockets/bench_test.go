package sockets

import (
	"net"
	"testing"

	"finwave/host"
	"finwave/internal/netnstest"
)

// loopbackConns opens n loopback connections in namespace ns, both ends
// held by this process: 2n+1 sockets.
func loopbackConns(b *testing.B, ns string, n int) []host.Tuple {
	b.Helper()
	var held []interface{ Close() error }
	var tuples []host.Tuple
	err := netnstest.Do(ns, func() error {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		held = append(held, l)
		accepted := make(chan net.Conn, n)
		go func() {
			for range n {
				c, err := l.Accept()
				if err != nil {
					close(accepted)
					return
				}
				accepted <- c
			}
			close(accepted)
		}()
		for range n {
			c, err := net.Dial("tcp4", l.Addr().String())
			if err != nil {
				return err
			}
			held = append(held, c)
			tuples = append(tuples, host.Tuple{Local: c.LocalAddr().(*net.TCPAddr).AddrPort(), Remote: c.RemoteAddr().(*net.TCPAddr).AddrPort()})
		}
		for c := range accepted {
			held = append(held, c)
		}
		return nil
	})
	b.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	if err != nil {
		b.Skipf("cannot open %d loopback connections: %v", n, err)
	}
	return tuples
}

// BenchmarkRefresh: the cost of a refresh over ~10k sockets (5000
// loopback connections in a namespace, both ends held by this process).
// warm: every socket already attributed, so a dump and no /proc scan;
// procnet: the same from /proc/net/tcp; cold: Open, i.e. a dump and a
// scan of every process's descriptors to attribute all 10k inodes.
func BenchmarkRefresh(b *testing.B) {
	p := netnstest.NewPair(b, "fs")
	tuples := loopbackConns(b, p.A, 5000)
	for _, c := range []struct {
		name string
		opts Options
	}{{"warm", Options{MinInterval: -1}}, {"procnet", Options{MinInterval: -1, ProcNet: true}}} {
		b.Run(c.name, func(b *testing.B) {
			r := openIn(b, p.A, c.opts)
			if a := r.Lookup(tuples[0]); a.Status != Owned {
				b.Fatalf("not attributed: %v", a)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Refresh(); err != nil {
					b.Fatal(err)
				}
			}
			st := r.Stats()
			if st.Scanned {
				b.Fatalf("a warm refresh scanned /proc: %+v", st)
			}
			b.ReportMetric(float64(st.Sockets), "sockets")
		})
	}
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		var st Stats
		for b.Loop() {
			err := netnstest.Do(p.A, func() error {
				r, err := Open(Options{})
				if err != nil {
					return err
				}
				st = r.Stats()
				return r.Close()
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(st.Sockets), "sockets")
		b.ReportMetric(float64(st.Procs), "procs")
		b.ReportMetric(float64(st.FDs), "fds")
	})
	b.Run("lookup", func(b *testing.B) {
		r := openIn(b, p.A, Options{})
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if a := r.Lookup(tuples[i%len(tuples)]); a.Status != Owned {
				b.Fatal(a)
			}
			i++
		}
	})
}
