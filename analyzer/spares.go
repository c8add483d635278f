package analyzer

// rstPair holds each side's latest own RST that a later segment may prove
// forged (endpoint.lastRst before; fingerprint.go), indexed by Side. Most
// flows never send a RST from a synchronized state, so a conn holds one
// only from its first such RST to its finish (conn.rsts), lent by spares.
type rstPair [2]ownRST

// spares are the analyzer's idle side structs: lent to a conn when its
// flow first needs one, given back when the flow finishes (conn.release),
// so their number follows the flows alive that need them, not every conn
// ever made. A conn made outside an Analyzer (tests) has none and
// allocates.
type spares struct {
	rsts []*rstPair
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
		if sp := c.spare; sp != nil && len(sp.rsts) > 0 {
			c.rsts = sp.rsts[len(sp.rsts)-1]
			sp.rsts = sp.rsts[:len(sp.rsts)-1]
			*c.rsts = rstPair{}
		} else {
			c.rsts = new(rstPair)
		}
	}
	c.rsts[s] = r
}

// release gives the flow's side structs back to the spares; the conn must
// not use them again (newConn clears its pointers).
func (c *conn) release() {
	if c.rsts != nil && c.spare != nil {
		c.spare.rsts = append(c.spare.rsts, c.rsts)
	}
	c.rsts = nil
}
