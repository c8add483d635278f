package analyzer

import (
	"math"
	"time"

	"finwave/flow"
	"finwave/internal/zeek"
)

// maxChanges bounds the state changes recorded per flow (a RST storm or a
// FIN retransmission loop must not grow memory without limit).
const maxChanges = 96

// maxFrames bounds the evidence frames kept per anomaly.
const maxFrames = 16

// change is a Change as the machines record it: no time (a change caused
// by a frame happens at that frame's time, finish takes it from the
// segment; a timer's change, Frame 0, is never shown) and half the size.
type change struct {
	frame     int64 // retracted: dropped (a late crossing FIN)
	confirmed int64
	prevSince nanos // when from had been entered: restored if the change is undone
	rule      rule  // the rule that made it: Change.Reason's words
	side      Side
	from, to  State
	tentative bool
	undone    bool
}

// pending is a receiver-side change not yet confirmed by the receiver.
// 16 octets: an endpoint keeps maxPend, the first inlinePend of them in
// itself (endpoint.pend). When from was entered is kept in the change
// record (change.prevSince), restored with from on undo.
type pending struct {
	frame int64    // the frame that caused it
	end   flow.Seq // for pendData: confirmed by an ACK at or beyond end
	idx   int16    // index into conn.changes, -1 when not recorded (cap)
	from  State    // state before the change, restored on undo
	cause pendKind // what confirms or contradicts it
}

// nanos is a time.Time in 8 octets: nanoseconds since the Unix epoch, with
// noTime for the zero Time (an endpoint not yet seen). Capture times are
// made by time.Unix, so toTime(toNanos(t)) == t, location included.
type nanos int64

const noTime nanos = math.MinInt64

func toNanos(t time.Time) nanos {
	if t.IsZero() {
		return noTime
	}
	return nanos(t.UnixNano())
}

func (n nanos) time() time.Time {
	if n == noTime {
		return time.Time{}
	}
	return time.Unix(0, int64(n))
}

type pendKind uint8

const (
	pendData   pendKind = iota // caused by a peer segment occupying sequence space (FIN, SYN)
	pendFINACK                 // caused by the peer acknowledging our FIN
	pendRST                    // caused by an accepted peer RST
	pendSYNACK                 // caused by the peer acknowledging our SYN
)

// endpoint is one side's close machine and what the capture showed of it.
//
// Fields are grouped by size (8-octet, then 4-, 2- and 1-octet ones) so
// that the struct has no padding but its last octet: a conn holds two,
// and ~35,000 conns are alive at once in a busy capture. What few flows
// need is in rareEP (conn.rare).
type endpoint struct {
	since nanos // when state was entered (TIME_WAIT: last restart); noTime before any

	// pend: our pending changes, oldest first, npend of them (at most
	// maxPend), here or, once a side of the flow had more than
	// inlinePend at once, in the flow's spill (conn.pendBuf).
	pend [inlinePend]pending

	finFrame int64
	finTime  nanos
	// idleBeforeFIN: how long the flow had been quiet (no segment either
	// way) when our first FIN left; an idle timeout closes after a gap.
	idleBeforeFIN time.Duration
	// await is our oldest segment occupying sequence space that the peer
	// has not acknowledged yet (its time and end, awaitEnd), ackDelay the
	// shortest time the peer took to acknowledge one: the round trip seen
	// from the capture point, one side's share (conn.rtt adds both).
	await    nanos
	ackDelay time.Duration
	// finAckFrame is the first peer segment seen acknowledging our FIN.
	finAckFrame int64
	finAckTime  nanos
	// peerFinAckFrame is our first segment acknowledging the peer's FIN.
	peerFinAckFrame int64

	// lastFrame and lastTime: our latest segment (silence is measured
	// from it).
	lastFrame int64
	lastTime  nanos

	rstFrame   int64 // first RST we sent
	closeFrame int64 // first FIN or RST we sent: when we ended our side
	closeAt    nanos // when closeFrame was sent

	lastPayloadFrame int64
	lastDataAt       nanos // when lastPayloadFrame was sent
	// lastTurnFrame is the first frame of our latest run of payload (a
	// turn in the conversation); used to tell unread data from a linger-0
	// abort.
	lastTurnFrame int64

	awaitEnd flow.Seq
	// ackMax: the highest ACK this side sent since its latest SYN (set
	// with ackSet): a lower bound of the peer's snd_una in this
	// incarnation of the 4-tuple (blind.go).
	ackMax flow.Seq
	isn    flow.Seq
	finSeq flow.Seq // sequence number the FIN occupies

	// nstat evidence (counters.go): RSTs we sent, and of them those our
	// kernel may not have sent (blind, unprovoked); peer segments a
	// socketless us has not answered with a RST yet (the challenge ACKs
	// are in rareEP).
	rsts, doubtRsts uint16
	owed            uint8
	keepAlives      uint8 // keep-alive probes labelled (saturating: only < 2 matters)
	synSent         bool  // we sent a SYN without ACK: connect() (TcpActiveOpens)

	// fp: what our own segments look like (fingerprint.go).
	fp fingerprint

	side  Side
	state State
	npend uint8 // ≤ maxPend

	// silent: we stopped answering the peer (it retransmitted or probed
	// in vain): our end state is unknown, probably what it was.
	silent  bool
	ackSet  bool // ackMax is set
	isnSet  bool
	finSent bool
	// peerFinRetrans is set when the peer retransmitted its FIN after our
	// ACK of it, so our next ACK of it is a re-ACK.
	peerFinRetrans bool
	// orphan evidence: data toward us after our FIN that we acknowledged
	// means shutdown(SHUT_WR), not close() (half-close).
	ackedDataAfterFIN bool
	// fw2Timeout: our FIN_WAIT_2 ended by tcp_fin_timeout (timer).
	fw2Timeout     bool
	sentPayload    bool
	dataAfterClose bool // first data-after-close already labelled
}

