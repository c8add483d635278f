package bpf

import (
	"bytes"
	"errors"
	"finwave/internal/golden"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	xbpf "golang.org/x/net/bpf"
)

// commonExprs are the expressions users type most, plus the corners of the
// supported subset. Each is compiled by finwave and by libpcap (through
// tcpdump), and both must accept exactly the same packets.
var commonExprs = []string{
	"tcp", "udp", "ip", "ip6", "arp", "icmp", "icmp6", "rarp",
	"tcp port 443", "port 443", "tcp dst port 80", "src port 22", "udp port 53",
	"dst port 22", "udp src port 53", "ip6 and dst port 443", "src and dst port 22", "src and dst port 443",
	"src portrange 1-100", "dst portrange 400-500",
	"host 10.0.0.1", "host 10.0.0.1 and tcp", "src host 10.0.0.1", "dst host 192.168.1.5",
	"ip host 10.0.0.1", "arp host 10.0.0.1",
	"net 10.0.0.0/8", "net 10", "src net 192.168.0.0/16", "net 192.168.1.0 mask 255.255.255.0", "dst net 10.1",
	"not port 22", "tcp and not port 22", "not (port 22 or port 443)", "! port 22 && tcp",
	"ip6 host 2001:db8::1", "host 2001:db8::1", "net 2001:db8::/32", "src net 2001:db8::/127", "ip6 and tcp port 443",
	"tcp port 443 or tcp port 80", "port 80 or 443", "host 10.0.0.1 or 8.8.8.8", "host 10.0.0.1 or host 8.8.8.8",
	"(tcp port 443) and (host 10.1.2.3)", "tcp and (port 80 or port 443)", "ip and not net 10.0.0.0/8",
	"portrange 1-100", "tcp portrange 400-500", "src or dst port 80", "src and dst net 10.0.0.0/8",
	"tcp[tcpflags] & tcp-fin != 0", "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0", "tcp[13] & 2 != 0", "tcp[13] = 0x10", "tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack = 0",
	"tcp[0:2] > 1000", "tcp[2:2] <= 80", "tcp[12] >= 0x50",
	"ip proto 6", "ip6 proto 17", "proto 6", `ip proto \tcp`, `ip6 proto \udp`,
	"tcp or udp and port 53", "port 53 and tcp or udp", "not tcp or port 443", "not not tcp",
	"host 10.0.0.1 and (port 22 or port 80) and not udp",
}

