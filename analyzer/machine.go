package analyzer

import (
	"time"

	"finwave/flow"
)

// setState is the one place an endpoint changes state, by rule r. It
// records the change (bounded by maxChanges) and returns its index, -1 when
// the record was dropped by the cap. Timer changes have frame 0.
func (c *conn) setState(cfg *Config, e *endpoint, to State, frame int64, t time.Time, tentative bool, r rule) int16 {
	from := e.state
	if from == to {
		return -1
	}
	c.leaving(cfg, e, t)
	e.enter(to, toNanos(t))
	if len(c.changes) >= maxChanges {
		return -1
	}
	c.changes = append(c.changes, change{
		side: e.side, from: from, to: to, frame: frame,
		tentative: tentative, rule: r,
	})
	return int16(len(c.changes) - 1) // < maxChanges
}

// leaving runs the rules that look at how long a state lasted, just before
// e leaves it.
func (c *conn) leaving(cfg *Config, e *endpoint, t time.Time) { c.stuck(cfg, e, t, false) }

// stuck reports CLOSE_WAIT or FIN_WAIT_2 held for --stuck-after or more,
// measured up to t: when e left the state, or (still) when the analysis
// ended. A FIN_WAIT_2 ended by tcp_fin_timeout is the timer's doing, not a
// stuck peer.
//
// A CLOSE_WAIT still held at the end is judged by the flow's own timing
// too: a side that took the peer's FIN and then sent nothing, for many
// round trips (leakRTTs) and at least leakFloor, is most likely a leaked
// descriptor, however short the capture.
func (c *conn) stuck(cfg *Config, e *endpoint, t time.Time, still bool) {
	if e.state != CloseWait && e.state != FinWait2 {
		return // the common case: leaving any other state
	}
	d := t.Sub(e.since.time())
	byRTT := false
	if d < cfg.StuckAfter {
		if !still || e.state != CloseWait || e.peerFinAckFrame == 0 || e.lastFrame > e.peerFinAckFrame {
			return
		}
		if rtt := c.rtt(); rtt <= 0 || d < leakFloor || d < leakRTTs*rtt {
			return
		}
		byRTT = true
	}
	var a *anomaly
	switch {
	case e.state == CloseWait:
		a = c.addAnomaly(CloseWaitStuck, e.side, c.peerOf(e.side).finFrame, e.peerFinAckFrame)
	case e.state == FinWait2 && !e.fw2Timeout:
		a = c.addAnomaly(FinWait2Stuck, e.side, e.finFrame, e.finAckFrame)
	default:
		return
	}
	a.dur = d
	if still {
		a.note = noteStill
	}
	if byRTT {
		a.note2 = noteRTT
		a.dur2 = c.rtt()
	}
}

// leakRTTs and leakFloor: a CLOSE_WAIT held, silent, this many round trips
// and at least this long is judged stuck before --stuck-after. An
// application that read EOF closes within its own processing time, well
// under a second.
const (
	leakRTTs  = 50
	leakFloor = time.Second
)

// tentative records a receiver-side change and remembers it as pending.
func (c *conn) tentative(cfg *Config, e *endpoint, to State, seg *flow.Segment, kind pendKind, end flow.Seq, r rule) {
	from, since := e.state, e.since
	idx := c.setState(cfg, e, to, seg.Frame, seg.Time, true, r)
	if from == e.state {
		return
	}
	if idx >= 0 {
		c.changes[idx].prevSince = since
	}
	p := pending{idx: idx, frame: seg.Frame, from: from, cause: kind, end: end}
	buf := c.pendBuf(e)
	if int(e.npend) == len(buf) && c.pends == nil {
		c.spillPend()
		buf = c.pendBuf(e)
	}
	if int(e.npend) == len(buf) {
		copy(buf, buf[1:]) // forget the oldest: it stays tentative
		e.npend--
	}
	buf[e.npend] = p
	e.npend++
}

// confirm marks pending changes of e as proven by e's own segment: data
// and FIN/SYN causes by an ACK at or beyond their end (ackOK), ACK-of-FIN
// and SYN-ACK causes by any segment that is not a retransmission of what
// was acknowledged (otherOK).
func (c *conn) confirm(e *endpoint, frame int64, ack flow.Seq, ackOK, otherOK bool) {
	pend := c.pendings(e)
	n := 0
	for _, p := range pend {
		ok := false
		switch p.cause {
		case pendData:
			ok = ackOK && p.end.LessEq(ack)
		case pendFINACK, pendSYNACK:
			ok = otherOK
		}
		if ok {
			c.settle(p, frame)
			continue
		}
		pend[n] = p
		n++
	}
	e.npend = uint8(n)
}

