package flow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Tunnel tests: one case per encapsulation (and a few per variant), each
// a frame serialized by gopacket around the inner segment of a pkt, with
// the headers gopacket has no layer for (VXLAN-GPE, NSH, ERSPAN III,
// Teredo, AYIYA, PBB's I-TAG, the pseudowire control word) crafted as
// Payload layers from their specs. Each must decode to the inner segment
// with the right endpoints, sequence numbers and Tunnel; cut anywhere in a
// tunnel header it must fail with ErrTruncated and count the tunnel type
// undecapsulated.

var (
	out4a = netip.MustParseAddr("192.0.2.1")
	out4b = netip.MustParseAddr("192.0.2.2")
	out6a = netip.MustParseAddr("2001:db8::1")
	out6b = netip.MustParseAddr("2001:db8::2")
)

// tunnelCase is one crafted tunnel frame.
type tunnelCase struct {
	name string
	link layers.LinkType
	ls   []gopacket.SerializableLayer // outermost first, the inner segment's layers last
	p    pkt                          // the inner segment
	want Tunnel                       // seg.Tunnel expected
	// hdrs marks, by index in ls, the layers that are tunnel headers and
	// the type Undecapsulated counts when the frame ends inside them.
	hdrs  map[int]TunnelType
	setup func(d *Decoder) // ports to configure, if any
}

// innerPkt is the segment inside every tunnel: port sport tells the cases
// apart (tshark keys streams by them).
func innerPkt(v6 bool, sport uint16) pkt {
	p := basePkt(v6)
	p.sport = sport
	p.opts = nil
	p.payload = 64
	p.flags = ACK | PSH
	return p
}

// innerIP returns p's IP, TCP and payload layers and its EtherType.
func innerIP(p pkt) ([]gopacket.SerializableLayer, layers.EthernetType) {
	return p.ipLayers()
}

// innerEth returns p as an Ethernet frame's layers.
func innerEth(p pkt) []gopacket.SerializableLayer {
	ls, et := p.ipLayers()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{0, 0x1b, 0x21, 0, 0, 1}, DstMAC: net.HardwareAddr{0, 0x1b, 0x21, 0, 0, 2}, EthernetType: et}
	return append([]gopacket.SerializableLayer{eth}, ls...)
}

func ethL(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

// outerIP returns an outer IP header from a to b carrying proto.
func outerIP(a, b netip.Addr, proto layers.IPProtocol) gopacket.NetworkLayer {
	if a.Is4() {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.IP(a.AsSlice()), DstIP: net.IP(b.AsSlice())}
	}
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.IP(a.AsSlice()), DstIP: net.IP(b.AsSlice())}
}

