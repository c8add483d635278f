package flow

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// linkCase is a link header put before an IP packet (et: its EtherType).
type linkCase struct {
	name string
	link layers.LinkType
	hdr  func(et uint16) []byte
	// tunnel: the frame is decapsulated as PPPoE.
	pppoe bool
}

func pppProto(et uint16) []byte {
	if et == etherIPv6 {
		return []byte{0x00, 0x57}
	}
	return []byte{0x00, 0x21}
}

func snap(et uint16) []byte { return []byte{0xAA, 0xAA, 0x03, 0, 0, 0, byte(et >> 8), byte(et)} }

// dot11Hdr is an 802.11 data frame header: fc0 (type/subtype), fc1
// (flags), addresses and sequence control, QoS/HT control as fc asks.
func dot11Hdr(fc0, fc1 byte) []byte {
	h := append([]byte{fc0, fc1, 0, 0}, make([]byte, 20)...)
	if fc1&3 == 3 {
		h = append(h, make([]byte, 6)...)
	}
	if fc0&0x80 != 0 {
		h = append(h, 0, 0)
		if fc1&0x80 != 0 {
			h = append(h, 0, 0, 0, 0)
		}
	}
	return h
}

func linkCases() []linkCase {
	cat := func(bs ...[]byte) []byte {
		var o []byte
		for _, b := range bs {
			o = append(o, b...)
		}
		return o
	}
	radiotap := []byte{0, 0, 8, 0, 0, 0, 0, 0}
	// TSFT and Flags (data pad) present: 8 + TSFT 8 + flags 1, padded to 20.
	radiotapPad := []byte{0, 0, 20, 0, 3, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x20, 0, 0, 0}
	prism := append([]byte{0x44, 0, 0, 0, 144, 0, 0, 0}, make([]byte, 136)...)
	avs := append([]byte{0x80, 0x21, 0x10, 0x01, 0, 0, 0, 64}, make([]byte, 56)...)
	return []linkCase{
		{"ppp", linkPPP, func(et uint16) []byte { return pppProto(et) }, false},
		{"ppp hdlc", linkPPP, func(et uint16) []byte { return cat([]byte{0xFF, 0x03}, pppProto(et)) }, false},
		{"ppp_hdlc 50", linkPPPHDLC, func(et uint16) []byte { return cat([]byte{0xFF, 0x03}, pppProto(et)) }, false},
		{"ppp_hdlc 50 compressed", linkPPPHDLC, func(et uint16) []byte { return cat([]byte{0xFF, 0x03}, pppProto(et)[1:]) }, false},
		{"ppp_hdlc 50 cisco", linkPPPHDLC, func(et uint16) []byte { return []byte{0x0F, 0, byte(et >> 8), byte(et)} }, false},
		{"ppp pppd 166", linkPPPPPPD, func(et uint16) []byte { return cat([]byte{0x01, 0x03}, pppProto(et)) }, false},
		{"pppoe 51", linkPPPEther, func(et uint16) []byte { return cat([]byte{0x11, 0, 0x12, 0x34, 0xFF, 0xFF}, pppProto(et)) }, true},
		{"cisco hdlc 104", linkCHDLC, func(et uint16) []byte { return []byte{0x8F, 0, byte(et >> 8), byte(et)} }, false},
		{"slip 8", linkSLIP, func(uint16) []byte { return make([]byte, 16) }, false},
		{"802.11 data", link80211, func(et uint16) []byte { return cat(dot11Hdr(0x08, 0x01), snap(et)) }, false},
		{"802.11 4-address", link80211, func(et uint16) []byte { return cat(dot11Hdr(0x08, 0x03), snap(et)) }, false},
		{"802.11 qos", link80211, func(et uint16) []byte { return cat(dot11Hdr(0x88, 0x02), snap(et)) }, false},
		{"802.11 qos ht", link80211, func(et uint16) []byte { return cat(dot11Hdr(0x88, 0x83), snap(et)) }, false},
		{"radiotap", linkRadiotap, func(et uint16) []byte { return cat(radiotap, dot11Hdr(0x88, 0x01), snap(et)) }, false},
		{"radiotap data pad", linkRadiotap, func(et uint16) []byte { return cat(radiotapPad, dot11Hdr(0x88, 0x01), []byte{0, 0}, snap(et)) }, false},
		{"prism", linkPrism, func(et uint16) []byte { return cat(prism, dot11Hdr(0x08, 0x02), snap(et)) }, false},
		{"avs", linkAVS, func(et uint16) []byte { return cat(avs, dot11Hdr(0x08, 0x02), snap(et)) }, false},
		{"avs as prism", linkPrism, func(et uint16) []byte { return cat(avs, dot11Hdr(0x08, 0x02), snap(et)) }, false},
	}
}

