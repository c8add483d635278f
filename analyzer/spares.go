package analyzer

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

func freeRsts(sp *spares) *[]*rstPair    { return &sp.rsts }
func freeTWs(sp *spares) *[]*twReuse     { return &sp.tws }
func freeZCs(sp *spares) *[]*zeekConns   { return &sp.zcs }
func freePends(sp *spares) *[]*pendSpill { return &sp.pends }

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
		if c.rsts != nil {
			sp.rsts = append(sp.rsts, c.rsts)
		}
		if c.tw != nil {
			sp.tws = append(sp.tws, c.tw)
		}
		if c.pends != nil {
			sp.pends = append(sp.pends, c.pends)
		}
		if c.zc != nil {
			// Its done array goes with it: finish copied the ended
			// Zeek connections into the Teardown.
			sp.zcs = append(sp.zcs, c.zc)
		}
	}
	c.rsts, c.tw, c.zc, c.pends = nil, nil, nil, nil
}