// udpOver returns the Ethernet, outer IP and UDP layers of a UDP tunnel.
func udpOver(a, b netip.Addr, sport, dport uint16) []gopacket.SerializableLayer {
	ip := outerIP(a, b, layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	_ = udp.SetNetworkLayerForChecksum(ip)
	et := layers.EthernetTypeIPv4
	if !a.Is4() {
		et = layers.EthernetTypeIPv6
	}
	return []gopacket.SerializableLayer{ethL(et), ip.(gopacket.SerializableLayer), udp}
}

// ipOver returns the Ethernet and outer IP layers of an IP-borne tunnel.
func ipOver(a, b netip.Addr, proto layers.IPProtocol) []gopacket.SerializableLayer {
	et := layers.EthernetTypeIPv4
	if !a.Is4() {
		et = layers.EthernetTypeIPv6
	}
	return []gopacket.SerializableLayer{ethL(et), outerIP(a, b, proto).(gopacket.SerializableLayer)}
}

func cat(parts ...any) []gopacket.SerializableLayer {
	var out []gopacket.SerializableLayer
	for _, p := range parts {
		switch p := p.(type) {
		case gopacket.SerializableLayer:
			out = append(out, p)
		case []gopacket.SerializableLayer:
			out = append(out, p...)
		default:
			panic(fmt.Sprintf("cat: %T", p))
		}
	}
	return out
}

// tun builds the expected Tunnel: the path outermost first, the innermost
// type, ID and outer endpoints.
func tun(outer Key, id uint32, hasID bool, path ...TunnelType) Tunnel {
	t := Tunnel{Outer: outer, ID: id, HasID: hasID, Type: path[len(path)-1], Depth: uint8(len(path))}
	copy(t.Path[:], path)
	return t
}

func okey(a, b netip.Addr, sport, dport uint16) Key {
	return Key{Src: Endpoint{a, sport}, Dst: Endpoint{b, dport}}
}

// Crafted headers (no gopacket layer).

// vxlanGPEHdr: flags I and P, reserved, next protocol, VNI, reserved.
func vxlanGPEHdr(next uint8, vni uint32) gopacket.Payload {
	return gopacket.Payload{0x0C, 0, 0, next, byte(vni >> 16), byte(vni >> 8), byte(vni), 0}
}

// nshHdr: version 0, TTL 63, length 2 words, MD type 2 (no metadata),
// next protocol; service path 0x000123, index 255.
func nshHdr(next uint8) gopacket.Payload {
	return gopacket.Payload{0x0F, 0xC2, 0x02, next, 0x00, 0x01, 0x23, 0xFF}
}

// erspan3Hdr: version 2, VLAN 5, session, timestamp, SGT, then the
// flags word with O set when sub (and the 8-octet subheader).
func erspan3Hdr(session uint16, sub bool) gopacket.Payload {
	h := []byte{0x20, 0x05, byte(session>>8) & 0x03, byte(session), 0, 0, 0, 1, 0, 0, 0, 0}
	if sub {
		h[11] |= 1
		h = append(h, 0x1C, 0, 0, 0, 0, 0, 0, 7) // platform ID 7
	}
	return gopacket.Payload(h)
}

// teredoOrigin: origin indication (port and address obfuscated).
var teredoOrigin = gopacket.Payload{0, 0, 0xF2, 0x3B, 0x3F, 0xFF, 0xFD, 0xFE}

// teredoAuth: authentication with a 2-octet client ID, no value, nonce,
// confirmation.
var teredoAuth = gopacket.Payload{0, 1, 2, 0, 0xAB, 0xCD, 1, 2, 3, 4, 5, 6, 7, 8, 0}

// ayiyaHdr: identity 16 octets (IPv6 address), signature 20 (SHA1),
// authentication by shared secret, opcode forward, next header, epoch.
func ayiyaHdr(next uint8) gopacket.Payload {
	h := []byte{0x41, 0x52, 0x11, next, 0x5F, 0x5E, 0x10, 0x00}
	h = append(h, out6a.AsSlice()...)
	return gopacket.Payload(append(h, make([]byte, 20)...))
}

// pbbITag: I-PCP 0, I-SID.
func pbbITag(isid uint32) gopacket.Payload {
	return gopacket.Payload{0, byte(isid >> 16), byte(isid >> 8), byte(isid)}
}

// pwCW: the preferred pseudowire control word (RFC 4385 §3), sequence 1.
var pwCW = gopacket.Payload{0, 0, 0, 1}

func mplsL(label uint32, bottom bool) *layers.MPLS {
	return &layers.MPLS{Label: label, StackBottom: bottom, TTL: 64}
}

func greL(proto layers.EthernetType) *layers.GRE {
	return &layers.GRE{Protocol: proto}
}

// tunnelCases returns every crafted tunnel case; inner source ports are
// distinct (40100 on) so that tshark sees each as its own stream.
func tunnelCases() []tunnelCase {
	var cs []tunnelCase
	port := uint16(40100)
	add := func(c tunnelCase) {
		cs = append(cs, c)
	}
	next := func(v6 bool) pkt { port++; return innerPkt(v6, port) }
	var p pkt
	var in []gopacket.SerializableLayer

	// VXLAN (RFC 7348): default port, Linux's 8472, source port 4789
	// (the lower port counts first), inner IPv6, outer IPv6.
	for _, c := range []struct {
		name         string
		a, b         netip.Addr
		sport, dport uint16
		v6           bool
	}{
		{"vxlan", out4a, out4b, 50001, 4789, false},
		{"vxlan 8472", out4a, out4b, 50002, 8472, false},
		{"vxlan from 4789", out4a, out4b, 4789, 50003, false},
		{"vxlan inner v6", out4a, out4b, 50004, 4789, true},
		{"vxlan outer v6", out6a, out6b, 50005, 4789, false},
	} {
		p = next(c.v6)
		add(tunnelCase{name: c.name, link: linkEthernet, p: p,
			ls:   cat(udpOver(c.a, c.b, c.sport, c.dport), &layers.VXLAN{ValidIDFlag: true, VNI: 5001}, innerEth(p)),
			hdrs: map[int]TunnelType{3: TunnelVXLAN},
			want: tun(okey(c.a, c.b, c.sport, c.dport), 5001, true, TunnelVXLAN)})
	}
	p = next(false)
	add(tunnelCase{name: "vxlan without I flag", link: linkEthernet, p: p,
		ls:   cat(udpOver(out4a, out4b, 50006, 4789), &layers.VXLAN{VNI: 7}, innerEth(p)),
		hdrs: map[int]TunnelType{3: TunnelVXLAN},
		want: tun(okey(out4a, out4b, 50006, 4789), 0, false, TunnelVXLAN)})
	p = next(false)
	add(tunnelCase{name: "vxlan --vxlan-port 4000", link: linkEthernet, p: p,
		ls:    cat(udpOver(out4a, out4b, 50007, 4000), &layers.VXLAN{ValidIDFlag: true, VNI: 9}, innerEth(p)),
		hdrs:  map[int]TunnelType{3: TunnelVXLAN},
		setup: func(d *Decoder) { d.VXLANPorts = []uint16{4000} },
		want:  tun(okey(out4a, out4b, 50007, 4000), 9, true, TunnelVXLAN)})
	p = next(false)
	vlanIn := innerEth(p)
	vlanIn[0].(*layers.Ethernet).EthernetType = layers.EthernetTypeDot1Q
	vlanIn = cat(vlanIn[0], &layers.Dot1Q{VLANIdentifier: 42, Type: layers.EthernetTypeIPv4}, vlanIn[1:])
	add(tunnelCase{name: "vxlan inner 802.1Q", link: linkEthernet, p: p,
		ls:   cat(udpOver(out4a, out4b, 50008, 4789), &layers.VXLAN{ValidIDFlag: true, VNI: 10}, vlanIn),
		hdrs: map[int]TunnelType{3: TunnelVXLAN},
		want: tun(okey(out4a, out4b, 50008, 4789), 10, true, TunnelVXLAN)})

	// VXLAN-GPE: each next protocol.
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "vxlan-gpe ipv4", link: linkEthernet, p: p,
		ls:   cat(udpOver(out4a, out4b, 50010, 4790), vxlanGPEHdr(1, 77), in),
		hdrs: map[int]TunnelType{3: TunnelVXLANGPE},
		want: tun(okey(out4a, out4b, 50010, 4790), 77, true, TunnelVXLANGPE)})
	p = next(true)
	in, _ = innerIP(p)
	add(tunnelCase{name: "vxlan-gpe ipv6", link: linkEthernet, p: p,
		ls:   cat(udpOver(out4a, out4b, 50011, 4790), vxlanGPEHdr(2, 78), in),
		hdrs: map[int]TunnelType{3: TunnelVXLANGPE},
		want: tun(okey(out4a, out4b, 50011, 4790), 78, true, TunnelVXLANGPE)})
	p = next(false)
	add(tunnelCase{name: "vxlan-gpe ethernet", link: linkEthernet, p: p,
		ls:   cat(udpOver(out4a, out4b, 50012, 4790), vxlanGPEHdr(3, 79), innerEth(p)),
		hdrs: map[int]TunnelType{3: TunnelVXLANGPE},
		want: tun(okey(out4a, out4b, 50012, 4790), 79, true, TunnelVXLANGPE)})
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "vxlan-gpe nsh ipv4", link: linkEthernet, p: p,
		ls:   cat(udpOver(out4a, out4b, 50013, 4790), vxlanGPEHdr(4, 80), nshHdr(1), in),
		hdrs: map[int]TunnelType{3: TunnelVXLANGPE, 4: TunnelVXLANGPE},
		want: tun(okey(out4a, out4b, 50013, 4790), 80, true, TunnelVXLANGPE)})
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "vxlan-gpe mpls", link: linkEthernet, p: p,
		ls:   cat(udpOver(out4a, out4b, 50014, 4790), vxlanGPEHdr(5, 81), mplsL(1000, true), in),
		hdrs: map[int]TunnelType{3: TunnelVXLANGPE, 4: TunnelMPLS},
		want: tun(Key{}, 1000, true, TunnelVXLANGPE, TunnelMPLS)})

	// Geneve (RFC 8926): options, Ethernet or IP inside, a port by flag.
	opts := []*layers.GeneveOption{{Class: 0x0102, Type: 0x80, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}}}
	p = next(false)
	add(tunnelCase{name: "geneve", link: linkEthernet, p: p,
		ls:   cat(udpOver(out4a, out4b, 50020, 6081), &layers.Geneve{Protocol: layers.EthernetTypeTransparentEthernetBridging, VNI: 0xABCDE, Options: opts}, innerEth(p)),
		hdrs: map[int]TunnelType{3: TunnelGeneve},
		want: tun(okey(out4a, out4b, 50020, 6081), 0xABCDE, true, TunnelGeneve)})
	p = next(true)
	in, et := innerIP(p)
	add(tunnelCase{name: "geneve ipv6 inside", link: linkEthernet, p: p,
		ls:   cat(udpOver(out4a, out4b, 50021, 6081), &layers.Geneve{Protocol: et, VNI: 3, Options: opts}, in),
		hdrs: map[int]TunnelType{3: TunnelGeneve},
		want: tun(okey(out4a, out4b, 50021, 6081), 3, true, TunnelGeneve)})
	p = next(false)
	add(tunnelCase{name: "geneve --geneve-port 7000", link: linkEthernet, p: p,
		ls:    cat(udpOver(out6a, out6b, 50022, 7000), &layers.Geneve{Protocol: layers.EthernetTypeTransparentEthernetBridging, VNI: 4}, innerEth(p)),
		hdrs:  map[int]TunnelType{3: TunnelGeneve},
		setup: func(d *Decoder) { d.GenevePorts = []uint16{7000} },
		want:  tun(okey(out6a, out6b, 50022, 7000), 4, true, TunnelGeneve)})

	// GRE (RFC 2784, 2890, 1701): plain, key+sequence+checksum, gretap,
	// over IPv6, routing, WCCP, PPTP.
	p = next(false)
	in, et = innerIP(p)
	add(tunnelCase{name: "gre", link: linkEthernet, p: p,
		ls:   cat(ipOver(out4a, out4b, layers.IPProtocolGRE), greL(et), in),
		hdrs: map[int]TunnelType{2: TunnelGRE},
		want: tun(okey(out4a, out4b, 0, 0), 0, false, TunnelGRE)})
	p = next(false)
	in, et = innerIP(p)
	add(tunnelCase{name: "gre key seq checksum", link: linkEthernet, p: p,
		ls:   cat(ipOver(out4a, out4b, layers.IPProtocolGRE), &layers.GRE{ChecksumPresent: true, KeyPresent: true, SeqPresent: true, Key: 0xDEADBEEF, Seq: 5, Protocol: et}, in),
		hdrs: map[int]TunnelType{2: TunnelGRE},
		want: tun(okey(out4a, out4b, 0, 0), 0xDEADBEEF, true, TunnelGRE)})
	p = next(true)
	add(tunnelCase{name: "gretap", link: linkEthernet, p: p,
		ls:   cat(ipOver(out4a, out4b, layers.IPProtocolGRE), &layers.GRE{KeyPresent: true, Key: 0x00100100, Protocol: layers.EthernetTypeTransparentEthernetBridging}, innerEth(p)),
		hdrs: map[int]TunnelType{2: TunnelGRE},
		want: tun(okey(out4a, out4b, 0, 0), 0x00100100, true, TunnelGRE)})
	p = next(false)
	in, et = innerIP(p)
	add(tunnelCase{name: "gre over ipv6", link: linkEthernet, p: p,
		ls:   cat(ipOver(out6a, out6b, layers.IPProtocolGRE), &layers.GRE{SeqPresent: true, Seq: 1, Protocol: et}, in),
		hdrs: map[int]TunnelType{2: TunnelGRE},
		want: tun(okey(out6a, out6b, 0, 0), 0, false, TunnelGRE)})
	p = next(false)
	in, et = innerIP(p)
	add(tunnelCase{name: "gre routing", link: linkEthernet, p: p,
		ls: cat(ipOver(out4a, out4b, layers.IPProtocolGRE), &layers.GRE{RoutingPresent: true, Protocol: et,
			GRERouting: &layers.GRERouting{AddressFamily: 0x0800, SRELength: 8, RoutingInformation: []byte{10, 0, 0, 9, 10, 0, 0, 10}}}, in),
		hdrs: map[int]TunnelType{2: TunnelGRE},
		want: tun(okey(out4a, out4b, 0, 0), 0, false, TunnelGRE)})
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "gre wccp2", link: linkEthernet, p: p,
		ls:   cat(ipOver(out4a, out4b, layers.IPProtocolGRE), greL(etherWCCP), gopacket.Payload{0, 0x5A, 0, 0}, in),
		hdrs: map[int]TunnelType{2: TunnelGRE, 3: TunnelGRE},
		want: tun(okey(out4a, out4b, 0, 0), 0, false, TunnelGRE)})
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "gre pptp", link: linkEthernet, p: p,
		ls: cat(ipOver(out4a, out4b, layers.IPProtocolGRE), &layers.GRE{KeyPresent: true, SeqPresent: true, AckPresent: true, Version: 1,
			Key: 0x00640007, Seq: 3, Ack: 2, Protocol: etherPPP}, &layers.PPP{PPPType: layers.PPPTypeIPv4, HasPPTPHeader: true}, in),
		hdrs: map[int]TunnelType{2: TunnelGRE, 3: TunnelGRE},
		want: tun(okey(out4a, out4b, 0, 0), 0, false, TunnelGRE)})

	// ERSPAN: type I (GRE without sequence number), II, III.
	p = next(false)
	add(tunnelCase{name: "erspan type I", link: linkEthernet, p: p,
		ls:   cat(ipOver(out4a, out4b, layers.IPProtocolGRE), greL(etherERSPAN), innerEth(p)),
		hdrs: map[int]TunnelType{2: TunnelGRE},
		want: tun(okey(out4a, out4b, 0, 0), 0, false, TunnelERSPAN)})
	p = next(false)
	add(tunnelCase{name: "erspan type II", link: linkEthernet, p: p,
		ls: cat(ipOver(out4a, out4b, layers.IPProtocolGRE), &layers.GRE{SeqPresent: true, Seq: 9, Protocol: etherERSPAN},
			&layers.ERSPANII{Version: 1, SessionID: 0x155, VLANIdentifier: 3, Index: 1}, innerEth(p)),
		hdrs: map[int]TunnelType{2: TunnelGRE, 3: TunnelERSPAN},
		want: tun(okey(out4a, out4b, 0, 0), 0x155, true, TunnelERSPAN)})
	p = next(true)
	add(tunnelCase{name: "erspan type III", link: linkEthernet, p: p,
		ls:   cat(ipOver(out4a, out4b, layers.IPProtocolGRE), &layers.GRE{SeqPresent: true, Seq: 9, Protocol: etherERSPAN3}, erspan3Hdr(0x2AA, false), innerEth(p)),
		hdrs: map[int]TunnelType{2: TunnelGRE, 3: TunnelERSPAN},
		want: tun(okey(out4a, out4b, 0, 0), 0x2AA, true, TunnelERSPAN)})
	p = next(false)
	add(tunnelCase{name: "erspan type III subheader", link: linkEthernet, p: p,
		ls:   cat(ipOver(out6a, out6b, layers.IPProtocolGRE), &layers.GRE{SeqPresent: true, Seq: 9, Protocol: etherERSPAN3}, erspan3Hdr(1, true), innerEth(p)),
		hdrs: map[int]TunnelType{2: TunnelGRE, 3: TunnelERSPAN},
		want: tun(okey(out6a, out6b, 0, 0), 1, true, TunnelERSPAN)})

	// IP in IP: 4in4, 6in4 (SIT), 4in6, 6in6.
	for _, c := range []struct {
		name string
		a, b netip.Addr
		v6   bool
	}{{"ipip", out4a, out4b, false}, {"6in4", out4a, out4b, true}, {"4in6", out6a, out6b, false}, {"6in6", out6a, out6b, true}} {
		p = next(c.v6)
		in, et = innerIP(p)
		proto := layers.IPProtocolIPv4
		if et == layers.EthernetTypeIPv6 {
			proto = layers.IPProtocolIPv6
		}
		add(tunnelCase{name: c.name, link: linkEthernet, p: p,
			ls:   cat(ipOver(c.a, c.b, proto), in),
			want: tun(okey(c.a, c.b, 0, 0), 0, false, TunnelIPinIP)})
	}

	// Teredo (RFC 4380): bare, with origin indication, with
	// authentication and origin indication.
	for i, hs := range [][]gopacket.SerializableLayer{nil, {teredoOrigin}, {teredoAuth, teredoOrigin}} {
		p = next(true)
		in, _ = innerIP(p)
		name := [...]string{"teredo", "teredo origin indication", "teredo authentication"}[i]
		sport := uint16(50030 + i)
		hdrs := map[int]TunnelType{}
		for j := range hs {
			hdrs[3+j] = TunnelTeredo
		}
		add(tunnelCase{name: name, link: linkEthernet, p: p,
			ls:   cat(udpOver(out4a, out4b, sport, 3544), hs, in),
			hdrs: hdrs,
			want: tun(okey(out4a, out4b, sport, 3544), 0, false, TunnelTeredo)})
	}

	// AYIYA: IPv6 and IPv4 inside.
	for i, v6 := range []bool{true, false} {
		p = next(v6)
		in, _ = innerIP(p)
		nh := uint8(ipIPv6)
		if !v6 {
			nh = ipIPv4
		}
		sport := uint16(50040 + i)
		add(tunnelCase{name: fmt.Sprintf("ayiya v6=%v", v6), link: linkEthernet, p: p,
			ls:   cat(udpOver(out4a, out4b, sport, 5072), ayiyaHdr(nh), in),
			hdrs: map[int]TunnelType{3: TunnelAYIYA},
			want: tun(okey(out4a, out4b, sport, 5072), 0, false, TunnelAYIYA)})
	}

	// GTP-U (TS 29.281): plain, with sequence number and an extension
	// header chain (PDU session container, then another), IPv6 inside.
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "gtp-u", link: linkEthernet, p: p,
		ls:   cat(udpOver(out4a, out4b, 2152, 2152), &layers.GTPv1U{Version: 1, ProtocolType: 1, MessageType: 255, TEID: 0x11223344}, in),
		hdrs: map[int]TunnelType{3: TunnelGTPU},
		want: tun(okey(out4a, out4b, 2152, 2152), 0x11223344, true, TunnelGTPU)})
	p = next(true)
	in, _ = innerIP(p)
	add(tunnelCase{name: "gtp-u extension headers", link: linkEthernet, p: p,
		ls: cat(udpOver(out4a, out4b, 2152, 2152), &layers.GTPv1U{Version: 1, ProtocolType: 1, MessageType: 255, TEID: 0x55667788,
			SequenceNumberFlag: true, SequenceNumber: 7,
			GTPExtensionHeaders: []layers.GTPExtensionHeader{{Type: 0x85, Content: []byte{0x10, 0x09}}, {Type: 0x32, Content: []byte{1, 2, 3, 4, 5, 6}}}}, in),
		hdrs: map[int]TunnelType{3: TunnelGTPU},
		want: tun(okey(out4a, out4b, 2152, 2152), 0x55667788, true, TunnelGTPU)})

	// MPLS (RFC 3032): one label, a stack, IPv6, multicast, pseudowires
	// with and without control word, over UDP, in GRE, in IP.
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "mpls", link: linkEthernet, p: p,
		ls:   cat(ethL(layers.EthernetTypeMPLSUnicast), mplsL(16, true), in),
		hdrs: map[int]TunnelType{1: TunnelMPLS},
		want: tun(Key{}, 16, true, TunnelMPLS)})
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "mpls stack", link: linkEthernet, p: p,
		ls:   cat(ethL(layers.EthernetTypeMPLSUnicast), mplsL(100, false), mplsL(200, false), mplsL(300, true), in),
		hdrs: map[int]TunnelType{1: TunnelMPLS, 2: TunnelMPLS, 3: TunnelMPLS},
		want: tun(Key{}, 300, true, TunnelMPLS)})
	p = next(true)
	in, _ = innerIP(p)
	add(tunnelCase{name: "mpls ipv6", link: linkEthernet, p: p,
		ls:   cat(ethL(layers.EthernetTypeMPLSUnicast), mplsL(2, true), in),
		hdrs: map[int]TunnelType{1: TunnelMPLS},
		want: tun(Key{}, 2, true, TunnelMPLS)})
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "mpls multicast", link: linkEthernet, p: p,
		ls:   cat(ethL(layers.EthernetTypeMPLSMulticast), mplsL(17, true), in),
		hdrs: map[int]TunnelType{1: TunnelMPLS},
		want: tun(Key{}, 17, true, TunnelMPLS)})
	p = next(false)
	add(tunnelCase{name: "mpls pw control word", link: linkEthernet, p: p,
		ls:   cat(ethL(layers.EthernetTypeMPLSUnicast), mplsL(18, false), mplsL(19, true), pwCW, innerEth(p)),
		hdrs: map[int]TunnelType{1: TunnelMPLS, 2: TunnelMPLS, 3: TunnelMPLS},
		want: tun(Key{}, 19, true, TunnelMPLS)})
	p = next(false)
	add(tunnelCase{name: "mpls pw without control word", link: linkEthernet, p: p,
		ls:   cat(ethL(layers.EthernetTypeMPLSUnicast), mplsL(20, true), innerEth(p)),
		hdrs: map[int]TunnelType{1: TunnelMPLS},
		want: tun(Key{}, 20, true, TunnelMPLS)})
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "mpls over udp", link: linkEthernet, p: p,
		ls:   cat(udpOver(out4a, out4b, 50050, 6635), mplsL(21, true), in),
		hdrs: map[int]TunnelType{3: TunnelMPLS},
		want: tun(Key{}, 21, true, TunnelMPLS)})
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "mpls in gre", link: linkEthernet, p: p,
		ls:   cat(ipOver(out4a, out4b, layers.IPProtocolGRE), greL(layers.EthernetTypeMPLSUnicast), mplsL(22, true), in),
		hdrs: map[int]TunnelType{2: TunnelGRE, 3: TunnelMPLS},
		want: tun(Key{}, 22, true, TunnelGRE, TunnelMPLS)})
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "mpls in ip", link: linkEthernet, p: p,
		ls:   cat(ipOver(out4a, out4b, layers.IPProtocolMPLSInIP), mplsL(23, true), in),
		hdrs: map[int]TunnelType{2: TunnelMPLS},
		want: tun(Key{}, 23, true, TunnelMPLS)})

	// PPPoE session (RFC 2516): IPv4 and IPv6.
	for i, v6 := range []bool{false, true} {
		p = next(v6)
		in, _ = innerIP(p)
		pt := layers.PPPTypeIPv4
		if v6 {
			pt = layers.PPPTypeIPv6
		}
		add(tunnelCase{name: fmt.Sprintf("pppoe v6=%v", v6), link: linkEthernet, p: p,
			ls:   cat(ethL(layers.EthernetTypePPPoESession), &layers.PPPoE{Version: 1, Type: 1, SessionId: uint16(0x1234 + i)}, &layers.PPP{PPPType: pt}, in),
			hdrs: map[int]TunnelType{1: TunnelPPPoE, 2: TunnelPPPoE},
			want: tun(Key{}, uint32(0x1234+i), true, TunnelPPPoE)})
	}

	// 802.1ah PBB: B-TAG, I-TAG, the customer frame.
	p = next(false)
	add(tunnelCase{name: "pbb", link: linkEthernet, p: p,
		ls: cat(ethL(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetType(etherPBB)},
			pbbITag(0x12345), innerEth(p)),
		hdrs: map[int]TunnelType{2: TunnelPBB},
		want: tun(Key{}, 0x12345, true, TunnelPBB)})

	// Nesting: a mirror (ERSPAN II) of a node's VXLAN around a pod's
	// IPIP; then PPPoE over MPLS over GRE over IPv6 (four, the bound).
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "erspan vxlan ipip", link: linkEthernet, p: p,
		ls: cat(ipOver(out6a, out6b, layers.IPProtocolGRE), &layers.GRE{SeqPresent: true, Protocol: etherERSPAN},
			&layers.ERSPANII{Version: 1, SessionID: 9}, udpOver(out4a, out4b, 50060, 4789), &layers.VXLAN{ValidIDFlag: true, VNI: 99},
			ipOver(netip.MustParseAddr("172.16.0.1"), netip.MustParseAddr("172.16.0.2"), layers.IPProtocolIPv4), in),
		hdrs: map[int]TunnelType{2: TunnelGRE, 3: TunnelERSPAN, 7: TunnelVXLAN},
		want: tun(okey(netip.MustParseAddr("172.16.0.1"), netip.MustParseAddr("172.16.0.2"), 0, 0), 0, false,
			TunnelERSPAN, TunnelVXLAN, TunnelIPinIP)})
	p = next(false)
	in, _ = innerIP(p)
	add(tunnelCase{name: "pppoe mpls gre ipip", link: linkEthernet, p: p,
		ls: cat(ipOver(out6a, out6b, layers.IPProtocolIPv6), outerIP(netip.MustParseAddr("2001:db8::3"), netip.MustParseAddr("2001:db8::4"), layers.IPProtocolGRE),
			greL(layers.EthernetTypeMPLSUnicast), mplsL(30, true), ethL(layers.EthernetTypePPPoESession),
			&layers.PPPoE{Version: 1, Type: 1, SessionId: 5}, &layers.PPP{PPPType: layers.PPPTypeIPv4}, in),
		hdrs: map[int]TunnelType{3: TunnelGRE, 4: TunnelMPLS, 6: TunnelPPPoE, 7: TunnelPPPoE},
		want: tun(Key{}, 5, true, TunnelIPinIP, TunnelGRE, TunnelMPLS, TunnelPPPoE)})

	// Other link types: Linux cooked v2 around VXLAN, raw IP around
	// Geneve with IP inside (as geneve-gcp.pcap).
	p = next(false)
	ls := cat(udpOver(out4a, out4b, 50070, 4789)[1:], &layers.VXLAN{ValidIDFlag: true, VNI: 6}, innerEth(p))
	add(tunnelCase{name: "sll2 vxlan", link: linkSLL2, p: p, ls: cat(sll2Hdr(etherIPv4), ls),
		hdrs: map[int]TunnelType{3: TunnelVXLAN},
		want: tun(okey(out4a, out4b, 50070, 4789), 6, true, TunnelVXLAN)})
	p = next(false)
	in, et = innerIP(p)
	add(tunnelCase{name: "raw geneve ip", link: linkRaw, p: p,
		ls:   cat(udpOver(out4a, out4b, 50071, 6081)[1:], &layers.Geneve{Protocol: et, VNI: 0}, in),
		hdrs: map[int]TunnelType{2: TunnelGeneve},
		want: tun(okey(out4a, out4b, 50071, 6081), 0, true, TunnelGeneve)})
	return cs
}

