package analyzer

import (
	"cmp"
	"slices"
	"sync"
	"time"
	"unsafe"

	"finwave/flow"
)

// finish turns the flow's state into its Teardown at capture time now.
// fc is the flow (its endpoints; its stream id, flow.Conn.ID, set when the
// flow table made it and never changed; its further Wireshark stream ids,
// flow.Conn.Streams, are copied).
func (c *conn) finish(cfg *Config, why flow.Finish, now time.Time, fc *flow.Conn) *Teardown {
	c.runTimers(cfg, now)
	for i := range c.ep {
		if e := &c.ep[i]; e.state == SynReceived && !e.isnSet {
			// We assumed e took the SYN, but it never answered: nothing
			// shows a socket there (a firewall, a full backlog, no host).
			c.revert(e, 0, lost)
		}
	}
	// Sides that went silent while the other retransmitted.
	c.silence(cfg, now)
	// States that lasted too long, still held at the end.
	for i := range c.ep {
		c.stuck(cfg, &c.ep[i], now, true)
	}

	c.judgeSYNInTimeWait()

	t := newTeardown()
	*t = Teardown{
		Segments:   t.Segments[:0],
		Zeek:       t.Zeek[:0],
		Anomalies:  t.anoms[:0],
		changes:    t.changes[:0],
		frames:     t.frames[:0],
		text:       t.text[:0],
		kernel:     t.kernel, // its slices' arrays, reused
		Stream:     fc.ID,
		Streams:    append(t.Streams[:0], fc.Streams...),
		Roles:      c.roles,
		FirstFrame: c.firstFrame,
		LastFrame:  c.lastFrame,
		FirstTime:  c.firstAt.time(),
		LastTime:   c.lastAt.time(),
		Finish:     why,
		Continued:  c.continued,
		Profile:    cfg.Profile.Name,
		Sent:       c.sent,
	}
	t.Client, t.Server = c.endpoints(fc)
	for s := range c.csum {
		t.Offload[s], t.BadChecksums[s] = c.csum[s].offload(), int(c.csum[s].bad)
	}
	if c.tunnelled {
		t.Tunnel = *c.tunnelBuf
	}
	t.Pattern, t.Closer = c.pattern()
	t.IdleBeforeClose, t.ReuseIdle = c.idle(c.idleBeforeClose(t.Closer)), c.idle(c.reuseIdle)
	t.ZeekConnState = c.zeek.ConnState()
	t.ZeekOrigIsClient = (c.sideOf[flow.DirAB] == Client) == c.zeek.OrigIsA()
	// The kernel's account first: it confirms what it traced, and a
	// local address settles the vantage.
	c.kernelView(cfg, t)
	local := VantageUnknown
	if k := t.Kernel; k != nil && k.Sockets[Client].Local != k.Sockets[Server].Local {
		local = vantageOf(Server)
		if k.Sockets[Client].Local {
			local = vantageOf(Client)
		}
	}
	vant, clues := c.vantage(local)
	c.vant.at = vant.At
	if s, ok := vant.At.Side(); ok && (t.Kernel == nil || !t.Kernel.Sockets[s].Traced) {
		// The capturing host's changes, unless its kernel's own trace
		// said which happened (a change it did not trace stays
		// tentative: a difference).
		c.confirmAt(s)
	}
	c.predictCounters(cfg, t)
	t.ClientEnd = c.endState(cfg, Client)
	t.ServerEnd = c.endState(cfg, Server)

	segs, chs := t.Segments, t.changes
	if !cfg.Brief {
		segs, chs = c.ladder(cfg, t, segs, chs)
	}
	if segs == nil {
		segs = []LabelledSegment{} // never nil, as before recycling
	}
	t.Segments = segs
	t.changes = chs
	t.SegmentsOmitted = c.rareOf().omitted

	n := 0
	for i := range c.anoms {
		n += len(c.anoms[i].frames)
	}
	fr := slices.Grow(t.frames, n)
	// The detail paragraphs are appended to t.text, then sliced: no
	// allocation per paragraph once t has been recycled a few times.
	p := para{b: t.text[:0]}
	var endsBuf [16]int
	ends := endsBuf[:0]
	for i := range c.anoms {
		a := &c.anoms[i]
		start := len(fr)
		fr = append(fr, a.frames...)
		frames := fr[start:len(fr):len(fr)]
		slices.Sort(frames)
		if !cfg.Brief {
			c.appendDetail(&p, cfg, a)
		}
		ends = append(ends, len(p.b))
		t.Anomalies = append(t.Anomalies, Anomaly{
			Kind:     a.kind,
			Endpoint: a.side,
			Frames:   frames,
			Severity: a.sev,
			Counters: a.counters(),
			DSACK:    a.dsack,
		})
	}
	histStart := len(p.b)
	p.b = c.zeek.AppendHistory(p.b)
	verdictStart := len(p.b)
	if !cfg.Brief {
		c.appendVerdict(&p, t)
	}
	vantStart := len(p.b)
	var clueStarts, clueEnds [len(clues)]int
	for i := range clues {
		clueStarts[i] = len(p.b)
		if cfg.Brief || !vant.appendEvidence(&p, clues[i]) {
			p.b = p.b[:clueStarts[i]]
		}
		clueEnds[i] = len(p.b)
	}
	t.text = p.b
	t.ZeekHistory = textOf(t.text[histStart:verdictStart])
	c.zeekFinish(t)
	start := 0
	for i, end := range ends {
		t.Anomalies[i].Detail = textOf(t.text[start:end])
		start = end
	}
	t.Verdict = textOf(t.text[verdictStart:vantStart])
	n = 0
	for i := range clues {
		if clueEnds[i] > clueStarts[i] {
			t.evid[n] = textOf(t.text[clueStarts[i]:clueEnds[i]])
			n++
		}
	}
	vant.Evidence = t.evid[:n:n]
	t.Vantage = vant
	t.frames = fr
	t.anoms = t.Anomalies
	if len(t.Anomalies) == 0 {
		// "No anomalies" is a nil slice; the array waits for the next use.
		t.Anomalies = nil
	}
	slices.SortStableFunc(t.Anomalies, func(ai, aj Anomaly) int {
		if ai.Severity != aj.Severity {
			return cmp.Compare(aj.Severity, ai.Severity)
		}
		return cmp.Compare(firstFrame(ai.Frames), firstFrame(aj.Frames))
	})
	return t
}

