package flow

import (
	"errors"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Sentinel errors of Decode. They are package-level values so returning them
// never allocates; callers compare with errors.Is.
var (
	// ErrNotTCP: the frame is well formed but carries no TCP segment (ARP,
	// UDP, ICMP, non-first IP fragments, IPv6 "no next header").
	ErrNotTCP = errors.New("flow: not a tcp segment")
	// ErrUnsupportedLink: the link type (or a loopback address family) is
	// not one the decoder knows.
	ErrUnsupportedLink = errors.New("flow: unsupported link type")
	// ErrMalformed: a header contradicts itself (IP version, IHL < 5, TCP
	// data offset < 5 or beyond the IP payload, lengths shorter than headers).
	ErrMalformed = errors.New("flow: malformed packet")
	// ErrTruncated: the captured bytes end before the IP header, an IPv6
	// extension header, or the fixed 20-octet TCP header.
	ErrTruncated = errors.New("flow: truncated packet")
)

// Link types beyond gopacket's named constants. Values are LINKTYPE_/DLT_
// numbers from https://www.tcpdump.org/linktypes.html.
const (
	linkNull     = layers.LinkType(0)   // BSD loopback, AF value in host byte order
	linkEthernet = layers.LinkType(1)   // LINKTYPE_ETHERNET
	linkRawDLT12 = layers.LinkType(12)  // DLT_RAW on most BSDs
	linkRawDLT14 = layers.LinkType(14)  // DLT_RAW on OpenBSD
	linkRaw      = layers.LinkType(101) // LINKTYPE_RAW
	linkLoop     = layers.LinkType(108) // OpenBSD loopback, AF in network byte order
	linkSLL      = layers.LinkType(113) // Linux cooked v1
	linkIPv4     = layers.LinkType(228) // LINKTYPE_IPV4
	linkIPv6     = layers.LinkType(229) // LINKTYPE_IPV6
	linkSLL2     = layers.LinkType(276) // Linux cooked v2 (tcpdump -i any)
)

// EtherTypes the decoder follows.
const (
	etherIPv4   = 0x0800
	etherIPv6   = 0x86DD
	etherVLAN   = 0x8100 // IEEE 802.1Q
	etherQinQ   = 0x88A8 // IEEE 802.1ad service tag
	etherQinQv1 = 0x9100 // pre-standard QinQ
)

// maxVLANTags bounds the tag loop so a frame of nothing but tags ends.
const maxVLANTags = 8

// Decoder classifies captured frames into Segments.
//
// It parses the link, IP and TCP headers by hand rather than through
// gopacket's DecodingLayerParser: gopacket builds its errors with fmt.Errorf
// (an allocation per malformed frame, and public captures are full of
// them), rejects an IPv4 header whose total length is below the captured
// length in ways that lose the real segment length, has no layer for
// LINKTYPE 12/14/228/229 or the BSD AF_INET6 variants, and decodes every TCP
// option into a slice of structs when we need four scalar values. The
// headers involved are fixed by RFC 791, RFC 8200 and RFC 9293, and the
// tests cross-check this parser against frames serialized by gopacket.
//
// A Decoder is not safe for concurrent use; use one per goroutine. The zero
// value is ready to use; NewDecoder exists for symmetry with the API.
type Decoder struct {
	// Fragments counts IP fragments with a non-zero offset (returned as
	// ErrNotTCP: they carry no TCP header).
	Fragments uint64

	// VXLANPorts and GenevePorts are UDP destination ports decoded as
	// VXLAN and Geneve besides the defaults (VXLAN 4789 and 8472, Geneve
	// 6081), as Wireshark's "decode as" (--vxlan-port, --geneve-port).
	// Set them before the first Decode.
	VXLANPorts, GenevePorts []uint16

	// Undecapsulated counts, by tunnel type, frames whose tunnel header
	// the decoder recognised but whose content it could not decode
	// (malformed or truncated inside the tunnel, or nested deeper than
	// it follows).
	Undecapsulated [NumTunnelTypes]uint64
}

// NewDecoder returns a ready Decoder.
func NewDecoder() *Decoder { return &Decoder{} }

// Decode classifies one frame into seg, which is fully overwritten. data are
// the captured bytes, origLen the original wire length (<= 0 if unknown:
// IP lengths are then trusted as they are), frame
// the 1-based frame number and ts the capture timestamp. It never allocates.
// On error seg holds only Frame and Time.
func (d *Decoder) Decode(link layers.LinkType, data []byte, origLen int, frame int64, ts time.Time, seg *Segment) error {
	*seg = Segment{Frame: frame, Time: ts, WScale: NoOption, MSS: NoOption}
	// extra: octets the wire frame had beyond the captured ones (snaplen),
	// or -1 when origLen is unknown (<= 0).
	extra := -1
	if origLen > 0 {
		extra = max(origLen-len(data), 0)
	}
	switch link {
	case linkEthernet:
		if len(data) < 14 {
			return ErrTruncated
		}
		return d.ether(uint16(data[12])<<8|uint16(data[13]), data[14:], extra, seg)
	case linkSLL:
		// struct sll_header: type, arphrd, addr len, addr[8], protocol.
		if len(data) < 16 {
			return ErrTruncated
		}
		return d.ether(uint16(data[14])<<8|uint16(data[15]), data[16:], extra, seg)
	case linkSLL2:
		// struct sll2_header: protocol first, then reserved, ifindex,
		// arphrd, packet type, addr len, addr[8]: 20 octets.
		if len(data) < 20 {
			return ErrTruncated
		}
		return d.ether(uint16(data[0])<<8|uint16(data[1]), data[20:], extra, seg)
	case linkRaw, linkRawDLT12, linkRawDLT14:
		if len(data) < 1 {
			return ErrTruncated
		}
		return d.ipByVersion(data, extra, seg)
	case linkIPv4:
		return d.ipv4(data, extra, seg)
	case linkIPv6:
		return d.ipv6(data, extra, seg)
	case linkNull, linkLoop:
		if len(data) < 4 {
			return ErrTruncated
		}
		// NULL stores the AF in the capturing host's byte order, LOOP in
		// network order; accept both orders for both, as libpcap's
		// readers and Wireshark do (the values are small, so the order
		// is unambiguous).
		af := uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24
		if af > 0xFFFF {
			af = uint32(data[3]) | uint32(data[2])<<8 | uint32(data[1])<<16 | uint32(data[0])<<24
		}
		switch af {
		case 2: // AF_INET everywhere
			return d.ipv4(data[4:], extra, seg)
		case 10, 23, 24, 28, 30: // AF_INET6: Linux, Windows, NetBSD/OpenBSD, FreeBSD, Darwin
			return d.ipv6(data[4:], extra, seg)
		}
		return ErrUnsupportedLink
	}
	return ErrUnsupportedLink
}

// ether follows an EtherType, skipping 802.1Q/802.1ad tags (4 octets each:
// TCI then the inner EtherType).
func (d *Decoder) ether(typ uint16, b []byte, extra int, seg *Segment) error {
	for i := 0; ; i++ {
		switch typ {
		case etherIPv4:
			return d.ipv4(b, extra, seg)
		case etherIPv6:
			return d.ipv6(b, extra, seg)
		case etherVLAN, etherQinQ, etherQinQv1:
			if i >= maxVLANTags {
				return ErrMalformed
			}
			if len(b) < 4 {
				return ErrTruncated
			}
			typ = uint16(b[2])<<8 | uint16(b[3])
			b = b[4:]
		default:
			return ErrNotTCP
		}
	}
}

// ipByVersion dispatches raw IP on the version nibble.
func (d *Decoder) ipByVersion(b []byte, extra int, seg *Segment) error {
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, extra, seg)
	case 6:
		return d.ipv6(b, extra, seg)
	}
	return ErrNotTCP
}