// sll2Hdr is a Linux cooked v2 header of protocol proto.
func sll2Hdr(proto uint16) gopacket.Payload {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h, proto)
	binary.BigEndian.PutUint32(h[4:], 3)
	binary.BigEndian.PutUint16(h[8:], 1)
	h[11] = 6
	return gopacket.Payload(h)
}

// frame serializes the case; span returns where layer i starts in it and
// how long it is (serializing a suffix of the layers yields the frame
// from that layer on).
func (c *tunnelCase) frame(tb testing.TB) []byte { return serialize(tb, c.ls...) }

func (c *tunnelCase) span(tb testing.TB, i int) (off, n int) {
	full := len(c.frame(tb))
	from := len(serialize(tb, c.ls[i:]...))
	after := len(serialize(tb, c.ls[i+1:]...))
	return full - from, from - after
}

// checkTunnelSeg compares the decoded segment with the inner pkt and the
// expected tunnel.
func checkTunnelSeg(t *testing.T, seg *Segment, p pkt, want Tunnel) {
	t.Helper()
	got := *seg
	got.Tunnel = Tunnel{}
	checkSeg(t, &got, p, seg.Frame, seg.Time)
	if seg.Tunnel != want {
		t.Errorf("Tunnel\n %+v\nwant\n %+v", seg.Tunnel, want)
	}
}

