package analyzer

import (
	"time"

	"finwave/flow"
)

// The prediction of each host's nstat counters for one connection
// (Teardown.Counters): what the machines saw each endpoint do, as the
// Linux functions that count it would have counted it. docs/counters.md
// lists, per counter, the kernel function and when the prediction is
// exact or a bound.

var (
	once  = Bound{1, 1}
	maybe = Bound{0, 1}
)

// inc16 adds one, saturating.
func inc16(n uint16) uint16 {
	if n == ^uint16(0) {
		return n
	}
	return n + 1
}

// socketless reports whether an endpoint in state s has no socket of its
// own on the 4-tuple: what reaches it is answered, if at all, by
// tcp_v4_send_reset.
func socketless(s State) bool { return s == Closed || s == Unknown || s == Listen }

// challengeable reports whether a full socket in state s answers an
// unacceptable SYN, RST or ACK with a challenge ACK (tcp_validate_incoming,
// tcp_rcv_state_process). TIME_WAIT is a mini-socket: it never does.
func challengeable(s State) bool {
	switch s {
	case Established, CloseWait, FinWait1, FinWait2, Closing, LastAck:
		return true
	}
	return false
}

// nstatSegment notes, for a segment e sends to p (p's state before the
// segment), what the counters need: e's connect(), what a socketless p
// owes in RSTs, and what makes p send a challenge ACK.
func (c *conn) nstatSegment(seg *flow.Segment, e, p *endpoint, rcv *flow.Half) {
	f := seg.Flags
	if f&flow.RST == 0 {
		e.owed = 0 // e answers with more than RSTs: it has a socket
		if c.rareOf().ep[e.side].synChal {
			// A challenge ACK is a pure ACK at rcv_nxt: e's first segment
			// after the peer's SYN, if it is one, answers it.
			r := &c.rare.ep[e.side] // synChal set: the flow has a rareState
			r.synChal = false
			if f == flow.ACK && seg.Len == 0 {
				r.synChalSeen = inc16(r.synChalSeen)
				r.chalSeen = inc16(r.chalSeen)
			}
		}
		if socketless(p.state) && p.owed < ^uint8(0) && !c.dropped {
			p.owed++
		}
	}
	switch {
	case f&flow.SYN != 0:
		if f&flow.ACK == 0 && f&flow.RST == 0 {
			e.synSent = true
		}
		if challengeable(p.state) && !c.dropped {
			// tcp_validate_incoming: a SYN on a synchronized socket (a
			// retransmitted SYN or SYN-ACK too) is TCPSYNChallenge and a
			// challenge ACK. A FIN_WAIT_2 may be a mini-socket, which
			// does neither: its answer proves nothing.
			r := &c.rareFor().ep[p.side]
			r.synChalMax = inc16(r.synChalMax)
			r.chalMax = inc16(r.chalMax)
			r.synChal = p.state != FinWait2
		}
	case f&(flow.ACK|flow.RST) == flow.ACK && rcv.Seen && rcv.NextSeq.Less(seg.Ack) &&
		challengeable(p.state) && p.state != Established && !c.dropped:
		// tcp_rcv_state_process: an ACK of data p never sent, outside
		// ESTABLISHED, is answered by a challenge ACK.
		r := &c.rareFor().ep[p.side]
		r.chalMax = inc16(r.chalMax)
	}
}

// countRST counts a RST e sends from state before. A socketless e sends
// a RST only to answer a segment (tcp_v4_send_reset): one with none to
// answer was not its kernel's (injected, or the capture lies).
func (c *conn) countRST(e *endpoint, before State) {
	e.rsts = inc16(e.rsts)
	if socketless(before) {
		if e.owed == 0 {
			e.doubtRsts = inc16(e.doubtRsts)
		} else {
			e.owed--
		}
	}
}

// predictCounters fills t.Counters.
func (c *conn) predictCounters(cfg *Config, t *Teardown) {
	for i := range c.ep {
		t.Counters[i] = CounterSet{}
		c.predictSide(cfg, &c.ep[i], &t.Counters[i])
	}
}

