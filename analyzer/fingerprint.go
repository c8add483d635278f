package analyzer

import (
	"time"

	"finwave/flow"
)

// Forged and injected resets (rst-forged).
//
// A capture shows every segment with the endpoint addresses it claims; a
// middlebox (a firewall or NAT gateway whose state timed out, a load
// balancer, an IPS) or an attacker can send a RST in either endpoint's
// name. RFC 5961 §1 describes the blind variant; Suricata's
// suspected_rst_inject flags the case where the "reset" side keeps
// sending. finwave flags a RST only on proof from the claimed sender's own
// segments, and lists it:
//
//   - another hop count: its TTL (IPv6 hop limit) is outside the range of
//     every other segment of that side. A Linux host sends its RSTs with
//     the TTL of its data whichever path makes them (tcp_send_active_reset
//     through the socket, tcp_v4_send_reset / tcp_v6_send_reset through the
//     per-netns control socket, ip_send_unicast_reply: the default TTL or
//     hop limit), so on one path the hop count cannot change for the RST
//     alone;
//   - unprompted: the side's socket had closed and nothing from its peer
//     came since; a closed port answers segments (tcp_v4_send_reset), it
//     sends nothing on its own;
//   - it kept sending: a segment of the side after its RST from a
//     synchronized state. tcp_send_active_reset is followed by tcp_done,
//     and every other RST of a synchronized socket ends it (tcp_reset,
//     TCP_TW_RST): nothing is left to send with.
//
// Weaker differences are listed as supporting evidence, never as proof:
// Linux's own RSTs from the control socket carry no timestamps, may lack DF
// and take an IP ID outside the socket's sequence (ip_select_ident), so no
// timestamps, no DF or an odd IP ID alone say nothing.

// fingerprint is what one endpoint's own segments look like, learned from
// every segment it sent but RSTs. Fixed size: no allocation per segment.
type fingerprint struct {
	n            uint16 // segments learned (saturating)
	ts, df       uint16 // of them, with the timestamps option, with DF set
	ttlLo, ttlHi uint8  // TTL or hop limit range
	idLo, idHi   uint16 // IPv4 identification range
}

// fpMinLearned is how many segments of a side must be seen before its
// RSTs are judged by their TTL: a handshake and one more.
const fpMinLearned = 3

// learn adds a segment e sent to its fingerprint.
func (f *fingerprint) learn(seg *flow.Segment) {
	if seg.Flags&flow.RST != 0 {
		return
	}
	if f.n == 0 {
		f.ttlLo, f.ttlHi, f.idLo, f.idHi = seg.TTL, seg.TTL, seg.IPID, seg.IPID
	} else {
		f.ttlLo, f.ttlHi = min(f.ttlLo, seg.TTL), max(f.ttlHi, seg.TTL)
		f.idLo, f.idHi = min(f.idLo, seg.IPID), max(f.idHi, seg.IPID)
	}
	f.n = inc16(f.n)
	if seg.HasTS {
		f.ts = inc16(f.ts)
	}
	if seg.DF {
		f.df = inc16(f.df)
	}
}

// fpWhy is the set of reasons a RST is not its claimed sender's.
type fpWhy uint8

const (
	fpTTL         fpWhy = 1 << iota // another hop count (proof)
	fpUnprompted                    // from a closed socket, nothing to answer (proof)
	fpKeptSending                   // the side sent again afterwards (proof)
	fpNoTS                          // no timestamps where all the side's segments had them
	fpNoDF                          // no DF where all had it (IPv4)
	fpIPID                          // an IP ID far from the side's sequence (IPv4)

	fpProof = fpTTL | fpUnprompted | fpKeptSending
)

// fpEvidence is what the rst-forged detail lists.
type fpEvidence struct {
	idle              time.Duration // the flow's idle time before the RST (middlebox timeouts)
	why               fpWhy
	taken             bool // the peer's machine accepted the RST
	ttl, ttlLo, ttlHi uint8
	n                 uint16
	id, idLo, idHi    uint16
}

