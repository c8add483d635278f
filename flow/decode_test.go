package flow

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var synOpts = []layers.TCPOption{
	{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
	{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
	{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0x12, 0x34, 0, 0, 0, 7}},
	{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
	{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
}

func basePkt(v6 bool) pkt {
	p := pkt{src: ip4a, dst: ip4b, sport: 40001, dport: 80, seq: 4294967000, ack: 77,
		flags: SYN | ACK | ECE, win: 64240, payload: 100, opts: synOpts}
	if v6 {
		p.src, p.dst = ip6a, ip6b
	}
	return p
}

// checkSeg compares every Segment field with the pkt it was built from.
func checkSeg(t *testing.T, seg *Segment, p pkt, frame int64, ts time.Time) {
	t.Helper()
	want := Segment{
		Frame: frame, Time: ts,
		Src: Endpoint{p.src, p.sport}, Dst: Endpoint{p.dst, p.dport},
		Seq: Seq(p.seq), Ack: Seq(p.ack), Flags: p.flags, Window: p.win,
		Len: uint32(p.payload), WScale: NoOption, MSS: NoOption,
		Checksum: ChecksumGood,        // gopacket computed them (build_test.go)
		TTL:      64, DF: p.src.Is4(), // build_test.go: TTL or hop limit 64, DF on IPv4
	}
	if p.opts != nil {
		want.WScale, want.MSS, want.TSVal, want.TSEcr, want.HasTS, want.SACKOK = 7, 1460, 0x1234, 7, true, true
		want.Options = OptionBit(optMSS) | OptionBit(optSACKPerm) | OptionBit(optTimestamp) | OptionBit(optWScale)
	}
	if *seg != want {
		t.Errorf("decoded\n %+v\nwant\n %+v", *seg, want)
	}
}

func TestDecodeLinkTypes(t *testing.T) {
	ts := time.Unix(1_700_000_000, 123456789)
	cases := []struct {
		name  string
		link  layers.LinkType
		v4    bool
		v6    bool
		vlans []uint16
	}{
		{"ethernet", linkEthernet, true, true, nil},
		{"ethernet 802.1Q", linkEthernet, true, true, []uint16{etherVLAN}},
		{"ethernet QinQ 802.1ad", linkEthernet, true, true, []uint16{etherQinQ, etherVLAN}},
		{"sll", linkSLL, true, true, nil},
		{"sll2", linkSLL2, true, true, nil},
		{"raw 101", linkRaw, true, true, nil},
		{"raw DLT 12", linkRawDLT12, true, true, nil},
		{"raw DLT 14", linkRawDLT14, true, true, nil},
		{"ipv4 228", linkIPv4, true, false, nil},
		{"ipv6 229", linkIPv6, false, true, nil},
		{"null", linkNull, true, true, nil},
		{"loop", linkLoop, true, true, nil},
	}
	d := NewDecoder()
	for _, c := range cases {
		for _, v6 := range []bool{false, true} {
			if v6 && !c.v6 || !v6 && !c.v4 {
				continue
			}
			p := basePkt(v6)
			p.vlans = c.vlans
			var data []byte
			if c.link == linkLoop {
				data = p.loopFrame(t)
			} else {
				data = p.frame(t, c.link)
			}
			var seg Segment
			name := c.name
			if v6 {
				name += " v6"
			}
			t.Run(name, func(t *testing.T) {
				if err := d.Decode(c.link, data, len(data), 42, ts, &seg); err != nil {
					t.Fatalf("Decode: %v", err)
				}
				checkSeg(t, &seg, p, 42, ts)
			})
		}
	}
}

func TestDecodeNullFamilies(t *testing.T) {
	d := NewDecoder()
	p := basePkt(true)
	ls, _ := p.ipLayers()
	ip := serialize(t, ls...)
	for _, af := range []uint32{10, 23, 24, 28, 30} {
		for _, bigEndian := range []bool{false, true} {
			h := []byte{byte(af), 0, 0, 0}
			if bigEndian {
				h = []byte{0, 0, 0, byte(af)}
			}
			var seg Segment
			if err := d.Decode(linkNull, append(h, ip...), 0, 1, time.Time{}, &seg); err != nil {
				t.Errorf("AF %d big-endian %v: %v", af, bigEndian, err)
			}
		}
	}
	var seg Segment
	if err := d.Decode(linkNull, append([]byte{7, 0, 0, 0}, ip...), 0, 1, time.Time{}, &seg); !errors.Is(err, ErrUnsupportedLink) {
		t.Errorf("AF 7: %v, want ErrUnsupportedLink", err)
	}
	if err := d.Decode(layers.LinkType(147), ip, 0, 1, time.Time{}, &seg); !errors.Is(err, ErrUnsupportedLink) {
		t.Errorf("link 147: %v, want ErrUnsupportedLink", err)
	}
}

func TestDecodeIPv6Extensions(t *testing.T) {
	d := NewDecoder()
	p := basePkt(true)
	p.opts = nil
	hbh := &layers.IPv6HopByHop{}
	hbh.NextHeader = layers.IPProtocolIPv6Destination
	hbh.Options = []*layers.IPv6HopByHopOption{{OptionType: 0x1e, OptionLength: 4, OptionData: []byte{1, 2, 3, 4}}}
	dst := &layers.IPv6Destination{}
	dst.NextHeader = layers.IPProtocolIPv6Routing
	dst.Options = []*layers.IPv6DestinationOption{{OptionType: 0x1e, OptionLength: 12, OptionData: make([]byte, 12)}}
	rt := &layers.IPv6Routing{RoutingType: 4, Data: make([]byte, 16)}
	rt.NextHeader = layers.IPProtocolIPv6Fragment
	// An atomic fragment (offset 0, M clear, RFC 8200 §4.5) is a whole packet.
	frag := &layers.IPv6Fragment{NextHeader: layers.IPProtocolTCP, Identification: 9}
	p.ext6 = []gopacket.SerializableLayer{hbh, dst, rt, frag}
	ls, _ := p.ipLayers()
	ls[0].(*layers.IPv6).NextHeader = layers.IPProtocolIPv6HopByHop
	ip := serialize(t, ls...)
	var seg Segment
	if err := d.Decode(linkRaw, ip, len(ip), 3, time.Time{}, &seg); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	checkSeg(t, &seg, p, 3, time.Time{})

	// A non-first fragment carries no TCP header; the first one carries
	// a header whose segment is longer than the fragment: both are
	// counted and skipped.
	for _, f := range []struct {
		off  uint16
		more bool
	}{{100, false}, {100, true}, {0, true}} {
		frag.FragmentOffset, frag.MoreFragments = f.off, f.more
		checkFragmentSkipped(t, d, serialize(t, ls...), fmt.Sprintf("offset %d M %v", f.off, f.more))
	}
}

// checkFragmentSkipped decodes the raw IP fragment ip: ErrNotTCP, and
// counted in d.Fragments.
func checkFragmentSkipped(t *testing.T, d *Decoder, ip []byte, what string) {
	t.Helper()
	before := d.Fragments
	var seg Segment
	if err := d.Decode(linkRaw, ip, len(ip), 3, time.Time{}, &seg); !errors.Is(err, ErrNotTCP) {
		t.Errorf("fragment %s: %v, want ErrNotTCP", what, err)
	}
	if d.Fragments != before+1 {
		t.Errorf("fragment %s: Fragments = %d, want %d", what, d.Fragments, before+1)
	}
}

func TestDecodeIPv4OptionsAndFragments(t *testing.T) {
	d := NewDecoder()
	p := basePkt(false)
	ls, _ := p.ipLayers()
	ip4 := ls[0].(*layers.IPv4)
	ip4.Options = []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}} // router alert
	data := serialize(t, ls...)
	if data[0]&0x0F != 6 {
		t.Fatalf("IHL %d, want 6", data[0]&0x0F)
	}
	var seg Segment
	if err := d.Decode(linkRaw, data, len(data), 1, time.Time{}, &seg); err != nil {
		t.Fatal(err)
	}
	checkSeg(t, &seg, p, 1, time.Time{})

	// Fragments are counted and skipped, the first one (MF set, offset
	// 0) too: its TCP header would give the segment the fragment's
	// length. Wireshark reassembles them; finwave does not.
	for _, f := range []struct {
		off   uint16
		flags layers.IPv4Flag
	}{{185, 0}, {185, layers.IPv4MoreFragments}, {0, layers.IPv4MoreFragments}} {
		ip4.FragOffset, ip4.Flags = f.off, f.flags
		checkFragmentSkipped(t, d, serialize(t, ls...), fmt.Sprintf("offset %d flags %v", f.off, f.flags))
	}
	// DF alone is no fragment.
	ip4.FragOffset, ip4.Flags = 0, layers.IPv4DontFragment
	data = serialize(t, ls...)
	if err := d.Decode(linkRaw, data, len(data), 1, time.Time{}, &seg); err != nil {
		t.Errorf("DF: %v", err)
	}
}

func TestDecodeTruncatedSnaplen(t *testing.T) {
	d := NewDecoder()
	for _, v6 := range []bool{false, true} {
		p := basePkt(v6)
		data := p.frame(t, linkEthernet)
		ipHdr := 20
		if v6 {
			ipHdr = 40
		}
		// Cut inside the payload, then inside the options (snaplen 68
		// style): the fixed header is there, so the segment decodes
		// with its real length and Truncated set.
		for _, cut := range []int{14 + ipHdr + 40 + 10, 14 + ipHdr + 24} {
			var seg Segment
			if err := d.Decode(linkEthernet, data[:cut], len(data), 1, time.Time{}, &seg); err != nil {
				t.Fatalf("v6=%v cut %d: %v", v6, cut, err)
			}
			if seg.Len != 100 || !seg.Truncated || seg.Seq != Seq(p.seq) {
				t.Errorf("v6=%v cut %d: Len %d Truncated %v Seq %d", v6, cut, seg.Len, seg.Truncated, seg.Seq)
			}
		}
		// Cut inside the fixed TCP header, and inside the IP header.
		for _, cut := range []int{14 + ipHdr + 19, 14 + ipHdr - 1, 10} {
			var seg Segment
			if err := d.Decode(linkEthernet, data[:cut], len(data), 1, time.Time{}, &seg); !errors.Is(err, ErrTruncated) {
				t.Errorf("v6=%v cut %d: %v, want ErrTruncated", v6, cut, err)
			}
		}
		var seg Segment
		if err := d.Decode(linkEthernet, data, len(data), 1, time.Time{}, &seg); err != nil || seg.Truncated {
			t.Errorf("v6=%v whole frame: err %v Truncated %v", v6, err, seg.Truncated)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	d := NewDecoder()
	p := basePkt(false)
	p.opts = nil
	good := p.frame(t, linkEthernet)
	tcpOff := 14 + 20
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"data offset 4", mut(func(b []byte) { b[tcpOff+12] = 4 << 4 }), ErrMalformed},
		{"data offset beyond packet", mut(func(b []byte) { b[tcpOff+12] = 15 << 4; b[16], b[17] = 0, 20+40 }), ErrMalformed},
		{"IHL 4", mut(func(b []byte) { b[14] = 0x44 }), ErrMalformed},
		{"IP version 5", mut(func(b []byte) { b[14] = 0x55 }), ErrMalformed},
		{"total length below IHL", mut(func(b []byte) { b[16], b[17] = 0, 12 }), ErrMalformed},
		{"UDP", mut(func(b []byte) { b[14+9] = 17 }), ErrNotTCP},
		{"ARP", mut(func(b []byte) { b[12], b[13] = 0x08, 0x06 }), ErrNotTCP},
	}
	for _, c := range cases {
		var seg Segment
		if err := d.Decode(linkEthernet, c.data, len(c.data), 1, time.Time{}, &seg); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TSO super-frames captured on the sender carry IPv4 total length 0: the
// captured length counts.
func TestDecodeTSOLengthZero(t *testing.T) {
	d := NewDecoder()
	p := basePkt(false)
	p.opts = nil
	p.payload = 3000
	data := p.frame(t, linkEthernet)
	data[16], data[17] = 0, 0
	var seg Segment
	if err := d.Decode(linkEthernet, data, len(data), 1, time.Time{}, &seg); err != nil {
		t.Fatal(err)
	}
	if seg.Len != 3000 || seg.Truncated {
		t.Errorf("Len %d Truncated %v, want 3000 false", seg.Len, seg.Truncated)
	}
}

// Ethernet pads frames to 60 octets; the padding is not payload.
func TestDecodeEthernetPadding(t *testing.T) {
	d := NewDecoder()
	p := basePkt(false)
	p.opts, p.payload, p.flags = nil, 0, ACK
	data := append(p.frame(t, linkEthernet), 0, 0, 0, 0, 0, 0)
	var seg Segment
	if err := d.Decode(linkEthernet, data, len(data), 1, time.Time{}, &seg); err != nil {
		t.Fatal(err)
	}
	if seg.Len != 0 {
		t.Errorf("Len %d, want 0", seg.Len)
	}
}

func TestDecodeWScaleClamp(t *testing.T) {
	d := NewDecoder()
	p := basePkt(false)
	p.opts = []layers.TCPOption{{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{20}}}
	data := p.frame(t, linkRaw)
	var seg Segment
	if err := d.Decode(linkRaw, data, len(data), 1, time.Time{}, &seg); err != nil {
		t.Fatal(err)
	}
	if seg.WScale != 14 {
		t.Errorf("WScale %d, want 14 (RFC 7323 §2.3)", seg.WScale)
	}
}

// linkFrame is a frame and its link type.
type linkFrame struct {
	link layers.LinkType
	data []byte
}

func allocFrames(t testing.TB) []linkFrame {
	var out []linkFrame
	for _, v6 := range []bool{false, true} {
		p := basePkt(v6)
		for _, l := range []layers.LinkType{linkEthernet, linkSLL2, linkRaw} {
			out = append(out, linkFrame{l, p.frame(t, l)})
		}
	}
	return out
}

func TestDecodeNoAllocs(t *testing.T) {
	d := NewDecoder()
	frames := allocFrames(t)
	var seg Segment
	ts := time.Unix(1, 0)
	n := testing.AllocsPerRun(200, func() {
		for _, f := range frames {
			if err := d.Decode(f.link, f.data, len(f.data), 1, ts, &seg); err != nil {
				t.Fatal(err)
			}
		}
		// Error paths must not allocate either.
		_ = d.Decode(linkEthernet, frames[0].data[:30], 0, 1, ts, &seg)
	})
	if n != 0 {
		t.Errorf("Decode allocates %.1f times per run, want 0", n)
	}
}

func BenchmarkDecode(b *testing.B) { benchDecode(b, allocFrames(b)) }

// benchDecode decodes frames in turn, b.N in all.
func benchDecode(b *testing.B, frames []linkFrame) {
	d := NewDecoder()
	var seg Segment
	ts := time.Unix(1, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := frames[i%len(frames)]
		if err := d.Decode(f.link, f.data, len(f.data), int64(i), ts, &seg); err != nil {
			b.Fatal(err)
		}
	}
}

// An IP length longer than the wire frame (origLen) is a lie, not snaplen:
// the frame length counts, as in Wireshark (kday4.pcap frame 10 of the
// tcpdump corpus). With origLen unknown the header is trusted.
func TestDecodeIPLengthBeyondWire(t *testing.T) {
	d := NewDecoder()
	for _, v6 := range []bool{false, true} {
		p := basePkt(v6)
		p.opts, p.payload = nil, 10
		data := p.frame(t, linkEthernet)
		if v6 {
			data[14+4], data[14+5] = 0x03, 0x00 // payload length 768
		} else {
			data[14+2], data[14+3] = 0x03, 0x34 // total length 820
		}
		var seg Segment
		if err := d.Decode(linkEthernet, data, len(data), 1, time.Time{}, &seg); err != nil {
			t.Fatal(err)
		}
		if seg.Len != 10 || seg.Truncated {
			t.Errorf("v6=%v wire length known: Len %d Truncated %v, want 10 false", v6, seg.Len, seg.Truncated)
		}
		if err := d.Decode(linkEthernet, data, 0, 1, time.Time{}, &seg); err != nil {
			t.Fatal(err)
		}
		if seg.Len <= 10 || !seg.Truncated {
			t.Errorf("v6=%v wire length unknown: Len %d Truncated %v, want header's length, truncated", v6, seg.Len, seg.Truncated)
		}
	}
}

// TestDecodeIPFingerprint: TTL, identification and DF come from the IP
// header that carries the TCP segment.
func TestDecodeIPFingerprint(t *testing.T) {
	p := basePkt(false)
	data := p.frame(t, linkRaw)
	data[4], data[5] = 0xBE, 0xEF // identification
	data[6] &^= 0x40              // DF off
	data[8] = 57                  // TTL
	var seg Segment
	if err := NewDecoder().Decode(linkRaw, data, len(data), 1, time.Time{}, &seg); err != nil {
		t.Fatal(err)
	}
	if seg.TTL != 57 || seg.IPID != 0xBEEF || seg.DF {
		t.Errorf("TTL %d IPID %#x DF %v, want 57 0xbeef false", seg.TTL, seg.IPID, seg.DF)
	}
	p6 := basePkt(true)
	data = p6.frame(t, linkRaw)
	data[7] = 3 // hop limit
	if err := NewDecoder().Decode(linkRaw, data, len(data), 1, time.Time{}, &seg); err != nil {
		t.Fatal(err)
	}
	if seg.TTL != 3 || seg.IPID != 0 || seg.DF {
		t.Errorf("IPv6: TTL %d IPID %#x DF %v, want 3 0 false", seg.TTL, seg.IPID, seg.DF)
	}
}

// TestParseOptions_SACK: blocks are read, and the first one is a D-SACK
// (RFC 2883 §4) when below the ACK or inside the second block.
func TestParseOptions_SACK(t *testing.T) {
	sack := func(blocks ...uint32) []byte {
		o := []byte{optNOP, optNOP, optSACK, byte(2 + 4*len(blocks))}
		for _, b := range blocks {
			o = append(o, byte(b>>24), byte(b>>16), byte(b>>8), byte(b))
		}
		return o
	}
	cases := []struct {
		name   string
		ack    Seq
		blocks []uint32
		n      uint8
		dsack  bool
	}{
		{"one block above the ack", 1000, []uint32{2000, 3000}, 1, false},
		{"below the ack (RFC 2883 §4.1.1)", 5000, []uint32{2000, 3000}, 1, true},
		{"inside the second block (§4.1.2)", 1000, []uint32{2500, 2600, 2000, 3000}, 2, true},
		{"two disjoint blocks", 1000, []uint32{4000, 5000, 2000, 3000}, 2, false},
		{"three blocks", 1000, []uint32{4000, 5000, 2000, 3000, 6000, 7000}, 3, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seg := Segment{Flags: ACK, Ack: c.ack}
			parseOptions(sack(c.blocks...), &seg)
			if seg.SACKBlocks != c.n || seg.SACK[0] != (SACKBlock{Seq(c.blocks[0]), Seq(c.blocks[1])}) {
				t.Fatalf("blocks %d %v, want %d starting %v", seg.SACKBlocks, seg.SACK, c.n, c.blocks[:2])
			}
			if seg.Options != OptionBit(optSACK) {
				t.Errorf("Options %#x, want only SACK's bit", seg.Options)
			}
			if got := seg.DSACK(); got != c.dsack {
				t.Errorf("DSACK() = %v, want %v", got, c.dsack)
			}
		})
	}
}
