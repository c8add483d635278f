package flow

import "time"

// Half is what one endpoint sent, as the capture saw it. The zero value is
// an endpoint that has sent nothing; Reset restores it.
//
// Invariants: NextSeq, ISN and Base are meaningful only when Seen (Base
// also when BaseSet); every ordering of sequence numbers goes through Seq,
// so the state is correct across the 2^32 wrap.
type Half struct {
	// Fields are ordered for packing (88 octets), not by topic.

	Seen    bool
	SYN     bool // sent a SYN
	BaseSet bool // Base is valid
	AckSeen bool
	FIN     bool
	RST     bool
	HasTS   bool // TSVal is valid
	nxtReal bool // NextSeq came from a segment other than RST
	WScale  int8 // from this side's SYN, NoOption if absent or no SYN seen

	ISN Seq // the latest SYN's seq when SYN, else Base

	// Base is the origin of relative sequence numbers, as Wireshark 4.0
	// sets tcp_flow_t.base_seq (packet-tcp.c; checked with tshark in
	// wireshark_test.go): the seq of the latest SYN or SYN-ACK this side
	// sent; without one, the first seq seen minus 1 (so the first segment
	// is relative 1) or, if the peer acknowledged something before this
	// side sent anything, the peer's first ACK minus 1.
	Base Seq

	NextSeq Seq // highest Seq+SeqLen sent (snd.nxt as observed); RST segments excluded
	MaxAck  Seq // highest ACK sent, valid when AckSeen
	FINSeq  Seq // the sequence number the FIN occupies (Seq+Len of the FIN segment)

	// Window is the last window advertised, shifted by WScale when both
	// SYNs carried the option (RFC 7323 §2.2: the field of a SYN is never
	// scaled). Without both SYNs the raw field is kept, as Wireshark does
	// when the scale is unknown.
	Window uint32

	TSVal uint32 // last timestamp value (RFC 7323 §3)

	Packets, Bytes uint64 // segments sent, payload octets

	LastData      time.Time // time of the last segment with payload
	LastDataFrame int64
}

// Reset returns h to the state of an endpoint that has sent nothing.
func (h *Half) Reset() { *h = Half{WScale: NoOption} }

// Observe folds a segment sent by this side into the half. peer is the
// other half of the connection: it supplies the peer's window scale and
// receives a Base from this segment's ACK when the peer has none yet.
func (h *Half) Observe(seg *Segment, peer *Half) {
	syn := seg.Flags&SYN != 0
	if !h.Seen {
		h.Seen = true
		h.WScale = NoOption
	}
	switch {
	case syn:
		h.Base, h.BaseSet = seg.Seq, true
	case !h.BaseSet:
		h.Base, h.BaseSet = seg.Seq-1, true
	}
	if seg.Flags&ACK != 0 && !peer.BaseSet {
		// packet-tcp.c: "get the ISN from the first segment with the
		// ACK bit set instead (usually the SYN/ACK)".
		peer.BaseSet = true
		peer.Base = seg.Ack - 1
	}
	if syn {
		h.SYN = true
		h.ISN = seg.Seq
		h.WScale = seg.WScale
	} else if !h.SYN {
		h.ISN = h.Base
	}

	// RST occupies no sequence space and its seq may be anything the
	// sender took from the peer's ACK (RFC 9293 §3.10.7.1): it moves
	// snd.nxt only while no other segment of this side has been seen.
	if seg.Flags&RST == 0 {
		if h.nxtReal {
			h.NextSeq = h.NextSeq.Max(seg.End())
		} else {
			h.NextSeq = seg.End()
			h.nxtReal = true
		}
	} else {
		h.RST = true
		if h.Packets == 0 {
			h.NextSeq = seg.End()
		}
	}

	if seg.Flags&ACK != 0 {
		if !h.AckSeen {
			h.AckSeen = true
			h.MaxAck = seg.Ack
		} else {
			h.MaxAck = h.MaxAck.Max(seg.Ack)
		}
	}
	if seg.Flags&FIN != 0 {
		fs := seg.Seq.Add(seg.Len)
		if !h.FIN || h.FINSeq.Less(fs) {
			h.FINSeq = fs
		}
		h.FIN = true
	}

	w := uint32(seg.Window)
	if !syn && h.SYN && peer.SYN && h.WScale >= 0 && peer.WScale >= 0 {
		w <<= uint(h.WScale)
	}
	h.Window = w
	if seg.HasTS {
		h.TSVal = seg.TSVal
		h.HasTS = true
	}
	h.Packets++
	h.Bytes += uint64(seg.Len)
	if seg.Len > 0 {
		h.LastData = seg.Time
		h.LastDataFrame = seg.Frame
	}
}

// RelSeq returns s relative to Base, as Wireshark shows tcp.seq (and, for
// the peer's half, tcp.ack).
func (h *Half) RelSeq(s Seq) uint32 { return uint32(s - h.Base) }