// twTimeout is the timeout at or below which __inet_twsk_schedule counts a
// new timewait socket as TcpExtTWKilled instead of TcpExtTW (4*HZ).
const twTimeout = 4 * time.Second

// sideChanges is what e's recorded state changes show.
type sideChanges struct {
	passive, estabResets, attemptFails Bound
	fw2, tw                            int64 // frame of the first entry into FIN_WAIT_2, TIME_WAIT
	fw2Seen, twSeen                    bool
	twTentative                        bool
	tw2Proof                           bool // a RST of e's FIN_WAIT_2 mini-socket (or after it expired)
	fw2Full                            bool // e's FIN_WAIT_2 reset as a full socket: no mini-socket
}

func (c *conn) predictSide(cfg *Config, e *endpoint, cs *CounterSet) {
	var sc sideChanges
	for j := range c.changes {
		ch := &c.changes[j]
		if ch.side != e.side || ch.frame == retracted || ch.undone {
			continue
		}
		b := once
		if ch.tentative {
			b = maybe
		}
		switch {
		case ch.to == Established && ch.from == SynReceived && !e.synSent:
			// tcp_check_req → tcp_create_openreq_child: the child socket.
			sc.passive.Add(b)
		case ch.to == Closed && (ch.from == Established || ch.from == CloseWait):
			// tcp_set_state(TCP_CLOSE) from ESTABLISHED or CLOSE_WAIT.
			sc.estabResets.Add(b)
		case ch.to == Closed && (ch.from == SynSent || ch.from == SynReceived && e.synSent):
			// tcp_done from SYN_SENT or a full SYN_RECV socket (a
			// request socket counts nothing). A connecting socket that
			// vanished may have been closed (tcp_close: no count).
			if ch.rule == ruleConnectGone {
				b = maybe
			}
			sc.attemptFails.Add(b)
		case ch.to == FinWait2 && !sc.fw2Seen:
			sc.fw2Seen, sc.fw2 = true, ch.frame
		case ch.to == TimeWait && !sc.twSeen && ch.rule != ruleTimeWaitRejectsSyn:
			// (That one is the old connection's TIME_WAIT, counted there.)
			sc.twSeen, sc.tw, sc.twTentative = true, ch.frame, ch.tentative
		}
		if ch.from == FinWait2 && ch.to == Closed {
			switch ch.rule {
			case ruleRstDataAfterCloseMinisock, ruleRstLateInFinWait2:
				// The mini-socket's answer to data (TCP_TW_RST).
				sc.tw2Proof = true
			case ruleAbortLinger2Close, ruleAbortLinger2Orphan, ruleAbortUnread, ruleAbortLinger, ruleAbortMemory:
				// A RST with no data to answer comes from a full socket
				// (close(), tcp_done): it never was a mini-socket.
				sc.fw2Full = true
			}
		}
	}
	if c.findAnomaly(RSTAfterFinWait2Timeout, e.side) != nil {
		// Data answered by a RST after the FIN_WAIT_2's timer (the
		// change is the timer's): the mini-socket, or no socket once it
		// expired. A full socket would have taken the data.
		sc.tw2Proof = true
	}

	// Opens. tcp_connect counts the SYN once, however often it is sent.
	noSyns := !c.haveSyn[0] && !c.haveSyn[1]
	switch {
	case e.synSent:
		cs[TcpActiveOpens] = once
	case !c.haveSyn[0] && (c.roles == RolesInferred || e.side == Client):
		// The connection was opened before the capture began: maybe
		// within the counters' window, maybe not.
		cs[TcpActiveOpens] = maybe
	}
	cs[TcpPassiveOpens] = clamp1(sc.passive)
	if cs[TcpPassiveOpens].Max == 0 && c.estab && !e.synSent && noSyns &&
		(c.roles == RolesInferred || e.side == Server) {
		cs[TcpPassiveOpens] = maybe
	}
	cs[TcpEstabResets] = clamp1(sc.estabResets)
	cs[TcpAttemptFails] = clamp1(sc.attemptFails)

	// RSTs: every one e sent is on the wire (an on-path capture); those
	// its kernel may not have sent (blind, unprovoked) only in Max.
	cs[TcpOutRsts] = Bound{uint32(e.rsts - e.doubtRsts), uint32(e.rsts)}

	c.predictTimeWait(cfg, e, &sc, cs)
	c.predictAborts(e, cs)

	// Challenge ACKs: each trigger counts unless the per-socket rate
	// limit (tcp_invalid_ratelimit) skipped it; each one seen counted.
	r := &c.rareOf().ep[e.side]
	cs[TcpExtTCPChallengeACK] = Bound{uint32(min(r.chalSeen, r.chalMax)), uint32(r.chalMax)}
	cs[TcpExtTCPSYNChallenge] = Bound{uint32(min(r.synChalSeen, r.synChalMax)), uint32(r.synChalMax)}

	// TcpExtTWRecycled: connect() took over this host's own TIME_WAIT on
	// the 4-tuple (__inet_check_established, tcp_twsk_unique): the new
	// SYN came from the side that held it.
	if e.synSent && c.findAnomaly(SYNInTimeWait, e.side) != nil {
		cs[TcpExtTWRecycled] = once
	}

	if len(c.changes) >= maxChanges {
		// Changes past the record's cap are not seen: any one counter
		// moved by a change may have moved once more.
		for _, k := range [...]Counter{TcpEstabResets, TcpAttemptFails, TcpExtTW, TcpExtTWKilled} {
			if cs[k].Max == 0 {
				cs[k].Max = 1
			}
		}
	}
}

