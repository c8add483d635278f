package analyzer

import (
	"math"
	"time"

	"finwave/flow"
)

// A peer that vanished (host down, path broken, state dropped by a
// middlebox) shows on the wire only as silence: the other side sends and
// nothing comes back. The sender's kernel then retransmits with backoff
// until a timer gives up (tcp_write_timeout: tcp_retries2, tcp_syn_retries,
// tcp_synack_retries, tcp_orphan_retries), or probes an idle connection
// until the keepalive timer resets it (tcp_keepalive_timer). This file
// follows, per endpoint, what it sent since the peer last spoke, and judges
// the run against the flow's own timing: the gaps between retransmissions
// (the RTO and its doubling), never fixed constants.

// maxRunFrames bounds the evidence frames a run keeps (the first ones).
const maxRunFrames = 8

// minRetries is how many retransmissions of the same data, with growing
// gaps, make a run evidence of a silent peer: one can be a loss, two with
// backoff (the second gap at least 1.5 times the first) are the sender's
// RTO doubling with nothing coming back.
const minRetries = 2

// quiet is an endpoint's run of segments since its peer last spoke (a
// flow keeps at most one, conn.run: the latest sender's, lent by spares).
type quiet struct {
	// The run's frames: the first (the original transmission), then the
	// others as offsets from it (a run spans far fewer than 2^32 frames;
	// an offset that does not fit ends the evidence).
	first0 int64
	more   [maxRunFrames - 1]uint32
	nfr    uint8
	retx   uint8 // retransmissions in the run (capped at 255)
	probes uint8 // keep-alive probes in the run
	ctl    runCtl

	first, last      nanos // the run's first and latest segment
	prevGap, lastGap time.Duration
}

// runCtl is what a retransmission run resends.
type runCtl uint8

const (
	runData runCtl = iota
	runFIN
	runSYN
	runSYNACK
)

// reset empties the run to start another; the frames array is left as it
// is (nfr says how much of it counts).
func (q *quiet) reset() {
	q.nfr, q.retx, q.probes, q.ctl = 0, 0, 0, runData
	q.prevGap, q.lastGap = 0, 0
}

func (q *quiet) addFrame(f int64) {
	switch d := f - q.first0; {
	case q.nfr == 0:
		q.first0 = f
	case int(q.nfr) >= maxRunFrames || d <= 0 || d > math.MaxUint32:
		return
	default:
		q.more[q.nfr-1] = uint32(d)
	}
	q.nfr++
}

// frame returns the run's i-th frame.
func (q *quiet) frame(i int) int64 {
	if i == 0 {
		return q.first0
	}
	return q.first0 + int64(q.more[i-1])
}

// runOf returns side s's run, nil when it is empty: s did not send the
// flow's latest segment (conn.step ended its run), or sent nothing
// occupying sequence space since its peer last spoke.
func (c *conn) runOf(s Side) *quiet {
	if c.runSide != s {
		return nil
	}
	return c.run
}

// endRun gives the flow's run back to the spares: its side's peer spoke.
func (c *conn) endRun() {
	if c.spare != nil {
		give(&c.spare.runs, c.run)
	}
	c.run = nil
}

// probes returns the keep-alive probes in side s's run.
func (c *conn) probes(s Side) uint8 {
	if q := c.runOf(s); q != nil {
		return q.probes
	}
	return 0
}

// evidence appends the run's frames to a's evidence.
func (q *quiet) evidence(a *anomaly) {
	for i := range int(q.nfr) {
		a.addFrame(q.frame(i))
	}
}

// backoff reports whether the run's retransmissions show the sender's
// timer backing off with nothing coming back: at least minRetries, the
// latest gap at least 1.5 times the one before (RTO doubling, RFC 6298
// §5.5). A SYN's gaps may also stay level: Linux retransmits it at a fixed
// second for the first tcp_syn_linear_timeouts (4) tries (6.18), never
// faster than TCP_TIMEOUT_INIT, so level gaps of a second or more are its
// timer too.
func (q *quiet) backoff() bool {
	if q.retx < minRetries || q.prevGap <= 0 {
		return false
	}
	if q.ctl == runSYN && q.prevGap >= synLinearGap && q.lastGap*10 >= q.prevGap*9 {
		return true
	}
	return q.lastGap*2 >= q.prevGap*3
}

