package zeek

import "finwave/flow"

// This file reproduces, per flow, the conn.log fields conn_state and history
// exactly as Zeek computes them. It is a transcription of Zeek's code, not of
// its prose documentation, from these files of github.com/zeek/zeek:
//
//   - src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc: Process,
//     init_endpoint, get_relative_seq, update_history, update_window,
//     init_peer, update_ack_seq, update_last_seq, UpdateStateMachine and the
//     Update*State functions, ConnectionClosed, IsReuse, FlipRoles.
//   - src/packet_analysis/protocol/tcp/TCP.cc: WantConnection (who is the
//     originator of a new connection, the likely_server_ports flip).
//   - src/analyzer/protocol/tcp/TCP_Endpoint.{h,cc}: SetState, Size,
//     NoDataAcked, UpdateLastSeq/UpdateAckSeq (wrap counting), CheckHistory,
//     AddHistory, DidRxmit, ZeroWindow, the HistoryMasks.
//   - src/Conn.cc and src/session/Session.h: CheckHistory (a letter is added
//     the first time its mask bit is seen), ScaledHistoryEntry (letters
//     logged again at 10, 100, ... occurrences), FlipRoles (appends '^' and
//     does NOT rewrite earlier letters or the seen-mask).
//   - scripts/base/protocols/conn/main.zeek: function conn_state.
//
// What is not modelled (History is then possibly inexact, see HistoryExact):
// 'C' (bad checksum: Zeek drops such packets before the TCP analyzer; the
// caller must not Observe them if it wants Zeek's view), 'G' (content gaps,
// reported by Zeek's reassembler), and Zeek's timers: a connection attempt
// is expired after tcp_attempt_delay (5 s) and a closed connection removed
// after tcp_close_delay (5 s); later packets of the same 4-tuple start a new
// Zeek connection. Reuse reports the SYN-triggered case.

// Endpoint states of Zeek's TCP analyzer (TCP_Endpoint.h, enum EndpointState).
// The script layer names them TCP_INACTIVE, TCP_SYN_SENT, ...
const (
	stInactive uint8 = iota
	stSynSent
	stSynAckSent
	stPartial
	stEstablished
	stClosed
	stReset
)

// tooLargeSeqDelta is TOO_LARGE_SEQ_DELTA of TCPSessionAdapter.cc.
const tooLargeSeqDelta = 1048576

// History mask bits (TCP_Endpoint::HistoryMasks); the responder's bits are
// shifted left by 16 (TCP_Endpoint::CheckHistory).
const (
	histSYN    uint32 = 0x1
	histFIN    uint32 = 0x2
	histRST    uint32 = 0x4
	histFINRST uint32 = 0x8
	histData   uint32 = 0x10
	histACK    uint32 = 0x20
	histMulti  uint32 = 0x40
)

// historyCap bounds the stored history. Letters past it are counted in
// Conn.lost and make History return "" rather than a wrong string.
const historyCap = 48

// endpoint is Zeek's TCP_Endpoint reduced to what conn_state and history
// depend on. Fields are grouped by size: 64 octets, no padding.
type endpoint struct {
	histLastSYN uint64
	histLastFIN uint64
	histLastRST uint64
	// startSeq is start_seq, an int64 in Zeek, but only ever set from
	// uint32 values (initSeqs' callers): a uint32 holds it exactly.
	startSeq           uint32
	lastSeq, ackSeq    uint32
	seqWraps, ackWraps uint32
	// rxmtCnt and win0Cnt count toward the next scaled history entry of
	// 'T' and 'W', at scaleThr[rxmtThr] and scaleThr[win0Thr] (scaled).
	rxmtCnt, win0Cnt uint32
	rxmtThr, win0Thr uint8
	state, prevState uint8
	isOrig           bool
	sawFIN           bool // FIN_cnt > 0
	didClose         bool
}