// testPackets builds frames of link type lt: TCP (several flag sets),
// UDP, ICMP, IPv6 (direct and behind a fragment header), IPv4 fragments,
// ARP and RARP (Ethernet only), and last one TCP/IPv4 and one UDP/IPv6
// frame whose two ports are equal. In every other TCP and UDP frame the
// source port differs from the destination port, so src port, dst port
// and src and dst port each accept a different set.
//
// The frames are a pure function of lt: the verdicts in verdictsFile are
// about them, and its digest of them fails the test when they change.
// New frames go last so the stored frame numbers keep their meaning.
func testPackets(t testing.TB, lt layers.LinkType) [][]byte {
	t.Helper()
	var out [][]byte
	ser := func(ls ...gopacket.SerializableLayer) { out = append(out, serialize(t, lt, ls...)) }
	v4 := []string{"10.0.0.1", "10.1.2.3", "192.168.1.5", "8.8.8.8", "11.0.0.1"}
	v6 := []string{"2001:db8::1", "2001:db8::2", "2001:db9::1", "fe80::1"}
	ports := []uint16{22, 443, 80, 53, 40000, 450, 1001}
	flags := []func(*layers.TCP){
		func(c *layers.TCP) { c.SYN = true },
		func(c *layers.TCP) { c.SYN, c.ACK = true, true },
		func(c *layers.TCP) { c.ACK = true },
		func(c *layers.TCP) { c.FIN, c.ACK = true, true },
		func(c *layers.TCP) { c.RST = true },
		func(c *layers.TCP) { c.PSH, c.ACK = true, true },
	}
	k := 0
	for i, s := range v4 {
		for j, sp := range ports {
			d := v4[(i+j+1)%len(v4)]
			dp := ports[(i+j+2)%len(ports)]
			ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(s), DstIP: net.ParseIP(d)}
			if k%4 == 1 {
				ip.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}} // IHL 6: ports move
			}
			tcp := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: 1, Window: 5}
			flags[k%len(flags)](tcp)
			k++
			tcp.SetNetworkLayerForChecksum(ip)
			ser(ethernet(layers.EthernetTypeIPv4), ip, tcp)
			ip2 := *ip
			ip2.Protocol = layers.IPProtocolUDP
			udp := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
			udp.SetNetworkLayerForChecksum(&ip2)
			ser(ethernet(layers.EthernetTypeIPv4), &ip2, udp)
		}
		// A non-first fragment whose payload looks like ports 443 → 80.
		frag := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, FragOffset: 100, SrcIP: net.ParseIP(s), DstIP: net.ParseIP(v4[(i+1)%len(v4)])}
		ser(ethernet(layers.EthernetTypeIPv4), frag, gopacket.Payload([]byte{1, 187, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x12, 0, 0}))
		icmp := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.ParseIP(s), DstIP: net.ParseIP(v4[(i+2)%len(v4)])}
		ser(ethernet(layers.EthernetTypeIPv4), icmp, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)})
	}
	for i, s := range v6 {
		for j, sp := range ports {
			d := v6[(i+j+1)%len(v6)]
			dp := ports[(i+j+3)%len(ports)]
			ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: net.ParseIP(s), DstIP: net.ParseIP(d)}
			tcp := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: 1, Window: 5}
			flags[k%len(flags)](tcp)
			k++
			tcp.SetNetworkLayerForChecksum(ip)
			ser(ethernet(layers.EthernetTypeIPv6), ip, tcp)
			ip2 := *ip
			ip2.NextHeader = layers.IPProtocolUDP
			udp := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
			udp.SetNetworkLayerForChecksum(&ip2)
			ser(ethernet(layers.EthernetTypeIPv6), &ip2, udp)
		}
		// TCP behind a fragment header (next header 44).
		fh := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6Fragment, SrcIP: net.ParseIP(s), DstIP: net.ParseIP(v6[(i+1)%len(v6)])}
		ser(ethernet(layers.EthernetTypeIPv6), fh, gopacket.Payload([]byte{6, 0, 0, 1, 0, 0, 0, 7, 1, 187, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0, 5, 0, 0, 0, 0}))
		ic := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6, SrcIP: net.ParseIP(s), DstIP: net.ParseIP(v6[(i+2)%len(v6)])}
		icmp6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
		icmp6.SetNetworkLayerForChecksum(ic)
		ser(ethernet(layers.EthernetTypeIPv6), ic, icmp6)
	}
	if lt == layers.LinkTypeEthernet {
		for i, s := range v4 {
			for _, et := range []layers.EthernetType{layers.EthernetTypeARP, 0x8035} {
				ser(arpLayers(et, s, v4[(i+1)%len(v4)])...)
			}
		}
	}
	same4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(v4[0]), DstIP: net.ParseIP(v4[1])}
	ser(ethernet(layers.EthernetTypeIPv4), same4, transport(layers.IPProtocolTCP, same4, 22, 22))
	same6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP(v6[0]), DstIP: net.ParseIP(v6[1])}
	ser(ethernet(layers.EthernetTypeIPv6), same6, transport(layers.IPProtocolUDP, same6, 443, 443))
	return out
}

