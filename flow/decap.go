package flow

// One small function per encapsulation: each parses its header from the
// start of b and returns what follows it (and the identifier the header
// carries), or ErrTruncated when b ends inside the header, ErrMalformed
// when the header contradicts itself, ErrNotTCP when it is well formed but
// carries nothing that can hold a TCP segment. None of them allocates or
// recurses: walk (decode.go) calls them in a loop and keeps the depth.
// Which encapsulation a header is, and what the loop does when one
// carries another, follow Wireshark's dissectors (packet-vxlan.c,
// packet-geneve.c, packet-gre.c, packet-erspan.c, packet-mpls.c,
// packet-pw-eth.c, packet-teredo.c, packet-ayiya.c, packet-gtp.c,
// packet-pppoe.c), the reference finwave's stream ids are checked against.

// vxlan parses a VXLAN header (RFC 7348 §5): flags (I, 0x08: the VNI is
// valid), 24 reserved bits, the 24-bit VNI, 8 reserved bits. An Ethernet
// frame follows. Wireshark decodes the frame whatever the flags say; so
// does vxlan, returning the VNI only when I is set.
func vxlan(b []byte) (rest []byte, vni uint32, hasVNI bool, err error) {
	if len(b) < 8 {
		return nil, 0, false, ErrTruncated
	}
	if b[0]&0x08 == 0 {
		return b[8:], 0, false, nil
	}
	return b[8:], be24(b[4:]), true, nil
}

// vxlanGPE parses a VXLAN-GPE header (draft-ietf-nvo3-vxlan-gpe-12 §3.1):
// flags (version, I, P, B, O), 16 reserved bits, the next protocol, the
// 24-bit VNI, 8 reserved bits. The next protocol says what follows
// (gpeNext); Wireshark reads it whatever the P flag says, and so do we.
func vxlanGPE(b []byte) (rest []byte, vni uint32, hasVNI bool, next layer, err error) {
	if len(b) < 8 {
		return nil, 0, false, 0, ErrTruncated
	}
	next, ok := gpeNext(b[3])
	if !ok {
		return nil, 0, false, 0, ErrNotTCP
	}
	if b[0]&0x08 == 0 {
		return b[8:], 0, false, next, nil
	}
	return b[8:], be24(b[4:]), true, next, nil
}

// gpeNext maps a VXLAN-GPE or NSH next protocol (the same IANA registry:
// draft-ietf-nvo3-vxlan-gpe-12 §3.2, RFC 8300 §11.2.5) to the header that
// follows.
func gpeNext(p uint8) (layer, bool) {
	switch p {
	case 1:
		return layerIPv4, true
	case 2:
		return layerIPv6, true
	case 3:
		return layerEthernet, true
	case 4:
		return layerNSH, true
	case 5:
		return layerMPLS, true
	}
	return 0, false
}

// nsh skips a network service header (RFC 8300 §2.2): version, O, U, TTL
// and the 6-bit length of the whole header in 4-octet words, MD type and
// next protocol; then the service path header and any metadata, all
// within that length. It is not a tunnel of its own: it rides in one
// (VXLAN-GPE, or EtherType 0x894F) and walk skips it as a tag.
func nsh(b []byte) (rest []byte, next layer, err error) {
	if len(b) < 8 {
		return nil, 0, ErrTruncated
	}
	n := int(be16(b)&0x3F) * 4
	if n < 8 {
		return nil, 0, ErrMalformed
	}
	if len(b) < n {
		return nil, 0, ErrTruncated
	}
	next, ok := gpeNext(b[3])
	if !ok {
		return nil, 0, ErrNotTCP
	}
	return b[n:], next, nil
}

