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
	// ErrNotData80211: an 802.11 management, control or null (no data)
	// frame: no packet inside.
	ErrNotData80211 = errors.New("flow: 802.11 non-data frame")
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

// EtherTypes the decoder follows (IEEE registry; GRE's protocol type and
// Geneve's are EtherTypes too: RFC 2784 §2.4, RFC 8926 §3.4).
const (
	etherIPv4         = 0x0800
	etherIPv6         = 0x86DD
	etherVLAN         = 0x8100 // IEEE 802.1Q
	etherQinQ         = 0x88A8 // IEEE 802.1ad service tag
	etherQinQv1       = 0x9100 // pre-standard QinQ
	etherMPLS         = 0x8847 // RFC 3032 §5, unicast
	etherMPLSMulti    = 0x8848 // RFC 5332 §4, multicast ("upstream-assigned")
	etherPPPoESession = 0x8864 // RFC 2516 §4
	etherPBB          = 0x88E7 // IEEE 802.1ah I-TAG
	etherNSH          = 0x894F // RFC 8300 §2
	etherTEB          = 0x6558 // transparent Ethernet bridging: an Ethernet frame follows (gretap, NVGRE, Geneve)
	etherERSPAN       = 0x88BE // ERSPAN types I and II
	etherERSPAN3      = 0x22EB // ERSPAN type III
	etherWCCP         = 0x883E // WCCP redirection over GRE
	etherPPP          = 0x880B // PPP over GRE (PPTP, RFC 2637 §4.1)
)

// maxVLANTags bounds the tags (802.1Q, 802.1ad, NSH headers) skipped
// between two tunnels, so that a frame of nothing but tags ends.
const maxVLANTags = 8

// layer names the header the decode loop parses next.
type layer uint8

const (
	layerEthernet  layer = iota // Ethernet II: destination, source, EtherType
	layerEtherType              // the payload of an EtherType (802.1Q tags are skipped here)
	layerIPv4
	layerIPv6
	layerIP   // IPv4 or IPv6, by the version nibble
	layerMPLS // a label stack
	layerNSH  // a network service header (RFC 8300)
)

// Decoder classifies captured frames into Segments.
//
// It parses the link, tunnel, IP and TCP headers by hand rather than
// through gopacket's DecodingLayerParser: gopacket builds its errors with
// fmt.Errorf (an allocation per malformed frame, and public captures are
// full of them), rejects an IPv4 header whose total length is below the
// captured length in ways that lose the real segment length, has no layer
// for LINKTYPE 12/14/228/229 or the BSD AF_INET6 variants, and decodes
// every TCP option into a slice of structs when we need four scalar
// values. The headers involved are fixed by RFC 791, RFC 8200 and RFC
// 9293 (and, for tunnels, by the documents cited in decap.go), and the
// tests cross-check this parser against frames serialized by gopacket.
//
// Encapsulations are removed in one loop (walk) bounded by maxTunnelDepth
// tunnels, maxVLANTags tags between two of them and the frame's length:
// VXLAN, VXLAN-GPE, Geneve, GRE (gretap, WCCP, PPTP), ERSPAN I/II/III,
// IP in IP, Teredo, AYIYA, GTP-U, MPLS, PPPoE sessions and 802.1ah PBB.
// The segment's Tunnel says which were removed.
//
// A Decoder is not safe for concurrent use; use one per goroutine. The zero
// value is ready to use; NewDecoder exists for symmetry with the API.
type Decoder struct {
	// Fragments counts IP fragments that may have held a TCP segment (of
	// TCP or of a protocol that tunnels it), first fragments included:
	// they are returned as ErrNotTCP, never decoded (a first fragment's
	// TCP header would give the segment a length it does not have).
	// finwave does not reassemble; Wireshark does (see wireshark.go).
	Fragments uint64

	// VXLANPorts and GenevePorts are UDP ports decoded as VXLAN and
	// Geneve besides the defaults (VXLAN 4789 and 8472, Geneve 6081), as
	// Wireshark's "decode as" (--vxlan-port, --geneve-port). Like every
	// UDP port, they are matched against the lower of a datagram's two
	// ports first, then the higher (Wireshark's decode_udp_ports). Set
	// them before the first Decode.
	VXLANPorts, GenevePorts []uint16

	// Undecapsulated counts, by tunnel type, frames whose tunnel header
	// the decoder recognised but whose content it could not decode: the
	// frame ended with ErrMalformed or ErrTruncated inside the tunnel
	// (the tunnel header itself cut short or contradicting itself, the
	// packet inside it malformed or truncated, or tunnels nested deeper
	// than maxTunnelDepth). A tunnel that carries something other than
	// TCP (ErrNotTCP) is not counted. Indexed by the innermost tunnel
	// removed or being removed.
	Undecapsulated [NumTunnelTypes]uint64
}

