package analyzer

import (
	"time"

	"finwave/flow"
)

// Vantage inference: where the capture was taken, per flow.
//
// A capture sees a segment at one point of the path. At the client host,
// the client's answers leave a few microseconds after what they answer
// arrives (the kernel acknowledges a SYN-ACK, a FIN or data from softirq:
// tcp_rcv_synsent_state_process, tcp_send_ack), while the server's take a
// full round trip; at the server host the reverse; in between both take
// part of the round trip. A host's own segments leave with its initial
// TTL (Linux net.ipv4.ip_default_ttl 64, IPv6 hop_limit 64; Windows 128;
// 255 on some stacks), decremented by every router after it. And only the
// sending host's own capture shows offload traces (checksums left to the
// NIC, super-frames from TSO): the wire never carries them.
//
// Invariant: the inference never calls a flow "client" or "server" on TTLs
// alone (a router's interface facing that host sees the same TTLs), nor
// "between" on two slow answers that are not the handshake's (a delayed
// ACK is slow at any vantage).

// VantagePoint is where the capture of a flow was taken.
type VantagePoint uint8

const (
	VantageUnknown VantagePoint = iota // the wire does not tell
	VantageClient                      // on the client host
	VantageServer                      // on the server host
	VantageBetween                     // on the path between them
	numVantagePoints
)

var vantageNames = [numVantagePoints]string{"unknown", "client", "server", "between"}

// String returns the stable JSON identifier.
func (v VantagePoint) String() string {
	if v < numVantagePoints {
		return vantageNames[v]
	}
	return "invalid"
}

// VantagePoints lists the members, in order.
func VantagePoints() []VantagePoint {
	return []VantagePoint{VantageUnknown, VantageClient, VantageServer, VantageBetween}
}

// ParseVantagePoint parses a JSON identifier.
func ParseVantagePoint(s string) (VantagePoint, bool) {
	for i, n := range vantageNames {
		if n == s {
			return VantagePoint(i), true
		}
	}
	return VantageUnknown, false
}

// Side returns the host the capture was taken on, ok false when it was
// not taken on one of the flow's hosts (or the wire does not tell).
func (v VantagePoint) Side() (Side, bool) {
	switch v {
	case VantageClient:
		return Client, true
	case VantageServer:
		return Server, true
	}
	return Client, false
}

// Vantage is the inferred capture point of a flow and why.
type Vantage struct {
	At VantagePoint
	// Evidence: one sentence per clue (timing, TTL, offload), in that
	// order. Like Verdict it shares the Teardown's memory.
	Evidence []string
	// ClientAnswer and ServerAnswer are the shortest time each side took,
	// seen from the capture point, to answer the other's segment (the
	// handshake's SYN-ACK→ACK and SYN→SYN-ACK when Handshake is set; the
	// shortest data- or FIN-to-ACK otherwise); 0 when not measured.
	ClientAnswer, ServerAnswer time.Duration
	Handshake                  bool
	// ClientTTL and ServerTTL are the IPv4 TTL or IPv6 hop limit of each
	// side's first segment; 0 when not seen.
	ClientTTL, ServerTTL uint8
}

// Thresholds of the timing clue. hostAnswer: a host's kernel answers a
// segment it received (the ACK of a SYN-ACK, of data, of a FIN) within this,
// seen from its own interface; an answer slower than that crossed some
// path. answerRatio: the host's own answers must be at least this many
// times faster than the peer's to call the capture that host's.
// pathShare: no side of a path takes longer than this to carry a segment
// there and its answer back (a geostationary hop is about 600 ms): slower
// handshake answers are a host's or a clock's doing, not a place.
const (
	hostAnswer  = time.Millisecond
	answerRatio = 10
	pathShare   = time.Second
)

// vantageObs is what a flow collects for the inference, per segment and
// without allocating.
type vantageObs struct {
	synAt, synAckAt, ackAt nanos // the client's latest SYN, the first SYN-ACK, the ACK completing the handshake
	ttl                    [2]uint8
	at                     VantagePoint // the inference, once finish made it (for the detail writers)
}

