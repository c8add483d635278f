package analyzer

import "finwave/flow"

// D-SACK (RFC 2883): a receiver that negotiated SACK reports a duplicate
// segment it received in the first SACK block of its ACK (RFC 2883 §4;
// Linux tcp_dsack_set from tcp_data_queue and tcp_validate_incoming's
// tcp_send_dupack). A retransmitted FIN answered by a D-SACK covering the
// FIN's sequence number was received twice: the first copy arrived and
// what was lost (or late) is its ACK. Without D-SACK the wire cannot tell
// a lost FIN from a lost ACK of it. A TIME_WAIT minisock answers without
// SACK (tcp_timewait_state_process → tcp_v4_timewait_ack), so the final
// ACK of a close never carries one.

// dsack looks at seg, an ACK from s, for a D-SACK of the peer's
// retransmitted FIN. The receiver machine needs nothing more: the ACK
// already confirms s's change on the peer's first FIN (pendData, ack at
// or beyond the FIN), which the D-SACK proves happened at that first copy.
func (c *conn) dsack(seg *flow.Segment, s Side) {
	p := &c.ep[s.Peer()]
	if !p.finSent || seg.SACKBlocks == 0 || !seg.DSACK() {
		return
	}
	if b := seg.SACK[0]; !b.Left.LessEq(p.finSeq) || !p.finSeq.Less(b.Right) {
		return
	}
	for i := range c.anoms {
		a := &c.anoms[i]
		if a.side != p.side || (a.kind != FINRetransmitted && a.kind != LostFinalACK) || a.dsack != 0 {
			continue
		}
		a.dsack = seg.Frame
	}
}
