package analyzer

import (
	"time"

	"finwave/flow"
)

// A reuse of the 4-tuple that the peer's TIME_WAIT rejects.
//
// tcp_timewait_state_process hands a SYN to the listener (TCP_TW_SYN)
// only if its sequence number is after the old connection's rcv_nxt or
// its timestamp newer than the last one seen; any other SYN is answered
// (TCP_TW_ACK, tcp_v4_timewait_ack) with an ACK of the old connection:
// seq its snd_nxt, ack its rcv_nxt. The connecting side, in SYN_SENT,
// finds that ACK unacceptable (it does not acknowledge the new SYN):
// tcp_rcv_synsent_state_process → reset_and_undo, and tcp_v4_send_reset
// answers with a RST whose seq is the ACK's ack (RFC 9293 §3.10.7.3); the
// socket stays in SYN_SENT and, its retransmit timer re-armed to
// TCP_TIMEOUT_MIN, sends the SYN again at once. That RST is exactly at
// the TIME_WAIT's rcv_nxt: it kills the TIME_WAIT (an assassination,
// RFC 1337) unless net.ipv4.tcp_rfc1337=1, and the SYN sent again finds
// the listener. With tcp_rfc1337=1 every SYN is rejected alike until the
// TIME_WAIT expires.
//
// The flow (a new one: Wireshark's rule starts a new stream at the SYN)
// begins with a SYN that timeWaits says reuses a TIME_WAIT of the peer
// (syn-in-time-wait); twRejectStep follows the exchange from there.

// twReuse is what a flow that reuses the peer's TIME_WAIT saw of it.
type twReuse struct {
	since    nanos    // when that TIME_WAIT began (its end less Profile.TimeWait)
	ack      flow.Seq // the TIME_WAIT's latest ACK: its ack, the old rcv_nxt
	ackFrame int64    // the TIME_WAIT's first ACK answering a SYN
	rstFrame int64    // the first RST from SYN_SENT answering it
	synIdx   int      // index in conn.segs of the SYN sent again last, -1 if none
	side     Side     // the side whose TIME_WAIT it was
	acked    bool     // a TIME_WAIT ACK was seen
	rejected bool     // the flow's first SYN was the one rejected
	killed   bool     // a RST from SYN_SENT killed the TIME_WAIT, as far as the capture shows
	ignored  bool     // the TIME_WAIT answered again after such a RST: it ignored it (tcp_rfc1337=1)
}

// startTWReuse notes, at the flow's first SYN (sent by the peer of side),
// that side's previous connection on the 4-tuple was in TIME_WAIT until
// until.
func (c *conn) startTWReuse(cfg *Config, side Side, until time.Time) {
	if c.tw == nil {
		c.tw = take(c.spare, freeTWs)
	}
	*c.tw = twReuse{side: side, since: toNanos(until.Add(-cfg.Profile.TimeWait)), synIdx: -1}
}

// twRejectStep runs the machines for a segment of the exchange above and
// reports whether it did (step then does nothing more with it). It runs
// before step confirms anything: the TIME_WAIT's ACK acknowledges the old
// connection's data, not the new SYN.
func (c *conn) twRejectStep(cfg *Config, seg *flow.Segment, s Side, snd, rcv *flow.Half) bool {
	tw := c.tw // not nil: step calls it only for such a flow
	if c.haveSyn[1] {
		return false // a SYN-ACK came: the reuse was accepted
	}
	e, p := &c.ep[s], &c.ep[s.Peer()]
	f := seg.Flags
	switch {
	case s == tw.side && f&(flow.SYN|flow.RST|flow.FIN) == 0 && f&flow.ACK != 0 && seg.Len == 0 &&
		p.state == SynSent && !(p.isnSet && seg.Ack == p.isn.Add(1)):
		// tcp_timewait_state_process → TCP_TW_ACK: the TIME_WAIT, not a
		// listener, had the SYN (and it outlived any RST since). What we
		// assumed they did never happened: dropped, not "not received"
		// (the TIME_WAIT did receive them).
		c.revert(e, 0, late)
		if tw.killed {
			// The TIME_WAIT outlived the RST: it ignored it (RFC 1337,
			// tcp_rfc1337=1 on its host), no assassination.
			tw.killed, tw.ignored = false, true
			c.dropAnomalyOf(TimeWaitAssassination, e.side)
		}
		if e.state != TimeWait {
			c.setState(cfg, e, TimeWait, seg.Frame, seg.Time, false, ruleTimeWaitRejectsSyn)
			// A SYN does not restart the TIME_WAIT (inet_twsk_reschedule
			// only for an ACK or a PAWS reject): it runs since it began.
			e.enter(TimeWait, tw.since)
		}
		switch {
		case tw.synIdx >= 0 && tw.synIdx < len(c.segs):
			c.segs[tw.synIdx].label, c.segs[tw.synIdx].why = SYNRejected, ruleSynRejected
		case !tw.acked:
			tw.rejected = true // the first SYN, kept aside (finish shows it)
		}
		tw.synIdx = -1
		if !tw.acked {
			tw.ackFrame = seg.Frame
			if a := c.findAnomaly(SYNInTimeWait, tw.side); a != nil {
				a.addFrame(seg.Frame)
			}
		}
		tw.acked, tw.ack = true, seg.Ack
		c.record(cfg, seg, s, TimeWaitReject, ruleTimeWaitRejectsSyn, snd, rcv)
		return true
	case s != tw.side && f&(flow.RST|flow.ACK|flow.SYN) == flow.RST && e.state == SynSent && tw.acked && seg.Seq == tw.ack:
		// RFC 9293 §3.10.7.3, tcp_rcv_synsent_state_process: the RST
		// answering the unacceptable ACK; e stays in SYN_SENT.
		c.countRST(e, SynSent)
		if tw.rstFrame == 0 {
			tw.rstFrame = seg.Frame
			if a := c.findAnomaly(SYNInTimeWait, tw.side); a != nil {
				a.addFrame(seg.Frame)
			}
		}
		// It is at the TIME_WAIT's rcv_nxt (the ACK's ack): exact.
		if p.state == TimeWait && cfg.Profile.RSTKillsTimeWait && !cfg.RFC1337 && !tw.ignored {
			a := c.addAnomaly(TimeWaitAssassination, p.side, seg.Frame)
			a.dur, a.note, a.refFrame = seg.Time.Sub(p.since.time()), noteReuse, tw.ackFrame
			c.tentative(cfg, p, Closed, seg, pendRST, 0, ruleRstKillsTimeWait)
			tw.killed = true
		}
		c.record(cfg, seg, s, RST, ruleRstSynSentBadAck, snd, rcv)
		return true
	case s == tw.side && f&(flow.SYN|flow.ACK) == flow.SYN|flow.ACK && tw.killed:
		// The SYN sent again found a listener: the TIME_WAIT was gone,
		// as the RST's acceptance said.
		c.confirmCause(e, pendRST, seg.Frame)
	}
	return false
}