// Conn follows one connection the way Zeek's TCP analyzer does. The zero
// value is ready to use. It holds no pointers and never allocates while
// observing segments.
//
// Fields are grouped by size: 192 octets, no padding (it is part of the
// analyzer's per-flow state).
type Conn struct {
	ep           [2]endpoint // [0] is A (first sender), [1] is B
	histSeen     uint32
	aPort, bPort uint16
	lost         uint16 // history letters dropped for lack of room
	hist         [historyCap]byte
	nhist        uint8
	started      bool
	flipped      bool // Zeek's originator is B

	portsSet         bool
	aLikely, bLikely bool // likely_server_ports membership
}

// SetPorts gives the ports of A (the first sender) and B, and whether each is
// in Zeek's likely_server_ports. Call it before the first Observe; without
// it no port-based flip happens. Zeek uses these only when the first packet
// is not a pure SYN (TCPAnalyzer::WantConnection in TCP.cc): the roles are
// flipped when the source port is a likely server port and the destination
// is not, or when both are, the packet has no SYN and src port < dst port.
// likely_server_ports depends on the scripts Zeek loads (every protocol
// analyzer adds its well-known ports), so the caller decides membership.
func (z *Conn) SetPorts(aPort, bPort uint16, aLikely, bLikely bool) {
	z.portsSet = true
	z.aPort, z.bPort = aPort, bPort
	z.aLikely, z.bLikely = aLikely, bLikely
}

// OrigIsA reports whether Zeek's originator is the first sender A (after any
// flip: the port heuristic on the first packet or a SYN-ACK seen before its
// SYN).
func (z *Conn) OrigIsA() bool { return !z.flipped }

// Observe feeds one segment sent by A (fromA) or B. payloadLen is the TCP
// payload length from the IP header, as flow.Segment.Len. The advertised
// window is taken as non-zero; use ObserveSegment to have zero windows
// ('W') recorded.
func (z *Conn) Observe(fromA bool, flags flow.Flags, payloadLen uint32, seq, ack flow.Seq) {
	z.observe(fromA, flags, payloadLen, uint32(seq), uint32(ack), 1)
}

// ObserveSegment is Observe taking the fields from s, including its window.
func (z *Conn) ObserveSegment(fromA bool, s *flow.Segment) {
	z.observe(fromA, s.Flags, s.Len, uint32(s.Seq), uint32(s.Ack), s.Window)
}

// Reuse reports whether Zeek would treat a segment with these flags and
// sequence number, arriving now, as the start of a new connection on the
// same 4-tuple (TCPSessionAdapter::IsReuse): only SYNs (and SYN-ACKs on a
// connection whose originator never spoke) qualify. The caller should then
// finish this Conn and Observe the segment into a fresh one.
func (z *Conn) Reuse(fromA bool, flags flow.Flags, seq flow.Seq) bool {
	if !z.started || flags&flow.SYN == 0 {
		return false
	}
	orig, resp := z.origResp()
	connOrig := orig
	if flags&flow.ACK != 0 {
		if orig.state != stInactive {
			return false // not a half connection
		}
		connOrig = resp
	}
	if !orig.didClose && !resp.didClose { // ! IsClosed()
		base := uint32(seq)
		if base == connOrig.startSeq {
			return false
		}
		if flags&flow.ACK == 0 && connOrig.state == stSynAckSent &&
			resp.state == stInactive && base == resp.startSeq {
			return false // SYN and SYN-ACK seen in swapped order
		}
	}
	return true
}

func (z *Conn) origResp() (orig, resp *endpoint) {
	if z.flipped {
		return &z.ep[1], &z.ep[0]
	}
	return &z.ep[0], &z.ep[1]
}

func (z *Conn) addHistory(c byte) {
	if int(z.nhist) < len(z.hist) {
		z.hist[z.nhist] = c
		z.nhist++
		return
	}
	if z.lost < ^uint16(0) {
		z.lost++
	}
}