// ladder appends the flow's labelled segments to segs, in frame order,
// each with the changes it caused (appended to chs, their one backing
// array), and returns both. The SYNs kept aside are shown when the
// connection never got established, or when nothing else was labelled.
func (c *conn) ladder(cfg *Config, t *Teardown, segs []LabelledSegment, chs []Change) ([]LabelledSegment, []Change) {
	segs = slices.Grow(segs, len(c.segs)+len(c.synSegs))
	chs = slices.Grow(chs, len(c.changes))
	if !c.estab || len(c.segs) == 0 || t.Pattern == PatternRefused || t.Pattern == PatternUnanswered || c.keepAll || c.synRetx || c.tw != nil && c.tw.rejected {
		for i := range c.synSegs {
			if c.haveSyn[i] {
				ss := &c.synSegs[i]
				l, explain := SYNLabel, ""
				switch {
				case i == 1:
					l = SYNACKLabel
				case c.tw != nil && c.tw.rejected:
					l, explain = SYNRejected, ruleSynRejected.explain(cfg.Profile)
				}
				segs = append(segs, LabelledSegment{Frame: ss.frame, Time: ss.t.time(), From: ss.from, Flags: ss.flags,
					Ack: ss.ack, Len: ss.n, Label: l, Explain: explain})
			}
		}
	}
	for i := range c.segs {
		segs = append(segs, c.segs[i].segment(cfg.Profile))
	}
	// slices' sorts: no reflection, no allocation (sort.Slice* allocate).
	slices.SortStableFunc(segs, func(a, b LabelledSegment) int { return cmp.Compare(a.Frame, b.Frame) })
	// Attach each change to the segment that caused it.
	for i := range segs {
		start := len(chs)
		for j := range c.changes {
			if ch := &c.changes[j]; ch.frame == segs[i].Frame && ch.frame != retracted {
				chs = append(chs, Change{Side: ch.side, From: ch.from, To: ch.to, Frame: ch.frame, Time: segs[i].Time,
					Tentative: ch.tentative, Confirmed: ch.confirmed, Undone: ch.undone, Reason: ch.rule.reason(cfg.Profile, ch.from)})
			}
		}
		if len(chs) > start {
			segs[i].Changes = chs[start:len(chs):len(chs)]
		}
		// Sender's change first, then the receiver's.
		from := segs[i].From
		if len(segs[i].Changes) > 1 {
			slices.SortStableFunc(segs[i].Changes, func(a, b Change) int {
				return cmp.Compare(senderLast(a.Side, from), senderLast(b.Side, from))
			})
		}
	}
	return segs, chs
}