// geneve parses a Geneve header (RFC 8926 §3.4): version and the 6-bit
// options length in 4-octet words, O and C flags, the protocol type (an
// EtherType; 0x6558 for Ethernet), the 24-bit VNI, 8 reserved bits, then
// the options, skipped whole. Wireshark decodes whatever the version says;
// so do we.
func geneve(b []byte) (rest []byte, vni uint32, typ uint16, err error) {
	if len(b) < 8 {
		return nil, 0, 0, ErrTruncated
	}
	n := 8 + int(b[0]&0x3F)*4
	if len(b) < n {
		return nil, 0, 0, ErrTruncated
	}
	return b[n:], be24(b[4:]), be16(b[2:]), nil
}

// GRE flags and version (RFC 2784 §2.1, RFC 2890 §2, RFC 1701 §2.1, RFC
// 2637 §4.1).
const (
	greChecksum = 0x8000 // C: checksum and reserved1 (RFC 1701: offset) present
	greRouting  = 0x4000 // R (RFC 1701): checksum/offset and source route entries present
	greKey      = 0x2000 // K: key present
	greSeq      = 0x1000 // S: sequence number present
	greAck      = 0x0080 // A (PPTP, version 1): acknowledgment number present
	greVersion  = 0x0007
)

// greHeader parses a GRE header: flags and version, protocol type, then
// the optional fields in RFC 1701's order: checksum and offset (C or R),
// key (K), sequence number (S), PPTP's acknowledgment number (A, version
// 1 carrying PPP only, as Wireshark decides), source route entries (R,
// up to the null entry: address family 0, length 0). For PPTP the key
// holds a payload length and a call ID, which differs per direction: it
// is returned as no key.
func greHeader(b []byte) (rest []byte, flags, proto uint16, key uint32, hasKey bool, err error) {
	if len(b) < 4 {
		return nil, 0, 0, 0, false, ErrTruncated
	}
	flags, proto = be16(b), be16(b[2:])
	pptp := proto == etherPPP && flags&greVersion != 0
	n := 4
	if flags&(greChecksum|greRouting) != 0 {
		n += 4
	}
	if flags&greKey != 0 {
		if len(b) < n+4 {
			return nil, 0, 0, 0, false, ErrTruncated
		}
		if !pptp {
			key, hasKey = be32(b[n:]), true
		}
		n += 4
	}
	if flags&greSeq != 0 {
		n += 4
	}
	if pptp && flags&greAck != 0 {
		n += 4
	}
	if flags&greRouting != 0 {
		// Each entry is at least 4 octets: the walk ends with b.
		for {
			if len(b) < n+4 {
				return nil, 0, 0, 0, false, ErrTruncated
			}
			af, l := be16(b[n:]), int(b[n+3])
			n += 4 + l
			if af == 0 && l == 0 {
				break
			}
		}
	}
	if len(b) < n {
		return nil, 0, 0, 0, false, ErrTruncated
	}
	return b[n:], flags, proto, key, hasKey, nil
}

// gre removes a GRE header (the tunnel already pushed as TunnelGRE) and
// says what its protocol type carries: an Ethernet frame (0x6558,
// transparent Ethernet bridging: gretap, NVGRE), an ERSPAN mirror (the
// tunnel becomes TunnelERSPAN), a WCCP redirect, PPP (PPTP) or, like any
// other EtherType, IP, MPLS, tags. The GRE key, when present, is the
// tunnel's ID.
func gre(b []byte, seg *Segment) (next layer, typ uint16, rest []byte, err error) {
	rest, flags, proto, key, hasKey, err := greHeader(b)
	if err != nil {
		return 0, 0, nil, err
	}
	seg.Tunnel.ID, seg.Tunnel.HasID = key, hasKey
	switch proto {
	case etherTEB:
		return layerEthernet, 0, rest, nil
	case etherERSPAN, etherERSPAN3:
		retype(seg, TunnelERSPAN)
		rest, id, ok, err := erspan(rest, flags)
		seg.Tunnel.ID, seg.Tunnel.HasID = id, ok
		return layerEthernet, 0, rest, err
	case etherWCCP:
		// packet-gre.c: WCCP version 2 adds a 4-octet redirect header,
		// told from version 1 (none) by what follows not starting as
		// IPv4 does. The redirected IPv4 packet follows.
		if len(rest) > 0 && rest[0]>>4 != 4 {
			if len(rest) < 4 {
				return 0, 0, nil, ErrTruncated
			}
			rest = rest[4:]
		}
		return layerIPv4, 0, rest, nil
	case etherPPP:
		typ, rest, err := ppp(rest, true)
		return layerEtherType, typ, rest, err
	}
	return layerEtherType, proto, rest, nil
}

