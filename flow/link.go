package flow

import "github.com/gopacket/gopacket/layers"

// Link types decoded in link.go (LINKTYPE_/DLT_ numbers from
// https://www.tcpdump.org/linktypes.html).
const (
	linkSLIP      = layers.LinkType(8)   // LINKTYPE_SLIP: 16-octet BSD SLIP header, then IP
	linkPPP       = layers.LinkType(9)   // LINKTYPE_PPP: PPP, HDLC address/control optional
	linkPPPHDLC   = layers.LinkType(50)  // LINKTYPE_PPP_HDLC: PPP in HDLC-like framing (RFC 1662)
	linkPPPEther  = layers.LinkType(51)  // LINKTYPE_PPP_ETHER: PPPoE session header, no Ethernet
	linkCHDLC     = layers.LinkType(104) // LINKTYPE_C_HDLC: Cisco HDLC
	link80211     = layers.LinkType(105) // LINKTYPE_IEEE802_11
	linkPrism     = layers.LinkType(119) // LINKTYPE_IEEE802_11_PRISM
	linkRadiotap  = layers.LinkType(127) // LINKTYPE_IEEE802_11_RADIOTAP
	linkAVS       = layers.LinkType(163) // LINKTYPE_IEEE802_11_AVS
	linkPPPPPPD   = layers.LinkType(166) // LINKTYPE_PPP_PPPD: direction octet instead of 0xFF
	linkCHDLCDir  = layers.LinkType(112) // DLT_CHDLC on some BSDs, same as 104
	linkNFLOG     = layers.LinkType(239) // LINKTYPE_NFLOG: Linux netfilter NFLOG (tcpdump -i nflog)
	linkIPoIB     = layers.LinkType(242) // LINKTYPE_IPOIB: IP over InfiniBand (RFC 4391)
	linkPKTAP     = layers.LinkType(258) // LINKTYPE_PKTAP: Apple's per-packet metadata, then the frame
	ciscoUnicast  = 0x0F                 // Cisco HDLC address octets
	ciscoMulticst = 0x8F
)

// linkHeader removes the link header of the link types decoded here and
// says what follows; ok is false for link types it does not know.
func linkHeader(link layers.LinkType, b []byte) (l layer, typ uint16, rest []byte, ok bool, err error) {
	switch link {
	case linkPPP, linkPPPHDLC:
		// tcpdump's ppp_hdlc_if_print: Cisco HDLC frames show up on
		// serial links captured as PPP.
		if len(b) >= 1 && (b[0] == ciscoUnicast || b[0] == ciscoMulticst) {
			typ, rest, err = chdlc(b)
			return layerEtherType, typ, rest, true, err
		}
		typ, rest, err = ppp(b, true)
		return layerEtherType, typ, rest, true, err
	case linkPPPPPPD:
		// The address octet is a direction (0 in, 1 out).
		if len(b) >= 2 && b[0] <= 1 && b[1] == 0x03 {
			b = b[2:]
		}
		typ, rest, err = ppp(b, true)
		return layerEtherType, typ, rest, true, err
	case linkPPPEther:
		return layerEtherType, etherPPPoESession, b, true, nil
	case linkCHDLC, linkCHDLCDir:
		typ, rest, err = chdlc(b)
		return layerEtherType, typ, rest, true, err
	case linkSLIP:
		if len(b) < 16 {
			return 0, 0, nil, true, ErrTruncated
		}
		return layerIP, 0, b[16:], true, nil
	case link80211:
		typ, rest, err = dot11(b, false)
		return layerEtherType, typ, rest, true, err
	case linkRadiotap:
		typ, rest, err = radiotap(b)
		return layerEtherType, typ, rest, true, err
	case linkPrism, linkAVS:
		typ, rest, err = prismAVS(b)
		return layerEtherType, typ, rest, true, err
	case linkNFLOG:
		rest, err = nflog(b)
		return layerIP, 0, rest, true, err
	case linkIPoIB:
		// Linux's IPoIB pseudo-header as libpcap writes it: a 20-octet
		// source and a 20-octet destination hardware address (QPN, GID),
		// then RFC 4391 §6's 4-octet header: EtherType, reserved.
		if len(b) < 44 {
			return 0, 0, nil, true, ErrTruncated
		}
		return layerEtherType, be16(b[40:]), b[44:], true, nil
	}
	return 0, 0, nil, false, nil
}

// nflog returns the packet inside a Linux NFLOG record (libpcap's
// pcap/nflog.h): a 4-octet header (family, version, resource id), then
// TLVs of {length, type} in the capturing host's byte order, each padded
// to 4 octets, the length counting the TLV header; NFULA_PAYLOAD (9)
// holds the packet from its IP header on. libpcap writes files in the
// capturing host's order, almost always little-endian; a length that
// does not fit is read big-endian, as the values are small.
func nflog(b []byte) ([]byte, error) {
	const nfulaPayload = 9
	if len(b) < 4 {
		return nil, ErrTruncated
	}
	if b[0] != 2 && b[0] != 10 { // AF_INET, AF_INET6
		return nil, ErrNotTCP
	}
	for p := 4; p+4 <= len(b); {
		// NFULA_* types are below 256: the octet that is zero says the
		// order, and a snaplen cut cannot mislead it as a length would.
		n, typ := int(b[p])|int(b[p+1])<<8, int(b[p+2])
		if b[p+3] != 0 || b[p+2] == 0 {
			n, typ = int(be16(b[p:])), int(b[p+3])
		}
		if n < 4 {
			return nil, ErrMalformed
		}
		if typ == nfulaPayload {
			return b[p+4 : min(p+n, len(b))], nil
		}
		p += (n + 3) &^ 3
	}
	return nil, ErrNotTCP
}

