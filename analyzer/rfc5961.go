package analyzer

import (
	"finwave/flow"
)

// RFC 5961 §4: a SYN on a synchronized connection.
//
// Wireshark (and so flow.Table's stream ids) takes every SYN without ACK
// whose sequence number differs from its direction's base for a new
// connection on the 4-tuple. A SYN that falls in or near the receive
// window of a synchronized connection is not one: Linux
// (tcp_validate_incoming, step 4) drops it, counts TcpExtTCPSYNChallenge
// and answers with a challenge ACK (tcp_send_challenge_ack, counted as
// TcpExtTCPChallengeACK unless rate-limited); the connection goes on.
// Such a SYN is injected (blind in-window attack, a middlebox) or comes
// from a peer that lost its state and happened to pick an ISN there. The
// analyzer keeps it in its flow (Analyzer.continues, the table's
// Continues hook) and labels it, its answer and the anomaly.

// nearWindow is the least receive window a SYN is judged against (a
// peer's window of 0 or a few octets says nothing of where a new ISN
// would fall): a fresh ISN lands within ±64 KiB of rcv_nxt by chance
// once in 32768.
const nearWindow = 1 << 16

// continues is the flow table's Continues hook: it keeps seg, a SYN that
// would start a new Wireshark stream on c's 4-tuple, in c when the
// connection is synchronized (the handshake completed or the flow began
// mid-stream), neither side has closed it for good (the receiver can
// answer with a challenge ACK: challengeable; the sender is no TIME_WAIT
// or CLOSED, which a reuse would follow), and the SYN's sequence number is
// within the receiver's window (at least nearWindow) either side of its
// rcv_nxt. A SYN with an ISN far from it, or after the close, keeps
// starting a new flow (port reuse, a rebooted peer).
func (a *Analyzer) continues(c *flow.Conn, dir flow.Dir, seg flow.Segment) bool {
	k, _ := c.Data.(*conn)
	if k == nil || !k.estab || seg.Flags&(flow.SYN|flow.ACK|flow.RST) != flow.SYN {
		return false
	}
	k.runTimers(&a.cfg, seg.Time)
	s := k.sideOf[dir]
	e, p := &k.ep[s], &k.ep[s.Peer()]
	if !challengeable(p.state) || !isSynchronized(e.state) || e.state == TimeWait {
		return false
	}
	snd, rcv := &c.Half[dir], &c.Half[dir.Reverse()]
	if !snd.Seen {
		return false
	}
	w := max(rcv.Window, nearWindow)
	if !seg.Seq.InWindow(snd.NextSeq-flow.Seq(w), 2*w) {
		return false
	}
	k.rareFor().contFrame = seg.Frame
	return true
}

// synOnEstablished runs both machines for a SYN from s that continues
// the flow (continues): the sender's state does not change (its socket,
// if it sent the SYN at all, was not a connecting one); the receiver
// drops it and answers with a challenge ACK (RFC 5961 §4.2), or, under
// RFC 793 (p.71), resets the connection.
func (c *conn) synOnEstablished(cfg *Config, seg *flow.Segment, s Side, snd, rcv *flow.Half) {
	p := &c.ep[s.Peer()]
	a := c.addAnomaly(SYNOnEstablished, p.side, seg.Frame)
	a.refFrame = seg.Frame
	if cfg.Profile.ChallengeACK {
		r := &c.rareFor().ep[p.side]
		r.challengeFrame, r.challengeSyn = seg.Frame, true
	} else {
		c.tentative(cfg, p, Closed, seg, pendRST, 0, ruleSynInWindowReset)
	}
	c.record(cfg, seg, s, SYNLabel, ruleSynOnEstablished, snd, rcv)
}

func synOnEstablishedDetail(p para, d detailFacts) para {
	who, peer := d.who, d.peer
	p.s("A SYN claiming to come from the ", peer, " (").fr(d.a.frames).s(") fell in the window of the ", who,
		"'s synchronized connection: not a new connection on the 4-tuple (Wireshark starts a new tcp.stream there; finwave keeps it in this flow, see wireshark_streams).")
	if d.cfg.Profile.ChallengeACK {
		p.s(" RFC 5961 §4.2: the ", who, " drops it and answers with a challenge ACK; the connection goes on.")
		if d.linux {
			p.s(" Linux tcp_validate_incoming counts TcpExtTCPSYNChallenge and sends the ACK with tcp_send_challenge_ack (TcpExtTCPChallengeACK unless rate-limited).")
		}
	} else {
		p.s(" RFC 793 (p.71) resets the connection on an in-window SYN.")
	}
	p.s(" Check what sent it: an injection on the path (a middlebox, an attacker guessing the window) or a ", peer, " that lost its connection state and reconnects with an ISN that happens to fall in the window.")
	return p
}