// erspan parses the ERSPAN header inside GRE (draft-foschiano-erspan-03;
// Wireshark's packet-erspan.c): type I has none, and is told by a GRE
// header whose flags and version are all zero (no sequence number); else
// the version nibble says type II (1: 8 octets) or III (2: 12 octets, and
// an 8-octet platform-specific subheader when the O bit, the last of the
// 12, is set). Both carry a 10-bit session ID. The mirrored Ethernet
// frame follows. Another version is malformed: its length is unknown.
func erspan(b []byte, greFlags uint16) (rest []byte, session uint32, hasSession bool, err error) {
	if greFlags == 0 {
		return b, 0, false, nil
	}
	if len(b) < 4 {
		return nil, 0, false, ErrTruncated
	}
	n := 0
	switch b[0] >> 4 {
	case 1:
		n = 8
	case 2:
		n = 12
		if len(b) >= 12 && b[11]&0x01 != 0 {
			n += 8
		}
	default:
		return nil, 0, false, ErrMalformed
	}
	if len(b) < n {
		return nil, 0, false, ErrTruncated
	}
	return b[n:], uint32(be16(b[2:]) & 0x3FF), true, nil
}

// ppp reads a PPP protocol field (RFC 1661 §2; compressed to one octet
// when odd, §6.5), after the HDLC-like address and control octets 0xFF
// 0x03 when hdlc and present (RFC 1662 §3.1: PPTP's GRE payload), and
// maps the protocols that can hold TCP to their EtherTypes.
func ppp(b []byte, hdlc bool) (typ uint16, rest []byte, err error) {
	if hdlc && len(b) >= 1 && b[0] == 0xFF {
		if len(b) < 2 {
			return 0, nil, ErrTruncated
		}
		if b[1] == 0x03 {
			b = b[2:]
		}
	}
	if len(b) < 1 {
		return 0, nil, ErrTruncated
	}
	var proto uint16
	if b[0]&1 != 0 {
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			return 0, nil, ErrTruncated
		}
		proto, b = be16(b), b[2:]
	}
	switch proto {
	case 0x0021: // IPv4
		return etherIPv4, b, nil
	case 0x0057: // IPv6
		return etherIPv6, b, nil
	case 0x0281: // MPLS unicast (RFC 3032 §4.3)
		return etherMPLS, b, nil
	case 0x0283: // MPLS multicast
		return etherMPLSMulti, b, nil
	}
	return 0, nil, ErrNotTCP
}

// pppoe parses a PPPoE session header (RFC 2516 §4: version 1 and type 1
// in one octet, code 0, the session ID, the length of the payload) and
// the PPP protocol after it, bounding the payload by that length.
func pppoe(b []byte) (rest []byte, session uint32, typ uint16, err error) {
	if len(b) < 6 {
		return nil, 0, 0, ErrTruncated
	}
	if b[0] != 0x11 || b[1] != 0 {
		return nil, 0, 0, ErrNotTCP
	}
	session = uint32(be16(b[2:]))
	n := int(be16(b[4:]))
	b = b[6:]
	if n < len(b) {
		b = b[:n]
	}
	typ, rest, err = ppp(b, false)
	return rest, session, typ, err
}