// settle records pending change p as confirmed by frame.
func (c *conn) settle(p pending, frame int64) {
	if p.idx >= 0 {
		c.changes[p.idx].tentative = false
		c.changes[p.idx].confirmed = frame
	}
}

// withdrawal says why a pending change is taken back.
type withdrawal uint8

const (
	// lost: later evidence showed the cause never reached the endpoint
	// (a retransmission of what it should have acknowledged, a RST from a
	// socket that was never there). The change stays in the record, Undone.
	lost withdrawal = iota
	// late: the cause reached the endpoint only after the endpoint had
	// acted (crossing FINs); the change is recorded again where it
	// happened, so this record is dropped.
	late
)

// retracted marks a dropped change (Frame); finish leaves it out.
const retracted = -1

// revert takes back the pending changes of e caused at or after frame,
// latest first, restoring the state each one left and when it had been
// entered: the state never ended, so its duration runs on.
func (c *conn) revert(e *endpoint, frame int64, why withdrawal) {
	for e.npend > 0 {
		p := c.pendBuf(e)[e.npend-1]
		if p.frame < frame {
			break
		}
		e.npend--
		if p.idx >= 0 {
			ch := &c.changes[p.idx]
			if why == late {
				ch.frame = retracted
			} else {
				ch.undone, ch.tentative = true, false
			}
		}
		since := e.since // a change the cap kept out of the record: its start is lost
		if p.idx >= 0 {
			since = c.changes[p.idx].prevSince
		}
		e.enter(p.from, since)
	}
}

// undoCause reverts the latest pending change of e of the given cause (and
// every pending change after it) as lost.
func (c *conn) undoCause(e *endpoint, kind pendKind) {
	pend := c.pendings(e)
	for i := len(pend) - 1; i >= 0; i-- {
		if pend[i].cause == kind {
			c.revert(e, pend[i].frame, lost)
			return
		}
	}
}

// runTimers applies the timers that would have fired by now.
func (c *conn) runTimers(cfg *Config, now time.Time) {
	for i := range c.ep {
		e := &c.ep[i]
		switch e.state {
		case TimeWait:
			if end := e.since.time().Add(cfg.Profile.TimeWait); !now.Before(end) {
				c.setState(cfg, e, Closed, 0, end, false, ruleTimeWaitExpired)
				e.npend = 0
			}
		case FinWait2:
			if !cfg.Profile.OrphanFinWait2Timeout || e.ackedDataAfterFIN || cfg.FinTimeout <= 0 {
				continue
			}
			if end := e.since.time().Add(cfg.FinTimeout); !now.Before(end) {
				e.fw2Timeout = true
				c.setState(cfg, e, Closed, 0, end, false, ruleFinWait2Timeout)
				e.npend = 0
			}
		}
	}
}

// untilOf returns when a timer would end e's current state, zero if none.
func (c *conn) untilOf(cfg *Config, e *endpoint) time.Time {
	switch e.state {
	case TimeWait:
		return e.since.time().Add(cfg.Profile.TimeWait)
	case FinWait2:
		if cfg.Profile.OrphanFinWait2Timeout && !e.ackedDataAfterFIN && cfg.FinTimeout > 0 {
			return e.since.time().Add(cfg.FinTimeout)
		}
	}
	return time.Time{}
}

// acks reports whether seg acknowledges sequence number x (ACK > x).
func acks(seg *flow.Segment, x flow.Seq) bool {
	return seg.Flags&flow.ACK != 0 && x.Less(seg.Ack)
}