// lastSeg is the identity of the last segment one side sent, to recognise
// the same packet captured twice (tcpdump -i any sees a packet on every
// interface it crosses: veth, bridge, uplink).
type lastSeg struct {
	t            nanos
	seq, ack     flow.Seq
	n            uint32
	tsval, tsecr uint32
	win          uint16
	flags        flow.Flags
	hasTS        bool
	tunnel       flow.TunnelType
	set          bool
}

// dupWindow is how close in time two identical segments must be to count
// as one packet captured twice. Linux never retransmits that fast (the
// minimum RTO is 200 ms, a tail loss probe takes at least 10 ms).
const dupWindow = 500 * time.Microsecond

// duplicate reports whether seg repeats the last segment of its side within
// dupWindow, and remembers seg otherwise. copies is the flow's evidence
// that its capture holds copies, set here.
//
// Every header field the decoder gives is compared (seq, ack, flags,
// window, length, both timestamps), but that is not enough for a segment
// occupying no sequence space: a kernel answers two segments with two
// byte-identical RSTs (tcp_v4_send_reset: seq = their ack, no timestamps,
// IP ID 0) or two identical pure ACKs (duplicate ACKs differ only in SACK
// blocks), microseconds apart, on a single interface (tcpdump -i lo). A
// SYN, FIN or payload sent again within dupWindow is a copy (no
// retransmission is that fast), and so is a segment seen once inside a
// tunnel and once outside (a capture of the underlay and the overlay): a
// zero-length segment is taken for a copy only in a flow whose capture
// showed copies that way.
func (l *lastSeg) duplicate(seg *flow.Segment, copies *bool) bool {
	now := toNanos(seg.Time)
	d := time.Duration(now - l.t)
	if l.set && l.seq == seg.Seq && l.ack == seg.Ack && l.flags == seg.Flags && l.win == seg.Window &&
		l.n == seg.Len && l.hasTS == seg.HasTS && l.tsval == seg.TSVal && l.tsecr == seg.TSEcr &&
		d > -dupWindow && d < dupWindow {
		if seg.SeqLen() > 0 || l.tunnel != seg.Tunnel.Type {
			*copies = true
			return true
		}
		if *copies {
			return true
		}
	}
	*l = lastSeg{seq: seg.Seq, ack: seg.Ack, flags: seg.Flags, win: seg.Window, n: seg.Len,
		tsval: seg.TSVal, tsecr: seg.TSEcr, hasTS: seg.HasTS, tunnel: seg.Tunnel.Type, t: now, set: true}
	return false
}

// synSeg is a first SYN (or SYN-ACK) kept aside: a LabelledSegment with
// its label implied (SYNLabel, SYNACKLabel), relative seq 0 and no
// explanation, at half the size.
type synSeg struct {
	t     nanos
	frame int64
	ack   uint32
	n     uint32
	flags flow.Flags
	from  Side
}

// labelled is a LabelledSegment as a flow records it: its time in
// nanoseconds, its explanation as the rule that gives it (rule.explain)
// and no Changes (finish attaches them). 32 octets and no pointer, where
// a LabelledSegment is 96 with three for the garbage collector to follow:
// a flow holds its labelled segments until it finishes, two seconds and
// more after its last one.
type labelled struct {
	frame       int64
	t           nanos
	seq, ack, n uint32
	from        Side
	flags       flow.Flags
	label       Label
	why         rule
}

// segment returns l as a LabelledSegment under profile p.
func (l *labelled) segment(p *Profile) LabelledSegment {
	return LabelledSegment{Frame: l.frame, Time: l.t.time(), From: l.from, Flags: l.flags,
		Seq: l.seq, Ack: l.ack, Len: l.n, Label: l.label, Explain: l.why.explain(p)}
}

