package hostview

import (
	"net/netip"
	"strings"
	"testing"

	"finwave/analyzer"
	"finwave/flow"
	"finwave/internal/kstat"
)

// teardown is a flow between client and server with the given predicted
// counters on each side.
func teardown(client, server string, cc, sc analyzer.CounterSet) *analyzer.Teardown {
	t := &analyzer.Teardown{
		Client: flow.Endpoint{Addr: netip.MustParseAddr(client), Port: 40000},
		Server: flow.Endpoint{Addr: netip.MustParseAddr(server), Port: 80},
	}
	t.Counters[analyzer.Client], t.Counters[analyzer.Server] = cc, sc
	return t
}

func set(c analyzer.Counter, min, max uint32) (s analyzer.CounterSet) {
	s[c] = analyzer.Bound{Min: min, Max: max}
	return s
}

func row(cmp *Comparison, name string) Row {
	for _, r := range cmp.Rows {
		if r.Name == name {
			return r
		}
	}
	return Row{}
}

// Only the local ends count; a loopback flow counts both.
func TestCounters_localEndsOnly(t *testing.T) {
	c := &Counters{locals: NewLocals(netip.MustParseAddr("10.0.0.1"))}
	opens := set(analyzer.TcpActiveOpens, 1, 1)
	passive := set(analyzer.TcpPassiveOpens, 1, 1)
	c.Add(teardown("10.0.0.1", "10.0.0.9", opens, passive))   // we are the client
	c.Add(teardown("10.0.0.9", "10.0.0.1", opens, passive))   // we are the server
	c.Add(teardown("10.0.0.7", "10.0.0.9", opens, passive))   // passing through
	c.Add(teardown("127.0.0.1", "127.0.0.1", opens, passive)) // loopback: both
	cmp := c.compare(kstat.Counters{"TcpActiveOpens": 2, "TcpPassiveOpens": 2}, Context{Interface: "any"})
	if cmp.Flows != 3 || cmp.Foreign != 1 || cmp.Differ != 0 {
		t.Fatalf("flows %d foreign %d differ %d, want 3, 1, 0: %+v", cmp.Flows, cmp.Foreign, cmp.Differ, cmp.Rows)
	}
	if r := row(cmp, "TcpActiveOpens"); r.Predicted != (analyzer.Bound{Min: 2, Max: 2}) || !r.Agree {
		t.Errorf("TcpActiveOpens %+v, want 2 predicted, agreeing", r)
	}
}

// A difference names the likely reasons the capture gives: drops, the
// filter, the interface; fewer than predicted names what happens after the
// tap.
func TestCounters_reasons(t *testing.T) {
	c := &Counters{locals: NewLocals(netip.MustParseAddr("10.0.0.1"))}
	c.Add(teardown("10.0.0.1", "10.0.0.9", set(analyzer.TcpActiveOpens, 1, 1), set(analyzer.TcpExtTW, 1, 1)))
	c.Add(teardown("10.0.0.9", "10.0.0.1", analyzer.CounterSet{}, set(analyzer.TcpExtTW, 1, 1)))
	cmp := c.compare(kstat.Counters{"TcpActiveOpens": 4}, Context{Interface: "eth0", Filter: "port 80", KernelDrops: 3})
	r := row(cmp, "TcpActiveOpens")
	for _, w := range []string{"3 more", "dropped 3 packets", `filter "port 80"`, "other than eth0"} {
		if r.Agree || !strings.Contains(r.Reason, w) {
			t.Errorf("TcpActiveOpens reason %q (agree %v), want it to say %q", r.Reason, r.Agree, w)
		}
	}
	if r := row(cmp, "TcpExtTW"); r.Agree || !strings.Contains(r.Reason, "1 fewer") || !strings.Contains(r.Reason, "after the tap") {
		t.Errorf("TcpExtTW %+v, want a difference of 1 fewer, after the tap", r)
	}
	if cmp.Differ != 2 {
		t.Errorf("differ %d, want 2", cmp.Differ)
	}
}