// fpIDSpan is the widest IP ID range still read as one socket's sequence
// (Linux: inet_id + 1 per segment); fpIDAhead how far past it a segment
// of the socket may be.
const (
	fpIDSpan  = 4096
	fpIDAhead = 1024
)

// judge compares a RST e sent with e's fingerprint.
func (f *fingerprint) judge(seg *flow.Segment) fpEvidence {
	ev := fpEvidence{ttl: seg.TTL, ttlLo: f.ttlLo, ttlHi: f.ttlHi, n: f.n, id: seg.IPID, idLo: f.idLo, idHi: f.idHi}
	if f.n < fpMinLearned {
		return ev
	}
	if seg.TTL < f.ttlLo || seg.TTL > f.ttlHi {
		ev.why |= fpTTL
	}
	if f.ts == f.n && !seg.HasTS {
		ev.why |= fpNoTS
	}
	if f.df == f.n && !seg.DF {
		ev.why |= fpNoDF // IPv4 only: IPv6 segments never have DF (f.df is 0)
	}
	if f.idHi != 0 && f.idHi-f.idLo < fpIDSpan && (seg.IPID < f.idLo || seg.IPID > f.idHi+fpIDAhead) {
		ev.why |= fpIPID
	}
	return ev
}

// ownRST is e's latest RST from a synchronized state, kept until e's
// next segment: if e speaks again, the RST was not its own, and what it
// was taken to mean is withdrawn.
type ownRST struct {
	frame    int64
	at       nanos
	since    nanos // when from had been entered
	ev       fpEvidence
	idx      int16 // the sender's change to CLOSED, -1 when none was recorded
	anom     int16 // 1 + the index of the anomaly made for its cause, 0 when none
	from     State // the sender's state before it
	changed  bool  // the RST moved the sender to CLOSED
	closeSet bool  // the RST set the sender's closeFrame
	proven   bool  // already found forged: a later segment adds evidence only
	doubted  bool  // already counted among the RSTs the sender's kernel may not have sent
}

// aliveAfter is how long after its RST a segment of the same side proves
// it alive: more than a packet in flight reordered behind the RST.
const aliveAfter = time.Millisecond

// unprompted reports whether a RST from e, whose socket is closed, has no
// segment of the peer p to answer: nothing from p since e's socket
// closed (as the capture shows it; a closed socket that was reset
// itself, or expired, is not judged).
func (c *conn) unprompted(e, p *endpoint) bool {
	return e.state == Closed && e.rstFrame == 0 && !e.fw2Timeout && e.finSent && p.lastFrame != 0 &&
		p.lastTime <= e.since
}

// forged records a RST that e's own segments prove was not e's: the
// anomaly, with the evidence and the flow's idle time before it (in
// rareEP.forged: the proofs of an anomaly already recorded add up, the
// rest is ev's).
func (c *conn) forged(s Side, ev fpEvidence, now nanos, frames ...int64) *anomaly {
	fp := &c.rareFor().ep[s].forged
	if c.findAnomaly(RSTForged, s) != nil {
		ev.why |= fp.why
	}
	*fp = ev
	if rtt := c.rtt(); c.idleGap > 0 && c.idleGap >= idleRTTs*rtt && time.Duration(now-c.idleEnd) <= idleTolerance(rtt) {
		fp.idle = c.idleGap
	}
	return c.addAnomaly(RSTForged, s, frames...)
}

