package analyzer

import "finwave/flow"

// rstPair holds each side's latest own RST that a later segment may prove
// forged (endpoint.lastRst before; fingerprint.go), indexed by Side. Most
// flows never send a RST from a synchronized state, so a conn holds one
// only from its first such RST to its finish (conn.rsts), lent by spares.
type rstPair [2]ownRST

// maxPend bounds the pending changes an endpoint keeps (the oldest is
// forgotten, left tentative); inlinePend of them fit in the endpoint
// itself: a side seldom has more than two at once (a SYN-ACK's and a
// FIN's), so a flow takes a pendSpill only when one does.
const (
	maxPend    = 6
	inlinePend = 2
)

// pendSpill holds both sides' pending changes (indexed by Side) of a flow
// that needed more room than endpoint.pend: lent by spares, from the
// first such change to the flow's finish.
type pendSpill [2][maxPend]pending

// spares are the analyzer's idle side structs: lent to a conn when its
// flow first needs one, given back when the flow finishes (conn.release),
// so their number follows the flows alive that need them, not every conn
// ever made. A conn made outside an Analyzer (tests) has none and
// allocates.
type spares struct {
	rsts  []*rstPair
	tws   []*twReuse
	zcs   []*zeekConns
	pends []*pendSpill
	rares []*rareState
	runs  []*quiet
}

// take returns an idle *T from free (zeroed by the caller), or a new one.
func take[T any](sp *spares, free func(*spares) *[]*T) *T {
	if sp != nil {
		if l := free(sp); len(*l) > 0 {
			p := (*l)[len(*l)-1]
			*l = (*l)[:len(*l)-1]
			return p
		}
	}
	return new(T)
}

// give puts p, if any, back on the free list l.
func give[T any](l *[]*T, p *T) {
	if p != nil {
		*l = append(*l, p)
	}
}

func freeRsts(sp *spares) *[]*rstPair    { return &sp.rsts }
func freeTWs(sp *spares) *[]*twReuse     { return &sp.tws }
func freeZCs(sp *spares) *[]*zeekConns   { return &sp.zcs }
func freePends(sp *spares) *[]*pendSpill { return &sp.pends }
func freeRares(sp *spares) *[]*rareState { return &sp.rares }
func freeRuns(sp *spares) *[]*quiet      { return &sp.runs }

// pendBuf returns the storage of e's pending changes, their room its
// length: e.pend, or e's row of the flow's spill once it has one.
func (c *conn) pendBuf(e *endpoint) []pending {
	if c.pends != nil {
		return c.pends[e.side][:]
	}
	return e.pend[:]
}

// pendings returns e's pending changes, oldest first.
func (c *conn) pendings(e *endpoint) []pending { return c.pendBuf(e)[:e.npend] }

// spillPend moves both sides' pending changes into a pendSpill taken from
// the spares: from now on they are kept there (pendBuf).
func (c *conn) spillPend() {
	c.pends = take(c.spare, freePends)
	for i := range c.ep {
		e := &c.ep[i]
		copy(c.pends[e.side][:], e.pend[:e.npend])
	}
}

// lastRst returns s's remembered RST, nil when the flow has none.
func (c *conn) lastRst(s Side) *ownRST {
	if c.rsts == nil {
		return nil
	}
	return &c.rsts[s]
}

// setLastRst remembers r as s's latest own RST, taking a rstPair from the
// spares if the flow has none yet.
func (c *conn) setLastRst(s Side, r ownRST) {
	if c.rsts == nil {
		c.rsts = take(c.spare, freeRsts)
		*c.rsts = rstPair{}
	}
	c.rsts[s] = r
}

// release gives the flow's side structs back to the spares; the conn must
// not use them again (newConn clears its pointers).
func (c *conn) release() {
	if sp := c.spare; sp != nil {
		give(&sp.rsts, c.rsts)
		give(&sp.tws, c.tw)
		give(&sp.pends, c.pends)
		give(&sp.rares, c.rare)
		// Its done array goes with it: finish copied the ended Zeek
		// connections into the Teardown.
		give(&sp.zcs, c.zc)
	}
	c.rsts, c.tw, c.zc, c.pends, c.rare = nil, nil, nil, nil, nil
	c.endRun()
}

// rareState is what few flows need, lent by spares from the first time a
// flow sets one of its fields to its finish (conn.rare). A flow without
// one reads the zero values (rareOf), stuckNoticed noTime.
type rareState struct {
	ep       [2]rareEP // indexed by Side
	synAgain int64     // frame of the first SYN sent again, 0 if none
	// contFrame is the frame of the latest SYN the flow table kept in
	// this flow instead of starting a new one (rfc5961.go).
	contFrame int64
	omitted   int // segments not recorded: over the per-flow cap
}

// rareEP is an endpoint's share of rareState.
type rareEP struct {
	// stuckNoticed is since when StuckOpen reported this endpoint's
	// CLOSE_WAIT or FIN_WAIT_2: once per state entered (noTime: never).
	stuckNoticed nanos
	// challenge: we received an RST we ignored (RFC 5961); our next pure
	// ACK is a challenge ACK.
	challengeFrame int64
	// dataAfterPeerFINFrame: where dataAfterPeerFIN was sent.
	dataAfterPeerFINFrame int64
	// dataAfterPeerFIN is the end of the data we sent after acknowledging
	// the peer's FIN (the peer half-closed and we kept writing).
	dataAfterPeerFIN flow.Seq
	// nstat evidence (counters.go): segments that make us send a
	// challenge ACK (chalMax; the SYNs among them synChalMax) and the
	// challenge ACKs seen; synChal: a SYN of the peer awaits our
	// challenge ACK.
	chalMax, chalSeen       uint16
	synChalMax, synChalSeen uint16
	synChal                 bool
	// challengeSyn: the challenge ACK awaited answers a SYN (RFC 5961
	// §4.2), counted already by nstatSegment.
	challengeSyn bool
	// challengeOld: the challenge ACK awaited answers a segment with a
	// too-old ACK (RFC 5961 §5.2, blind.go).
	challengeOld bool
	// forged: what proves our rst-forged anomaly's RST was not ours
	// (conn.forged), while the flow has that anomaly.
	forged fpEvidence
}

// noRare is what a flow without a rareState reads.
var noRare = rareState{ep: [2]rareEP{{stuckNoticed: noTime}, {stuckNoticed: noTime}}}

// rareOf returns the flow's rare fields to read: noRare's while it has
// none. The caller must not write through it (rareFor).
func (c *conn) rareOf() *rareState {
	if c.rare == nil {
		return &noRare
	}
	return c.rare
}

// rareFor returns the flow's rare fields to write, taking a rareState
// from the spares if it has none yet.
func (c *conn) rareFor() *rareState {
	if c.rare == nil {
		c.rare = take(c.spare, freeRares)
		*c.rare = noRare
	}
	return c.rare
}
