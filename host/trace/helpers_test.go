package trace

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"finwave/host"
	"finwave/internal/netnstest"
)

const prefix = "ft"

// openTracer opens a Tracer for the named namespaces (/run/netns/NAME),
// skipping the test with Open's reason where loading is refused.
func openTracer(t testing.TB, names ...string) *Tracer {
	t.Helper()
	var inos []uint32
	for _, n := range names {
		ino, err := NetNSInode("/run/netns/" + n)
		if err != nil {
			t.Fatal(err)
		}
		inos = append(inos, ino)
	}
	tr, err := Open(Config{NetNS: inos})
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("kernel tracing refused here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range tr.Notes() {
		t.Logf("note: %s", n)
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Error(err)
		}
	})
	return tr
}

// collector keeps every event Read delivers.
type collector struct {
	mu  sync.Mutex
	evs []host.Event
}

func collect(t testing.TB, tr *Tracer) *collector {
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tr.Read(ctx, func(ev host.Event) {
			c.mu.Lock()
			c.evs = append(c.evs, ev)
			c.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Read: %v", err)
		}
	})
	return c
}

func (c *collector) events() []host.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]host.Event(nil), c.evs...)
}

// waitFor polls until done(the matching events) holds, failing the test
// after a generous deadline with every event seen.
func (c *collector) waitFor(t testing.TB, what string, match func(host.Event) bool, done func([]host.Event) bool) []host.Event {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got []host.Event
		for _, ev := range c.events() {
			if match(ev) {
				got = append(got, ev)
			}
		}
		if done(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; matching events:\n%s\nall events:\n%s", what, format1(got), format1(c.events()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func format1(evs []host.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "\t%s\n", evString(ev))
	}
	return b.String()
}

func evString(ev host.Event) string {
	return fmt.Sprintf("%s %s %s %s→%s reason=%q pid=%d comm=%q", ev.Time.Format("15:04:05.000000"), ev.Kind, ev.Tuple, ev.Old, ev.New, ev.Reason, ev.PID, ev.Comm)
}

// transitions are a socket's state changes as "OLD→NEW".
func transitions(evs []host.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == host.StateChange {
			out = append(out, ev.Old.String()+"→"+ev.New.String())
		}
	}
	return out
}

// hasSuffix reports whether the last transitions of evs are want.
func endsWith(evs []host.Event, want ...string) bool {
	got := transitions(evs)
	if len(got) < len(want) {
		return false
	}
	return strings.Join(got[len(got)-len(want):], " ") == strings.Join(want, " ")
}

// inNS runs f in namespace ns, failing the test if it fails.
func inNS(t testing.TB, ns string, f func() error) {
	t.Helper()
	if err := netnstest.Do(ns, f); err != nil {
		t.Fatal(err)
	}
}

func listen(t testing.TB, ns, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	inNS(t, ns, func() (err error) { ln, err = net.Listen("tcp", addr); return err })
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dial(t testing.TB, ns, addr string) *net.TCPConn {
	t.Helper()
	var c net.Conn
	inNS(t, ns, func() (err error) { c, err = net.Dial("tcp", addr); return err })
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func addrPort(a net.Addr) netip.AddrPort {
	ap := a.(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// ssState is the state `ss -tan` in ns shows for the socket local ↔ remote,
// "" when it lists none.
func ssState(t testing.TB, ns string, tu host.Tuple) string {
	t.Helper()
	for _, line := range strings.Split(netnstest.Run(t, ns, "ss", "-Htan"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[3] == tu.Local.String() && f[4] == tu.Remote.String() {
			return f[0]
		}
	}
	return ""
}

// tcpSegment builds an IPv4 packet holding one TCP segment with valid
// checksums (RFC 791, RFC 9293 section 3.1), for a raw socket.
func tcpSegment(src, dst netip.AddrPort, seq, ack uint32, flags byte, payload []byte) []byte {
	const ihl, thl = 20, 20
	b := make([]byte, ihl+thl+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64
	b[9] = unix.IPPROTO_TCP
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:], s4[:])
	copy(b[16:], d4[:])
	binary.BigEndian.PutUint16(b[10:], ^sum16(0, b[:ihl]))
	tcp := b[ihl:]
	binary.BigEndian.PutUint16(tcp[0:], src.Port())
	binary.BigEndian.PutUint16(tcp[2:], dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = thl / 4 << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	copy(tcp[thl:], payload)
	var pseudo [12]byte
	copy(pseudo[0:], s4[:])
	copy(pseudo[4:], d4[:])
	pseudo[9] = unix.IPPROTO_TCP
	binary.BigEndian.PutUint16(pseudo[10:], uint16(len(tcp)))
	binary.BigEndian.PutUint16(tcp[16:], ^sum16(uint32(sum16(0, pseudo[:])), tcp))
	return b
}

// sum16 is the ones' complement sum of RFC 1071, folded.
func sum16(acc uint32, b []byte) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		acc += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		acc += uint32(b[len(b)-1]) << 8
	}
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

func dialErr(addr string) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, 5*time.Second)
}