// checkHistory is Connection::CheckHistory via TCP_Endpoint::CheckHistory:
// it adds the letter the first time the (side-shifted) mask is seen and
// reports whether it had been seen before.
func (z *Conn) checkHistory(e *endpoint, mask uint32, code byte) bool {
	if !e.isOrig {
		mask <<= 16
		code = lower(code)
	}
	if z.histSeen&mask == 0 {
		z.histSeen |= mask
		z.addHistory(code)
		return false
	}
	return true
}

func (z *Conn) addEndpointHistory(e *endpoint, code byte) {
	if !e.isOrig {
		code = lower(code)
	}
	z.addHistory(code)
}

// scaled is Connection::ScaledHistoryEntry with base 10: the letter is added
// at the 1st, 10th, 100th ... occurrence. The threshold is scaleThr[*thr]:
// the zero value is the constructor's 1.
func (z *Conn) scaled(e *endpoint, code byte, cnt *uint32, thr *uint8) {
	*cnt++
	if t := scaleThr[*thr]; *cnt == t {
		z.addEndpointHistory(e, code)
		if next := t * 10; next <= t {
			*cnt = 0
		} else {
			*thr++ // scaleThr[*thr+1] == next
		}
	}
}

// scaleThr lists the thresholds a uint32 takes in ScaledHistoryEntry: 1,
// then each times 10 (modulo 2^32) while that grows: 10^9 is followed by
// 1410065408, whose tenfold wraps below it, the last one.
var scaleThr = func() (t []uint32) {
	for thr := uint32(1); ; thr *= 10 {
		t = append(t, thr)
		if thr*10 <= thr {
			return t
		}
	}
}()

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// flipRoles is Connection::FlipRoles + TCPSessionAdapter::FlipRoles.
func (z *Conn) flipRoles() {
	z.flipped = !z.flipped
	z.ep[0].isOrig = !z.ep[0].isOrig
	z.ep[1].isOrig = !z.ep[1].isOrig
	z.addHistory('^')
}

func (e *endpoint) setState(s uint8) {
	if s != e.state {
		e.prevState = e.state
		e.state = s
	}
}

func (e *endpoint) initSeqs(start, ack, last uint32) {
	e.startSeq = start
	e.ackSeq = ack
	e.lastSeq = last
}

func (e *endpoint) updateLastSeq(s uint32) {
	if s < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = s
}

func (e *endpoint) updateAckSeq(s uint32) {
	if s < e.ackSeq {
		e.ackWraps++
	}
	e.ackSeq = s
}

func seqDelta(a, b uint32) int32 { return int32(a - b) }

// relSeq is get_relative_seq: cur relative to the endpoint's start, using
// last/wraps to detect wrap-around; underflow when cur precedes the start.
func (e *endpoint) relSeq(cur, last, wraps uint32) (rel uint64, underflow bool) {
	delta := seqDelta(cur, last)
	if delta < 0 {
		if wraps != 0 && cur > last {
			wraps--
		}
	} else if delta > 0 {
		if cur < last {
			wraps++
		}
	}
	if wraps == 0 {
		d := seqDelta(cur, e.startSeq)
		return uint64(int64(d)), d < 0
	}
	return uint64(wraps)<<32 + uint64(cur) - uint64(e.startSeq), false
}

// size is TCP_Endpoint::Size: payload octets sent, from sequence numbers.
func (e *endpoint) size(peer *endpoint) uint64 {
	if e.prevState == stSynSent && e.state == stReset &&
		peer.state == stInactive && !e.noDataAcked() {
		return 0
	}
	last := uint64(e.seqWraps)<<32 + uint64(e.lastSeq)
	ack := uint64(e.ackWraps)<<32 + uint64(e.ackSeq)
	var sz uint64
	if last > ack {
		sz = last - uint64(e.startSeq)
	} else {
		sz = ack - uint64(e.startSeq)
	}
	if sz != 0 {
		sz--
	}
	if e.sawFIN && sz != 0 {
		sz--
	}
	return sz
}