func TestDecodeTunnels(t *testing.T) {
	ts := time.Unix(1_700_000_000, 0)
	for _, c := range tunnelCases() {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder()
			if c.setup != nil {
				c.setup(d)
			}
			data := c.frame(t)
			var seg Segment
			if err := d.Decode(c.link, data, len(data), 7, ts, &seg); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkTunnelSeg(t, &seg, c.p, c.want)
			if got := seg.Tunnel.Overlay(); (got != 0) != (c.want.HasID && c.want.Type <= TunnelGRE && c.want.Type != NoTunnel) {
				t.Errorf("Overlay %#x for %v", got, c.want.Type)
			}
			// Cut inside each tunnel header: ErrTruncated, counted
			// undecapsulated under that header's type.
			for i, typ := range c.hdrs {
				off, n := c.span(t, i)
				for cut := off; cut < off+n; cut++ {
					before := d.Undecapsulated[typ]
					if err := d.Decode(c.link, data[:cut], len(data), 7, ts, &seg); !errors.Is(err, ErrTruncated) {
						t.Errorf("cut at %d (%v header at %d+%d): %v, want ErrTruncated", cut, typ, off, n, err)
					}
					if d.Undecapsulated[typ] != before+1 {
						t.Errorf("cut at %d (%v header at %d+%d): Undecapsulated[%v] %d, want %d", cut, typ, off, n, typ, d.Undecapsulated[typ], before+1)
					}
				}
			}
			// Every shorter frame fails cleanly, or (cut in the inner
			// payload) decodes the same segment, truncated.
			for cut := range len(data) {
				err := d.Decode(c.link, data[:cut], len(data), 7, ts, &seg)
				switch {
				case err == nil:
					if !seg.Truncated || seg.Seq != Seq(c.p.seq) || seg.Len != uint32(c.p.payload) {
						t.Errorf("cut at %d: decoded %+v", cut, seg)
					}
				case err != ErrTruncated && err != ErrMalformed && err != ErrNotTCP:
					t.Errorf("cut at %d: %v", cut, err)
				}
			}
			// The next plain frame clears the tunnel.
			plain := basePkt(false).frame(t, linkEthernet)
			if err := d.Decode(linkEthernet, plain, len(plain), 8, ts, &seg); err != nil || seg.Tunnel != (Tunnel{}) {
				t.Errorf("plain frame after a tunnel: %v, Tunnel %+v", err, seg.Tunnel)
			}
		})
	}
}

