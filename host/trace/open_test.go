package trace

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"finwave/host"
	"finwave/internal/netnstest"
)

// TestMissingTracepoint: a missing optional tracepoint is left out with a
// note naming it; a missing inet_sock_set_state fails Open with
// ErrUnavailable.
func TestMissingTracepoint(t *testing.T) {
	p := netnstest.NewPair(t, prefix)
	openTracer(t, p.A) // skips where loading is refused
	saved := slices.Clone(tracepoints)
	t.Cleanup(func() { tracepoints = saved })

	tracepoints[4].name = "no_such_tracepoint" // skb:kfree_skb's place
	tr, err := Open(Config{})
	if err != nil {
		t.Fatalf("Open without an optional tracepoint: %v", err)
	}
	defer tr.Close()
	if slices.Contains(tr.Kinds(), host.Drop) || len(tr.Kinds()) != 4 {
		t.Errorf("kinds %v with kfree_skb missing", tr.Kinds())
	}
	if len(tr.Notes()) != 1 || !strings.Contains(tr.Notes()[0], "skb:no_such_tracepoint missing") {
		t.Errorf("notes %q", tr.Notes())
	}
	t.Logf("note: %s", tr.Notes()[0])

	tracepoints[0].name = "no_such_tracepoint"
	if tr, err := Open(Config{}); !errors.Is(err, ErrUnavailable) {
		if tr != nil {
			tr.Close()
		}
		t.Fatalf("Open without inet_sock_set_state: %v, want ErrUnavailable", err)
	} else {
		t.Logf("required tracepoint missing: %v", err)
	}
}

// TestIPv6: a refused IPv6 connect across the pair: the RST's sockaddrs,
// the dropped SYN's IPv6 header and the client's states decode as IPv6.
func TestIPv6(t *testing.T) {
	p := netnstest.NewPair(t, prefix)
	tr := openTracer(t, p.A, p.B)
	col := collect(t, tr)
	ln := listen(t, p.B, "["+netnstest.Addr6B+"]:0")
	closed := addrPort(ln.Addr())
	ln.Close()
	inNS(t, p.A, func() error {
		if c, err := dialErr(closed.String()); err == nil {
			c.Close()
			t.Errorf("connect to closed port %s succeeded", closed)
		}
		return nil
	})
	sent := col.waitFor(t, "B's RST", func(ev host.Event) bool {
		return ev.Kind == host.SendReset && ev.Tuple.Local == closed
	}, nonEmpty)
	t.Log(evString(sent[0]))
	if sent[0].Reason != "NO_SOCKET" || sent[0].Tuple.Remote.Addr() != netip.MustParseAddr(netnstest.Addr6A) {
		t.Errorf("send-reset %s", evString(sent[0]))
	}
	col.waitFor(t, "the dropped SYN", func(ev host.Event) bool {
		return ev.Kind == host.Drop && ev.Tuple == sent[0].Tuple && ev.Reason == "NO_SOCKET"
	}, nonEmpty)
	client := col.waitFor(t, "the client's states", func(ev host.Event) bool {
		return ev.Kind == host.StateChange && ev.Tuple.Remote == closed
	}, func(e []host.Event) bool { return endsWith(e, "SYN_SENT→CLOSE") })
	if got := transitions(client); !slices.Equal(got, []string{"CLOSE→SYN_SENT", "SYN_SENT→CLOSE"}) {
		t.Errorf("client transitions %v", got)
	}
	col.waitFor(t, "the client's receive-reset", func(ev host.Event) bool {
		return ev.Kind == host.ReceiveReset && ev.Tuple == sent[0].Tuple.Reverse()
	}, nonEmpty)
}