// observe records seg (sent by s at now) for the vantage inference.
func (c *conn) observe(seg *flow.Segment, s Side, now nanos) {
	v := &c.vant
	if v.ttl[s] == 0 {
		v.ttl[s] = seg.TTL
	}
	f := seg.Flags
	switch {
	case f&(flow.SYN|flow.ACK|flow.RST) == flow.SYN && s == Client && v.synAckAt == 0:
		v.synAt = now // a SYN sent again: the SYN-ACK answers the latest
	case f&(flow.SYN|flow.ACK|flow.RST) == flow.SYN|flow.ACK && s == Server && v.synAt != 0 && v.synAckAt == 0:
		v.synAckAt = now
	case f&(flow.SYN|flow.ACK|flow.RST) == flow.ACK && s == Client && v.synAckAt != 0 && v.ackAt == 0:
		v.ackAt = now
	}
}

// vantage infers where the capture was taken; the evidence sentences are
// appended to p and sliced by the caller (vantageEvidence).
//
// local is the side whose address is this host's when finwave runs on it
// with a kernel view (Config.Kernel): certain, it decides.
func (c *conn) vantage(local VantagePoint) (v Vantage, clues [4]clue) {
	o := &c.vant
	v.ClientTTL, v.ServerTTL = o.ttl[Client], o.ttl[Server]
	if o.synAt != 0 && o.synAckAt > o.synAt && o.ackAt > o.synAckAt {
		v.ServerAnswer, v.ClientAnswer = time.Duration(o.synAckAt-o.synAt), time.Duration(o.ackAt-o.synAckAt)
		v.Handshake = true
	} else {
		// ep[s].ackDelay: how fast the peer of s acknowledged s's data.
		v.ClientAnswer, v.ServerAnswer = c.ep[Server].ackDelay, c.ep[Client].ackDelay
	}
	timing := timingClue(v.ClientAnswer, v.ServerAnswer, v.Handshake)
	ttl := ttlClue(v.ClientTTL, v.ServerTTL)
	off := VantageUnknown
	switch {
	// Offloaded checksums on a side's own small segments (checksum.go,
	// csumDir.ownOffload): only a capture on that side's host shows them.
	case c.csum[Client].ownOffload && !c.csum[Server].ownOffload:
		off = VantageClient
	case c.csum[Server].ownOffload && !c.csum[Client].ownOffload:
		off = VantageServer
	}
	if local != VantageUnknown && off != local {
		// Partial checksums cross a veth or a bridge to the receiving
		// host too: the local address is certain, the clue is not.
		off = VantageUnknown
	}
	clues = [4]clue{{clueLocal, local}, {clueTiming, timing}, {clueTTL, ttl}, {clueOffload, off}}
	switch {
	case local != VantageUnknown:
		v.At = local
	case off != VantageUnknown:
		v.At = off
	case ttl == VantageBetween:
		v.At = VantageBetween
	case timing == VantageBetween && initialTTL(v.ClientTTL) && initialTTL(v.ServerTTL) &&
		min(v.ClientAnswer, v.ServerAnswer) < sameLinkFloor:
		// One link and answers of a few milliseconds: slow hosts.
	case timing == VantageBetween:
		// A TTL pointing at one side is the link of that side's
		// router interface, delay beyond it: still between.
		v.At = VantageBetween
	case timing != VantageUnknown && (ttl == VantageUnknown || ttl == timing):
		v.At = timing
	}
	return v, clues
}

// timingClue reads the two answer times: a host's own answers are fast
// and the peer's a round trip (client or server); both slow on the
// handshake, which hosts answer at once, is a capture in between.
func timingClue(client, server time.Duration, handshake bool) VantagePoint {
	if client <= 0 || server <= 0 {
		return VantageUnknown // not measured, or a clock too coarse
	}
	switch {
	case client < hostAnswer && server >= answerRatio*client:
		return VantageClient
	case server < hostAnswer && client >= answerRatio*server:
		return VantageServer
	case handshake && client >= hostAnswer && server >= hostAnswer && client < pathShare && server < pathShare:
		return VantageBetween
	}
	return VantageUnknown
}

// initialTTL reports whether t is a value hosts send with (no router has
// decremented it).
func initialTTL(t uint8) bool { return t == 64 || t == 128 || t == 255 }

// maxHops: a TTL reads as an initial value decremented by routers only
// within this many hops of it (paths are rarely longer than 30 hops);
// anything else was set by the application (eBGP's TTL 1, GTSM's 255 is
// initial anyway) and says nothing of routers.
const maxHops = 32

// routedTTL reports whether t is an initial TTL less 1 to maxHops hops.
func routedTTL(t uint8) bool {
	for _, i := range [...]int{64, 128, 255} {
		if d := i - int(t); d >= 1 && d <= maxHops {
			return true
		}
	}
	return false
}