// rememberRST keeps e's RST from synchronized state before (in frame seg)
// for the proof a later segment of e would give. n is len(c.anoms) before
// the RST's cause was found, idx its change record.
func (c *conn) rememberRST(seg *flow.Segment, e *endpoint, before State, since nanos, ev fpEvidence, n int, idx int16, changed, closeSet bool) {
	if before == TimeWait || !isSynchronized(before) {
		return // TIME_WAIT answers and lives on (TCP_TW_RST, TCP_TW_ACK)
	}
	r := ownRST{frame: seg.Frame, at: toNanos(seg.Time), since: since, ev: ev, idx: idx, from: before, changed: changed, closeSet: closeSet}
	if len(c.anoms) == n+1 && c.anoms[n].side == e.side && len(c.anoms[n].frames) > 0 &&
		c.anoms[n].frames[len(c.anoms[n].frames)-1] == seg.Frame {
		r.anom = int16(n + 1)
	}
	c.setLastRst(e.side, r)
}

// sentAfterRST runs when e, whose latest RST from a synchronized state
// was remembered, sends a segment (not a RST): if it comes later than a
// reordered one could, the RST was not e's. Its cause and e's change to
// CLOSED are withdrawn (the change stays in the record, undone) and the
// RST is counted as one e's kernel may not have sent. It reports whether
// seg is that proof (labelled by the caller).
func (c *conn) sentAfterRST(cfg *Config, seg *flow.Segment, e *endpoint, now nanos) bool {
	r := c.lastRst(e.side)
	if r == nil {
		return false
	}
	if seg.Flags&flow.SYN != 0 {
		*r = ownRST{} // a new connection on the 4-tuple proves nothing
		return false
	}
	if r.frame == 0 || time.Duration(now-r.at) < aliveAfter {
		return false
	}
	if r.changed && e.state == Closed {
		if r.idx >= 0 {
			c.changes[r.idx].undone, c.changes[r.idx].tentative = true, false
		}
		e.enter(r.from, r.since)
		c.revived = true
	}
	if r.anom > 0 {
		c.dropAnomaly(int(r.anom - 1))
	}
	if r.closeSet {
		e.closeFrame, e.closeAt = 0, 0
	}
	if e.rstFrame == r.frame {
		e.rstFrame = 0
	}
	if !r.proven && !r.doubted {
		e.doubtRsts = inc16(e.doubtRsts)
	}
	if !r.proven {
		for i := len(c.segs) - 1; i >= 0; i-- {
			if ls := &c.segs[i]; ls.frame == r.frame && ls.from == e.side {
				ls.why = ruleRstForged // no longer the abort it was taken for
				break
			}
		}
	}
	ev := r.ev
	ev.why |= fpKeptSending
	a := c.forged(e.side, ev, r.at, r.frame, seg.Frame)
	if a.refFrame == 0 {
		a.refFrame = seg.Frame
	}
	*r = ownRST{}
	return true
}

// dropAnomaly removes anomaly i, keeping its frames array for reuse at
// the end of the slice (addAnomaly reuses the arrays beyond len).
func (c *conn) dropAnomaly(i int) {
	n := len(c.anoms)
	if i < 0 || i >= n {
		return
	}
	kept := c.anoms[i].frames[:0]
	copy(c.anoms[i:], c.anoms[i+1:])
	c.anoms[n-1] = anomaly{frames: kept}
	c.anoms = c.anoms[:n-1]
	for k := 0; c.rsts != nil && k < len(c.rsts); k++ {
		if r := &c.rsts[k]; int(r.anom) > i+1 {
			r.anom--
		} else if int(r.anom) == i+1 {
			r.anom = 0
		}
	}
}

// Middlebox idle timeouts. A stateful middlebox forgets a connection idle
// longer than its timeout; the next segment meets a RST in the other
// end's name (or, with Azure's TCP reset on idle, both ends get one when
// the timer fires). The well-known defaults:
var middleboxTimeouts = [...]struct {
	d    time.Duration
	name string
}{
	{240 * time.Second, "the Azure Load Balancer's default idle timeout (4 min)"},
	{350 * time.Second, "the idle timeout of AWS NAT gateways and Network Load Balancers (350 s)"},
	{600 * time.Second, "Google Cloud's connection tracking idle timeout (600 s)"},
	{1200 * time.Second, "the Google Cloud NAT established-connection idle timeout (1200 s)"},
}