func TestDecodeNewLinkTypes(t *testing.T) {
	ts := time.Unix(1_700_000_000, 0)
	d := NewDecoder()
	for _, c := range linkCases() {
		for _, v6 := range []bool{false, true} {
			p := basePkt(v6)
			ls, et := p.ipLayers()
			data := append(c.hdr(uint16(et)), serialize(t, ls...)...)
			name := c.name
			if v6 {
				name += " v6"
			}
			t.Run(name, func(t *testing.T) {
				var seg Segment
				if err := d.Decode(c.link, data, len(data), 3, ts, &seg); err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if c.pppoe {
					if seg.Tunnel.Type != TunnelPPPoE || seg.Tunnel.ID != 0x1234 {
						t.Errorf("tunnel %+v, want PPPoE 0x1234", seg.Tunnel)
					}
					seg.Tunnel = Tunnel{}
				}
				checkSeg(t, &seg, p, 3, ts)
				// Every cut is refused with a sentinel, never a panic.
				for n := range data {
					err := d.Decode(c.link, data[:n], len(data), 3, ts, &seg)
					if err == nil && seg.Truncated {
						continue // past the fixed TCP header: a snaplen cut
					}
					if err != ErrTruncated && err != ErrMalformed && err != ErrNotTCP && err != ErrNotData80211 {
						t.Fatalf("cut at %d: %v", n, err)
					}
				}
			})
		}
	}
}

func TestDecode80211Skipped(t *testing.T) {
	d := NewDecoder()
	ls, _ := basePkt(false).ipLayers()
	ip := serialize(t, ls...)
	for _, c := range []struct {
		name string
		hdr  []byte
	}{
		{"protected", dot11Hdr(0x08, 0x41)},
		{"a-msdu", func() []byte { h := dot11Hdr(0x88, 0x01); h[len(h)-2] = 0x80; return h }()},
		{"not snap", append(dot11Hdr(0x08, 0x01), 0x42, 0x42, 0x03, 0, 0, 0, 0x08, 0)},
	} {
		data := append(append(c.hdr, snap(etherIPv4)...), ip...)
		var seg Segment
		if err := d.Decode(link80211, data, len(data), 1, time.Time{}, &seg); err != ErrNotTCP {
			t.Errorf("%s: %v, want ErrNotTCP", c.name, err)
		}
	}
}

func TestDecode80211NonData(t *testing.T) {
	d := NewDecoder()
	for name, h := range map[string][]byte{
		"beacon": dot11Hdr(0x80, 0), "ack": dot11Hdr(0xD4, 0),
		"null data": dot11Hdr(0x48, 0x01), "qos null": dot11Hdr(0xC8, 0x01),
	} {
		var seg Segment
		if err := d.Decode(link80211, h, len(h), 1, time.Time{}, &seg); err != ErrNotData80211 {
			t.Errorf("%s: %v, want ErrNotData80211", name, err)
		}
	}
}

func TestUnsupportedLinkReason(t *testing.T) {
	for lt, want := range map[layers.LinkType]string{
		13:   "unsupported link type 13 (ATM RFC 1483)",
		147:  "unsupported link type 147 (user 0)",
		9999: "unsupported link type 9999",
	} {
		if got := UnsupportedLinkReason(lt); got != want {
			t.Errorf("%d: %q, want %q", lt, got, want)
		}
	}
	var seg Segment
	if err := NewDecoder().Decode(13, []byte{1, 2, 3}, 3, 1, time.Time{}, &seg); !errors.Is(err, ErrUnsupportedLink) {
		t.Errorf("link 13: %v", err)
	}
}

// isLinkGo says whether link.go decodes lt (the link types issue 14 added).
func isLinkGo(lt layers.LinkType) bool {
	_, _, _, ok, _ := linkHeader(lt, nil)
	return ok
}