// Without its port configured, a VXLAN or Geneve frame to another port is
// a UDP datagram.
func TestDecodeTunnelPortsNeedFlag(t *testing.T) {
	for _, c := range tunnelCases() {
		if c.setup == nil {
			continue
		}
		data := c.frame(t)
		var seg Segment
		if err := NewDecoder().Decode(c.link, data, len(data), 1, time.Time{}, &seg); !errors.Is(err, ErrNotTCP) {
			t.Errorf("%s without its port: %v, want ErrNotTCP", c.name, err)
		}
	}
}

// mutate returns a copy of data with f applied.
func mutate(data []byte, f func(b []byte)) []byte {
	b := append([]byte(nil), data...)
	f(b)
	return b
}

func findCase(t *testing.T, name string) (tunnelCase, []byte) {
	t.Helper()
	for _, c := range tunnelCases() {
		if c.name == name {
			return c, c.frame(t)
		}
	}
	t.Fatalf("no case %q", name)
	return tunnelCase{}, nil
}

// Tunnel headers that contradict themselves, and inner packets that are
// malformed, are ErrMalformed and counted; a tunnel carrying something
// other than TCP is ErrNotTCP and not counted.
func TestDecodeTunnelMalformed(t *testing.T) {
	type mcase struct {
		base string
		mut  func(t *testing.T, c tunnelCase, b []byte)
		want error
		typ  TunnelType // counted; NoTunnel: nothing counted
	}
	at := func(t *testing.T, c tunnelCase, i int) int { off, _ := c.span(t, i); return off }
	cases := []mcase{
		{"vxlan", func(t *testing.T, c tunnelCase, b []byte) { b[at(t, c, 4)+14] = 0x44 }, ErrMalformed, TunnelVXLAN}, // inner IHL 4
		{"vxlan", func(t *testing.T, c tunnelCase, b []byte) { o := at(t, c, 4); b[o+12], b[o+13] = 0x08, 0x06 }, ErrNotTCP, NoTunnel},
		{"vxlan", func(t *testing.T, c tunnelCase, b []byte) { o := at(t, c, 2); b[o+4], b[o+5] = 0, 4 }, ErrMalformed, NoTunnel}, // UDP length 4
		{"vxlan-gpe ipv4", func(t *testing.T, c tunnelCase, b []byte) { b[at(t, c, 3)+3] = 9 }, ErrNotTCP, NoTunnel},
		{"vxlan-gpe nsh ipv4", func(t *testing.T, c tunnelCase, b []byte) { b[at(t, c, 4)+1] = 0xC1 }, ErrMalformed, TunnelVXLANGPE},        // NSH length 1 word
		{"erspan type II", func(t *testing.T, c tunnelCase, b []byte) { b[at(t, c, 3)] = 0x30 }, ErrMalformed, TunnelERSPAN},                // version 3
		{"gtp-u extension headers", func(t *testing.T, c tunnelCase, b []byte) { b[at(t, c, 3)+12] = 0 }, ErrMalformed, TunnelGTPU},         // extension length 0
		{"gtp-u", func(t *testing.T, c tunnelCase, b []byte) { b[at(t, c, 3)+1] = 1 }, ErrNotTCP, NoTunnel},                                 // echo request
		{"gre routing", func(t *testing.T, c tunnelCase, b []byte) { o := at(t, c, 2); b[o+8+3] = 0xFF }, ErrMalformed, TunnelGRE},          // SRE beyond the packet
		{"mpls", func(t *testing.T, c tunnelCase, b []byte) { b[at(t, c, 2)] = 0x15 }, ErrNotTCP, NoTunnel},                                 // nibble 1: PW ACH
		{"pppoe v6=false", func(t *testing.T, c tunnelCase, b []byte) { o := at(t, c, 2); b[o], b[o+1] = 0xC0, 0x21 }, ErrNotTCP, NoTunnel}, // LCP
		{"teredo", func(t *testing.T, c tunnelCase, b []byte) { b[at(t, c, 3)] = 0x45 }, ErrNotTCP, NoTunnel},
		{"ayiya v6=true", func(t *testing.T, c tunnelCase, b []byte) { b[at(t, c, 3)+2] = 0x12 }, ErrNotTCP, NoTunnel}, // echo request
		{"ipip", func(t *testing.T, c tunnelCase, b []byte) { b[at(t, c, 2)+9] = 17 }, ErrNotTCP, NoTunnel},
		{"6in4", func(t *testing.T, c tunnelCase, b []byte) { b[at(t, c, 2)] = 0x40 }, ErrMalformed, TunnelIPinIP},
	}
	for i, m := range cases {
		c, data := findCase(t, m.base)
		b := mutate(data, func(b []byte) { m.mut(t, c, b) })
		d := NewDecoder()
		var seg Segment
		err := d.Decode(c.link, b, len(b), 1, time.Time{}, &seg)
		if !errors.Is(err, m.want) {
			t.Errorf("%d %s: %v, want %v", i, m.base, err, m.want)
		}
		var want [NumTunnelTypes]uint64
		if m.typ != NoTunnel {
			want[m.typ] = 1
		}
		if d.Undecapsulated != want {
			t.Errorf("%d %s: Undecapsulated %v, want %v", i, m.base, d.Undecapsulated, want)
		}
	}
	// A label stack deeper than maxMPLSLabels.
	p := innerPkt(false, 1)
	in, _ := innerIP(p)
	ls := []gopacket.SerializableLayer{ethL(layers.EthernetTypeMPLSUnicast)}
	for i := range maxMPLSLabels + 1 {
		ls = append(ls, mplsL(uint32(100+i), i == maxMPLSLabels))
	}
	data := serialize(t, append(ls, in...)...)
	d := NewDecoder()
	var seg Segment
	if err := d.Decode(linkEthernet, data, len(data), 1, time.Time{}, &seg); !errors.Is(err, ErrMalformed) || d.Undecapsulated[TunnelMPLS] != 1 {
		t.Errorf("%d labels: %v, Undecapsulated %v", maxMPLSLabels+1, err, d.Undecapsulated)
	}
}