// pbb parses an IEEE 802.1ah I-TAG (802.1Q-2018 §9.7.1: I-PCP, I-DEI,
// UCA, 3 reserved bits, the 24-bit I-SID); the customer's Ethernet frame
// (C-DA, C-SA, EtherType) follows. The backbone's B-TAG before it is an
// ordinary 802.1ad tag.
func pbb(b []byte) (rest []byte, isid uint32, err error) {
	if len(b) < 4 {
		return nil, 0, ErrTruncated
	}
	return b[4:], be24(b[1:]), nil
}

// maxMPLSLabels bounds a label stack. Real stacks hold a few labels.
const maxMPLSLabels = 16

// mplsLabelGAL is the generic associated channel label (RFC 5586 §4): the
// G-ACh, not a packet, follows it.
const mplsLabelGAL = 13

// mpls walks an MPLS label stack (RFC 3032 §2.1: label 20 bits, traffic
// class 3, bottom of stack 1, TTL 8) and, as MPLS says nothing of what
// follows, guesses it from the first nibble as Wireshark's packet-mpls.c
// does (BCP 128, RFC 4928 §2; RFC 4385 §3): 4 is IPv4 and 6 IPv6 when the
// IP length fits what the frame holds (within 4 octets of padding), else
// an Ethernet pseudowire without control word whose destination MAC
// starts with that nibble; 0 is an Ethernet pseudowire with the control
// word (RFC 4448 §4.6) unless the octets look like an Ethernet header
// already (Wireshark asks its OUI table, we the EtherTypes: see
// looksLikeEthernet); 1 is a PW associated channel, anything else data.
// It returns the bottom label.
func mpls(b []byte, extra int) (rest []byte, label uint32, next layer, err error) {
	for i := 0; ; i++ {
		if i >= maxMPLSLabels {
			return nil, 0, 0, ErrMalformed
		}
		if len(b) < 4 {
			return nil, 0, 0, ErrTruncated
		}
		e := be32(b)
		b = b[4:]
		label = e >> 12
		if e&0x100 != 0 {
			break
		}
	}
	if label == mplsLabelGAL {
		return nil, 0, 0, ErrNotTCP
	}
	if len(b) == 0 {
		if extra > 0 {
			return nil, 0, 0, ErrTruncated
		}
		return nil, 0, 0, ErrNotTCP
	}
	reported := len(b) + max(extra, 0)
	switch b[0] >> 4 {
	case 4:
		if len(b) >= 4 {
			if n := int(be16(b[2:])); n >= reported-4 && n <= reported {
				return b, label, layerIPv4, nil
			}
		}
		return b, label, layerEthernet, nil
	case 6:
		if len(b) >= 6 {
			if n := 40 + int(be16(b[4:])); n >= reported-4 && n <= reported {
				return b, label, layerIPv6, nil
			}
		}
		return b, label, layerEthernet, nil
	case 0:
		if looksLikeEthernet(b) {
			return b, label, layerEthernet, nil
		}
		if len(b) < 4 {
			return nil, 0, 0, ErrTruncated
		}
		return b[4:], label, layerEthernet, nil
	}
	return nil, 0, 0, ErrNotTCP
}

// looksLikeEthernet says whether b looks like an Ethernet header that
// leads to something decodable while, read after a 4-octet control word,
// it would not: the pseudowire has no control word.
func looksLikeEthernet(b []byte) bool {
	if len(b) < 14 || !followedEther(be16(b[12:])) {
		return false
	}
	return len(b) < 18 || !followedEther(be16(b[16:]))
}

// followedEther says whether walk follows EtherType t.
func followedEther(t uint16) bool {
	switch t {
	case etherIPv4, etherIPv6, etherVLAN, etherQinQ, etherQinQv1, etherMPLS, etherMPLSMulti,
		etherPPPoESession, etherPBB, etherNSH:
		return true
	}
	return false
}