// NewDecoder returns a ready Decoder.
func NewDecoder() *Decoder { return &Decoder{} }

// Decode classifies one frame into seg, which is fully overwritten. data are
// the captured bytes, origLen the original wire length (<= 0 if unknown:
// IP lengths are then trusted as they are), frame
// the 1-based frame number and ts the capture timestamp. It never allocates.
// On error only seg's Frame and Time are meaningful.
func (d *Decoder) Decode(link layers.LinkType, data []byte, origLen int, frame int64, ts time.Time, seg *Segment) error {
	// Every field but Tunnel is written here; Tunnel (80 octets) only
	// when a previous frame set it: most frames are not tunnelled, and
	// zeroing it on each would cost the plain path.
	// TestDecodeOverwritesSegment keeps this list complete.
	if seg.Tunnel.Type != NoTunnel {
		seg.Tunnel = Tunnel{}
	}
	seg.Frame, seg.Time = frame, ts
	seg.Src, seg.Dst = Endpoint{}, Endpoint{}
	seg.Seq, seg.Ack, seg.Flags, seg.Window, seg.Len = 0, 0, 0, 0, 0
	seg.WScale, seg.MSS, seg.TSVal, seg.TSEcr = NoOption, NoOption, 0, 0
	seg.HasTS, seg.SACKOK, seg.Truncated, seg.Checksum = false, false, false, ChecksumUnchecked
	seg.Options, seg.SACKBlocks, seg.TTL, seg.DF, seg.IPID = 0, 0, 0, false, 0
	// extra: octets the wire frame had beyond the captured ones (snaplen),
	// or -1 when origLen is unknown (<= 0).
	extra := -1
	if origLen > 0 {
		extra = max(origLen-len(data), 0)
	}
	var l layer
	var typ uint16
	b := data
	if link == linkPKTAP {
		var err error
		if link, b, err = pktap(b); err != nil {
			return err
		}
	}
	switch link {
	case linkEthernet:
		if len(b) < 14 {
			return ErrTruncated
		}
		l, typ, b = layerEtherType, be16(b[12:]), b[14:]
	case linkSLL:
		// struct sll_header: type, arphrd, addr len, addr[8], protocol.
		if len(b) < 16 {
			return ErrTruncated
		}
		l, typ, b = layerEtherType, be16(b[14:]), b[16:]
	case linkSLL2:
		// struct sll2_header: protocol first, then reserved, ifindex,
		// arphrd, packet type, addr len, addr[8]: 20 octets.
		if len(b) < 20 {
			return ErrTruncated
		}
		l, typ, b = layerEtherType, be16(b), b[20:]
	case linkRaw, linkRawDLT12, linkRawDLT14:
		l = layerIP
	case linkIPv4:
		l = layerIPv4
	case linkIPv6:
		l = layerIPv6
	case linkNull, linkLoop:
		if len(b) < 4 {
			return ErrTruncated
		}
		// NULL stores the AF in the capturing host's byte order, LOOP in
		// network order; accept both orders for both, as libpcap's
		// readers and Wireshark do (the values are small, so the order
		// is unambiguous).
		af := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		if af > 0xFFFF {
			af = uint32(b[3]) | uint32(b[2])<<8 | uint32(b[1])<<16 | uint32(b[0])<<24
		}
		switch af {
		case 2: // AF_INET everywhere
			l = layerIPv4
		case 10, 23, 24, 28, 30: // AF_INET6: Linux, Windows, NetBSD/OpenBSD, FreeBSD, Darwin
			l = layerIPv6
		default:
			return ErrUnsupportedLink
		}
		b = b[4:]
	default:
		var ok bool
		var err error
		if l, typ, b, ok, err = linkHeader(link, b); !ok {
			return ErrUnsupportedLink
		} else if err != nil {
			return err
		}
	}
	// The plain path, IPv4 or IPv6 carrying TCP straight over the link
	// (most frames), skips walk's loop: a tenth of Decode's time.
	if l == layerEtherType {
		switch typ {
		case etherIPv4:
			l = layerIPv4
		case etherIPv6:
			l = layerIPv6
		}
	}
	switch {
	case l == layerIPv4 && len(b) >= 20 && b[9] == ipTCP:
		_, _, _, err := d.ipv4(b, extra, seg)
		return err
	case l == layerIPv6 && len(b) >= 40 && b[6] == ipTCP:
		_, _, _, err := d.ipv6(b, extra, seg)
		return err
	}
	err := d.walk(l, typ, b, extra, seg)
	if err != nil && seg.Tunnel.Type != NoTunnel && err != ErrNotTCP {
		d.Undecapsulated[seg.Tunnel.Type]++
	}
	return err
}

