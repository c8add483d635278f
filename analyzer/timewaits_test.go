package analyzer

import (
	"math/rand/v2"
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
func TestTimeWaits_lookupBothFamilies(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct{ name, client, server string }{
		{"ipv4", "10.0.0.1:40000", "10.0.0.2:80"},
		{"ipv6", "[2001:db8::1]:40000", "[2001:db8::2]:80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts timeWaits
			ts.init(100)
			cl, sv := ep(tc.client), ep(tc.server)
			until := t0.Add(60 * time.Second)
			ts.add(flow.Key{Src: cl, Dst: sv}, timeWait{addr: cl, until: until}, t0)

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
func TestTimeWaits_expiryAndCap(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var ts timeWaits
	ts.init(10)
	sv := ep("10.0.0.2:80")
	for i := range 10 {
		cl := ep("10.0.0.1:40000")
		cl.Port = uint16(40000 + i)
		ts.add(flow.Key{Src: cl, Dst: sv}, timeWait{addr: cl, until: t0.Add(time.Second)}, t0)
	}
	cl := ep("10.0.0.1:50000")
	ts.add(flow.Key{Src: cl, Dst: sv}, timeWait{addr: cl, until: t0.Add(time.Minute)}, t0)
	if _, ok := ts.lookup(flow.Key{Src: cl, Dst: sv}, t0); ok {
		t.Error("an eleventh TIME_WAIT was kept with max 10")
	}
	later := t0.Add(2 * time.Second) // the first ten have ended
	ts.add(flow.Key{Src: cl, Dst: sv}, timeWait{addr: cl, until: later.Add(time.Minute)}, later)
	if n := ts.v4.n + ts.v6.n; n != 1 {
		t.Errorf("%d TIME_WAITs held, want 1 (the ten ended ones dropped)", n)
	}
	if _, ok := ts.lookup(flow.Key{Src: sv, Dst: cl}, later); !ok {
		t.Error("the new TIME_WAIT is not found")
	}
}

// The ring and its index answer like a plain map of live TIME_WAITs,
// through ring growth, index rehashes, replaced keys, out-of-order ends
// and expiry at the front.
func TestTimeWaits_matchMap(t *testing.T) {
	var tt twTable[tw4Key]
	tt.init()
	ref := map[tw4Key]twVal{}
	rng := rand.New(rand.NewPCG(1, 2))
	now := int64(0)
	for op := range 300_000 {
		now += rng.Int64N(1000)
		k := tw4Key{src: [4]byte{10, 0, 0, 1}, dst: [4]byte{10, 0, 0, 2}, sport: uint16(rng.IntN(5000)), dport: 80}
		switch {
		case op%3 == 0:
			v := twVal{until: now + 2_000_000 + rng.Int64N(3_000_000), srcTW: rng.IntN(2) == 0}
			tt.expire(now)
			tt.put(k, v)
			ref[k] = v
		default:
			got, ok := tt.get(k, now)
			want, wok := ref[k]
			if wok && want.until <= now {
				delete(ref, k)
				wok = false
			}
			if ok != wok || got != want && ok {
				t.Fatalf("op %d: get %v = %+v %v, want %+v %v", op, k, got, ok, want, wok)
			}
		}
	}
	if len(tt.ring) <= twMinSize {
		t.Errorf("ring never grew (%d records): the test does not cover growth", len(tt.ring))
	}
}