// conn is the analyzer's state for one flow, hung on flow.Conn.Data. What
// the flow.Conn holds (the stream id, the endpoints) it does not copy.
type conn struct {
	// The pointers first, together: the garbage collector scans a conn
	// only up to its last pointer word (its type's ptrdata), here a few
	// dozen octets of the 1,128 (TestConnSize: the 1,152 class).
	changes []change
	segs    []labelled
	anoms   []anomaly
	// tunnelBuf holds the encapsulation of the flow's first tunnelled
	// segment once tunnelled is set; kept across reuse so a tunnelled
	// flow allocates it once per conn, a plain one never.
	tunnelBuf *flow.Tunnel
	// zc: the Zeek connections of the flow once Zeek split it, nil
	// before (zeekconns.go), lent by spares. zports (below):
	// the ports of A and B, for zeek.Conn.SetPorts.
	zc *zeekConns
	// tw is a reuse of the 4-tuple while the peer's old connection was in
	// TIME_WAIT (twreject.go), nil for any other flow; lent by spares.
	tw *twReuse
	// rsts: each side's latest own RST that a later segment may prove
	// forged, nil until the flow's first (spares.go); spare: where the
	// analyzer keeps the idle ones (nil in tests: allocate).
	rsts *rstPair
	// pends: both sides' pending changes once one had more than
	// inlinePend at once (conn.pendBuf), nil before; lent by spares.
	pends *pendSpill
	// rare: what few flows need (challenge ACKs, a half-close's data, a
	// SYN sent again...), nil until the flow's first (rareFor); lent by
	// spares.
	rare *rareState
	// run: what side runSide sent since its peer last spoke (silence.go),
	// nil while that is nothing occupying sequence space (an empty run);
	// lent by spares. One run per flow, not one per endpoint: whatever a
	// side sends ends its peer's run (conn.step), so only the sender of
	// the latest segment can have one open (runOf).
	run   *quiet
	spare *spares

	last [2]lastSeg // indexed by Side
	ep   [2]endpoint

	synSegs  [2]synSeg // first SYN and first SYN-ACK, kept aside
	sent     [2]DirStats
	zeek     zeek.Conn
	firstRST int64

	firstFrame, lastFrame int64
	firstAt, lastAt       nanos         // the times of firstFrame and lastFrame
	gap                   time.Duration // since the flow's previous segment
	// idleGap is the flow's latest quiet time of at least idleNoteMin,
	// ended at idleEnd (a middlebox's idle timeout, fingerprint.go).
	idleGap   time.Duration
	idleEnd   nanos
	reuseIdle time.Duration // Teardown.ReuseIdle
	vant      vantageObs    // vantage.go
	// csum: checksums and offload traces per sending side (checksum.go);
	// dropped (below): the segment being stepped had a bad checksum, the
	// receiver never took it.
	csum [2]csumDir

	// The fields of 4 octets and less, together: no padding between them.
	zports    [2]uint16
	sideOf    [2]Side // sideOf[dir]: the side that sends segments of dir
	haveSyn   [2]bool
	roles     Roles
	firstFIN  Side
	rstSide   Side
	runSide   Side // whose run is run
	copies    bool // the capture showed a copy of one of the flow's segments (lastSeg.duplicate)
	continued bool // continues a stream already reported (flow.Conn.Resumed)
	tunnelled bool // a segment was tunnelled: tunnelBuf holds its encapsulation
	keepAll   bool // keep every segment (Config.KeepEvery)
	synRetx   bool // a SYN or SYN-ACK sent again was recorded: show the first ones too
	anyFIN    bool
	simul     bool // both FINs were wave-1
	timedOut  bool // a side's timer gave up on a silent peer (no RST)
	halfOpen  bool // a side was still trying a silent peer at the end
	threeWay  bool // a wave-2+3 was seen
	estab     bool // a handshake completed or the flow started mid-stream
	done      bool
	revived   bool // a side taken for reset spoke again (sentAfterRST): the flow is not done
	dropped   bool
}

// anomaly is an anomaly being collected; its detail is written at finish.
//
// 64 octets, the fields grouped by size (TestAnomalySize): a flow keeps
// its anomalies until it finishes. What only rst-forged needs is in the
// flow's rareEP (forged).
type anomaly struct {
	frames []int64
	// facts for the detail paragraph
	refFrame int64         // a related frame (the lost ACK, the FIN, ...)
	dur      time.Duration // a related duration
	// dur2 is a second duration, the kind's: syn-in-time-wait from the
	// SYN to the SYN-ACK, close-wait-stuck (note2 noteRTT) the flow's
	// round trip.
	dur2  time.Duration
	dsack int64 // the peer's ACK whose D-SACK covers our FIN (dsack.go)
	kind  Kind
	side  Side
	sev   Severity
	note  note       // a fixed qualifier chosen by the rule
	note2 note       // a second one (retransmission-timeout: gave-up)
	ctrs  counterSet // nstat counters certain for the cause (the kind's by default)
}

