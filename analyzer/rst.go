package analyzer

import (
	"time"

	"finwave/flow"
)

// sendRST runs both machines for a RST sent by s: why the sender reset
// (an anomaly naming the likely cause) and whether the receiver accepted it.
func (c *conn) sendRST(cfg *Config, seg *flow.Segment, s Side, snd, rcv *flow.Half) {
	e, p := &c.ep[s], &c.ep[s.Peer()]
	before, since := e.state, e.since
	c.countRST(e, before)
	// What e's own segments say of it (fingerprint.go), before any
	// machine runs: a RST they prove forged changes nothing at e.
	ev := e.fp.judge(seg)
	if before == Closed && c.unprompted(e, p) {
		ev.why |= fpUnprompted
	}
	accepted := c.acceptRST(cfg, seg, s, snd, rcv)
	ev.taken = accepted
	if ev.why&fpProof != 0 {
		if !socketless(before) {
			e.doubtRsts = inc16(e.doubtRsts)
		}
		c.forged(s, ev, toNanos(seg.Time), seg.Frame)
		if isSynchronized(before) && before != TimeWait {
			// e's next segment is shown too: more proof, and what the
			// RST did not end.
			c.setLastRst(s, ownRST{frame: seg.Frame, at: toNanos(seg.Time), idx: -1, ev: ev, proven: true, doubted: true})
		}
		if accepted && c.firstRST == 0 {
			c.firstRST, c.rstSide = seg.Frame, s // the peer was reset all the same
		}
		c.record(cfg, seg, s, RST, ruleRstForged, snd, rcv)
		return
	}
	if !accepted && isSynchronized(before) {
		e.doubtRsts = inc16(e.doubtRsts) // blind or stale: maybe not e's kernel's
		// The receiver did not take it: nothing shows the claimed sender
		// sent it or changed state (a blind or stale RST).
		c.rememberRST(seg, e, before, since, ev, len(c.anoms), -1, false, false)
		if r := c.lastRst(s); r != nil && r.frame == seg.Frame {
			r.doubted = true
		}
		c.record(cfg, seg, s, RST, ruleRstIgnored, snd, rcv)
		return
	}
	nAnoms := len(c.anoms)

	// why is the rule of the sender's change and of the segment's words:
	// every state the sender can be in picks one.
	var why rule
	cause := before
	if c.probes(s) > 0 && isSynchronized(before) {
		// tcp_keepalive_timer: the probes went unanswered; the timer
		// resets (tcp_send_active_reset) and reports ETIMEDOUT. The peer
		// never answered: nothing shows the RST reached it either.
		c.keepaliveTimeout(seg, s)
		why = ruleKeepaliveReset
		cause = numStates // decided: none of the rules below
	}
	switch cause {
	case Unknown, Closed, Listen:
		switch {
		case p.state == SynSent || (before != Closed && !c.estab && c.haveSyn[0] && !c.haveSyn[1]):
			why = ruleRstRefused
		case e.fw2Timeout:
			a := c.addAnomaly(RSTAfterFinWait2Timeout, s, e.finFrame, p.lastPayloadFrame, seg.Frame)
			a.dur = e.since.time().Sub(e.finAckTime.time())
			why = ruleRstAfterFinWait2
		case e.rstFrame != 0:
			why = ruleRstAfterReset
		default:
			why = ruleRstNoSocket
		}
	case FinWait1, FinWait2, Closing, LastAck, TimeWait:
		why = c.afterFIN(cfg, seg, s, before, snd, rcv)
	case Established, CloseWait, SynReceived:
		why = c.abortCause(cfg, seg, s)
	case SynSent:
		why = ruleRstSynSent
	}

	idx, changed := int16(-1), false
	if e.state != Closed {
		idx, changed = c.setState(cfg, e, Closed, seg.Frame, seg.Time, false, why), true
	}
	e.npend = 0
	if e.rstFrame == 0 {
		e.rstFrame = seg.Frame
	}
	closeSet := false
	if e.closeFrame == 0 && before != Closed && before != Unknown && before != Listen {
		e.closeFrame, e.closeAt = seg.Frame, toNanos(seg.Time)
		closeSet = true
	}
	if cause != numStates { // the keepalive timer's reset is judged by its probes
		c.rememberRST(seg, e, before, since, ev, nAnoms, idx, changed, closeSet)
	}
	if c.firstRST == 0 {
		c.firstRST, c.rstSide = seg.Frame, s
	}

	c.record(cfg, seg, s, RST, why, snd, rcv)
}

