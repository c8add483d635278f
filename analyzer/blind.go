package analyzer

import (
	"finwave/flow"
)

// RFC 5961 §5: blind data injection.
//
// A segment whose acknowledgment number is older than SND.UNA −
// MAX.SND.WND of its receiver is not acceptable (RFC 5961 §5.2): the
// receiver discards it, data and FIN included, and answers with a
// challenge ACK. Linux (tcp_ack, net/ipv4/tcp_input.c): an ack before
// prior_snd_una − min(max_window, bytes_acked) → tcp_send_challenge_ack
// (TcpExtTCPChallengeACK), SKB_DROP_REASON_TCP_TOO_OLD_ACK; from
// ESTABLISHED tcp_rcv_established discards the segment, from the other
// synchronized states tcp_rcv_state_process (FLAG_NO_CHALLENGE_ACK, then
// its own tcp_send_challenge_ack) does the same. A kernel never sends such
// an ack for its own connection: the segment was injected (an attacker
// guessing the sequence number but not the ack) or belongs to another
// incarnation of the 4-tuple.

// blindData handles seg, sent by s, when its ACK is too old for the
// receiver: the receiver's machine does not see it (no data received, no
// FIN, no state change), its next pure ACK is a challenge ACK, and the
// segment is recorded with ruleBlindData. It reports whether seg was
// such a segment.
//
// The receiver's snd_una is taken as the highest ack s sent before seg
// since its latest SYN (ackMax: not flow.Half.MaxAck, which spans a reuse
// of the 4-tuple such as tw_reject_reuse's; the receiver's own snd_una is
// at least that), its
// max_window as the larger of s's last window and nearWindow (a smaller
// bound than Linux's min(max_window, bytes_acked) would flag less, never
// more: a reordered legitimate segment's ack is never that old). The
// sequence number must be acceptable (near s's next one), or
// tcp_validate_incoming would have answered with a duplicate ACK first.
func (c *conn) blindData(cfg *Config, seg *flow.Segment, s Side, snd, rcv *flow.Half) bool {
	f := seg.Flags
	if !cfg.Profile.ChallengeACK || c.dropped || !c.estab || f&flow.ACK == 0 || f&(flow.SYN|flow.RST) != 0 ||
		!snd.Seen || !rcv.Seen {
		return false
	}
	e, p := &c.ep[s], &c.ep[s.Peer()]
	if !e.ackSet {
		return false
	}
	if !challengeable(p.state) {
		return false
	}
	w := max(snd.Window, nearWindow)
	if !seg.Ack.Less(e.ackMax - flow.Seq(w)) {
		return false
	}
	rw := max(rcv.Window, nearWindow)
	if !seg.Seq.InWindow(snd.NextSeq-flow.Seq(rw), 2*rw) {
		return false
	}
	r := &c.rareFor().ep[p.side]
	r.challengeFrame, r.challengeSyn, r.challengeOld = seg.Frame, false, true
	r.chalMax = inc16(r.chalMax) // TcpExtTCPChallengeACK unless rate-limited
	c.record(cfg, seg, s, NoLabel, ruleBlindData, snd, rcv)
	return true
}