// step runs both machines over one segment sent by side s. snd and rcv are
// the sender's and receiver's halves as they were before this segment.
func (c *conn) step(cfg *Config, seg *flow.Segment, s Side, snd, rcv *flow.Half) {
	e, p := &c.ep[s], &c.ep[s.Peer()]
	f := seg.Flags
	c.runTimers(cfg, seg.Time)
	c.dropped = c.checksum(seg, s)
	c.nstatSegment(seg, e, p, rcv)
	c.sent[s].Packets++
	c.sent[s].Bytes += uint64(seg.Len)
	if c.firstFrame == 0 {
		c.firstFrame, c.firstAt = seg.Frame, toNanos(seg.Time)
	}
	now := toNanos(seg.Time) // once per segment: the per-endpoint records keep nanos
	if c.lastFrame != 0 {
		c.gap = time.Duration(now - c.lastAt) // nanos: time.Time.Sub costs 1 % of the run
	}
	c.lastFrame, c.lastAt = seg.Frame, now
	c.timing(seg, now, e, p)
	c.observe(seg, s, now)
	if c.gap >= idleNoteMin {
		c.idleGap, c.idleEnd = c.gap, now
	}
	e.fp.learn(seg)
	e.lastFrame, e.lastTime = seg.Frame, now
	// Whatever e sends, its peer's run of unanswered segments is over:
	// the flow's run is e's from here (empty if it was the peer's).
	if c.runSide != s {
		c.endRun()
		c.runSide = s
	}

	// RFC 9293 §3.5.3 and RFC 1122 §4.2.2.12 let a RST carry diagnostic
	// text, but no Linux path does (tcp_v4_send_reset, tcp_send_active_reset
	// build bare headers): reported with the impossible combinations.
	if bad := f.Has(flow.SYN|flow.FIN) || f.Has(flow.SYN|flow.RST) || f.Has(flow.FIN|flow.RST) ||
		(f&flow.RST != 0 && seg.Len > 0); bad {
		c.addAnomaly(InvalidFlags, s, seg.Frame)
	}

	if c.tw != nil && c.twRejectStep(cfg, seg, s, snd, rcv) {
		return
	}

	if f&flow.RST != 0 && e.state == SynReceived && !e.isnSet {
		// We assumed e took the SYN; its RST says no socket did.
		c.revert(e, 0, lost)
	}
	// What e's own segment proves about what e had received.
	finRetrans := f&flow.FIN != 0 && e.finSent && seg.Seq.Add(seg.Len) == e.finSeq
	c.confirm(e, seg.Frame, seg.Ack, f&flow.ACK != 0, !finRetrans)
	if f&flow.RST == 0 && e.npend > 0 && e.state == Closed {
		// e speaks after a RST we thought it accepted: it did not.
		c.undoCause(e, pendRST)
	}

	// e speaks after a RST in its name: that RST was not its own.
	alive := f&flow.RST == 0 && c.rsts != nil && c.rsts[s].frame != 0 && c.sentAfterRST(cfg, seg, e, now)

	switch {
	case f&flow.RST != 0 && c.dropped:
		// Dropped before tcp_validate_incoming: neither side's state
		// changes for it (checksum.go).
		c.record(cfg, seg, s, RST, ruleBadChecksum, snd, rcv)
		return
	case f&flow.RST != 0:
		c.sendRST(cfg, seg, s, snd, rcv)
		return
	case f&flow.SYN != 0 && seg.Frame == c.rareOf().contFrame:
		c.synOnEstablished(cfg, seg, s, snd, rcv)
		return
	case f&flow.SYN != 0:
		e.ackMax, e.ackSet = seg.Ack, f&flow.ACK != 0 // a new incarnation
		c.extendRun(e, seg, now, snd, false)
		c.syn(cfg, seg, s, snd, rcv)
		return
	case c.blindData(cfg, seg, s, snd, rcv):
		return
	}
	if f&flow.ACK != 0 && (!e.ackSet || e.ackMax.Less(seg.Ack)) {
		e.ackMax, e.ackSet = seg.Ack, true
	}

	label, why := NoLabel, ruleNone

	// Payload bookkeeping for the RST-cause rules and half-close.
	if seg.Len > 0 {
		if e.lastPayloadFrame == 0 || p.lastPayloadFrame > e.lastPayloadFrame {
			e.lastTurnFrame = seg.Frame
			// A client's new turn after the server's answer: the
			// connection was reused after idling this long.
			if s == Client && p.lastPayloadFrame != 0 {
				if d := time.Duration(now - p.lastDataAt); d > c.reuseIdle {
					c.reuseIdle = d
				}
			}
		}
		e.sentPayload = true
		e.lastPayloadFrame, e.lastDataAt = seg.Frame, now
		if e.finSent && e.finSeq.Less(seg.Seq.Add(seg.Len)) {
			// RFC 9293 §3.10.7.4: no data may follow the FIN.
			c.addAnomaly(DataAfterFIN, s, e.finFrame, seg.Frame)
			label = DataAfterClose
		}
		if p.finSent && acks(seg, p.finSeq) {
			// e keeps sending after it received p's FIN: p half-closed.
			if !e.dataAfterClose {
				e.dataAfterClose = true
				label = DataAfterClose
			}
			r := &c.rareFor().ep[s]
			r.dataAfterPeerFIN = seg.Seq.Add(seg.Len)
			if r.dataAfterPeerFINFrame == 0 {
				r.dataAfterPeerFINFrame = seg.Frame
			}
		}
	}
	// e acknowledges data p sent knowing e had closed its sending side: e
	// only shut down writing (shutdown(SHUT_WR)) and keeps reading.
	if pr := &c.rareOf().ep[p.side]; f&flow.ACK != 0 && e.finSent && e.rstFrame == 0 && pr.dataAfterPeerFINFrame != 0 &&
		!e.ackedDataAfterFIN && pr.dataAfterPeerFIN.LessEq(seg.Ack) {
		e.ackedDataAfterFIN = true
		c.addAnomaly(HalfClose, s, e.finFrame, pr.dataAfterPeerFINFrame, seg.Frame)
	}

	if f&flow.FIN != 0 {
		label, why = c.sendFIN(cfg, seg, s, finRetrans)
	} else if f&flow.ACK != 0 && p.finSent && acks(seg, p.finSeq) {
		switch {
		case e.peerFinAckFrame == 0:
			e.peerFinAckFrame = seg.Frame
			switch {
			case e.finSent && e.state == TimeWait:
				label, why = Wave4, ruleFinalAckTimeWait
			case e.finSent:
				label, why = Wave4, ruleFinalAck
			default:
				label, why = Wave2, ruleAckOfFin
			}
		case e.peerFinRetrans && seg.Len == 0:
			e.peerFinRetrans = false
			if e.state == TimeWait {
				label, why = TimeWaitACK, ruleTimeWaitReAck
			} else {
				label = FINACKRepeat
			}
		}
	}
	if label == NoLabel && c.rareOf().ep[s].challengeFrame != 0 && f == flow.ACK && seg.Len == 0 {
		r := &c.rare.ep[s] // challengeFrame set: the flow has a rareState
		label, why = ChallengeACK, ruleChallengeAck
		switch {
		case r.challengeSyn:
			why = ruleChallengeAckSyn // counted by nstatSegment
		case r.challengeOld:
			why = ruleChallengeAckOld
			r.chalSeen = inc16(r.chalSeen)
		default:
			r.chalSeen = inc16(r.chalSeen)
		}
		r.challengeFrame, r.challengeSyn, r.challengeOld = 0, false, false
	}
	// A keep-alive probe (tcp_write_wakeup: seq = snd.una-1, no data or
	// one octet): the first two of a connection are labelled, and every
	// one of a run the peer leaves unanswered.
	probe := f&flow.ACK != 0 && f&(flow.SYN|flow.FIN|flow.RST) == 0 && seg.Len <= 1 &&
		snd.Seen && seg.Seq == snd.NextSeq-1
	c.extendRun(e, seg, now, snd, probe)
	if label == NoLabel && probe && (e.keepAlives < 2 || c.probes(s) > 1) {
		if e.keepAlives < ^uint8(0) {
			e.keepAlives++
		}
		label = KeepAlive
	}

	c.receive(cfg, seg, s, finRetrans)
	c.dsack(seg, s)
	if label == NoLabel && alive {
		label, why = AfterOwnRST, ruleSentAfterOwnRst
	}
	if label != NoLabel || c.keepAll {
		c.record(cfg, seg, s, label, why, snd, rcv)
	}
}