// teredo skips the optional headers before a Teredo packet's IPv6 packet
// (RFC 4380 §5.1.1): the authentication header (indicator 0x0001, client
// ID and authentication value lengths, the two, an 8-octet nonce and a
// confirmation octet), then the origin indication (indicator 0x0000, 8
// octets). What follows must be IPv6; anything else on the Teredo port is
// not TCP.
func teredo(b []byte) ([]byte, error) {
	if len(b) < 2 {
		return nil, ErrTruncated
	}
	if b[0] == 0 && b[1] == 1 {
		if len(b) < 4 {
			return nil, ErrTruncated
		}
		n := 4 + int(b[2]) + int(b[3]) + 8 + 1
		if len(b) < n {
			return nil, ErrTruncated
		}
		b = b[n:]
	}
	if len(b) < 2 {
		return nil, ErrTruncated
	}
	if b[0] == 0 && b[1] == 0 {
		if len(b) < 8 {
			return nil, ErrTruncated
		}
		b = b[8:]
	}
	if len(b) < 1 {
		return nil, ErrTruncated
	}
	if b[0]>>4 != 6 {
		return nil, ErrNotTCP
	}
	return b, nil
}

// ayiya parses an AYIYA header (draft-massar-v6ops-ayiya-02 §5; packet-
// ayiya.c): identity length as a power of two and identity type, signature
// length in 4-octet words and hash method, authentication method and
// opcode, next header (an IP protocol), a 4-octet epoch, then identity and
// signature. Only opcode 1 (forward) carries a packet: IPv4 or IPv6.
func ayiya(b []byte) (rest []byte, next layer, err error) {
	if len(b) < 8 {
		return nil, 0, ErrTruncated
	}
	n := 8 + 1<<(b[0]>>4) + int(b[1]>>4)*4
	if len(b) < n {
		return nil, 0, ErrTruncated
	}
	if b[2]&0x0F != 1 {
		return nil, 0, ErrNotTCP
	}
	switch b[3] {
	case ipIPv4:
		return b[n:], layerIPv4, nil
	case ipIPv6:
		return b[n:], layerIPv6, nil
	}
	return nil, 0, ErrNotTCP
}

// maxGTPExt bounds the GTP-U extension header chain.
const maxGTPExt = 16

// gtpu parses a GTPv1-U header (3GPP TS 29.281 §5.1): version 1, PT 1
// (GTP, not GTP'), E, S and PN flags; message type; length; TEID; when any
// of E, S, PN is set, a sequence number, an N-PDU number and the next
// extension header type, and with E the extension headers (§5.2: length in
// 4-octet units, content, next type; 0 ends). Only a G-PDU (message type
// 255) carries a user packet, IPv4 or IPv6 (walk reads the version
// nibble, as Wireshark's default T-PDU heuristic). It returns the TEID.
func gtpu(b []byte) (rest []byte, teid uint32, err error) {
	if len(b) < 8 {
		return nil, 0, ErrTruncated
	}
	if b[0]>>5 != 1 || b[0]&0x10 == 0 || b[1] != 0xFF {
		return nil, 0, ErrNotTCP
	}
	teid = be32(b[4:])
	n := 8
	if b[0]&0x07 != 0 {
		n = 12
		if len(b) < n {
			return nil, 0, ErrTruncated
		}
		if b[0]&0x04 != 0 {
			for i, next := 0, b[11]; next != 0; i++ {
				if i >= maxGTPExt {
					return nil, 0, ErrMalformed
				}
				if len(b) < n+1 {
					return nil, 0, ErrTruncated
				}
				l := int(b[n]) * 4
				if l == 0 {
					return nil, 0, ErrMalformed
				}
				if len(b) < n+l {
					return nil, 0, ErrTruncated
				}
				next = b[n+l-1]
				n += l
			}
		}
	}
	if len(b) == n {
		return nil, 0, ErrNotTCP // no user packet
	}
	return b[n:], teid, nil
}