// note is a fixed qualifier a rule gives its anomaly, for the detail
// writers and the verdict to read (anomaly.note, note2); noteNone is no
// qualifier. Notes are only compared, never printed.
type note uint8

const (
	noteNone note = iota
	noteIP
	noteTCP
	noteLikely
	noteClose
	noteAccepted
	noteRetried
	noteUnanswered
	noteReuse
	noteHalfClose
	noteAfterReply
	noteMinisock
	noteStill
	noteTimeWait
	noteChallenge
	noteOutside
	noteOrphanACK
	noteFIN
	noteRejected
	noteOngoing
	noteRTT
	noteGaveUp
	noteFailed
	noteConnected
	noteFailedKilled
	noteConnectedKilled
	numNotes
)

// counterSet names the nstat counters an anomaly's cause certainly
// increments (Anomaly.Counters): its kind's (kindRecord.counters), or a
// set its detector chose for the case it found, one of counterSets.
type counterSet uint8

const (
	ctrsOfKind counterSet = iota // kinds[a.kind].counters
	ctrsOutRsts
	ctrsAbortOnData
	ctrsAbortOnTimeout
	ctrsIPCsum
	ctrsSynGaveUp
	ctrsSynackRetrans
	numCounterSets
)

// counterSets are the detectors' counter sets, indexed by counterSet
// (ctrsOfKind's is the kind's: counters).
var counterSets = [numCounterSets][]string{
	ctrsOutRsts:        outRsts,
	ctrsAbortOnData:    abortOnData,
	ctrsAbortOnTimeout: abortOnTimeout,
	ctrsIPCsum:         ipCsumErrors,
	ctrsSynGaveUp:      synGaveUp,
	ctrsSynackRetrans:  synackRetrans,
}

// counters returns the nstat counters certain for a's cause: a static
// list, shared (the caller must not modify it).
func (a *anomaly) counters() []string {
	if a.ctrs == ctrsOfKind || a.ctrs >= numCounterSets {
		return kinds[a.kind].counters
	}
	return counterSets[a.ctrs]
}

func (c *conn) peerOf(s Side) *endpoint { return &c.ep[s.Peer()] }

// endpoints returns the flow's client and server, fc being the flow: A
// sends the segments of DirAB (flow.Conn), sideOf says whose they are. The
// conn does not keep them (64 octets): the flow table does.
func (c *conn) endpoints(fc *flow.Conn) (client, server flow.Endpoint) {
	if c.sideOf[flow.DirAB] == Client {
		return fc.A, fc.B
	}
	return fc.B, fc.A
}

// enter puts e in state s, entered at since. It is the only writer of
// e.state and e.since: conn.setState calls it for a change it records,
// revert to restore the state (and its start) a withdrawn change left.
func (e *endpoint) enter(s State, since nanos) { e.state, e.since = s, since }

// addAnomaly records evidence for (kind, side), merging frames into an
// existing anomaly of the same kind and side. The anomaly has the kind's
// severity (kinds); a detector may raise it.
func (c *conn) addAnomaly(k Kind, s Side, frames ...int64) *anomaly {
	sev := kinds[k].severity
	for i := range c.anoms {
		a := &c.anoms[i]
		if a.kind == k && a.side == s {
			for _, f := range frames {
				a.addFrame(f)
			}
			if sev > a.sev {
				a.sev = sev
			}
			return a
		}
	}
	// Reuse the slot's frames array, kept from an earlier flow (finish
	// copies the frames into the Teardown).
	var kept []int64
	if n := len(c.anoms); n < cap(c.anoms) {
		kept = c.anoms[:n+1][n].frames[:0]
	}
	c.anoms = append(c.anoms, anomaly{kind: k, side: s, sev: sev, frames: kept})
	a := &c.anoms[len(c.anoms)-1]
	for _, f := range frames {
		a.addFrame(f)
	}
	return a
}

func (c *conn) findAnomaly(k Kind, s Side) *anomaly {
	for i := range c.anoms {
		if c.anoms[i].kind == k && c.anoms[i].side == s {
			return &c.anoms[i]
		}
	}
	return nil
}

func (a *anomaly) addFrame(f int64) {
	if f <= 0 {
		return
	}
	for _, g := range a.frames {
		if g == f {
			return
		}
	}
	if len(a.frames) < maxFrames {
		a.frames = append(a.frames, f)
	}
}