// Tunnels nested beyond maxTunnelDepth are malformed, counted under the
// type that went one too deep; maxTunnelDepth itself decodes.
func TestDecodeTunnelDepthBound(t *testing.T) {
	for depth := 1; depth <= maxTunnelDepth+2; depth++ {
		p := innerPkt(false, 2)
		in, _ := innerIP(p)
		ls := []gopacket.SerializableLayer{ethL(layers.EthernetTypeIPv4)}
		for i := range depth {
			a := netip.AddrFrom4([4]byte{192, 0, 2, byte(2*i + 1)})
			ls = append(ls, outerIP(a, a.Next(), layers.IPProtocolIPv4).(gopacket.SerializableLayer))
		}
		data := serialize(t, append(ls, in...)...)
		d := NewDecoder()
		var seg Segment
		err := d.Decode(linkEthernet, data, len(data), 1, time.Time{}, &seg)
		if depth <= maxTunnelDepth {
			if err != nil || int(seg.Tunnel.Depth) != depth {
				t.Errorf("depth %d: %v, Depth %d", depth, err, seg.Tunnel.Depth)
			}
			continue
		}
		if !errors.Is(err, ErrMalformed) || d.Undecapsulated[TunnelIPinIP] != 1 {
			t.Errorf("depth %d: %v, Undecapsulated %v, want ErrMalformed counted once as ip-in-ip", depth, err, d.Undecapsulated)
		}
	}
	// Tags between tunnels are bounded too.
	p := innerPkt(false, 3)
	in, _ := innerIP(p)
	ls := []gopacket.SerializableLayer{ethL(layers.EthernetTypeDot1Q)}
	for i := range maxVLANTags + 1 {
		next := layers.EthernetTypeDot1Q
		if i == maxVLANTags {
			next = layers.EthernetTypeIPv4
		}
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: uint16(i), Type: next})
	}
	data := serialize(t, append(ls, in...)...)
	var seg Segment
	if err := NewDecoder().Decode(linkEthernet, data, len(data), 1, time.Time{}, &seg); !errors.Is(err, ErrMalformed) {
		t.Errorf("%d tags: %v, want ErrMalformed", maxVLANTags+1, err)
	}
}

