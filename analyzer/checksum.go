package analyzer

import "finwave/flow"

// Checksums and offloads (issue 15, item 4).
//
// A receiving kernel drops a segment whose TCP checksum is wrong
// (tcp_v4_rcv / tcp_v6_rcv → tcp_checksum_complete: TcpInCsumErrors and
// TcpInErrs) or whose IPv4 header checksum is wrong (ip_rcv_core:
// IpInCsumErrors, IpInHdrErrors): it changes no state there, while the
// sender did send it and will send it again (RFC 9293 §3.1, RFC 1122
// §4.2.2.7: a segment with a bad checksum is discarded). A capture taken on
// a host with checksum offload shows its outgoing segments before the NIC
// filled their checksums in; on a veth the skb crosses as it is, so both
// namespaces see it so. Those are not errors. The two are told apart per
// direction:
//   - a TCP checksum field holding the pseudo-header's sum alone
//     (flow.ChecksumPartial) is offload, wherever it appears (GRO's merged
//     frames carry the same);
//   - any other wrong checksum, TCP or IPv4 header, is offload when the
//     direction's first checked segment was wrong too (a host that leaves
//     checksums to its NIC leaves all of them, from its SYN on; systems
//     other than Linux put 0 or garbage there, and some leave the IPv4
//     header's to the NIC too, which Linux computes in software,
//     ip_send_check), and corruption in a direction whose first segment
//     was right.
// Segments Linux checksums in software even with offload on (the control
// socket's RSTs and TIME_WAIT ACKs, ip_send_unicast_reply) are right in an
// offloaded direction, and are just that.

// Offload is what one direction's frames show of offloads on the host that
// captured them: frames that never existed on the wire as captured. They
// are not anomalies; they place the capture (a host's own offload traces
// are seen on that host, or on a veth peer of it).
type Offload struct {
	// ChecksumPartial counts segments whose TCP checksum was left for the
	// NIC (the pseudo-header's sum in the field, or wrong throughout the
	// direction from its first segment): right on the wire.
	ChecksumPartial int
	// Super counts segments larger than the MSS the receiver announced,
	// or whose IP header gave no length (BIG TCP): TSO/GSO at the sender
	// or GRO at the receiver merged several wire segments into one frame.
	Super int
	// Largest is the payload of the largest super segment (octets).
	Largest uint32
}

// Any reports whether the direction showed an offload trace.
func (o Offload) Any() bool { return o.ChecksumPartial > 0 || o.Super > 0 }

// offload is the direction's Offload for the Teardown.
func (d *csumDir) offload() Offload {
	return Offload{ChecksumPartial: int(d.partial), Super: int(d.super), Largest: d.largest}
}

// inc32 is n+1, saturating.
func inc32(n uint32) uint32 {
	if n == ^uint32(0) {
		return n
	}
	return n + 1
}

// csumDir is one sending side's checksum record while the flow runs.
//
// Its counts are 4 octets each, saturating (inc32): a direction would need
// 2^32 segments in one flow to reach the cap. finish widens them into the
// Teardown's Offload and BadChecksums.
type csumDir struct {
	// partial, super and largest are the direction's Offload:
	// ChecksumPartial, Super and Largest.
	partial, super, largest uint32
	bad                     uint32 // corrupted segments: dropped by the receiver
	// retxOf is the sequence number of the latest corrupted segment
	// occupying sequence space, awaiting the sender's retransmission
	// (awaitRetx); its anomaly's refFrame becomes that retransmission.
	retxOf    flow.Seq
	mss       int32 // the MSS the receiver announced (its SYN), 0 unknown
	awaitRetx bool
	// finDropped: our latest FIN was dropped by the receiver, so its
	// retransmission is the first the receiver takes.
	finDropped bool
	first      firstCsum
	// ownOffload: offloaded checksums on segments no larger than
	// the MSS: checksums the sending host left to its NIC, which only a
	// capture on that host shows (the vantage's offload clue). A merged
	// frame proves less: TSO at the sender or GRO at the receiver, whose
	// tcp4_gro_complete leaves the same pseudo-header sum.
	ownOffload bool
}

type firstCsum uint8

const (
	csumUnseen firstCsum = iota
	csumFirstGood
	csumFirstBad // the direction is offloaded
)