func isSynchronized(s State) bool {
	switch s {
	case Established, FinWait1, FinWait2, CloseWait, Closing, LastAck, TimeWait:
		return true
	}
	return false
}

// abortCause tells, for an abortive close (RST from a synchronized state),
// unread data from a linger-0 abort, as well as the wire allows, and
// returns the rule of the abort.
//
// Linux tcp_close sends RST instead of FIN when received data was never
// read (TCPAbortOnClose, RFC 2525 §2.17), and when SO_LINGER is {1, 0}
// (tcp_disconnect, counted as TCPAbortOnData); both RSTs look the same. The
// conversation tells them apart: if the peer spoke last and its data was not
// a reply the sender was waiting for (the sender is the server, or the
// client never sent anything), the data most likely sat unread.
func (c *conn) abortCause(cfg *Config, seg *flow.Segment, s Side) rule {
	e, p := &c.ep[s], &c.ep[s.Peer()]
	peerSpokeLast := p.lastPayloadFrame != 0 && p.lastPayloadFrame > e.lastPayloadFrame
	awaitedReply := s == Client && e.sentPayload
	if peerSpokeLast && !awaitedReply && cfg.Profile.ResetOnUnreadClose {
		a := c.addAnomaly(RSTUnreadData, s, p.lastPayloadFrame, seg.Frame)
		a.refFrame = p.lastPayloadFrame
		return ruleAbortUnread
	}
	a := c.addAnomaly(RSTLingerZero, s, seg.Frame)
	if peerSpokeLast {
		// What the wire shows, the same under every profile: the peer's
		// last data answered e's own (a reply e awaited), or it was
		// never answered. Only the reading of it is the profile's.
		a.note = noteAfterReply
		if !awaitedReply {
			a.note = noteUnanswered
		}
		a.refFrame = p.lastPayloadFrame
	}
	if c.findAnomaly(RSTUnreadData, s) != nil {
		// An earlier RST of s was found to leave data unread: this one
		// follows it (the same abort, seen again).
		return ruleAbortUnread
	}
	return ruleAbortLinger
}

// acceptRST runs the receiver's machine for a RST from s and reports whether
// the receiver accepted it (RFC 9293 §3.10.7, RFC 5961 §3,
// tcp_validate_incoming, tcp_timewait_state_process). A receiver with no
// connection (CLOSED, UNKNOWN) counts as accepting: there is nothing to
// refuse.
func (c *conn) acceptRST(cfg *Config, seg *flow.Segment, s Side, snd, rcv *flow.Half) bool {
	e, p := &c.ep[s], &c.ep[s.Peer()]
	switch p.state {
	case Closed, Unknown, Listen:
		return true
	case SynSent:
		// RFC 9293 §3.10.7.3: acceptable if it acknowledges our SYN.
		if seg.Flags&flow.ACK != 0 && (!p.isnSet || seg.Ack == p.isn.Add(1)) {
			c.tentative(cfg, p, Closed, seg, pendRST, 0, ruleRstRefusedSynSent)
			return true
		}
		return false
	}
	// rcv_nxt of the receiver, as far as the capture shows: everything the
	// RST's sender had sent before it.
	rcvNxt := snd.NextSeq
	if !snd.Seen {
		rcvNxt = seg.Seq
	}
	exact := seg.Seq == rcvNxt
	// tcp_reset_check: after a FIN, a RST at the FIN's own sequence number
	// is accepted too (CLOSE_WAIT, LAST_ACK, CLOSING).
	if !exact && cfg.Profile.ResetAtFINSeq && e.finSent && seg.Seq == e.finSeq &&
		(p.state == CloseWait || p.state == LastAck || p.state == Closing) {
		exact = true
	}
	wnd := rcv.Window
	if wnd == 0 {
		wnd = 1
	}
	inWindow := seg.Seq.InWindow(rcvNxt, wnd)

	if p.state == TimeWait {
		// tcp_timewait_state_process: only a RST at rcv_nxt is in window.
		if !exact {
			a := c.addAnomaly(RSTOutOfWindow, s, seg.Frame)
			a.note = noteTimeWait
			return false
		}
		if !cfg.Profile.RSTKillsTimeWait || cfg.RFC1337 {
			return true // RFC 1337: TIME_WAIT ignores it, but it was in window
		}
		a := c.addAnomaly(TimeWaitAssassination, p.side, seg.Frame)
		a.dur = seg.Time.Sub(p.since.time())
		c.tentative(cfg, p, Closed, seg, pendRST, 0, ruleRstKillsTimeWait)
		return true
	}
	switch {
	case exact || (inWindow && !cfg.Profile.ChallengeACK):
		c.tentative(cfg, p, Closed, seg, pendRST, 0, ruleRstAccepted)
		return true
	case inWindow:
		// RFC 5961 §3.2: in window but not exact: challenge ACK, ignore.
		r := &c.rareFor().ep[p.side]
		r.challengeFrame = seg.Frame
		r.chalMax = inc16(r.chalMax)
		a := c.addAnomaly(RSTOutOfWindow, s, seg.Frame)
		a.note = noteChallenge
	default:
		a := c.addAnomaly(RSTOutOfWindow, s, seg.Frame)
		if a.note == noteNone {
			a.note = noteOutside
		}
	}
	return false
}