// Fragments of a tunnel's outer packet are skipped and counted like TCP's:
// the inner segment of a first fragment would be cut short.
func TestDecodeTunnelFragments(t *testing.T) {
	c, data := findCase(t, "vxlan")
	off, _ := c.span(t, 1)
	for _, flags := range []byte{0x20, 0x00} { // MF, offset 0 | offset 8
		b := mutate(data, func(b []byte) {
			b[off+6] = flags
			if flags == 0 {
				b[off+7] = 1
			}
		})
		d := NewDecoder()
		var seg Segment
		if err := d.Decode(linkEthernet, b, len(b), 1, time.Time{}, &seg); !errors.Is(err, ErrNotTCP) || d.Fragments != 1 {
			t.Errorf("outer fragment flags %#x: %v, Fragments %d", flags, err, d.Fragments)
		}
	}
}

// Decode overwrites every field of the segment: a frame decoded into a
// segment full of another frame's values gives what a zero segment gets.
func TestDecodeOverwritesSegment(t *testing.T) {
	cs := tunnelCases()
	frames := []linkFrame{{linkEthernet, basePkt(false).frame(t, linkEthernet)}, {linkEthernet, basePkt(true).frame(t, linkEthernet)}}
	for _, c := range cs {
		frames = append(frames, linkFrame{c.link, c.frame(t)})
	}
	junk := Segment{Frame: 99, Time: time.Unix(5, 5), Src: Endpoint{out6a, 1}, Dst: Endpoint{out6b, 2}, Seq: 3, Ack: 4,
		Flags: 0xFF, Window: 5, Len: 6, WScale: 7, MSS: 8, TSVal: 9, TSEcr: 10, HasTS: true, SACKOK: true, Truncated: true,
		Tunnel: tun(okey(out4a, out4b, 1, 2), 3, true, TunnelGTPU, TunnelGRE)}
	d := NewDecoder()
	d.VXLANPorts, d.GenevePorts = []uint16{4000}, []uint16{7000}
	for i, f := range frames {
		var fresh Segment
		err := d.Decode(f.link, f.data, len(f.data), 1, time.Unix(1, 0), &fresh)
		seg := junk
		if err2 := d.Decode(f.link, f.data, len(f.data), 1, time.Unix(1, 0), &seg); err2 != err || (err == nil && seg != fresh) {
			t.Errorf("frame %d: over a used segment %v %+v, over a zero one %v %+v", i, err2, seg, err, fresh)
		}
	}
}