func (e *endpoint) noDataAcked() bool {
	ack := uint64(e.ackWraps)<<32 + uint64(e.ackSeq)
	start := uint64(e.startSeq)
	return ack == start || ack == start+1
}

// observe is TCPSessionAdapter::Process (plus the connection creation in
// TCPAnalyzer::WantConnection for the first packet), restricted to what
// changes endpoint states and history.
func (z *Conn) observe(fromA bool, flags flow.Flags, plen uint32, base, ackSeq uint32, window uint16) {
	if !z.started {
		z.started = true
		z.ep[0].isOrig = true
		syn, ack := flags&flow.SYN != 0, flags&flow.ACK != 0
		if (!syn || ack) && z.portsSet {
			// WantConnection: a partial start; guess the responder
			// by the ports. The first packet's source is A.
			flip := false
			if z.aLikely {
				if z.bLikely {
					flip = !syn && z.aPort < z.bPort
				} else {
					flip = true
				}
			}
			if flip {
				z.flipRoles()
			}
		}
	}

	var e, p *endpoint
	if fromA {
		e, p = &z.ep[0], &z.ep[1]
	} else {
		e, p = &z.ep[1], &z.ep[0]
	}
	isOrig := e.isOrig
	syn, fin, rst, ackf := flags&flow.SYN != 0, flags&flow.FIN != 0, flags&flow.RST != 0, flags&flow.ACK != 0
	length := int64(plen)

	// get_segment_len: SYN and FIN take one octet each; a RST's payload
	// is not part of the stream.
	segLen := uint32(plen)
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= plen
	}
	onePast := base + segLen

	// init_endpoint
	switch e.state {
	case stInactive:
		if syn {
			e.initSeqs(base, base, onePast)
		} else {
			// Partial connection: number as if a SYN had been seen,
			// but do not mark the first packet a duplicate.
			e.initSeqs(base-1, base-1, base)
		}
	case stSynSent, stSynAckSent:
		if syn && base != e.startSeq {
			e.initSeqs(base, base, onePast)
		}
	case stEstablished, stPartial:
		if syn {
			e.initSeqs(base, base, onePast)
		}
	case stReset:
		if syn && e.prevState == stInactive {
			e.initSeqs(base, base, onePast)
		}
	}

	rel, _ := e.relSeq(base, e.lastSeq, e.seqWraps)
	z.updateHistory(e, syn, fin, rst, ackf, rel, length)

	// update_window: only the zero-window history entry matters here.
	if window == 0 && !rst && p.state != stClosed && e.state != stReset {
		z.scaled(e, 'W', &e.win0Cnt, &e.win0Thr)
	}

	if fin {
		e.sawFIN = true
	}

	if ackf {
		if p.state == stInactive {
			// init_peer: number the peer as if its SYN was ack-1.
			p.initSeqs(ackSeq-1, ackSeq-1, ackSeq-1)
		} else if _, under := p.relSeq(ackSeq, p.ackSeq, p.ackWraps); !under && !rst {
			// update_ack_seq; acks in RSTs are not trusted.
			d := seqDelta(ackSeq, p.ackSeq)
			if ackSeq == 0 && d > tooLargeSeqDelta {
				// a broken ack, not a wrap landing on 0
			} else if d > 0 {
				p.updateAckSeq(ackSeq)
			}
		}
	}

	deltaLast := z.updateLastSeq(e, onePast, syn, fin, rst, length)

	doClose := z.updateStateMachine(e, p, base, ackSeq, length, deltaLast, isOrig, syn, fin, rst, ackf)
	if doClose && !e.didClose {
		// ConnectionClosed, assuming no data pending in the
		// reassembler.
		e.didClose = true
	}
}