// ipv4 parses an IPv4 header (RFC 791 §3.1) and hands the TCP part on.
func (d *Decoder) ipv4(b []byte, extra int, seg *Segment) error {
	if len(b) < 20 {
		return ErrTruncated
	}
	if b[0]>>4 != 4 {
		return ErrMalformed
	}
	ihl := int(b[0]&0x0F) * 4
	if ihl < 20 {
		return ErrMalformed
	}
	total := int(b[2])<<8 | int(b[3])
	switch {
	case total == 0:
		// TSO/GSO super-frame captured on the sending host: total
		// length 0, the frame is as long as the wire length says (or,
		// when unknown, as what was captured).
		total = len(b) + max(extra, 0)
	case extra >= 0 && total > len(b)+extra:
		// The header claims more than the wire frame held: a lie, not
		// snaplen. Wireshark (packet-ip.c, "IPv4 total length exceeds
		// packet length") falls back to the frame length; so do we.
		total = len(b) + extra
	}
	if total < ihl {
		return ErrMalformed
	}
	if len(b) < ihl {
		return ErrTruncated
	}
	if b[9] != 6 { // IPPROTO_TCP
		return ErrNotTCP
	}
	if fragOff := (int(b[6])<<8 | int(b[7])) & 0x1FFF; fragOff != 0 {
		d.Fragments++
		return ErrNotTCP
	}
	seg.Src.Addr = netip.AddrFrom4([4]byte(b[12:16]))
	seg.Dst.Addr = netip.AddrFrom4([4]byte(b[16:20]))
	// Ethernet pads short frames to 60 octets: the IP total length, not
	// the captured length, bounds the TCP segment.
	end := min(total, len(b))
	return d.tcp(b[ihl:end], total-ihl, extra, seg)
}

// IPv6 next-header values the decoder walks (RFC 8200 §4).
const (
	ipv6HopByHop = 0
	ipv6TCP      = 6
	ipv6Routing  = 43
	ipv6Fragment = 44
	ipv6AH       = 51
	ipv6NoNext   = 59
	ipv6DestOpts = 60
	ipv6Mobility = 135
)

// maxIPv6Ext bounds the extension header walk.
const maxIPv6Ext = 16