// walk decodes from a header of kind l (typ: its EtherType, for
// layerEtherType) to the TCP segment, removing every encapsulation on the
// way. extra is the number of octets the wire held beyond b (snaplen), -1
// if unknown. It is a loop, not a recursion: each pass removes one header
// or names the one that follows; tunnels are bounded by push
// (maxTunnelDepth), tags by maxVLANTags, and the whole by len(b), which
// every removed header shortens.
func (d *Decoder) walk(l layer, typ uint16, b []byte, extra int, seg *Segment) (err error) {
	tags := 0
	var id uint32
	var proto uint8
loop:
	for {
		switch l {
		case layerEthernet:
			if len(b) < 14 {
				err = ErrTruncated
				break loop
			}
			l, typ, b = layerEtherType, be16(b[12:]), b[14:]
		case layerEtherType:
			switch typ {
			case etherIPv4:
				l = layerIPv4
			case etherIPv6:
				l = layerIPv6
			case etherVLAN, etherQinQ, etherQinQv1:
				// IEEE 802.1Q §9.3: TCI, then the inner EtherType.
				if tags++; tags > maxVLANTags {
					err = ErrMalformed
					break loop
				}
				if len(b) < 4 {
					err = ErrTruncated
					break loop
				}
				typ, b = be16(b[2:]), b[4:]
			case etherMPLS, etherMPLSMulti:
				l = layerMPLS
			case etherNSH:
				l = layerNSH
			case etherPPPoESession:
				if err = d.push(seg, TunnelPPPoE, false, 0, 0); err != nil {
					break loop
				}
				if b, id, typ, err = pppoe(b); err != nil {
					break loop
				}
				seg.Tunnel.ID, seg.Tunnel.HasID = id, true
				tags = 0
			case etherPBB:
				if err = d.push(seg, TunnelPBB, false, 0, 0); err != nil {
					break loop
				}
				if b, id, err = pbb(b); err != nil {
					break loop
				}
				seg.Tunnel.ID, seg.Tunnel.HasID = id, true
				l, tags = layerEthernet, 0
			default:
				err = ErrNotTCP
				break loop
			}
		case layerIP:
			if len(b) < 1 {
				err = ErrTruncated
				break loop
			}
			switch b[0] >> 4 {
			case 4:
				l = layerIPv4
			case 6:
				l = layerIPv6
			default:
				err = ErrNotTCP
				break loop
			}
		case layerIPv4, layerIPv6:
			var p []byte
			var x int
			if l == layerIPv4 {
				proto, p, x, err = d.ipv4(b, extra, seg)
			} else {
				proto, p, x, err = d.ipv6(b, extra, seg)
			}
			if proto == ipTCP {
				return err // the segment, decoded
			}
			if err != nil {
				break loop
			}
			b, extra = p, x
			if l, typ, p, x, err = d.ipPayload(proto, b, extra, seg); err != nil {
				break loop
			}
			b, extra, tags = p, x, 0
		case layerMPLS:
			if err = d.push(seg, TunnelMPLS, false, 0, 0); err != nil {
				break loop
			}
			if b, id, l, err = mpls(b, extra); err != nil {
				break loop
			}
			seg.Tunnel.ID, seg.Tunnel.HasID = id, true
			tags = 0
		case layerNSH:
			if tags++; tags > maxVLANTags {
				err = ErrMalformed
				break loop
			}
			if b, l, err = nsh(b); err != nil {
				break loop
			}
		}
	}
	// Inside a tunnel a header can end before its packet does with
	// nothing cut by the capture (extra 0): the tunnel or an inner
	// length contradicts the packet around it.
	if err == ErrTruncated && extra == 0 && seg.Tunnel.Type != NoTunnel {
		return ErrMalformed
	}
	return err
}