// updateHistory is update_history of TCPSessionAdapter.cc.
func (z *Conn) updateHistory(e *endpoint, syn, fin, rst, ack bool, rel uint64, length int64) {
	bits := 0
	for _, b := range [3]bool{syn, fin, rst} {
		if b {
			bits++
		}
	}
	switch {
	case bits > 1:
		if fin && rst {
			z.checkHistory(e, histFINRST, 'I')
		} else {
			z.checkHistory(e, histMulti, 'Q')
		}
	case bits == 1:
		if syn {
			code := byte('S')
			if ack {
				code = 'H'
			}
			if z.checkHistory(e, histSYN, code) && rel != e.histLastSYN {
				z.addEndpointHistory(e, code)
			}
			e.histLastSYN = rel
		}
		if fin {
			// A FIN's sequence number is the one after its data.
			end := rel + uint64(length)
			if z.checkHistory(e, histFIN, 'F') && end != e.histLastFIN {
				z.addEndpointHistory(e, 'F')
			}
			e.histLastFIN = end
		}
		if rst {
			if z.checkHistory(e, histRST, 'R') && rel != e.histLastRST {
				z.addEndpointHistory(e, 'R')
			}
			e.histLastRST = rel
		}
	default:
		if length != 0 {
			z.checkHistory(e, histData, 'D')
		} else if ack {
			z.checkHistory(e, histACK, 'A')
		}
	}
}

// updateLastSeq is update_last_seq: it advances last_seq and records a
// retransmission ('T') for payload at or below it.
func (z *Conn) updateLastSeq(e *endpoint, last uint32, syn, fin, rst bool, length int64) int32 {
	d := seqDelta(last, e.lastSeq)
	switch {
	case (syn || rst) && (d > tooLargeSeqDelta || d < -tooLargeSeqDelta):
		// implausible jump in a SYN or RST: ignore
	case fin && e.lastSeq == e.startSeq+1:
		// Only the SYN seen so far (a >2 GB connection): trust the
		// FIN even if it seems to go backwards. Both sides of the
		// comparison are uint32 in Zeek (StartSeq() truncates).
		e.updateLastSeq(last)
	case e.state == stReset:
		// no trust in sequence numbers after a RST
	case d > 0:
		e.updateLastSeq(last)
	case d <= 0 && length > 0:
		z.scaled(e, 'T', &e.rxmtCnt, &e.rxmtThr)
	}
	return d
}

// updateStateMachine is TCPSessionAdapter::UpdateStateMachine; it returns
// do_close.
func (z *Conn) updateStateMachine(e, p *endpoint, base, ackSeq uint32, length int64, deltaLast int32,
	isOrig, syn, fin, rst, ack bool) bool {
	switch e.state {
	case stInactive:
		return z.updateInactive(e, p, base, ackSeq, length, isOrig, syn, fin, rst, ack)
	case stSynSent, stSynAckSent:
		doClose := false
		if fin {
			e.setState(stClosed)
			doClose = true
		}
		if rst {
			e.setState(stReset)
			doClose = true
		}
		return doClose
	case stEstablished, stPartial:
		doClose := false
		if syn && e.state == stPartial && p.state == stInactive && !ack {
			e.setState(stSynSent) // SYN_after_partial
		}
		if fin && !rst {
			e.setState(stClosed)
			if p.state == stReset && p.prevState == stClosed {
				// The peer sent FIN then RST: normal termination.
				p.setState(stClosed)
			}
			doClose = true
		}
		if rst {
			e.setState(stReset)
			doClose = true
		}
		return doClose
	case stClosed:
		// A RST after both FINs leaves the state CLOSED.
		if rst && p.state != stClosed {
			e.setState(stReset)
			return !e.didClose
		}
	case stReset:
		// UpdateResetState only reports weirds.
	}
	return false
}