// ipv6 parses the fixed IPv6 header and skips extension headers (RFC 8200
// §4: hop-by-hop, routing, destination options, fragment; and AH, RFC 4302
// §2.2, whose length counts 4-octet units minus 2).
func (d *Decoder) ipv6(b []byte, extra int, seg *Segment) error {
	if len(b) < 40 {
		return ErrTruncated
	}
	if b[0]>>4 != 6 {
		return ErrMalformed
	}
	plen := int(b[4])<<8 | int(b[5])
	switch wire := len(b) - 40 + max(extra, 0); {
	case plen == 0:
		// Jumbogram (RFC 2675) or a GSO super-frame: the frame length counts.
		plen = wire
	case extra >= 0 && plen > wire:
		// Longer than the wire frame: clamp, as for IPv4.
		plen = wire
	}
	next := b[6]
	seg.Src.Addr = netip.AddrFrom16([16]byte(b[8:24]))
	seg.Dst.Addr = netip.AddrFrom16([16]byte(b[24:40]))
	p := b[40:]
	if len(p) > plen {
		p = p[:plen]
	}
	rest := plen // declared octets from p[0] on
	for i := 0; ; i++ {
		if next == ipv6TCP {
			return d.tcp(p, rest, extra, seg)
		}
		if i >= maxIPv6Ext {
			return ErrMalformed
		}
		var n int
		switch next {
		case ipv6HopByHop, ipv6Routing, ipv6DestOpts, ipv6Mobility:
			if len(p) < 2 {
				return ErrTruncated
			}
			n = (int(p[1]) + 1) * 8
		case ipv6Fragment:
			if len(p) < 8 {
				return ErrTruncated
			}
			if off := (int(p[2])<<8 | int(p[3])) >> 3; off != 0 {
				d.Fragments++
				return ErrNotTCP
			}
			n = 8
		case ipv6AH:
			if len(p) < 2 {
				return ErrTruncated
			}
			n = (int(p[1]) + 2) * 4
		default: // no next header, ESP, UDP, ICMPv6, ...
			return ErrNotTCP
		}
		if n > rest {
			return ErrMalformed
		}
		if n > len(p) {
			return ErrTruncated
		}
		next = p[0]
		p = p[n:]
		rest -= n
	}
}

// tcp parses the TCP header (RFC 9293 §3.1). b holds the captured octets
// of the segment, declared its length according to the IP header.
func (d *Decoder) tcp(b []byte, declared int, extra int, seg *Segment) error {
	if len(b) < 20 {
		if declared < 20 {
			return ErrMalformed
		}
		return ErrTruncated
	}
	off := int(b[12]>>4) * 4
	if off < 20 || off > declared {
		return ErrMalformed
	}
	seg.Src.Port = uint16(b[0])<<8 | uint16(b[1])
	seg.Dst.Port = uint16(b[2])<<8 | uint16(b[3])
	seg.Seq = Seq(uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]))
	seg.Ack = Seq(uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11]))
	seg.Flags = Flags(b[13])
	seg.Window = uint16(b[14])<<8 | uint16(b[15])
	seg.Len = uint32(declared - off)
	seg.Truncated = seg.Truncated || len(b) < declared
	// Options the capture cut off are simply absent (snaplen 68 cuts SYN
	// options); the fixed header is enough to place the segment.
	parseOptions(b[20:min(off, len(b))], seg)
	return nil
}

// TCP option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
const (
	optEnd       = 0
	optNOP       = 1
	optMSS       = 2
	optWScale    = 3
	optSACKPerm  = 4
	optTimestamp = 8
)

// maxWScale is the largest shift RFC 7323 §2.3 allows; larger values are
// used as 14 (Linux tcp_parse_options does the same, TCP_MAX_WSCALE).
const maxWScale = 14

// parseOptions reads the options this package needs. A malformed option
// (length < 2 or past the header) ends parsing, as in Linux
// tcp_parse_options; options already read are kept.
func parseOptions(o []byte, seg *Segment) {
	for len(o) > 0 {
		kind := o[0]
		if kind == optEnd {
			return
		}
		if kind == optNOP {
			o = o[1:]
			continue
		}
		if len(o) < 2 {
			return
		}
		n := int(o[1])
		if n < 2 || n > len(o) {
			return
		}
		switch {
		case kind == optMSS && n == 4:
			seg.MSS = int32(o[2])<<8 | int32(o[3])
		case kind == optWScale && n == 3:
			seg.WScale = int8(min(o[2], maxWScale))
		case kind == optSACKPerm && n == 2:
			seg.SACKOK = true
		case kind == optTimestamp && n == 10:
			seg.TSVal = uint32(o[2])<<24 | uint32(o[3])<<16 | uint32(o[4])<<8 | uint32(o[5])
			seg.TSEcr = uint32(o[6])<<24 | uint32(o[7])<<16 | uint32(o[8])<<8 | uint32(o[9])
			seg.HasTS = true
		}
		o = o[n:]
	}
}