// push records the tunnel about to be removed as seg's innermost, its
// outer endpoints seg's current IP addresses with the given ports when
// ipOuter (IP-borne tunnels), none otherwise (link-layer ones). Beyond
// maxTunnelDepth it refuses with ErrMalformed, leaving t as the innermost
// type so that Decode counts it undecapsulated.
func (d *Decoder) push(seg *Segment, t TunnelType, ipOuter bool, sport, dport uint16) error {
	tn := &seg.Tunnel
	tn.Type, tn.ID, tn.HasID = t, 0, false
	if int(tn.Depth) >= maxTunnelDepth {
		return ErrMalformed
	}
	tn.Path[tn.Depth] = t
	tn.Depth++
	if ipOuter {
		tn.Outer = Key{Src: Endpoint{seg.Src.Addr, sport}, Dst: Endpoint{seg.Dst.Addr, dport}}
	} else {
		tn.Outer = Key{}
	}
	return nil
}

// retype changes the innermost tunnel's type once its header says more
// than the protocol that carried it (ERSPAN is recognised inside GRE).
func retype(seg *Segment, t TunnelType) {
	seg.Tunnel.Type = t
	seg.Tunnel.Path[seg.Tunnel.Depth-1] = t
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
func be24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }
func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// IP protocol numbers (IANA; RFC 8200 §4 for IPv6 extension headers).
const (
	ipv6HopByHop = 0
	ipIPv4       = 4 // IP in IP, RFC 2003
	ipTCP        = 6
	ipUDP        = 17
	ipIPv6       = 41 // IPv6 in IP, RFC 4213 §3.5
	ipv6Routing  = 43
	ipv6Fragment = 44
	ipGRE        = 47
	ipv6AH       = 51
	ipv6NoNext   = 59
	ipv6DestOpts = 60
	ipv6Mobility = 135
	ipMPLS       = 137 // MPLS in IP, RFC 4023 §3
)

// mayHoldTCP says whether an IP payload of protocol p can hold a TCP
// segment the decoder would reach (TCP itself or a tunnel protocol): what
// a fragment of it counts towards Decoder.Fragments.
func mayHoldTCP(p uint8) bool {
	switch p {
	case ipTCP, ipUDP, ipIPv4, ipIPv6, ipGRE, ipMPLS:
		return true
	}
	return false
}

// ipv4 parses an IPv4 header (RFC 791 §3.1) and returns the protocol and
// payload it carries: the captured octets of the payload and how many
// more the packet held (-1 if unknown). A TCP payload it decodes itself
// (the plain path: one call less): proto ipTCP and tcp's error.
func (d *Decoder) ipv4(b []byte, extra int, seg *Segment) (proto uint8, p []byte, pextra int, err error) {
	if len(b) < 20 {
		return 0, nil, 0, ErrTruncated
	}
	if b[0]>>4 != 4 {
		return 0, nil, 0, ErrMalformed
	}
	ihl := int(b[0]&0x0F) * 4
	if ihl < 20 {
		return 0, nil, 0, ErrMalformed
	}
	total := int(b[2])<<8 | int(b[3])
	known := true
	switch {
	case total == 0:
		// BIG TCP (Linux, IPv4 beyond 64 KiB) or a TSO/GSO super-frame
		// captured on the sending host: total length 0, the packet is
		// as long as the wire length says (or, when unknown, as what
		// was captured).
		total = len(b) + max(extra, 0)
		known = extra >= 0
	case extra >= 0 && total > len(b)+extra:
		// The header claims more than the wire frame held: a lie, not
		// snaplen. Wireshark (packet-ip.c, "IPv4 total length exceeds
		// packet length") falls back to the frame length; so do we.
		total = len(b) + extra
	}
	if total < ihl {
		return 0, nil, 0, ErrMalformed
	}
	if len(b) < ihl {
		return 0, nil, 0, ErrTruncated
	}
	proto = b[9]
	// Flags and fragment offset (§3.1): MF or a non-zero offset is a
	// fragment; the first one (offset 0, MF) would decode as a segment
	// of the wrong length.
	if (int(b[6])<<8|int(b[7]))&0x3FFF != 0 {
		if mayHoldTCP(proto) {
			d.Fragments++
		}
		return 0, nil, 0, ErrNotTCP
	}
	seg.Src.Addr = netip.AddrFrom4([4]byte(b[12:16]))
	seg.Dst.Addr = netip.AddrFrom4([4]byte(b[16:20]))
	// Ethernet pads short frames to 60 octets: the IP total length, not
	// the captured length, bounds the payload.
	end := min(total, len(b))
	if proto == ipTCP {
		seg.TTL, seg.DF, seg.IPID = b[8], b[6]&0x40 != 0, be16(b[4:])
		err := d.tcp(b[ihl:end], total-ihl, b[12:20], seg)
		if !known {
			seg.Checksum = ChecksumUnchecked // BIG TCP / GSO: no length to check
		} else if !ipv4HeaderOK(b[:ihl]) {
			seg.Checksum = ChecksumBadIP
		}
		return ipTCP, nil, 0, err
	}
	pextra = total - end
	if !known {
		pextra = -1
	}
	return proto, b[ihl:end], pextra, nil
}