// clamp1 bounds a per-socket count: a socket moves each of these counters
// at most once.
func clamp1(b Bound) Bound {
	return Bound{min(b.Min, 1), min(b.Max, 1)}
}

// twKind tells which counter a FIN_WAIT_2 timewait socket was counted in
// at its scheduling: its timeout is tcp_fin_time, the larger of
// tcp_fin_timeout and 3.5 RTO; TcpExtTWKilled when that is at most 4 s.
// ok is false when the wire cannot tell (the RTO may have grown).
func (c *conn) twKind(cfg *Config, e *endpoint) (k Counter, ok bool) {
	if a := c.findAnomaly(RSTAfterFinWait2Timeout, e.side); a != nil && a.note == noteLikely {
		// The FIN_WAIT_2 seems to have expired before --fin-timeout:
		// the host's tcp_fin_timeout is not the one finwave was given.
		return 0, false
	}
	if cfg.FinTimeout > twTimeout {
		return TcpExtTW, true
	}
	// RTO = srtt + max(4 rttvar, 200 ms) after a clean exchange: under
	// 200 ms + 5 RTT. A FIN sent again has backed the RTO off.
	rtt := c.rtt()
	if c.findAnomaly(FINRetransmitted, e.side) != nil || rtt <= 0 {
		return 0, false
	}
	if rto := 200*time.Millisecond + 5*rtt; max(cfg.FinTimeout, rto*7/2) <= twTimeout {
		return TcpExtTWKilled, true
	}
	return 0, false
}