// idle is d when it reads as an idle period, a pause of the application
// rather than of the network: at least idleCloseGap and ten of the flow's
// round trips (as for idle-close-race); 0 otherwise.
func (c *conn) idle(d time.Duration) time.Duration {
	if d < idleCloseGap || d < 10*c.rtt() {
		return 0
	}
	return d
}

// idleBeforeClose is how long no payload had crossed when the first
// closer sent its first FIN or RST (Teardown.IdleBeforeClose).
func (c *conn) idleBeforeClose(cl Closer) time.Duration {
	var e *endpoint
	switch cl {
	case CloserClient:
		e = &c.ep[Client]
	case CloserServer:
		e = &c.ep[Server]
	default:
		return 0
	}
	last := nanos(0)
	for i := range c.ep {
		if p := &c.ep[i]; p.lastPayloadFrame != 0 && p.lastPayloadFrame < e.closeFrame && p.lastDataAt > last {
			last = p.lastDataAt
		}
	}
	if last == 0 || e.closeAt < last {
		return 0
	}
	return time.Duration(e.closeAt - last)
}

// teardowns holds recycled Teardowns (Recycle).
var teardowns = sync.Pool{New: func() any { return new(Teardown) }}

func newTeardown() *Teardown { return teardowns.Get().(*Teardown) }