// mac1 and mac2 are the Ethernet addresses of the crafted frames.
var (
	mac1 = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	mac2 = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

// serialize builds one frame of link type lt from ls, whose first layer is
// Ethernet: a raw IP link drops it. Lengths and checksums are computed.
func serialize(t testing.TB, lt layers.LinkType, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if lt == layers.LinkTypeRaw {
		ls = ls[1:] // no Ethernet header
	}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// ethernet is the header of a frame from mac1 to mac2.
func ethernet(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: et}
}

// arpLayers is a broadcast ARP (et 0x0806) or RARP (0x8035) request from
// IPv4 address src (at mac1) for dst, Ethernet header first.
func arpLayers(et layers.EthernetType, src, dst string) []gopacket.SerializableLayer {
	return []gopacket.SerializableLayer{
		&layers.Ethernet{SrcMAC: mac1, DstMAC: layers.EthernetBroadcast, EthernetType: et},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4, Operation: 1,
			SourceHwAddress: mac1, SourceProtAddress: net.ParseIP(src).To4(), DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP(dst).To4()},
	}
}

// writePcap writes frames with timestamps 1 s, 2 s, ... so tcpdump's
// output names each frame by its time.
func writePcap(t testing.TB, path string, lt layers.LinkType, frames [][]byte) {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(DefaultSnaplen, lt); err != nil {
		t.Fatal(err)
	}
	for i, p := range frames {
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(int64(i+1), 0), CaptureLength: len(p), Length: len(p)}, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tcpdumpPasses returns the 0-based indexes of the frames tcpdump's libpcap
// filter accepts. An expression libpcap proves false for the link type (arp
// on raw IP) is refused with "expression rejects all packets": that is a
// verdict too, no frame accepted.
func tcpdumpPasses(t *testing.T, path, expr string) map[int]bool {
	t.Helper()
	cmd := exec.Command("tcpdump", "-nn", "-tt", "-r", path, expr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	got := map[int]bool{}
	if err != nil {
		if strings.Contains(stderr.String(), "expression rejects all packets") {
			return got
		}
		t.Fatalf("tcpdump %q: %v: %s", expr, err, stderr.String())
	}
	for _, line := range strings.Split(string(out), "\n") {
		f, _, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		sec, _, _ := strings.Cut(f, ".")
		n, err := strconv.Atoi(sec)
		if err != nil {
			t.Fatalf("tcpdump line %q", line)
		}
		got[n-1] = true
	}
	return got
}

// compareLinks are the link types TestMatchesLibpcap compares on.
var compareLinks = []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw}

// TestMatchesLibpcap checks that finwave accepts the frames libpcap
// accepts, for every expression of commonExprs on every link type of
// compareLinks. libpcap's verdicts come from verdictsFile, so the check
// runs without tcpdump; where tcpdump is installed it is asked too, and a
// verdict of its that differs from the file is an error until -update
// rewrites the file. The file also stores a digest of the frames: frames
// changed without -update make stale verdicts, which fail the test.
func TestMatchesLibpcap(t *testing.T) {
	_, err := exec.LookPath("tcpdump")
	live := err == nil
	var stored *verdicts
	switch {
	case golden.Updating() && !live:
		t.Fatal("-update asks libpcap through tcpdump, which is not installed")
	case !golden.Updating():
		if stored, err = readVerdicts(verdictsFile); err != nil {
			t.Fatalf("%v (run go test ./capture/bpf -run TestMatchesLibpcap -update with tcpdump installed)", err)
		}
	}
	if !live {
		t.Log("tcpdump not installed: comparing with the libpcap verdicts stored in " + verdictsFile + " only")
	}
	fresh := newVerdicts()
	for _, lt := range compareLinks {
		frames := testPackets(t, lt)
		fresh.setFrames(lt.String(), frames)
		if stored != nil && stored.frames[lt.String()] != fresh.frames[lt.String()] {
			t.Fatalf("%v frames are %q, %s has verdicts on %q: the frames changed, run go test ./capture/bpf -run TestMatchesLibpcap -update with tcpdump installed",
				lt, fresh.frames[lt.String()], verdictsFile, stored.frames[lt.String()])
		}
		var path string
		if live {
			path = filepath.Join(t.TempDir(), "p.pcap")
			writePcap(t, path, lt, frames)
		}
		for _, expr := range commonExprs {
			t.Run(fmt.Sprintf("%v/%s", lt, expr), func(t *testing.T) {
				k := verdictKey{link: lt.String(), expr: expr}
				var want map[int]bool
				if stored != nil {
					var ok bool
					if want, ok = stored.accept[k]; !ok {
						t.Fatalf("%s has no verdict for it: run go test ./capture/bpf -run TestMatchesLibpcap -update with tcpdump installed", verdictsFile)
					}
				}
				if live {
					got := tcpdumpPasses(t, path, expr)
					if stored != nil && formatFrames(got) != formatFrames(want) {
						t.Errorf("tcpdump accepts frames %s, %s says %s: run go test ./capture/bpf -run TestMatchesLibpcap -update",
							formatFrames(got), verdictsFile, formatFrames(want))
					}
					want = got
					fresh.set(k, want)
				}
				if len(want) == 0 || len(want) == len(frames) {
					t.Logf("libpcap accepts %d of %d frames: the test set does not split this expression", len(want), len(frames))
				}
				compareFrames(t, lt, expr, frames, want)
			})
		}
	}
	if stored != nil {
		asked := map[verdictKey]bool{}
		for _, lt := range compareLinks {
			for _, expr := range commonExprs {
				asked[verdictKey{lt.String(), expr}] = true
			}
		}
		for _, k := range stored.order {
			if !asked[k] {
				t.Errorf("%s has a verdict for %s %q, which the test no longer asks: run go test ./capture/bpf -run TestMatchesLibpcap -update", verdictsFile, k.link, k.expr)
			}
		}
	}
	if golden.Updating() && !t.Failed() {
		if len(fresh.order) != len(compareLinks)*len(commonExprs) {
			t.Fatalf("-update has %d of %d verdicts: run it without -run filtering subtests", len(fresh.order), len(compareLinks)*len(commonExprs))
		}
		if err := os.WriteFile(verdictsFile, fresh.encode(verdictsHeader(t)...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// compareFrames fails t for the frames finwave's program for expr accepts
// where libpcap does not (want) or the other way round.
func compareFrames(t *testing.T, lt layers.LinkType, expr string, frames [][]byte, want map[int]bool) {
	t.Helper()
	got := compiledPasses(t, expr, lt, frames)
	var diff []string
	for i, f := range frames {
		if got[i] != want[i] {
			diff = append(diff, fmt.Sprintf("frame %d: finwave %v, libpcap %v (%s)", i+1, got[i], want[i], gopacket.NewPacket(f, decoderOf(lt), gopacket.NoCopy)))
		}
	}
	if len(diff) > 0 {
		t.Errorf("%d of %d frames differ from libpcap:\n%s", len(diff), len(frames), strings.Join(diff[:min(len(diff), 5)], "\n"))
	}
}

// compiledPasses returns the 0-based indexes of the frames finwave's
// compiled filter for expr accepts, as tcpdumpPasses does for libpcap.
func compiledPasses(t *testing.T, expr string, lt layers.LinkType, frames [][]byte) map[int]bool {
	t.Helper()
	prog, err := Compile(expr, lt, 0)
	if err != nil {
		t.Fatalf("Compile(%q, %v): %v", expr, lt, err)
	}
	vm, err := xbpf.NewVM(prog)
	if err != nil {
		t.Fatalf("NewVM: %v", err)
	}
	got := map[int]bool{}
	for i, f := range frames {
		n, err := vm.Run(f)
		if err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		if n > 0 {
			got[i] = true
		}
	}
	return got
}

// verdictsHeader is the comment atop verdictsFile: what it is, how to
// rewrite it, and which tcpdump and libpcap gave the verdicts.
func verdictsHeader(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("tcpdump", "--version").Output()
	if err != nil {
		t.Fatalf("tcpdump --version: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return []string{
		"libpcap's verdicts on the frames of testPackets (see verdicts_test.go for the format).",
		"Written by `go test ./capture/bpf -run TestMatchesLibpcap -update`; do not edit.",
		"From " + strings.Join(lines[:min(len(lines), 2)], ", ") + ".",
	}
}

func decoderOf(lt layers.LinkType) gopacket.Decoder {
	if lt == layers.LinkTypeRaw {
		return layers.LayerTypeIPv4
	}
	return layers.LayerTypeEthernet
}

func TestRejects(t *testing.T) {
	for _, expr := range []string{
		"bogus", "tcp port", "port http-alt", "host example.com", "tcp and", "(tcp", "tcp)", "port 70000",
		"net 10.0.0.1/8", "ether host 02:00:00:00:00:01", "vlan 10", "udp[0] = 1", "tcp[13:3] = 1", "ip6 host 10.0.0.1",
		"ip host 2001:db8::1", "icmp port 80", "net 10.0.0.0 mask 255.0.255.0", "tcp[13] ~ 1", "portrange 10", "host 10.0.0.1 $",
	} {
		_, err := Compile(expr, layers.LinkTypeEthernet, 0)
		var se *SyntaxError
		if err == nil || !errors.As(err, &se) {
			t.Errorf("Compile(%q) = %v, want a *SyntaxError", expr, err)
			continue
		}
		if !strings.Contains(err.Error(), strconv.Quote(expr)) {
			t.Errorf("error %q does not quote the expression", err)
		}
	}
	if _, err := Compile("tcp", layers.LinkType(147), 0); err == nil {
		t.Error("Compile for DLT_USER0 succeeded, want an unsupported link type error")
	}
}

// TestEmptyAcceptsAll: no expression, no filtering; the snap length is
// what the program returns.
func TestEmptyAcceptsAll(t *testing.T) {
	prog, err := Compile("  ", layers.LinkTypeEthernet, 1500)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := xbpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range testPackets(t, layers.LinkTypeEthernet) {
		if n, _ := vm.Run(f); n != 1500 {
			t.Fatalf("returned %d for a %d-byte frame, want the snap length 1500", n, len(f))
		}
	}
	raw, err := CompileRaw("tcp port 443", layers.LinkTypeEthernet, 0)
	if err != nil || len(raw) < 4 {
		t.Fatalf("CompileRaw: %v, %d instructions", err, len(raw))
	}
}

// TestLongJumps: a chain beyond the reach of an 8-bit jump is compiled
// with trampolines (ja) and decides as the expression says: every port of
// a 200-port chain passes, the port after it does not, on each link type
// (the live capture's own filter on -i any, cooked SLL, was one).
func TestLongJumps(t *testing.T) {
	var parts []string
	for i := 0; i < 200; i++ {
		parts = append(parts, fmt.Sprintf("port %d", i+1))
	}
	expr := strings.Join(parts, " or ")
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeRaw} {
		prog, err := Compile(expr, lt, 0)
		if err != nil {
			t.Fatalf("%v: %v", lt, err)
		}
		var ja int
		for _, in := range prog {
			if _, ok := in.(xbpf.Jump); ok {
				ja++
			}
		}
		if ja == 0 {
			t.Errorf("%v: no trampoline in %d instructions: the test does not reach the limit", lt, len(prog))
		}
		for _, c := range []struct {
			port uint16
			pass bool
		}{{1, true}, {100, true}, {200, true}, {201, false}, {4000, false}} {
			var frames [][]byte
			if lt == layers.LinkTypeLinuxSLL {
				// Cooked frames: the raw IP packets behind a 16-byte SLL
				// header naming their protocol.
				for _, f := range portFrames(t, layers.LinkTypeRaw, 40000, c.port) {
					h := make([]byte, 16, 16+len(f))
					h[3], h[5] = 1, 6 // ARPHRD_ETHER, address length
					h[14], h[15] = 0x08, 0x00
					if f[0]>>4 == 6 {
						h[14], h[15] = 0x86, 0xdd
					}
					frames = append(frames, append(h, f...))
				}
			} else {
				frames = portFrames(t, lt, 40000, c.port)
			}
			got := compiledPasses(t, expr, lt, frames)
			if len(got) != len(frames) && c.pass || len(got) != 0 && !c.pass {
				t.Errorf("%v: port %d: %d of %d frames passed, want all: %v", lt, c.port, len(got), len(frames), c.pass)
			}
		}
	}
}