// receive runs the receiver's machine for a non-SYN, non-RST segment from s.
func (c *conn) receive(cfg *Config, seg *flow.Segment, s Side, finRetrans bool) {
	if c.dropped {
		return // the receiver's kernel dropped it: bad checksum
	}
	if d := &c.csum[s]; d.finDropped && seg.Flags&flow.FIN != 0 {
		d.finDropped, finRetrans = false, false // the first copy the receiver takes
	}
	p := &c.ep[s.Peer()]
	f := seg.Flags
	// ACK of p's FIN.
	if p.finSent && acks(seg, p.finSeq) && (p.finAckFrame == 0 || p.state == FinWait1 || p.state == Closing || p.state == LastAck) {
		p.finAckFrame, p.finAckTime = seg.Frame, toNanos(seg.Time)
		switch p.state {
		case FinWait1:
			c.tentative(cfg, p, FinWait2, seg, pendFINACK, 0, ruleFinAckedFinWait1)
		case Closing:
			c.tentative(cfg, p, TimeWait, seg, pendFINACK, 0, ruleFinAckedClosing)
		case LastAck:
			c.tentative(cfg, p, Closed, seg, pendFINACK, 0, ruleFinAckedLastAck)
		}
	}
	// e acknowledges p's SYN: the handshake completes at p.
	if p.state == SynReceived && p.isnSet && acks(seg, p.isn) {
		c.tentative(cfg, p, Established, seg, pendSYNACK, 0, ruleHandshakeDone)
		c.estab = true
	}
	// e's FIN reaches p.
	if f&flow.FIN != 0 && !finRetrans {
		end := seg.End()
		switch p.state {
		case Established, SynReceived, Unknown:
			c.tentative(cfg, p, CloseWait, seg, pendData, end, ruleFinInEstablished)
		case FinWait1:
			c.tentative(cfg, p, Closing, seg, pendData, end, ruleFinInFinWait1)
		case FinWait2:
			c.tentative(cfg, p, TimeWait, seg, pendData, end, ruleFinInFinWait2)
		}
	}
	if f&flow.FIN != 0 && finRetrans && p.state == TimeWait {
		// tcp_timewait_state_process: a retransmitted FIN restarts the
		// TIME_WAIT timer (inet_twsk_reschedule) and is re-ACKed. Not a
		// change of state: the timer counts from here.
		p.enter(TimeWait, toNanos(seg.Time))
	}
}

