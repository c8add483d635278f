package flow

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pkt describes one test segment; frames are built from it by gopacket's
// serializer, an implementation independent of the decoder under test.
type pkt struct {
	src, dst     netip.Addr
	sport, dport uint16
	seq, ack     uint32
	flags        Flags
	win          uint16
	payload      int
	opts         []layers.TCPOption
	vlans        []uint16 // outer first; 0x88A8 for an 802.1ad tag, else 802.1Q
	ext6         []gopacket.SerializableLayer
}

var (
	ip4a = netip.MustParseAddr("10.0.0.1")
	ip4b = netip.MustParseAddr("10.0.0.2")
	ip6a = netip.MustParseAddr("fd00::1")
	ip6b = netip.MustParseAddr("fd00::2")
)

func (p pkt) tcpLayer() *layers.TCP {
	f := p.flags
	return &layers.TCP{
		SrcPort: layers.TCPPort(p.sport), DstPort: layers.TCPPort(p.dport),
		Seq: p.seq, Ack: p.ack, Window: p.win,
		FIN: f&FIN != 0, SYN: f&SYN != 0, RST: f&RST != 0, PSH: f&PSH != 0,
		ACK: f&ACK != 0, URG: f&URG != 0, ECE: f&ECE != 0, CWR: f&CWR != 0,
		Options: p.opts,
	}
}

// ipLayers returns the network layers, the TCP layer and the EtherType.
func (p pkt) ipLayers() ([]gopacket.SerializableLayer, layers.EthernetType) {
	tcp := p.tcpLayer()
	var ls []gopacket.SerializableLayer
	var et layers.EthernetType
	if p.src.Is4() {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
			SrcIP: net.IP(p.src.AsSlice()), DstIP: net.IP(p.dst.AsSlice()), Flags: layers.IPv4DontFragment}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		ls = append(ls, ip)
		et = layers.EthernetTypeIPv4
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: net.IP(p.src.AsSlice()), DstIP: net.IP(p.dst.AsSlice())}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		ls = append(ls, ip)
		ls = append(ls, p.ext6...)
		et = layers.EthernetTypeIPv6
	}
	ls = append(ls, tcp)
	if p.payload > 0 {
		ls = append(ls, gopacket.Payload(make([]byte, p.payload)))
	}
	return ls, et
}

func serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		tb.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

// frame builds p as a frame of the given link type.
func (p pkt) frame(tb testing.TB, link layers.LinkType) []byte {
	tb.Helper()
	ls, et := p.ipLayers()
	switch link {
	case linkEthernet:
		eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
		var pre []gopacket.SerializableLayer
		if len(p.vlans) > 0 {
			eth.EthernetType = layers.EthernetType(tagType(p.vlans[0]))
			pre = append(pre, eth)
			for i := range p.vlans {
				next := et
				if i+1 < len(p.vlans) {
					next = layers.EthernetType(tagType(p.vlans[i+1]))
				}
				pre = append(pre, &layers.Dot1Q{VLANIdentifier: uint16(100 + i), Type: next})
			}
		} else {
			pre = append(pre, eth)
		}
		return serialize(tb, append(pre, ls...)...)
	case linkNull:
		fam := layers.ProtocolFamilyIPv4
		if !p.src.Is4() {
			fam = layers.ProtocolFamilyIPv6Darwin
		}
		return serialize(tb, append([]gopacket.SerializableLayer{&layers.Loopback{Family: fam}}, ls...)...)
	case linkLoop:
		af := uint32(2)
		if !p.src.Is4() {
			af = 24
		}
		return binary.BigEndian.AppendUint32(nil, af)
	}
	ip := serialize(tb, ls...)
	switch link {
	case linkSLL:
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[0:], 0) // to us
		binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(h[4:], 6) // addr len
		copy(h[6:], macA)
		binary.BigEndian.PutUint16(h[14:], uint16(et))
		return append(h, ip...)
	case linkSLL2:
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], uint16(et))
		binary.BigEndian.PutUint32(h[4:], 2) // ifindex
		binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
		h[10] = 4                            // PACKET_OUTGOING
		h[11] = 6
		copy(h[12:], macA)
		return append(h, ip...)
	}
	return ip // raw IP link types
}

// loopFrame builds p for LINKTYPE_LOOP (AF in network byte order).
func (p pkt) loopFrame(tb testing.TB) []byte {
	ls, _ := p.ipLayers()
	return append(p.frame(tb, linkLoop), serialize(tb, ls...)...)
}

func tagType(v uint16) uint16 {
	if v == etherQinQ {
		return etherQinQ
	}
	return etherVLAN
}

// writePcap writes Ethernet frames to a temporary pcap file.
func writePcap(tb testing.TB, link layers.LinkType, frames [][]byte, times []time.Time) string {
	tb.Helper()
	f, err := os.CreateTemp(tb.TempDir(), "*.pcap")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(65535, link); err != nil {
		tb.Fatal(err)
	}
	for i, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: times[i], CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			tb.Fatal(err)
		}
	}
	return f.Name()
}
