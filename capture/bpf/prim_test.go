package bpf

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	xbpf "golang.org/x/net/bpf"
)

// transport is a TCP (SYN) or UDP header from port sp to port dp whose
// checksum covers nl.
func transport(proto layers.IPProtocol, nl gopacket.NetworkLayer, sp, dp uint16) gopacket.SerializableLayer {
	if proto == layers.IPProtocolUDP {
		u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		u.SetNetworkLayerForChecksum(nl)
		return u
	}
	c := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: 1, Window: 5, SYN: true}
	c.SetNetworkLayerForChecksum(nl)
	return c
}

// portFrames are frames of link type lt from port sp to port dp: TCP and
// UDP over IPv4 without and with IP options (which move the ports, read
// through the IHL) and over IPv6.
func portFrames(t *testing.T, lt layers.LinkType, sp, dp uint16) [][]byte {
	t.Helper()
	var out [][]byte
	opts := []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
	for _, proto := range []layers.IPProtocol{layers.IPProtocolTCP, layers.IPProtocolUDP} {
		for _, o := range [][]layers.IPv4Option{nil, opts} {
			ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}, Options: o}
			out = append(out, serialize(t, lt, ethernet(layers.EthernetTypeIPv4), ip, transport(proto, ip, sp, dp)))
		}
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
		out = append(out, serialize(t, lt, ethernet(layers.EthernetTypeIPv6), ip6, transport(proto, ip6, sp, dp)))
	}
	return out
}

// TestPortDirection: src port reads the source port only, dst port the
// destination port only, "src and dst" both, and no qualifier or "src or
// dst" either; on every family, transport and link type. The frames go
// from port 1234 to port 80, or from 80 to 80.
func TestPortDirection(t *testing.T) {
	cases := []struct {
		expr             string
		from1234, from80 bool // verdicts on 1234 → 80 and on 80 → 80
	}{
		{"port 80", true, true},
		{"port 1234", true, false},
		{"src or dst port 1234", true, false},
		{"src port 1234", true, false},
		{"src port 80", false, true},
		{"dst port 80", true, true},
		{"dst port 1234", false, false},
		{"src and dst port 80", false, true},
		{"src and dst port 1234", false, false},
		{"src port 1234 and dst port 80", true, false},
		{"src portrange 1000-2000", true, false},
		{"dst portrange 1000-2000", false, false},
		{"src portrange 1-100", false, true},
		{"src and dst portrange 1-100", false, true},
		{"tcp src port 1234 or udp src port 1234", true, false},
	}
	for _, lt := range compareLinks {
		split, same := portFrames(t, lt, 1234, 80), portFrames(t, lt, 80, 80)
		for _, c := range cases {
			check := func(frames [][]byte, sp int, want bool) {
				got := compiledPasses(t, c.expr, lt, frames)
				switch {
				case want && len(got) != len(frames):
					t.Errorf("%q on %v, port %d → 80: accepts frames %s of 1-%d, want all", c.expr, lt, sp, formatFrames(got), len(frames))
				case !want && len(got) != 0:
					t.Errorf("%q on %v, port %d → 80: accepts frames %s of 1-%d, want none", c.expr, lt, sp, formatFrames(got), len(frames))
				}
			}
			check(split, 1234, c.from1234)
			check(same, 80, c.from80)
		}
	}
}

// TestARPOnRawNever: a raw IP link carries no ARP or RARP, so there an arp
// or rarp primitive is "never": a program that rejects without reading a
// byte of the packet, not one that happens to reject the frames at hand
// (libpcap refuses such an expression: "expression rejects all packets").
// Its negation accepts everything. Combined by "and" with tests that read
// the packet (the parser does not fold and/or chains), it still rejects
// every frame.
func TestARPOnRawNever(t *testing.T) {
	lt := layers.LinkTypeRaw
	// IP frames, and ARP and RARP payloads as a raw link would carry them
	// were it to carry them.
	frames := testPackets(t, lt)
	for _, et := range []layers.EthernetType{layers.EthernetTypeARP, 0x8035} {
		frames = append(frames, serialize(t, lt, arpLayers(et, "10.0.0.1", "10.1.2.3")...))
	}
	for _, c := range []struct {
		expr      string
		primitive bool // a single primitive (or an or of them): a constant program
	}{
		{"arp", true}, {"rarp", true}, {"arp host 10.0.0.1", true}, {"rarp src net 10", true}, {"arp or rarp", true},
		{"tcp and arp", false}, {"not ip and not ip6 and rarp", false},
	} {
		prog, err := Compile(c.expr, lt, 0)
		if err != nil {
			t.Fatalf("Compile(%q, %v): %v", c.expr, lt, err)
		}
		var loads []string
		for _, ins := range prog {
			switch ins.(type) {
			case xbpf.LoadAbsolute, xbpf.LoadIndirect, xbpf.LoadMemShift, xbpf.LoadExtension:
				loads = append(loads, fmt.Sprint(ins))
			}
		}
		if c.primitive && len(loads) > 0 {
			t.Errorf("%q on %v reads the packet (%s): want a program that rejects every packet", c.expr, lt, strings.Join(loads, "; "))
		}
		if got := compiledPasses(t, c.expr, lt, frames); len(got) != 0 {
			t.Errorf("%q on %v accepts %d of %d frames (%s), want none", c.expr, lt, len(got), len(frames), formatFrames(got))
		}
		if got := compiledPasses(t, "not ("+c.expr+")", lt, frames); len(got) != len(frames) {
			t.Errorf("not (%s) on %v accepts %d of %d frames, want all", c.expr, lt, len(got), len(frames))
		}
	}
}