// textOf returns b as a string without copying. b must not change while
// the string is in use: it is a part of a Teardown's text, which is only
// written again after the Teardown is recycled (see Recycle).
func textOf(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Recycle gives t back for reuse by the flows that finish later: t and
// everything reachable from it (segments, changes, anomalies, frames, and
// the anomalies' Detail strings, which share t's memory) must not be used
// after the call; copy a Detail to keep it. Other strings (reasons,
// explanations, ZeekConnState, Profile) are constants. Calling it
// is optional (a Teardown not recycled is garbage collected); the emit
// callback, or whoever it hands t to, calls it once done with t. Safe for
// concurrent use.
func Recycle(t *Teardown) {
	if t != nil {
		teardowns.Put(t)
	}
}

// senderLast is 0 for the sender's side, 1 for the other: sorting on it
// puts the sender's change first.
func senderLast(s, from Side) int {
	if s == from {
		return 0
	}
	return 1
}

func firstFrame(f []int64) int64 {
	if len(f) == 0 {
		return 0
	}
	return f[0]
}

// endState reports side s at the end of the analysis.
func (c *conn) endState(cfg *Config, s Side) EndState {
	e := &c.ep[s]
	es := EndState{State: e.state, Since: e.since.time(), Until: c.untilOf(cfg, e)}
	if e.silent {
		es.SilentFrame, es.SilentSince = e.lastFrame, e.lastTime.time()
		if e.lastFrame == 0 {
			es.SilentSince = time.Time{}
		}
	}
	pend := c.pendings(e)
	for i := len(pend) - 1; i >= 0; i-- {
		if idx := pend[i].idx; idx >= 0 && c.changes[idx].to == e.state && c.changes[idx].tentative {
			es.Tentative = true
			break
		}
	}
	if es.State == Unknown {
		// Nothing seen of this endpoint's socket: mid-stream it must have
		// been established; otherwise there is no socket to speak of.
		es.State = Closed
		if c.estab {
			es.State = Established
		}
	}
	return es
}

// pattern classifies the teardown and names who closed first.
func (c *conn) pattern() (Pattern, Closer) {
	cl, sv := &c.ep[Client], &c.ep[Server]
	closer := CloserNone
	switch {
	case cl.closeFrame != 0 && sv.closeFrame != 0:
		if c.simul {
			closer = CloserBoth
		} else if cl.closeFrame < sv.closeFrame {
			closer = CloserClient
		} else {
			closer = CloserServer
		}
	case cl.closeFrame != 0:
		closer = CloserClient
	case sv.closeFrame != 0:
		closer = CloserServer
	}

	if !c.estab {
		switch {
		case c.firstRST != 0:
			return PatternRefused, CloserNone
		case c.timedOut:
			return PatternTimeout, CloserNone // the SYN or the SYN-ACK went unanswered until a timer gave up
		case c.haveSyn[0] && !c.haveSyn[1] && !c.anyFIN:
			return PatternUnanswered, CloserNone
		case !c.anyFIN:
			return PatternOpen, CloserNone
		}
	}
	bothFIN := cl.finSent && sv.finSent
	// A FIN close that completed before any RST is still that close: a
	// later RST (an assassination, an answer to a late segment) does not
	// change how the connection ended.
	finsDone := bothFIN && cl.finAckFrame != 0 && sv.finAckFrame != 0 &&
		(c.firstRST == 0 || (cl.finAckFrame < c.firstRST && sv.finAckFrame < c.firstRST))
	switch {
	case finsDone || (bothFIN && c.firstRST == 0):
		switch {
		case c.simul:
			return PatternSimultaneous, CloserBoth
		case c.threeWay:
			return PatternThreeWay, closer
		default:
			return PatternFourWay, closer
		}
	case c.firstRST != 0 && c.anyFIN && c.ep[c.firstFIN].finFrame < c.firstRST:
		return PatternFINThenReset, closer
	case c.firstRST != 0:
		return PatternReset, closer
	case c.timedOut:
		return PatternTimeout, closer
	case c.halfOpen:
		return PatternHalfOpen, closer
	case c.anyFIN:
		return PatternHalfClosed, closer
	}
	return PatternOpen, closer
}

// judgeSYNInTimeWait sets the severity of a syn-in-time-wait from what
// followed the SYN. Linux allows the reuse: connect() takes over the
// client's own TIME_WAIT (tcp_tw_reuse, TcpExtTWRecycled), and the
// server's TIME_WAIT hands a SYN with a newer timestamp or sequence
// number to the listener (tcp_timewait_state_process, TCP_TW_SYN). A
// SYN-ACK for that first SYN, before the SYN was sent again, shows the
// reuse accepted: information. A SYN sent again before its SYN-ACK (the
// TIME_WAIT answered it with an ACK of the old connection, the client's
// RST to that ACK assassinated the TIME_WAIT, and the SYN was retried), or
// no SYN-ACK at all, is a rejected reuse: the kind's warning.
func (c *conn) judgeSYNInTimeWait() {
	for i := range c.anoms {
		a := &c.anoms[i]
		if a.kind != SYNInTimeWait {
			continue
		}
		if c.tw != nil && c.tw.acked && a.side == c.tw.side {
			c.judgeTWReject(a)
			continue
		}
		synack := &c.synSegs[1]
		switch {
		case c.haveSyn[1] && synack.ack == 1 && (c.rareOf().synAgain == 0 || synack.frame < c.rareOf().synAgain):
			a.sev, a.note, a.refFrame = Info, noteAccepted, synack.frame
		case c.rareOf().synAgain != 0:
			a.note, a.refFrame = noteRetried, c.rareOf().synAgain
		default:
			a.note = noteUnanswered
		}
	}
}