// idleNoteMin is the shortest quiet time of a flow remembered as a
// possible middlebox timeout, idleRTTs how many of the flow's round trips
// it must also last: an idle connection, not a pause in an exchange.
const (
	idleNoteMin = time.Second
	idleRTTs    = 20
)

// idleTolerance is how far a measured idle time may be from a timeout and
// still match it: the timer fires on the middlebox, the capture sees the
// segments a round trip or two away, and timers run a few seconds late.
func idleTolerance(rtt time.Duration) time.Duration { return 2*rtt + 3*time.Second }

// middleboxIdle returns the index of the well-known timeout idle matches
// within tol, -1 if none.
func middleboxIdle(idle, tol time.Duration) int {
	for i, m := range middleboxTimeouts {
		if idle >= m.d-tol && idle <= m.d+tol {
			return i
		}
	}
	return -1
}

func rstForgedDetail(p para, d detailFacts) para {
	who, peer, a := d.who, d.peer, d.a
	ev := &d.c.rareOf().ep[a.side].forged
	p.s("A RST in the ", who, "'s name (frame ").n(a.frames[0]).s(") was not the ", who, "'s own:")
	if ev.why&fpTTL != 0 {
		p.s(" its TTL (hop limit) was ").n(int64(ev.ttl)).s(" where the ", who, "'s ").n(int64(ev.n)).s(" other segments all had ").n(int64(ev.ttlLo))
		if ev.ttlHi != ev.ttlLo {
			p.s(" to ").n(int64(ev.ttlHi))
		}
		p.s(": it came from another place on the path;")
	}
	if ev.why&fpKeptSending != 0 {
		p.s(" the ", who, " went on sending afterwards (frame ").n(a.refFrame).s("), which a side that reset cannot do (its connection is gone);")
	}
	if ev.why&fpUnprompted != 0 {
		p.s(" the ", who, "'s socket had closed and nothing from the ", peer, " came since that it could have answered: a closed port answers segments, it sends nothing on its own;")
	}
	if ev.why&(fpNoTS|fpNoDF|fpIPID) != 0 {
		p.s(" also (not proof alone: Linux's resets from no socket look so too)")
		if ev.why&fpNoTS != 0 {
			p.s(" no timestamps where all the ", who, "'s segments had them,")
		}
		if ev.why&fpNoDF != 0 {
			p.s(" no DF where all had it,")
		}
		if ev.why&fpIPID != 0 {
			p.s(" IP ID ").n(int64(ev.id)).s(" outside the ", who, "'s sequence ").n(int64(ev.idLo)).s("..").n(int64(ev.idHi)).s(",")
		}
		p.b = p.b[:len(p.b)-1]
		p.s(";")
	}
	p.b = p.b[:len(p.b)-1]
	switch {
	case !ev.taken:
		p.s(". The ", peer, " did not take it (its sequence number was not the one expected).")
	case ev.why&fpUnprompted != 0:
		p.s(". The ", peer, " took it: whatever it still held of the connection is gone.")
	default:
		p.s(". The ", peer, " took it and lost its connection (ECONNRESET) while the ", who, " still held it.")
	}
	if ev.idle > 0 {
		p.s(" It came after the flow had been idle ").ms(ev.idle)
		if i := middleboxIdle(ev.idle, idleTolerance(d.c.rtt())); i >= 0 {
			p.s(", which matches ", middleboxTimeouts[i].name, ": most likely that middlebox forgot the connection and reset it.")
		} else {
			p.s(": a stateful middlebox whose idle timeout is shorter may have forgotten the connection.")
		}
	}
	p.s(" Check what sits on the path (firewall, NAT gateway, load balancer, IPS) and its idle timeouts; Suricata reports such resets as suspected_rst_inject.")
	return p
}