// sendFIN runs the sender's machine for a FIN from s and returns its label
// and the rule that explains it.
func (c *conn) sendFIN(cfg *Config, seg *flow.Segment, s Side, finRetrans bool) (Label, rule) {
	e, p := &c.ep[s], &c.ep[s.Peer()]
	if finRetrans {
		a := c.addAnomaly(FINRetransmitted, s, e.finFrame, seg.Frame)
		if n := len(a.frames); n >= 4 {
			a.sev = Warning
		}
		if e.finAckFrame != 0 {
			// The peer had acknowledged this FIN: that ACK never arrived
			// (or arrived after the RTO). Undo what we assumed it did.
			c.undoCause(e, pendFINACK)
			if e.state == LastAck {
				l := c.addAnomaly(LostFinalACK, s, e.finAckFrame, seg.Frame)
				if l.refFrame == 0 {
					l.refFrame = e.finAckFrame
					l.dur = seg.Time.Sub(e.finAckTime.time())
				}
			} else {
				a.refFrame = e.finAckFrame
			}
		}
		if p.peerFinAckFrame != 0 || p.state == TimeWait {
			p.peerFinRetrans = true
		}
		return FINRetransmission, ruleFinRetransmit
	}

	why := ruleNone
	acksPeer := p.finSent && acks(seg, p.finSeq)
	crossing := p.finSent && !acksPeer
	label := Wave1
	switch {
	case acksPeer && e.peerFinAckFrame != 0:
		label = Wave3
	case acksPeer:
		label, why = Wave23, ruleCloseAfterEOF
		c.threeWay = true
	case crossing:
		c.simul = true
		c.addAnomaly(SimultaneousClose, s, p.finFrame, seg.Frame)
		// e sent its FIN before p's FIN reached it: the CLOSE_WAIT we
		// assumed for e had not happened yet.
		if e.state == CloseWait {
			c.revert(e, p.finFrame, late)
		}
	}
	if acksPeer && e.peerFinAckFrame == 0 {
		e.peerFinAckFrame = seg.Frame
	}

	switch e.state {
	case Established, SynReceived, Unknown:
		why = ruleActiveClose
		c.setState(cfg, e, FinWait1, seg.Frame, seg.Time, false, ruleActiveClose)
	case CloseWait:
		if why == ruleNone {
			why = rulePassiveClose
		}
		c.setState(cfg, e, LastAck, seg.Frame, seg.Time, false, rulePassiveClose)
	}
	if crossing {
		why = ruleFinCrossed
	}
	e.finSent = true
	e.finSeq = seg.Seq.Add(seg.Len)
	if e.finFrame == 0 {
		e.idleBeforeFIN = c.gap
	}
	e.finFrame, e.finTime = seg.Frame, toNanos(seg.Time)
	if e.closeFrame == 0 {
		e.closeFrame, e.closeAt = seg.Frame, toNanos(seg.Time)
	}
	if !c.anyFIN {
		c.anyFIN = true
		c.firstFIN = s
	}
	if crossing && e.state == FinWait1 {
		c.tentative(cfg, e, Closing, seg, pendData, p.finSeq.Add(1), ruleFinCrossed)
	}
	return label, why
}