// TestCorpusLinkTypes counts the public captures with TCP segments, and
// those that have them only through a link type of link.go (none before
// it), and names the link types still skipped.
func TestCorpusLinkTypes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*"))
	if len(files) == 0 {
		t.Skipf("no captures in %s", corpusDir)
	}
	var withTCP, before int
	gained := map[layers.LinkType]int{}
	skipped := map[string]int{}
	for _, path := range files {
		src, link, closeFn, err := openCapture(path)
		if err != nil {
			continue
		}
		d := NewDecoder()
		var seg Segment
		var old, viaNew bool
		unsupported := map[layers.LinkType]bool{}
		for n := int64(1); ; n++ {
			data, ci, err := src.ReadPacketData()
			if err != nil {
				break
			}
			lt := link(ci.InterfaceIndex)
			switch err := d.Decode(lt, data, ci.Length, n, ci.Timestamp, &seg); {
			case err == ErrUnsupportedLink:
				unsupported[lt] = true
			case err != nil:
			case isLinkGo(lt):
				viaNew = true
				gained[lt]++
			default:
				old = true
			}
		}
		closeFn()
		if old || viaNew {
			withTCP++
		}
		if old {
			before++
		}
		for lt := range unsupported {
			skipped[UnsupportedLinkReason(lt)]++
		}
	}
	t.Logf("captures with TCP segments: %d (%d before link.go); TCP segments by new link type: %v", withTCP, before, gained)
	t.Logf("captures with frames still skipped, by reason: %v", skipped)
	if withTCP <= before {
		t.Errorf("no capture gained TCP segments")
	}
}

func TestDecodeNewLinkTypesNoAllocs(t *testing.T) {
	var frames []linkFrame
	for _, c := range linkCases() {
		for _, v6 := range []bool{false, true} {
			ls, et := basePkt(v6).ipLayers()
			frames = append(frames, linkFrame{c.link, append(c.hdr(uint16(et)), serialize(t, ls...)...)})
		}
	}
	frames = append(frames, linkFrame{13, []byte{1, 2, 3, 4}}, linkFrame{link80211, dot11Hdr(0x80, 0)})
	d := NewDecoder()
	var seg Segment
	if n := testing.AllocsPerRun(100, func() {
		for _, f := range frames {
			_ = d.Decode(f.link, f.data, len(f.data), 1, time.Time{}, &seg)
		}
	}); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

// TestDecodeNFLOGAndPKTAP: a TCP segment inside a Linux NFLOG record
// (a NFULA_PACKET_HDR TLV, then NFULA_PAYLOAD, little-endian as libpcap
// writes them on x86, and big-endian) and inside Apple's PKTAP header
// (108 octets, then an Ethernet frame); and IPoIB's 44-octet header.
func TestDecodeNFLOGAndPKTAP(t *testing.T) {
	ts := time.Unix(1_700_000_000, 0)
	d := NewDecoder()
	for _, v6 := range []bool{false, true} {
		p := basePkt(v6)
		ls, et := p.ipLayers()
		ip := serialize(t, ls...)
		fam := byte(2)
		if v6 {
			fam = 10
		}
		n := 4 + len(ip)
		nflogLE := append([]byte{fam, 0, 0, 0, 8, 0, 1, 0, 0x08, 0x00, 3, 0, byte(n), byte(n >> 8), 9, 0}, ip...)
		nflogLE = append(nflogLE, make([]byte, (4-n%4)%4)...) // TLV padding
		nflogBE := append([]byte{fam, 0, 0, 0, 0, 8, 0, 1, 0x08, 0x00, 3, 0, byte(n >> 8), byte(n), 0, 9}, ip...)
		pktapHdr := append([]byte{108, 0, 0, 0, 1, 0, 0, 0}, make([]byte, 100)...)
		eth := append(make([]byte, 12), byte(et>>8), byte(et))
		pktap := append(append(pktapHdr, eth...), ip...)
		ipoib := append(append(make([]byte, 40), byte(et>>8), byte(et), 0, 0), ip...)
		for _, c := range []struct {
			name string
			link layers.LinkType
			data []byte
		}{{"nflog le", linkNFLOG, nflogLE}, {"nflog be", linkNFLOG, nflogBE}, {"pktap ethernet", linkPKTAP, pktap}, {"ipoib", linkIPoIB, ipoib}} {
			t.Run(fmt.Sprintf("%s v6=%v", c.name, v6), func(t *testing.T) {
				var seg Segment
				if err := d.Decode(c.link, c.data, len(c.data), 3, ts, &seg); err != nil {
					t.Fatalf("Decode: %v", err)
				}
				checkSeg(t, &seg, p, 3, ts)
				for cut := range c.data {
					err := d.Decode(c.link, c.data[:cut], len(c.data), 3, ts, &seg)
					if err == nil && seg.Truncated {
						continue
					}
					if err != ErrTruncated && err != ErrMalformed && err != ErrNotTCP {
						t.Fatalf("cut at %d: %v", cut, err)
					}
				}
			})
		}
	}
}