// updateInactive is TCPSessionAdapter::UpdateInactiveState.
func (z *Conn) updateInactive(e, p *endpoint, base, ackSeq uint32, length int64,
	isOrig, syn, fin, rst, ack bool) bool {
	doClose := false
	if syn {
		if isOrig {
			if ack {
				e.setState(stSynAckSent) // connection_originator_SYN_ack
			} else {
				e.setState(stSynSent)
			}
		} else {
			if !ack && p.state == stSynAckSent && base == e.startSeq {
				// SYN/SYN-ACK reversal: flip the endpoints and
				// establish the connection.
				z.flipRoles()
				p.setState(stEstablished)
			}
			if p.state == stSynSent {
				p.setState(stEstablished)
			}
			e.setState(stEstablished)
		}
	}
	if fin {
		e.setState(stClosed)
		doClose = true
	}
	if rst {
		e.setState(stReset)
		doClose = true
	}
	if e.state == stInactive { // no control flag changed the state
		orig, _ := z.origResp()
		switch {
		case !isOrig && length == 0 && orig.state == stSynSent:
			// An ACK of the SYN before the SYN-ACK: not partial.
		case ack && p.state == stEstablished:
			// SYN-ACK seen, SYN missed, now a pure ACK.
			e.setState(stEstablished)
		default:
			e.setState(stPartial)
		}
	}
	return doClose
}

// ConnState returns Zeek's conn_state for the connection as observed so far
// (function conn_state in scripts/base/protocols/conn/main.zeek). It is ""
// before any segment.
func (z *Conn) ConnState() string {
	if !z.started {
		return ""
	}
	o, r := z.origResp()
	os, rs := o.state, r.state
	oInactive := os == stInactive || os == stPartial
	rInactive := rs == stInactive || rs == stPartial
	switch {
	case rs == stReset:
		if os == stSynSent || os == stSynAckSent ||
			(os == stReset && o.size(r) == 0 && r.size(o) == 0) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == stReset:
		if rInactive {
			if rstos0History(z.hist[:z.nhist]) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == stClosed && os == stClosed:
		return "SF"
	case os == stClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == stClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == stSynSent && rs == stInactive:
		return "S0"
	case os == stEstablished && rs == stEstablished:
		return "S1"
	}
	return "OTH"
}

// rstos0History matches Zeek's /\^?S[^HAFGIQ]*R.*/ against the whole
// history (a Zeek pattern == string comparison is anchored at both ends).
func rstos0History(h []byte) bool {
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for _, c := range h[1:] {
		switch c {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}

// History returns Zeek's history string for the connection so far, or ""
// if it could not be kept exactly (more than historyCap letters).
// Letters Zeek derives from information Observe does not get ('C', 'G', and
// 'W' when Observe rather than ObserveSegment is used) are absent.
func (z *Conn) History() string {
	if z.lost != 0 {
		return ""
	}
	return string(z.hist[:z.nhist])
}

// AppendHistory appends History to b, without allocating when b has room.
func (z *Conn) AppendHistory(b []byte) []byte {
	if z.lost != 0 {
		return b
	}
	return append(b, z.hist[:z.nhist]...)
}

// States returns the originator's and responder's Zeek endpoint state
// names as the script layer spells them (TCP_INACTIVE, TCP_SYN_SENT,
// TCP_SYN_ACK_SENT, TCP_PARTIAL, TCP_ESTABLISHED, TCP_CLOSED, TCP_RESET).
func (z *Conn) States() (orig, resp string) {
	o, r := z.origResp()
	return stateNames[o.state], stateNames[r.state]
}

var stateNames = [...]string{"TCP_INACTIVE", "TCP_SYN_SENT", "TCP_SYN_ACK_SENT", "TCP_PARTIAL",
	"TCP_ESTABLISHED", "TCP_CLOSED", "TCP_RESET"}

// Sizes returns c$orig$size and c$resp$size as Zeek computes them from
// sequence numbers (TCP_Endpoint::Size), the conn.log orig_bytes and
// resp_bytes.
func (z *Conn) Sizes() (orig, resp uint64) {
	o, r := z.origResp()
	return o.size(r), r.size(o)
}