// syn runs both machines for a SYN or SYN-ACK from s.
func (c *conn) syn(cfg *Config, seg *flow.Segment, s Side, snd, rcv *flow.Half) {
	e, p := &c.ep[s], &c.ep[s.Peer()]
	if seg.Flags&flow.ACK == 0 {
		if !e.isnSet {
			e.isnSet, e.isn = true, seg.Seq
		}
		switch e.state {
		case Unknown, Closed, Listen:
			c.setState(cfg, e, SynSent, seg.Frame, seg.Time, false, ruleConnect)
		}
		switch {
		case c.dropped: // bad checksum: the receiver never took it
		case p.state == Unknown || p.state == Closed || p.state == Listen:
			c.tentative(cfg, p, SynReceived, seg, pendData, seg.End(), ruleSynInListen)
		case p.state == SynSent:
			c.tentative(cfg, p, SynReceived, seg, pendData, seg.End(), ruleSimultaneousOpen)
		}
		c.keepSyn(cfg, 0, seg, s, snd, rcv)
		return
	}
	if !e.isnSet {
		e.isnSet, e.isn = true, seg.Seq
	}
	switch e.state {
	case Unknown, Closed, Listen:
		c.setState(cfg, e, SynReceived, seg.Frame, seg.Time, false, ruleSynAckSent)
	}
	if !c.dropped && p.state == SynSent && (!p.isnSet || seg.Ack == p.isn.Add(1)) {
		c.tentative(cfg, p, Established, seg, pendData, seg.End(), ruleSynAckAccepted)
		c.estab = true
	}
	c.keepSyn(cfg, 1, seg, s, snd, rcv)
}

// keepSyn keeps the first SYN (i=0) and SYN-ACK (i=1) aside: they are shown
// only when the connection never got established.
func (c *conn) keepSyn(cfg *Config, i int, seg *flow.Segment, s Side, snd, rcv *flow.Half) {
	if c.haveSyn[i] {
		if i == 0 && c.rareOf().synAgain == 0 && seg.Seq == c.ep[s].isn {
			c.rareFor().synAgain = seg.Frame
		}
		// A SYN or SYN-ACK sent again: shown while the handshake is not
		// done (the story of a SYN or SYN-ACK timeout), and when every
		// segment is kept.
		if c.keepAll || !c.estab || c.ep[s].state == SynReceived {
			c.synRetx = true
			r, n := ruleNone, len(c.segs)
			if i == 0 && c.tw != nil && c.tw.acked {
				r = ruleSynAfterReject // twreject.go
			}
			c.record(cfg, seg, s, [2]Label{SYNLabel, SYNACKLabel}[i], r, snd, rcv)
			if r == ruleSynAfterReject && len(c.segs) > n {
				c.tw.synIdx = n
			}
			if r == ruleSynAfterReject {
				if a := c.findAnomaly(SYNInTimeWait, c.tw.side); a != nil {
					a.addFrame(seg.Frame)
				}
			}
		}
		return
	}
	c.haveSyn[i] = true
	c.synSegs[i] = synSeg{t: toNanos(seg.Time), frame: seg.Frame, n: seg.Len, flags: seg.Flags, from: s}
	if seg.Flags&flow.ACK != 0 && c.ep[s.Peer()].isnSet {
		c.synSegs[i].ack = uint32(seg.Ack - c.ep[s.Peer()].isn)
	}
}

// maxKeptSegments bounds the segments kept of a flow whose every segment
// is kept (Config.KeepEvery): one flow's ladder, not a memory hazard.
const maxKeptSegments = 1 << 16

// record keeps a labelled segment, explained by rule why, bounded by the
// per-flow cap.
func (c *conn) record(cfg *Config, seg *flow.Segment, s Side, l Label, why rule, snd, rcv *flow.Half) {
	if len(c.segs) >= cfg.MaxSegments && (!c.keepAll || len(c.segs) >= maxKeptSegments) {
		c.rareFor().omitted++
		return
	}
	ls := labelled{frame: seg.Frame, t: toNanos(seg.Time), from: s, flags: seg.Flags,
		seq: snd.RelSeq(seg.Seq), n: seg.Len, label: l, why: why}
	if seg.Flags&flow.ACK != 0 {
		ls.ack = rcv.RelSeq(seg.Ack)
	}
	c.segs = append(c.segs, ls)
}