// synLinearGap is the shortest gap between a SYN and its retransmission
// that reads as the kernel's SYN timer (TCP_TIMEOUT_INIT is 1 s), with
// room for capture timestamps.
const synLinearGap = 900 * time.Millisecond

// extendRun folds a segment e sent into its run, the flow's (conn.step gave
// it to e). snd is e's half before seg. Only segments occupying sequence
// space count: a retransmission (it ends at or before what e had sent)
// extends the run, new data starts one when none is open, a keep-alive
// probe counts apart.
func (c *conn) extendRun(e *endpoint, seg *flow.Segment, t nanos, snd *flow.Half, probe bool) {
	if !probe && seg.Len == 0 && seg.Flags&(flow.SYN|flow.FIN) == 0 {
		return // a pure ACK: occupies nothing (most segments)
	}
	q := c.run
	if q == nil {
		// Every path below adds seg's frame: a run lent is never empty.
		q = take(c.spare, freeRuns)
		*q = quiet{}
		c.run = q
	}
	if probe {
		if q.probes == 0 && q.retx == 0 {
			q.reset()
			q.first = t
		}
		if q.probes < 255 {
			q.probes++
		}
		q.addFrame(seg.Frame)
		q.last = t
		return
	}
	f := seg.Flags
	ctl := runData
	switch {
	case f&flow.SYN != 0 && f&flow.ACK != 0:
		ctl = runSYNACK
	case f&flow.SYN != 0:
		ctl = runSYN
	case f&flow.FIN != 0:
		ctl = runFIN
	}
	retx := snd.Seen && seg.End().LessEq(snd.NextSeq)
	if !retx {
		if q.nfr == 0 || q.probes > 0 {
			q.reset()
			q.first = t
			q.ctl = ctl
			q.addFrame(seg.Frame)
		} else if ctl == runFIN {
			q.ctl = runFIN // data then FIN, both unanswered
		}
		q.last = t
		return
	}
	if q.nfr == 0 || q.probes > 0 {
		// The original transmission was before the peer last spoke (or
		// not captured): the run starts at this retransmission.
		q.reset()
		q.first = t
		q.ctl = ctl
		q.addFrame(seg.Frame)
		q.last = t
		return
	}
	gap := time.Duration(t - q.last)
	q.prevGap, q.lastGap = q.lastGap, gap
	if q.retx < 255 {
		q.retx++
	}
	if ctl == runFIN || ctl > q.ctl {
		q.ctl = ctl
	}
	q.addFrame(seg.Frame)
	q.last = t
}

// silentRun is a run judged at the end of the analysis: the peer was
// silent while e retransmitted with backoff.
type silentRun struct {
	gaveUp bool          // e stopped well before the capture did: its timer gave up
	span   time.Duration // from the run's first segment to its last
}

// judge decides, at capture time now, whether q, e's run, shows a silent
// peer, and whether e gave up. e gave up when nothing came from it for
// well over the next retransmission's due time (twice the last gap, with
// slack: 2.5 times) before now. A run ended by e's RST is not judged here:
// a RST is an abort, and the RST rules say why.
func (e *endpoint) judge(q *quiet, now time.Time) (silentRun, bool) {
	if q.probes > 0 || !q.backoff() {
		return silentRun{}, false
	}
	if e.rstFrame > q.frame(0) {
		return silentRun{}, false // ended by a RST: the RST rules say why
	}
	r := silentRun{span: time.Duration(q.last - q.first)}
	r.gaveUp = now.Sub(q.last.time())*2 > q.lastGap*5
	return r, true
}

// silence judges, at the end of the analysis (capture time now), each
// side's run of unanswered segments. A run with backoff names its ending
// (syn-timeout, synack-timeout, orphan-timeout, retransmission-timeout);
// its peer is then silent: what it was sent from the run's start on is not
// known to have arrived (its pending changes are taken back: a vanished
// peer did not move to CLOSE_WAIT on a FIN it never answered), and its end
// state is reported as silent since its last segment.
//
// Only the side that sent the latest segment can have a run (runOf).
func (c *conn) silence(cfg *Config, now time.Time) {
	if c.run != nil {
		c.judgeRun(cfg, now, &c.ep[c.runSide], c.run)
	}
}