// pktap removes Apple's PKTAP header (struct pktap_header, in the
// capturing host's byte order: pth_length, the header's own length, then
// pth_type_next, the link type of the frame that follows) and says that
// link type.
func pktap(b []byte) (layers.LinkType, []byte, error) {
	if len(b) < 8 {
		return 0, nil, ErrTruncated
	}
	le := func(x []byte) uint32 { return uint32(x[0]) | uint32(x[1])<<8 | uint32(x[2])<<16 | uint32(x[3])<<24 }
	n, next := le(b), le(b[4:])
	if n > 0xFFFF {
		n, next = be32(b), be32(b[4:])
	}
	if n < 8 || int(n) > len(b) {
		return 0, nil, ErrMalformed
	}
	if next == uint32(linkPKTAP) {
		return 0, nil, ErrMalformed // no nesting
	}
	return layers.LinkType(next), b[n:], nil
}

// chdlc parses a Cisco HDLC header: address (0x0F unicast, 0x8F
// broadcast), control 0, then an EtherType.
func chdlc(b []byte) (typ uint16, rest []byte, err error) {
	if len(b) < 4 {
		return 0, nil, ErrTruncated
	}
	return be16(b[2:]), b[4:], nil
}

// radiotap skips a radiotap header (radiotap.org: version 0, pad, length
// little-endian, present bitmaps) and decodes the 802.11 frame after it.
// The Flags field (present bit 1) says whether the frame has padding
// between its header and body (0x20).
func radiotap(b []byte) (typ uint16, rest []byte, err error) {
	if len(b) < 8 {
		return 0, nil, ErrTruncated
	}
	if b[0] != 0 {
		return 0, nil, ErrMalformed
	}
	n := int(b[2]) | int(b[3])<<8
	if n < 8 {
		return 0, nil, ErrMalformed
	}
	if len(b) < n {
		return 0, nil, ErrTruncated
	}
	h := b[:n]
	// Present words chain while bit 31 is set; the fields follow them.
	present := le32(h[4:])
	off := 8
	for w := present; w&(1<<31) != 0; {
		if off+4 > n {
			return 0, nil, ErrMalformed
		}
		w = le32(h[off:])
		off += 4
	}
	pad := false
	if present&1 != 0 { // TSFT, 8 octets aligned on 8
		off = (off+7)&^7 + 8
	}
	if present&2 != 0 && off < n {
		pad = h[off]&0x20 != 0
	}
	return dot11(b[n:], pad)
}

// prismAVS skips a Prism or AVS header before an 802.11 frame. AVS (and
// Prism captures that are really AVS, as Wireshark checks) starts with
// the magic 0x80211001 and gives its length big-endian at offset 4; Prism
// gives its message length at offset 4 in the capturing host's order.
func prismAVS(b []byte) (typ uint16, rest []byte, err error) {
	if len(b) < 8 {
		return 0, nil, ErrTruncated
	}
	var n int
	if be32(b) == 0x80211001 {
		n = int(be32(b[4:]))
	} else {
		n = int(le32(b[4:]))
		if n > 0xFFFF {
			n = int(be32(b[4:]))
		}
	}
	if n < 8 || n > 0xFFFF {
		return 0, nil, ErrMalformed
	}
	if len(b) < n {
		return 0, nil, ErrTruncated
	}
	return dot11(b[n:], false)
}

// dot11 parses an IEEE 802.11 data frame (802.11-2020 §9.2.4, §9.3.2.1)
// and the LLC/SNAP header of its body (RFC 1042, 802.1H), returning the
// EtherType. Management, control and null frames are ErrNotData80211;
// protected frames (encrypted) and A-MSDUs are ErrNotTCP. pad: a radiotap "data pad" frame,
// its header padded to a multiple of 4 octets.
func dot11(b []byte, pad bool) (typ uint16, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, ErrTruncated
	}
	fc0, fc1 := b[0], b[1]
	if fc0&0x03 != 0 { // version 0
		return 0, nil, ErrMalformed
	}
	sub := fc0 >> 4
	if (fc0>>2)&0x03 != 2 || sub&0x04 != 0 { // not data, or no data (null, CF-only)
		return 0, nil, ErrNotData80211
	}
	if fc1&0x40 != 0 { // protected: encrypted, not read
		return 0, nil, ErrNotTCP
	}
	n := 24
	if fc1&0x03 == 0x03 { // ToDS and FromDS: a fourth address
		n += 6
	}
	if sub&0x08 != 0 { // QoS data: QoS control, HT control if Order
		n += 2
		if fc1&0x80 != 0 {
			n += 4
		}
	}
	if len(b) < n+2 {
		return 0, nil, ErrTruncated
	}
	if sub&0x08 != 0 && b[n-2-boolInt(fc1&0x80 != 0)*4]&0x80 != 0 {
		// A-MSDU: subframes, each with its own header; not followed.
		return 0, nil, ErrNotTCP
	}
	if pad {
		n = (n + 3) &^ 3
	}
	b = b[n:]
	// LLC/SNAP: DSAP, SSAP 0xAA, UI 0x03, OUI 0 (RFC 1042) or
	// 00-00-F8 (802.1H bridge tunnel), EtherType.
	if len(b) < 8 {
		return 0, nil, ErrTruncated
	}
	if b[0] != 0xAA || b[1] != 0xAA || b[2] != 0x03 || b[3] != 0 || b[4] != 0 || (b[5] != 0 && b[5] != 0xF8) {
		return 0, nil, ErrNotTCP
	}
	return be16(b[6:]), b[8:], nil
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