// maxIPv6Ext bounds the extension header walk.
const maxIPv6Ext = 16

// ipv6 parses the fixed IPv6 header and skips extension headers (RFC 8200
// §4: hop-by-hop, routing, destination options, fragment; mobility, RFC
// 6275 §6.1.1; and AH, RFC 4302 §2.2, whose length counts 4-octet units
// minus 2), returning the upper-layer protocol and payload, or decoding
// TCP, as ipv4 does.
func (d *Decoder) ipv6(b []byte, extra int, seg *Segment) (proto uint8, p []byte, pextra int, err error) {
	if len(b) < 40 {
		return 0, nil, 0, ErrTruncated
	}
	if b[0]>>4 != 6 {
		return 0, nil, 0, ErrMalformed
	}
	plen := int(b[4])<<8 | int(b[5])
	next := b[6]
	p = b[40:]
	known := true
	switch wire := len(p) + max(extra, 0); {
	case plen == 0:
		// A jumbogram (RFC 2675 §2) says its length in a hop-by-hop
		// option; BIG TCP as captured on Linux (the kernel strips
		// that option before the tap) and GSO super-frames say none:
		// the frame length counts.
		plen, known = wire, extra >= 0
		if next == ipv6HopByHop {
			if j, ok := jumboLength(p); ok && (extra < 0 || j <= wire) {
				plen, known = j, true
			}
		}
	case extra >= 0 && plen > wire:
		// Longer than the wire frame: clamp, as for IPv4.
		plen = wire
	}
	seg.Src.Addr = netip.AddrFrom16([16]byte(b[8:24]))
	seg.Dst.Addr = netip.AddrFrom16([16]byte(b[24:40]))
	if len(p) > plen {
		p = p[:plen]
	}
	rest := plen // declared octets from p[0] on
	for i := 0; ; i++ {
		var n int
		switch next {
		case ipv6HopByHop, ipv6Routing, ipv6DestOpts, ipv6Mobility:
			if len(p) < 2 {
				return 0, nil, 0, ErrTruncated
			}
			n = (int(p[1]) + 1) * 8
		case ipv6Fragment:
			// RFC 8200 §4.5: offset (13 bits), M in the low bit. The
			// first fragment (offset 0, M set) is skipped as the
			// others; an atomic fragment (both 0) is a whole packet.
			if len(p) < 8 {
				return 0, nil, 0, ErrTruncated
			}
			if be16(p[2:])&0xFFF9 != 0 {
				if mayHoldTCP(p[0]) || isIPv6Ext(p[0]) {
					d.Fragments++
				}
				return 0, nil, 0, ErrNotTCP
			}
			n = 8
		case ipv6AH:
			if len(p) < 2 {
				return 0, nil, 0, ErrTruncated
			}
			n = (int(p[1]) + 2) * 4
		case ipTCP:
			seg.TTL, seg.DF, seg.IPID = b[7], false, 0
			return ipTCP, nil, 0, d.tcp(p, rest, b[8:40], seg)
		default: // a tunnel, no next header, ESP, ICMPv6, ...
			pextra = rest - len(p)
			if !known {
				pextra = -1
			}
			return next, p, pextra, nil
		}
		if i >= maxIPv6Ext {
			return 0, nil, 0, ErrMalformed
		}
		if n > rest {
			return 0, nil, 0, ErrMalformed
		}
		if n > len(p) {
			return 0, nil, 0, ErrTruncated
		}
		next = p[0]
		p = p[n:]
		rest -= n
	}
}

