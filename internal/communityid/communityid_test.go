package communityid

import (
	"net/netip"
	"testing"
)

// The vectors of pycommunityid's tests (the reference implementation of
// the spec), also used by other implementations.
func TestVectors(t *testing.T) {
	for _, c := range []struct {
		seed  uint16
		proto uint8
		a, b  string
		want  string
	}{
		{0, TCP, "128.232.110.120:34855", "66.35.250.204:80", "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{0, TCP, "66.35.250.204:80", "128.232.110.120:34855", "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{0, UDP, "192.168.1.52:54585", "8.8.8.8:53", "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
		{1, UDP, "192.168.1.52:54585", "8.8.8.8:53", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
		{0, SCTP, "192.168.170.8:7", "192.168.170.56:80", "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ="},
		{1, SCTP, "192.168.170.8:7", "192.168.170.56:80", "1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU="},
		{0, TCP, "[fe80::200:86ff:fe05:80da]:135", "[fe80::260:97ff:fe07:69ea]:0", "1:+sv1F6JQBglTsE0j26d1G1XhKZM="},
		{1, TCP, "[fe80::200:86ff:fe05:80da]:135", "[fe80::260:97ff:fe07:69ea]:0", "1:crQhI6lXq1RY9sXjJKbsybx5Q8M="},
		{1, TCP, "[fe80::260:97ff:fe07:69ea]:0", "[fe80::200:86ff:fe05:80da]:135", "1:crQhI6lXq1RY9sXjJKbsybx5Q8M="},
	} {
		a, b := netip.MustParseAddrPort(c.a), netip.MustParseAddrPort(c.b)
		if got := string(Append(nil, c.seed, c.proto, a, b)); got != c.want {
			t.Errorf("seed %d proto %d %s %s: got %s, want %s", c.seed, c.proto, c.a, c.b, got, c.want)
		}
	}
	if got := String(netip.MustParseAddrPort("66.35.250.204:80"), netip.MustParseAddrPort("128.232.110.120:34855")); got != "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" {
		t.Errorf("String: %s", got)
	}
}

func TestSamePortOrderAndMixedFamilies(t *testing.T) {
	a, b := netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("10.0.0.1:1234")
	if String(a, b) != String(b, a) {
		t.Error("equal addresses: direction matters")
	}
	if s := String(a, netip.MustParseAddrPort("[::1]:1")); s != "" {
		t.Errorf("mixed families: %q", s)
	}
}

func TestNoAlloc(t *testing.T) {
	a, b := netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("10.0.0.2:1234")
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], 0, TCP, a, b) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