// dropAnomalyOf forgets the anomaly of kind k on side s, if any
// (dropAnomaly keeps the order and the references into c.anoms right).
func (c *conn) dropAnomalyOf(k Kind, s Side) {
	for i := range c.anoms {
		if c.anoms[i].kind == k && c.anoms[i].side == s {
			c.dropAnomaly(i)
			return
		}
	}
}

// confirmCause marks e's pending changes of the given cause as proven by
// frame (e's own segment shows it had them).
func (c *conn) confirmCause(e *endpoint, kind pendKind, frame int64) {
	pend := c.pendings(e)
	n := 0
	for _, p := range pend {
		if p.cause == kind {
			c.settle(p, frame)
			continue
		}
		pend[n] = p
		n++
	}
	e.npend = uint8(n)
}

// judgeTWReject fills a syn-in-time-wait whose SYN the TIME_WAIT
// rejected: the outcome of the reuse (connected, with the time from the
// first SYN to the SYN-ACK, or not in the capture).
func (c *conn) judgeTWReject(a *anomaly) {
	a.note, a.refFrame = noteRejected, c.tw.ackFrame
	synack := &c.synSegs[1]
	connected := c.haveSyn[1] && synack.ack == 1
	if connected {
		a.addFrame(synack.frame)
		a.dur2 = time.Duration(synack.t - c.synSegs[0].t)
	}
	switch {
	case connected && c.tw.killed:
		a.note2 = noteConnectedKilled
	case connected:
		a.note2 = noteConnected
	case c.tw.killed:
		a.note2 = noteFailedKilled
	default:
		a.note2 = noteFailed
	}
}

// twRejectDetail continues synInTimeWaitDetail for a rejected reuse.
func twRejectDetail(p para, d detailFacts) para {
	who, peer, a := d.who, d.peer, d.a
	p.s(". The TIME_WAIT did not accept it (its sequence number was not after the old connection's and no newer timestamp saved it) and answered with an ACK of the old connection (frame ").n(a.refFrame).s(")")
	if d.linux {
		p.s(" (tcp_timewait_state_process → TCP_TW_ACK)")
	}
	p.s("; the ", peer, ", in SYN_SENT, answered that unacceptable ACK with a RST at its acknowledgment number (RFC 9293 §3.10.7.3) and sent its SYN again. Evidence: ").fr(a.frames).s(".")
	switch a.note2 {
	case noteConnectedKilled:
		p.s(" The RST killed the ", who, "'s TIME_WAIT (an assassination) and the SYN sent again was accepted: connected ").ms(a.dur2).s(" after the first SYN.")
	case noteConnected:
		p.s(" The TIME_WAIT kept refusing until it ended (RFC 1337: tcp_rfc1337=1 ignores the RST); connected ").ms(a.dur2).s(" after the first SYN.")
	case noteFailedKilled:
		p.s(" The RST killed the ", who, "'s TIME_WAIT (an assassination), but no SYN-ACK followed in the capture.")
	default:
		p.s(" The TIME_WAIT ignored the RST (RFC 1337: tcp_rfc1337=1, or it never reached it) and no SYN-ACK followed in the capture: the reuse had not connected when the capture ended; it will when the TIME_WAIT expires, if connect() waits that long.")
	}
	p.s(" Check the ", peer, "'s port choice (a fixed source port, bind() with SO_REUSEADDR), and keep TCP timestamps on: with them Linux's TIME_WAIT accepts the new SYN.")
	return p
}