func isIPv6Ext(p uint8) bool {
	switch p {
	case ipv6HopByHop, ipv6Routing, ipv6Fragment, ipv6AH, ipv6DestOpts, ipv6Mobility:
		return true
	}
	return false
}

// jumboLength returns the Jumbo Payload option's length (RFC 2675 §2:
// option type 0xC2, 4 octets) from the hop-by-hop header at the start of
// h, if it has one.
func jumboLength(h []byte) (int, bool) {
	if len(h) < 2 {
		return 0, false
	}
	o := h[2:min(len(h), (int(h[1])+1)*8)]
	for len(o) > 0 {
		if o[0] == 0 { // Pad1 (RFC 8200 §4.2)
			o = o[1:]
			continue
		}
		if len(o) < 2 || len(o) < 2+int(o[1]) {
			return 0, false
		}
		if o[0] == 0xC2 && o[1] == 4 {
			return int(be32(o[2:])), true
		}
		o = o[2+int(o[1]):]
	}
	return 0, false
}

// ipPayload removes the tunnel an IP payload of protocol proto is (UDP to
// a tunnel port, GRE, IP in IP, MPLS in IP) and says what follows it. p
// holds the captured payload, extra what the packet held beyond it.
func (d *Decoder) ipPayload(proto uint8, p []byte, extra int, seg *Segment) (layer, uint16, []byte, int, error) {
	switch proto {
	case ipUDP:
		return d.udp(p, extra, seg)
	case ipIPv4, ipIPv6:
		if err := d.push(seg, TunnelIPinIP, true, 0, 0); err != nil {
			return 0, 0, nil, 0, err
		}
		if proto == ipIPv4 {
			return layerIPv4, 0, p, extra, nil
		}
		return layerIPv6, 0, p, extra, nil
	case ipGRE:
		if err := d.push(seg, TunnelGRE, true, 0, 0); err != nil {
			return 0, 0, nil, 0, err
		}
		l, typ, rest, err := gre(p, seg)
		return l, typ, rest, extra, err
	case ipMPLS:
		return layerMPLS, 0, p, extra, nil
	}
	return 0, 0, nil, 0, ErrNotTCP
}

// UDP ports of the tunnels the decoder removes (IANA; Wireshark registers
// the same: packet-vxlan.c, packet-geneve.c, packet-teredo.c,
// packet-ayiya.c, packet-gtp.c, packet-mpls.c).
const (
	portVXLAN      = 4789 // RFC 7348 §5
	portVXLANLinux = 8472 // Linux's VXLAN default before 4789 was assigned (Wireshark: OTV, the same header)
	portVXLANGPE   = 4790
	portGeneve     = 6081 // RFC 8926 §3.3
	portTeredo     = 3544 // RFC 4380 §4
	portAYIYA      = 5072
	portGTPU       = 2152 // 3GPP TS 29.281 §4.4.2.3
	portMPLSUDP    = 6635 // RFC 7510 §3
)

// udpTunnel returns the tunnel a UDP port is for, NoTunnel if none.
func (d *Decoder) udpTunnel(port uint16) TunnelType {
	switch port {
	case portVXLAN, portVXLANLinux:
		return TunnelVXLAN
	case portVXLANGPE:
		return TunnelVXLANGPE
	case portGeneve:
		return TunnelGeneve
	case portTeredo:
		return TunnelTeredo
	case portAYIYA:
		return TunnelAYIYA
	case portGTPU:
		return TunnelGTPU
	case portMPLSUDP:
		return TunnelMPLS
	}
	for _, p := range d.VXLANPorts {
		if p == port {
			return TunnelVXLAN
		}
	}
	for _, p := range d.GenevePorts {
		if p == port {
			return TunnelGeneve
		}
	}
	return NoTunnel
}

