package analyzer

// The verdict is one line per flow, the first thing a report prints of it:
// who ended it, how, the most likely cause, and what to check. It is
// written from the flow's main anomaly (the most severe, then the
// earliest), its silent side if one went silent, and otherwise from the
// pattern and the end states.

// mainAnomaly returns the anomaly a verdict is about: the most severe of
// warning or error; on ties one that says how the connection ended (a
// reset, a timer that gave up) over one that happened on the way (a FIN
// sent again), then the earliest; nil when there is none.
func (c *conn) mainAnomaly() *anomaly {
	var best *anomaly
	for i := range c.anoms {
		a := &c.anoms[i]
		if a.sev < Warning {
			continue
		}
		if best == nil || a.sev > best.sev {
			best = a
			continue
		}
		if a.sev < best.sev {
			continue
		}
		ae, be := a.ends(), best.ends()
		if (ae && !be) || (ae == be && firstFrame(a.frames) < firstFrame(best.frames)) {
			best = a
		}
	}
	return best
}

// ends reports whether a says how its flow ended (kindRecord.ends). A
// TIME_WAIT assassinated by a reconnecting client's RST from SYN_SENT
// (twreject.go) ended the previous connection's TIME_WAIT, not this flow.
func (a *anomaly) ends() bool {
	if a.kind == TimeWaitAssassination && a.note == noteReuse {
		return false
	}
	return kinds[a.kind].ends
}

// appendVerdict appends t's verdict to p.
func (c *conn) appendVerdict(p *para, t *Teardown) {
	if a := c.mainAnomaly(); a != nil {
		p.s(a.side.String(), " ")
		if a.kind == RetransmissionTimeout && a.note2 != noteGaveUp {
			p.s("kept retransmitting to a silent peer (retransmission timeout pending)")
		} else {
			p.s(kinds[a.kind].act)
		}
		c.appendSilence(p, t)
		p.s(" — check ", kinds[a.kind].check)
		return
	}
	switch t.Pattern {
	case PatternRefused:
		p.s("refused: the server answered the SYN with RST (nothing listening on the port)")
		return
	case PatternUnanswered:
		p.s("unanswered: the SYN got no reply by the end of the capture")
		return
	case PatternOpen:
		p.s("still open at the end of the capture")
		c.appendEnds(p, t)
		return
	}
	switch t.Closer {
	case CloserClient:
		p.s("client closed first")
	case CloserServer:
		p.s("server closed first")
	case CloserBoth:
		p.s("both closed at once")
	default:
		p.s("nobody closed")
	}
	p.s(" (", t.Pattern.String(), ")")
	c.appendSilence(p, t)
	c.appendEnds(p, t)
}

// appendSilence says which side went silent, since when, and what it most
// likely still holds.
func (c *conn) appendSilence(p *para, t *Teardown) {
	for _, s := range [...]Side{Client, Server} {
		es := t.End(s)
		if es.SilentFrame == 0 && es.SilentSince.IsZero() {
			continue
		}
		p.s("; ", s.String(), " silent since frame ").n(es.SilentFrame)
		if !es.SilentSince.IsZero() && c.lastAt.time().After(es.SilentSince) {
			p.s(" (").ms(c.lastAt.time().Sub(es.SilentSince)).s(" before the flow's last segment)")
		}
		if es.State == Closed {
			p.s(", its socket gone")
		} else {
			p.s(", probably still ", es.State.String())
		}
	}
}

// appendEnds appends both end states.
func (c *conn) appendEnds(p *para, t *Teardown) {
	p.s("; client ", t.ClientEnd.State.String(), ", server ", t.ServerEnd.State.String())
}
