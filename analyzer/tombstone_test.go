package analyzer

import (
	"net/netip"
	"testing"
	"time"

	"finwave/flow"
)

func ep(s string) flow.Endpoint {
	ap := netip.MustParseAddrPort(s)
	return flow.Endpoint{Addr: ap.Addr(), Port: ap.Port()}
}

// A TIME_WAIT is found from either direction of its 4-tuple until it
// ends, for IPv4 and IPv6 alike, and names the endpoint that holds it.
func TestTombstones_lookupBothFamilies(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct{ name, client, server string }{
		{"ipv4", "10.0.0.1:40000", "10.0.0.2:80"},
		{"ipv6", "[2001:db8::1]:40000", "[2001:db8::2]:80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts tombstones
			ts.init(100)
			cl, sv := ep(tc.client), ep(tc.server)
			until := t0.Add(60 * time.Second)
			ts.add(flow.Key{Src: cl, Dst: sv}, tomb{addr: cl, until: until}, t0)

			for _, k := range []flow.Key{{Src: cl, Dst: sv}, {Src: sv, Dst: cl}} {
				tw, ok := ts.lookup(k, t0.Add(time.Second))
				if !ok || tw.addr != cl || !tw.until.Equal(until) {
					t.Errorf("lookup %v: %+v %v, want the client's TIME_WAIT until %v", k, tw, ok, until)
				}
			}
			other := flow.Key{Src: cl, Dst: ep(tc.server)}
			other.Dst.Port = 81
			if _, ok := ts.lookup(other, t0.Add(time.Second)); ok {
				t.Errorf("a TIME_WAIT found on another 4-tuple %v", other)
			}
			if _, ok := ts.lookup(flow.Key{Src: cl, Dst: sv}, until); ok {
				t.Error("a TIME_WAIT found at its end")
			}
		})
	}
}

// Expired TIME_WAITs leave the table as new ones come in, and max bounds
// the live ones.
func TestTombstones_expiryAndCap(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var ts tombstones
	ts.init(10)
	sv := ep("10.0.0.2:80")
	for i := range 10 {
		cl := ep("10.0.0.1:40000")
		cl.Port = uint16(40000 + i)
		ts.add(flow.Key{Src: cl, Dst: sv}, tomb{addr: cl, until: t0.Add(time.Second)}, t0)
	}
	cl := ep("10.0.0.1:50000")
	ts.add(flow.Key{Src: cl, Dst: sv}, tomb{addr: cl, until: t0.Add(time.Minute)}, t0)
	if _, ok := ts.lookup(flow.Key{Src: cl, Dst: sv}, t0); ok {
		t.Error("an eleventh TIME_WAIT was kept with max 10")
	}
	later := t0.Add(2 * time.Second) // the first ten have ended
	ts.add(flow.Key{Src: cl, Dst: sv}, tomb{addr: cl, until: later.Add(time.Minute)}, later)
	if n := len(ts.v4.m) + len(ts.v6.m); n != 1 {
		t.Errorf("%d TIME_WAITs held, want 1 (the ten ended ones dropped)", n)
	}
	if _, ok := ts.lookup(flow.Key{Src: sv, Dst: cl}, later); !ok {
		t.Error("the new TIME_WAIT is not found")
	}
}