// udp parses a UDP header (RFC 768) and removes the tunnel its ports name,
// trying the lower port first as Wireshark does (packet-udp.c,
// decode_udp_ports). A datagram to no tunnel port is not TCP.
func (d *Decoder) udp(b []byte, extra int, seg *Segment) (layer, uint16, []byte, int, error) {
	if len(b) < 8 {
		if len(b)+max(extra, 0) < 8 {
			return 0, 0, nil, 0, ErrMalformed
		}
		return 0, 0, nil, 0, ErrTruncated
	}
	sport, dport := be16(b), be16(b[2:])
	lo, hi := min(sport, dport), max(sport, dport)
	t := d.udpTunnel(lo)
	if t == NoTunnel {
		if t = d.udpTunnel(hi); t == NoTunnel {
			return 0, 0, nil, 0, ErrNotTCP
		}
	}
	// The UDP length bounds the payload, unless 0 (a jumbogram's, RFC
	// 2675 §4, or a BIG TCP/GSO super-frame's: the IP length counts) or
	// longer than the packet (a lie, as IP lengths beyond the frame).
	if n := int(be16(b[4:])); n != 0 && (extra < 0 || n < len(b)+extra) {
		if n < 8 {
			return 0, 0, nil, 0, ErrMalformed
		}
		if n < len(b) {
			b = b[:n]
		}
		extra = n - len(b)
	}
	b = b[8:]
	if t == TunnelMPLS {
		// MPLS over UDP: walk pushes the label stack; like every MPLS
		// tunnel it has no outer endpoints.
		return layerMPLS, 0, b, extra, nil
	}
	if err := d.push(seg, t, true, sport, dport); err != nil {
		return 0, 0, nil, 0, err
	}
	switch t {
	case TunnelVXLAN:
		rest, vni, ok, err := vxlan(b)
		seg.Tunnel.ID, seg.Tunnel.HasID = vni, ok
		return layerEthernet, 0, rest, extra, err
	case TunnelVXLANGPE:
		rest, vni, ok, l, err := vxlanGPE(b)
		seg.Tunnel.ID, seg.Tunnel.HasID = vni, ok
		return l, 0, rest, extra, err
	case TunnelGeneve:
		rest, vni, typ, err := geneve(b)
		seg.Tunnel.ID, seg.Tunnel.HasID = vni, true
		if typ == etherTEB {
			return layerEthernet, 0, rest, extra, err
		}
		return layerEtherType, typ, rest, extra, err
	case TunnelTeredo:
		rest, err := teredo(b)
		return layerIPv6, 0, rest, extra, err
	case TunnelAYIYA:
		rest, l, err := ayiya(b)
		return l, 0, rest, extra, err
	default: // TunnelGTPU
		rest, teid, err := gtpu(b)
		seg.Tunnel.ID, seg.Tunnel.HasID = teid, true
		return layerIP, 0, rest, extra, err
	}
}

// tcp parses the TCP header (RFC 9293 §3.1). b holds the captured octets
// of the segment, declared its length according to the IP header, addrs
// the source and destination addresses as the IP header holds them (for
// the pseudo-header: see pseudoSumRaw).
func (d *Decoder) tcp(b []byte, declared int, addrs []byte, seg *Segment) error {
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
	seg.Truncated = len(b) < declared
	seg.Checksum = ChecksumUnchecked
	if !seg.Truncated && len(b) == declared {
		seg.Checksum = ChecksumBadTCP
		ps := pseudoSumRaw(addrs, len(b))
		if tcpSumOK(ps, b) {
			seg.Checksum = ChecksumGood
		} else if tcpSumPartial(ps, b) {
			seg.Checksum = ChecksumPartial
		}
	}
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
	optSACK      = 5
	optTimestamp = 8
)

// maxWScale is the largest shift RFC 7323 §2.3 allows; larger values are
// used as 14 (Linux tcp_parse_options does the same, TCP_MAX_WSCALE).
const maxWScale = 14

// parseOptions reads the options this package needs. A malformed option
// (length < 2 or past the header) ends parsing, as in Linux
// tcp_parse_options; options already read are kept.
func parseOptions(o []byte, seg *Segment) {
	// Most segments of an established connection carry NOP, NOP,
	// timestamps (RFC 7323 Appendix A's layout): read it in one step.
	// The loop below gives the same result, more slowly.
	if len(o) == 12 && be32(o) == optNOP<<24|optNOP<<16|optTimestamp<<8|10 {
		seg.Options |= OptionBit(optTimestamp)
		seg.TSVal, seg.TSEcr, seg.HasTS = be32(o[4:]), be32(o[8:]), true
		return
	}
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
		seg.Options |= OptionBit(kind)
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
		case kind == optSACK && n >= 10 && (n-2)%8 == 0:
			seg.SACKBlocks = uint8((n - 2) / 8)
			for i := 0; i < 2 && i < int(seg.SACKBlocks); i++ {
				b := o[2+8*i:]
				seg.SACK[i] = SACKBlock{Left: Seq(be32(b)), Right: Seq(be32(b[4:]))}
			}
		}
		o = o[n:]
	}
}