// keepaliveTimeout records the keepalive timer's reset of e after its
// unanswered probes, and leaves the silent peer as it was.
func (c *conn) keepaliveTimeout(seg *flow.Segment, s Side) {
	p := &c.ep[s.Peer()]
	a := c.addAnomaly(KeepaliveTimeout, s)
	if q := c.runOf(s); q != nil {
		q.evidence(a)
	}
	a.addFrame(seg.Frame)
	a.refFrame = p.lastFrame
	if p.lastFrame != 0 {
		a.dur = seg.Time.Sub(p.lastTime.time())
	}
	c.revert(p, seg.Frame, lost)
	p.silent = true
}

// afterFIN tells why e, which had sent its FIN (before is its state), now
// resets. In the order tcp_close and the orphan's receive path decide:
//
//   - at once after the FIN, before any answer: close() found too many
//     orphans or too little TCP memory (tcp_close → tcp_check_oom);
//   - a bare RST (no ACK bit: tcp_v4_send_reset answering a segment) right
//     after the peer's ACK of the FIN, no data in between: the orphan
//     with TCP_LINGER2 < 0 dies on that ACK (tcp_rcv_state_process);
//   - the peer's data after the FIN, which e had acknowledged: it sat in
//     e's receive queue, and close() found it unread (TCPAbortOnClose);
//   - the peer's data after the FIN, not acknowledged: the orphan cannot
//     take it (data after close; an idle-timeout race when e closed an
//     idle connection and the data is the peer's next request; a
//     FIN_WAIT_2 that had likely expired when it came seconds later);
//   - nothing from the peer: an abort at close() in FIN_WAIT_2
//     (TCP_LINGER2 < 0, or SO_LINGER {1, 0}: the wire cannot tell) or
//     from the other states (abortCause).
func (c *conn) afterFIN(cfg *Config, seg *flow.Segment, s Side, before State, snd, rcv *flow.Half) rule {
	e, p := &c.ep[s], &c.ep[s.Peer()]
	linux := cfg.Profile.ResetOnDataAfterClose // the orphan rules are Linux's
	sinceFIN := time.Duration(toNanos(seg.Time) - e.finTime)
	peerQuiet := p.lastFrame < e.finFrame // nothing from the peer since our FIN
	if linux && peerQuiet && e.finAckFrame == 0 && sinceFIN < oomGap {
		a := c.addAnomaly(RSTMemoryPressure, s, e.finFrame, seg.Frame)
		a.dur = sinceFIN
		return ruleAbortMemory
	}
	dataAfter := p.lastPayloadFrame > e.finFrame
	if linux && seg.Flags&flow.ACK == 0 && e.finAckFrame != 0 && p.lastFrame == e.finAckFrame && !dataAfter &&
		(before == FinWait1 || before == FinWait2) {
		a := c.addAnomaly(RSTLinger2, s, e.finFrame, e.finAckFrame, seg.Frame)
		// tcp_rcv_state_process counts this path as TCPAbortOnData
		// (seen on 6.18: fixtures/linger2_orphan), not TCPAbortOnLinger.
		a.note, a.refFrame, a.ctrs = noteOrphanACK, e.finAckFrame, ctrsAbortOnData
		return ruleAbortLinger2Orphan
	}
	if dataAfter && linux {
		if snd.AckSeen && rcv.NextSeq.LessEq(snd.MaxAck) {
			// e acknowledged all the peer sent: it was delivered to e's
			// receive queue, which close() found unread (tcp_close:
			// TCPAbortOnClose), well after the data in time.
			a := c.addAnomaly(RSTUnreadData, s, p.lastPayloadFrame, seg.Frame)
			a.refFrame, a.note = p.lastPayloadFrame, noteHalfClose
			a.dur = seg.Time.Sub(p.lastDataTime())
			return ruleAbortUnread
		}
		inFW2 := time.Duration(0)
		if before == FinWait2 {
			inFW2 = seg.Time.Sub(e.since.time())
		}
		rtt := c.rtt()
		switch {
		case before == FinWait2 && cfg.FinTimeout > 0 && inFW2 >= cfg.FinTimeout:
			a := c.addAnomaly(RSTAfterFinWait2Timeout, s, e.finFrame, p.lastPayloadFrame, seg.Frame)
			a.dur = inFW2
		case before == FinWait2 && inFW2 >= plausibleFinTimeout && inFW2 >= 20*rtt:
			a := c.addAnomaly(RSTAfterFinWait2Timeout, s, e.finFrame, p.lastPayloadFrame, seg.Frame)
			a.dur, a.note = inFW2, noteLikely
			return ruleRstLateInFinWait2
		case e.idleBeforeFIN >= idleCloseGap && e.idleBeforeFIN >= 10*rtt && p.finFrame == 0 && p.newRequest(e.finFrame):
			a := c.addAnomaly(IdleCloseRace, s, e.finFrame, p.lastPayloadFrame, seg.Frame)
			a.dur, a.refFrame = e.idleBeforeFIN, p.lastTurnFrame
			if before != FinWait2 {
				a.ctrs = ctrsAbortOnData
			}
		default:
			a := c.addAnomaly(RSTDataAfterClose, s, e.finFrame, p.lastPayloadFrame, seg.Frame)
			a.refFrame = p.lastPayloadFrame
			if before == FinWait2 {
				a.note, a.ctrs = noteMinisock, ctrsOutRsts
			}
		}
		if before == FinWait2 {
			// tcp_time_wait(TCP_FIN_WAIT2): with tcp_fin_timeout at most
			// TCP_TIMEWAIT_LEN the orphan is a mini-socket, whose answer
			// to data is TCP_TW_RST (tcp_timewait_state_process).
			return ruleRstDataAfterCloseMinisock
		}
		return ruleRstDataAfterClose
	}
	if linux && before == FinWait2 && e.finAckFrame != 0 && !dataAfter {
		a := c.addAnomaly(RSTLinger2, s, e.finFrame, seg.Frame)
		a.note = noteClose
		return ruleAbortLinger2Close
	}
	return c.abortCause(cfg, seg, s)
}

// oomGap bounds the time between close()'s FIN and the RST tcp_check_oom
// sends in the same call: microseconds; a millisecond is generous, and no
// answer from the peer can come in between.
const oomGap = time.Millisecond

// plausibleFinTimeout is the shortest tcp_fin_timeout worth suspecting
// when the host's value is not known: a peer's data that reaches an
// orphaned FIN_WAIT_2 later than this (and many round trips after the
// FIN) may have found it expired.
const plausibleFinTimeout = time.Second

// idleCloseGap is the shortest quiet time before a FIN that reads as an
// idle timeout rather than a close right after the exchange.
const idleCloseGap = 500 * time.Millisecond

// newRequest reports whether e's latest data, sent after the peer's FIN
// (frame fin), starts a new turn of the conversation: e had been quiet
// since before the FIN, so it is a request on a connection it thought
// idle, not the tail of one already in flight.
func (e *endpoint) newRequest(fin int64) bool { return e.lastTurnFrame > fin }

// lastDataTime is when e last sent payload.
func (e *endpoint) lastDataTime() time.Time { return e.lastDataAt.time() }