// checksum classifies seg, sent by s, and reports whether the receiver
// dropped it for a bad checksum. It counts offload traces and records the
// bad-checksum anomaly on the receiver. No allocation: per segment.
func (c *conn) checksum(seg *flow.Segment, s Side) bool {
	d := &c.csum[s]
	if seg.Flags&flow.SYN != 0 && seg.MSS > 0 {
		c.csum[s.Peer()].mss = seg.MSS // the peer may send us segments of at most this
	}
	// Without the peer's SYN the MSS is unknown: a segment larger than
	// the largest jumbo frame carries (9216 octets, less the IPv4 and TCP
	// headers) never crossed a wire as one; unless the capture cut it
	// short, when its IP length may as well be garbage (fuzzed captures).
	const maxJumboPayload = 9216 - 20 - 20
	super := (d.mss > 0 && seg.Len > uint32(d.mss)) || (d.mss <= 0 && !seg.Truncated && seg.Len > maxJumboPayload)
	if super {
		d.super = inc32(d.super)
		d.largest = max(d.largest, seg.Len)
	}
	partial := d.partial
	bad := false
	switch seg.Checksum {
	case flow.ChecksumGood:
		if d.first == csumUnseen {
			d.first = csumFirstGood
		}
	case flow.ChecksumPartial:
		if d.first == csumUnseen {
			d.first = csumFirstBad
		}
		d.partial = inc32(d.partial)
	case flow.ChecksumBadTCP, flow.ChecksumBadIP:
		switch {
		case super:
			// A frame larger than the MSS never crossed a wire as one:
			// LRO or a driver's GRO merged it and its checksums are
			// the host's artefact, not a corrupted segment.
			d.partial = inc32(d.partial)
		case d.first == csumUnseen:
			d.first = csumFirstBad
			d.partial = inc32(d.partial)
		case d.first == csumFirstBad:
			d.partial = inc32(d.partial)
		default:
			bad = true
		}
	}
	if d.partial > partial && !super {
		d.ownOffload = true
	}
	if !bad {
		if d.awaitRetx && seg.SeqLen() > 0 && seg.Seq.LessEq(d.retxOf) && d.retxOf.Less(seg.End()) {
			d.awaitRetx = false
			if a := c.findAnomaly(BadChecksum, s.Peer()); a != nil && a.refFrame == 0 {
				a.refFrame = seg.Frame
				a.addFrame(seg.Frame)
			}
		}
		return false
	}
	d.bad = inc32(d.bad)
	a := c.addAnomaly(BadChecksum, s.Peer(), seg.Frame)
	if seg.Checksum == flow.ChecksumBadIP && a.note == noteNone {
		a.note, a.ctrs = noteIP, ctrsIPCsum
	} else if a.note == noteNone {
		a.note = noteTCP
	}
	if seg.SeqLen() > 0 {
		d.retxOf, d.awaitRetx = seg.Seq, true
	}
	if seg.Flags&flow.FIN != 0 {
		d.finDropped = true
	}
	return true
}

// ipCsumErrors: ip_rcv_core counts a wrong IPv4 header checksum as both.
var ipCsumErrors = []string{"IpInCsumErrors", "IpInHdrErrors"}

func badChecksumDetail(p para, d detailFacts) para {
	who, peer, a := d.who, d.peer, d.a
	c := &d.c.csum[d.a.side.Peer()]
	if c.bad > 1 {
		p.s("The capture shows ").n(int64(c.bad)).s(" segments from the ", peer, " with a wrong ")
	} else {
		p.s("Frame ").n(a.frames[0]).s(" from the ", peer, " carries a wrong ")
	}
	if a.note == noteIP {
		p.s("IPv4 header checksum")
	} else {
		p.s("TCP checksum")
	}
	if c.bad > 1 {
		p.s(" (").fr(a.frames).s(")")
	}
	p.s(", though the ", peer, "'s first segment here was right: corrupted between the ", peer, " and the capture point (or on the capturing host), not checksum offload. The ", who, "'s kernel dropped it and changed no state for it")
	if d.linux {
		if a.note == noteIP {
			p.s(" (ip_rcv_core: counted as IpInCsumErrors and IpInHdrErrors)")
		} else {
			p.s(" (tcp_v4_rcv → tcp_checksum_complete: counted as TcpInCsumErrors and TcpInErrs)")
		}
	}
	p.s(".")
	if a.refFrame != 0 {
		p.s(" The ", peer, " sent it again in frame ").n(a.refFrame).s(".")
	}
	p.s(" Check the NIC, cable or optics and the middleboxes between the ", peer, " and here (ethtool -S, interface CRC errors).")
	return p
}