// tunnelFrames returns a frame of every tunnel case, for the fuzz seeds,
// the allocation test and the benchmark.
func tunnelFrames(tb testing.TB) []linkFrame {
	var out []linkFrame
	for _, c := range tunnelCases() {
		if c.setup != nil {
			continue // needs a port configured
		}
		out = append(out, linkFrame{c.link, c.frame(tb)})
	}
	return out
}

func TestDecodeTunnelsNoAllocs(t *testing.T) {
	d := NewDecoder()
	d.VXLANPorts, d.GenevePorts = []uint16{4000}, []uint16{7000}
	frames := tunnelFrames(t)
	var seg Segment
	ts := time.Unix(1, 0)
	n := testing.AllocsPerRun(100, func() {
		for _, f := range frames {
			if err := d.Decode(f.link, f.data, len(f.data), 1, ts, &seg); err != nil {
				t.Fatal(err)
			}
			// Error paths inside tunnels must not allocate either.
			_ = d.Decode(f.link, f.data[:len(f.data)-70], len(f.data), 1, ts, &seg)
		}
	})
	if n != 0 {
		t.Errorf("Decode of tunnelled frames allocates %.1f times per run, want 0", n)
	}
}

func BenchmarkDecodeTunnels(b *testing.B) { benchDecode(b, tunnelFrames(b)) }

// BIG TCP and jumbograms, bare and in tunnels: lengths of 0 (IPv4 total
// length, UDP length, RFC 2675 §4) take the frame's, the Jumbo Payload
// option (RFC 2675 §2) its own; segments beyond 64 KiB keep their length.
func TestDecodeBigTCPInTunnels(t *testing.T) {
	const payload = 70000
	d := NewDecoder()
	// IPv4 in VXLAN over IPv4, every length 0.
	p := innerPkt(false, 1)
	p.payload = payload
	c := tunnelCase{ls: cat(udpOver(out4a, out4b, 50001, 4789), &layers.VXLAN{ValidIDFlag: true, VNI: 1}, innerEth(p))}
	data := c.frame(t)
	outer, _ := c.span(t, 1)
	udp, _ := c.span(t, 2)
	inner, _ := c.span(t, 5)
	for _, o := range []int{outer + 2, udp + 4, inner + 2} {
		data[o], data[o+1] = 0, 0
	}
	var seg Segment
	if err := d.Decode(linkEthernet, data, len(data), 1, time.Time{}, &seg); err != nil || seg.Len != payload || seg.Truncated {
		t.Errorf("BIG TCP IPv4 in VXLAN: %v, Len %d Truncated %v", err, seg.Len, seg.Truncated)
	}
	// gopacket writes IPv6 payloads beyond 64 KiB as jumbograms (payload
	// length 0, Jumbo Payload option); in Geneve over IPv6, UDP length 0.
	p = innerPkt(true, 2)
	p.payload = payload
	in, et := innerIP(p)
	c = tunnelCase{ls: cat(udpOver(out6a, out6b, 50002, 6081), &layers.Geneve{Protocol: et, VNI: 2}, in)}
	data = c.frame(t)
	udp, _ = c.span(t, 2)
	data[udp+4], data[udp+5] = 0, 0
	if err := d.Decode(linkEthernet, data, len(data), 1, time.Time{}, &seg); err != nil || seg.Len != payload || seg.Tunnel.Type != TunnelGeneve {
		t.Errorf("IPv6 jumbogram in Geneve: %v, Len %d, %v", err, seg.Len, seg.Tunnel.Type)
	}
	// The jumbo option decides, not the frame: a frame cut by the
	// capture keeps the option's length, truncated.
	bare := p.frame(t, linkEthernet)
	if bare[14+4] != 0 || bare[14+5] != 0 || bare[14+6] != ipv6HopByHop {
		t.Fatalf("gopacket wrote no jumbogram: % x", bare[14:14+8])
	}
	if err := d.Decode(linkEthernet, bare[:200], len(bare), 1, time.Time{}, &seg); err != nil || seg.Len != payload || !seg.Truncated {
		t.Errorf("cut IPv6 jumbogram: %v, Len %d Truncated %v", err, seg.Len, seg.Truncated)
	}
}