// sameLinkFloor: with both TTLs as sent (no router between the hosts,
// one link), both handshake answers must take this long to put the
// capture between them: a few milliseconds are a slow host's own (a
// router's control plane, a loaded VM), not a path.
const sameLinkFloor = 5 * time.Millisecond

// ttlClue: one side's segments undecremented and the other's decremented
// put the capture on the undecremented side of every router (its host or
// its link); both decremented put it behind a router each way.
func ttlClue(client, server uint8) VantagePoint {
	if client == 0 || server == 0 {
		return VantageUnknown
	}
	ci, si := initialTTL(client), initialTTL(server)
	cr, sr := routedTTL(client), routedTTL(server)
	switch {
	case ci && sr:
		return VantageClient
	case si && cr:
		return VantageServer
	case cr && sr:
		return VantageBetween
	}
	return VantageUnknown
}

type clueKind uint8

const (
	clueTiming clueKind = iota
	clueTTL
	clueOffload
	clueLocal // the kernel view: one side's address is this host's
)

// clue is one piece of evidence and what it points at.
type clue struct {
	kind clueKind
	at   VantagePoint
}

// appendEvidence appends the sentence of clue k to p; false when the clue
// says nothing worth a sentence.
func (v *Vantage) appendEvidence(p *para, k clue) bool {
	switch k.kind {
	case clueLocal:
		if k.at == VantageUnknown {
			return false
		}
		p.s("the ", k.at.String(), "'s address is this host's: finwave live runs on it")
	case clueTiming:
		if v.ClientAnswer <= 0 || v.ServerAnswer <= 0 {
			return false
		}
		if v.Handshake {
			p.s("handshake: SYN→SYN-ACK ").ms(v.ServerAnswer).s(", SYN-ACK→ACK ").ms(v.ClientAnswer)
		} else {
			p.s("fastest answers: the server's ").ms(v.ServerAnswer).s(", the client's ").ms(v.ClientAnswer)
		}
		switch k.at {
		case VantageClient:
			p.s(": the client answers at once, the server a round trip away")
		case VantageServer:
			p.s(": the server answers at once, the client a round trip away")
		case VantageBetween:
			p.s(": both ends a part of the round trip away")
		default:
			p.s(": too close to tell")
		}
	case clueTTL:
		if v.ClientTTL == 0 || v.ServerTTL == 0 {
			return false
		}
		p.s("TTL: client ").n(int64(v.ClientTTL)).s(", server ").n(int64(v.ServerTTL))
		switch {
		case k.at == VantageClient:
			p.s(": no router between the client and the capture point")
		case k.at == VantageServer:
			p.s(": no router between the server and the capture point")
		case k.at == VantageBetween:
			p.s(": routers on both sides of the capture point")
		case initialTTL(v.ClientTTL) && initialTTL(v.ServerTTL):
			p.s(": both as sent (no router between the hosts)")
		default:
			p.s(": not a host's initial TTL less a few hops (set by the application?)")
		}
	case clueOffload:
		if k.at == VantageUnknown {
			return false
		}
		p.s("offload traces on the ", k.at.String(), "'s segments (checksums or super-frames the wire never carried): captured on its host")
	}
	return true
}

// confirmAt marks the tentative changes of the capturing host as
// confirmed: the capture saw their cause arrive at that host's stack.
// Changes later proven lost stay undone.
func (c *conn) confirmAt(s Side) {
	for i := range c.changes {
		if ch := &c.changes[i]; ch.side == s && ch.tentative && ch.frame > 0 {
			ch.tentative, ch.confirmed = false, ch.frame
		}
	}
	e := &c.ep[s]
	e.npend = 0
}

// appendLossWhere says, from the vantage, where a segment seen in frame
// (sent by from, never taken by to) was lost.
func (c *conn) appendLossWhere(p *para, frame int64, from, to Side) {
	switch c.vant.at {
	case VantageBetween:
		p.s(" The capture point is between the hosts and frame ").n(frame).s(" passed it: it was lost between here and the ", to.String(), ".")
	case vantageOf(from):
		p.s(" The capture, on the ", from.String(), "'s host, saw frame ").n(frame).s(" leave: it was lost on the path or dropped at the ", to.String(), ".")
	case vantageOf(to):
		p.s(" The capture, on the ", to.String(), "'s host, saw frame ").n(frame).s(" arrive: that host dropped it before TCP took it (a firewall rule, a bad checksum).")
	}
}

// vantageOf is the vantage of a capture on side s's host.
func vantageOf(s Side) VantagePoint {
	if s == Server {
		return VantageServer
	}
	return VantageClient
}