// predictTimeWait: __inet_twsk_schedule counts a timewait socket once, at
// its first scheduling (TcpExtTW, or TcpExtTWKilled for a timeout of 4 s
// or less); its move from FIN_WAIT_2 to TIME_WAIT only reschedules it.
// TIME_WAIT itself lasts TCP_TIMEWAIT_LEN (60 s): TcpExtTW. An orphaned
// FIN_WAIT_2 (close(), not shutdown()) becomes a timewait socket with
// tcp_fin_time as its timeout when the ACK of the FIN comes alone. The
// hosts are assumed under tcp_max_tw_buckets (TcpExtTCPTimeWaitOverflow).
func (c *conn) predictTimeWait(cfg *Config, e *endpoint, sc *sideChanges, cs *CounterSet) {
	k, known := c.twKind(cfg, e)
	switch {
	case sc.twSeen && sc.fw2Seen && sc.fw2 != sc.tw && k != TcpExtTW:
		// FIN_WAIT_2 before TIME_WAIT, with a short tcp_fin_time: an
		// orphan's mini-socket was counted when it was scheduled, as
		// TWKilled; a full socket (shutdown()) at TIME_WAIT, as TW.
		cs[TcpExtTW].Add(maybe)
		cs[TcpExtTWKilled].Add(maybe)
	case sc.twSeen:
		b := once
		if sc.twTentative {
			b = maybe
		}
		cs[TcpExtTW].Add(b)
	case sc.fw2Seen && !sc.fw2Full:
		// Orphaned or not, the wire shows only when the mini-socket
		// answers: a RST to data (TCP_TW_RST), or none after it expired.
		// Such a RST also proves the FIN_WAIT_2, tentative or not: a
		// FIN_WAIT_1 orphan answers data with tcp_reset (TCPAbortOnData).
		b := maybe
		if sc.tw2Proof {
			b = once
		}
		if known {
			cs[k].Add(b)
		} else {
			cs[TcpExtTW].Add(maybe)
			cs[TcpExtTWKilled].Add(maybe)
		}
	}
}

// predictAborts adds the TcpExtTCPAbortOn* counters: those the anomalies
// of e name as certain, and the ones the wire cannot tell apart as bounds.
func (c *conn) predictAborts(e *endpoint, cs *CounterSet) {
	var abort, linger2, ongoing bool
	for i := range c.anoms {
		a := &c.anoms[i]
		if a.side != e.side {
			continue
		}
		for _, name := range a.counters() {
			if k, ok := ParseCounter(name); ok && isAbortCounter(k) && cs[k].Min == 0 {
				cs[k] = once
			}
		}
		switch a.kind {
		case RSTUnreadData, RSTLingerZero:
			abort = true
		case RSTLinger2:
			linger2 = linger2 || a.note == noteClose
		case RetransmissionTimeout, SYNTimeout:
			ongoing = ongoing || a.note2 == noteOngoing
		}
	}
	p := c.peerOf(e.side)
	if abort {
		// tcp_close with data unread (TCPAbortOnClose) or SO_LINGER
		// {1, 0} (TCPAbortOnData) send the same RST; another abort
		// (tcp_disconnect, SOCK_DESTROY) counts neither.
		if p.lastPayloadFrame != 0 {
			atLeast(&cs[TcpExtTCPAbortOnClose], maybe)
		}
		atLeast(&cs[TcpExtTCPAbortOnData], maybe)
	}
	if linger2 {
		// close() in FIN_WAIT_2: TCP_LINGER2 < 0 (TCPAbortOnLinger) or
		// SO_LINGER {1, 0} (TCPAbortOnData).
		atLeast(&cs[TcpExtTCPAbortOnLinger], maybe)
		atLeast(&cs[TcpExtTCPAbortOnData], maybe)
	}
	if ongoing || (c.halfOpen && c.probes(e.side) > 0) {
		// A timer still retrying at the end of the capture may have given
		// up before the counters were read: tcp_write_err.
		atLeast(&cs[TcpExtTCPAbortOnTimeout], maybe)
		switch e.state {
		case Established, CloseWait:
			atLeast(&cs[TcpEstabResets], maybe)
		case SynSent:
			atLeast(&cs[TcpAttemptFails], maybe)
		}
	}
}

// atLeast widens b's Max to o's.
func atLeast(b *Bound, o Bound) {
	b.Max = max(b.Max, o.Max)
}

// isAbortCounter reports whether k is one of the TcpExtTCPAbortOn*
// counters, which only the anomalies' causes tell.
func isAbortCounter(k Counter) bool {
	switch k {
	case TcpExtTCPAbortOnData, TcpExtTCPAbortOnClose, TcpExtTCPAbortOnLinger,
		TcpExtTCPAbortOnTimeout, TcpExtTCPAbortOnMemory:
		return true
	}
	return false
}