// judgeRun is silence for q, e's run.
func (c *conn) judgeRun(cfg *Config, now time.Time, e *endpoint, q *quiet) {
	if q.probes >= minRetries && e.rstFrame < q.frame(0) {
		// Keep-alive probes unanswered at the end: the peer is gone or
		// unreachable, the prober's timer has not given up yet.
		p := c.peerOf(e.side)
		c.revert(p, q.frame(0), lost)
		p.silent, c.halfOpen = true, true
		return
	}
	r, ok := e.judge(q, now)
	if !ok {
		return
	}
	p := c.peerOf(e.side)
	var k Kind
	switch {
	case q.ctl == runSYN && !c.estab:
		k = SYNTimeout
	case q.ctl == runSYNACK && e.state == SynReceived:
		// The handshake never completed: nothing came back after the
		// SYN-ACK, so the client's ESTABLISHED was never proven.
		k = SYNACKTimeout
		c.estab = false
	case q.ctl == runFIN && r.gaveUp:
		k = OrphanTimeout
	case q.ctl == runSYN || q.ctl == runSYNACK:
		return // a handshake retransmitted after it completed: not a silent peer
	default:
		k = RetransmissionTimeout
	}
	a := c.addAnomaly(k, e.side)
	q.evidence(a)
	first := q.frame(0)
	a.dur = r.span
	a.refFrame = p.lastFrame
	if q.ctl == runFIN {
		a.note = noteFIN
	}
	a.note2 = noteOngoing
	c.revert(p, first, lost)
	p.silent = true
	if !r.gaveUp {
		c.halfOpen = true
		return
	}
	a.note2 = noteGaveUp
	c.timedOut = true
	// The timer fired when the next retransmission was due: about
	// twice the last gap after it (never after the end).
	at := q.last.time().Add(2 * q.lastGap)
	if at.After(now) {
		at = now
	}
	switch k {
	case RetransmissionTimeout:
		a.ctrs = ctrsAbortOnTimeout // tcp_write_timeout → tcp_write_err
		c.setState(cfg, e, Closed, 0, at, false, ruleRetransGaveUp)
	case OrphanTimeout:
		c.setState(cfg, e, Closed, 0, at, false, ruleOrphanGaveUp)
	case SYNTimeout:
		a.ctrs = ctrsSynGaveUp
		c.setState(cfg, e, Closed, 0, at, false, ruleSynGaveUp)
	case SYNACKTimeout:
		a.ctrs = ctrsSynackRetrans
		c.setState(cfg, e, Closed, 0, at, false, ruleSynAckGaveUp)
		if p.state == SynSent {
			// A client alive in SYN_SENT would have sent its SYN again
			// while the SYN-ACKs went unanswered: its socket is gone.
			c.setState(cfg, p, Closed, 0, q.last.time(), false, ruleConnectGone)
		}
	}
	e.npend = 0
}

// Counter lists of the timeouts (see kinds).
var (
	synGaveUp     = []string{"TcpRetransSegs", "TcpExtTCPSynRetrans", "TcpExtTCPAbortOnTimeout", "TcpAttemptFails"}
	synackRetrans = []string{"TcpRetransSegs", "TcpExtTCPSynRetrans"}
)

// timing folds a segment e sent into the round-trip estimate: e's segment
// occupying new sequence space starts a wait for the peer's ACK; a segment
// of e acknowledging the peer's awaited one ends the peer's wait.
func (c *conn) timing(seg *flow.Segment, t nanos, e, p *endpoint) {
	if seg.Flags&flow.ACK != 0 && p.await != 0 && p.awaitEnd.LessEq(seg.Ack) {
		if d := time.Duration(t - p.await); d >= 0 && (p.ackDelay == 0 || d < p.ackDelay) {
			p.ackDelay = d
		}
		p.await = 0
	}
	if e.await == 0 && seg.Flags&flow.RST == 0 && (seg.Len > 0 || seg.Flags&(flow.SYN|flow.FIN) != 0) {
		e.await, e.awaitEnd = t, seg.End()
	}
}

// rtt is the flow's round-trip time as the capture shows it: the shortest
// time each side's segment took to be acknowledged, summed over both
// sides (at either end of the path one share is the whole round trip and
// the other about nothing; in the middle they add up). 0 when no segment
// was acknowledged.
func (c *conn) rtt() time.Duration {
	return c.ep[Client].ackDelay + c.ep[Server].ackDelay
}
