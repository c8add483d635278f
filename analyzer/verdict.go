package analyzer

// The verdict is one line per flow, the first thing a report prints of it:
// who ended it, how, the most likely cause, and what to check. It is
// written from the flow's main anomaly (the most severe, then the
// earliest), its silent side if one went silent, and otherwise from the
// pattern and the end states.

// verdictAct is what the side of an anomaly of each kind did, as the
// verdict says it ("<side> <act>").
var verdictAct = [numKinds]string{
	FINRetransmitted:        "retransmitted its FIN",
	LostFinalACK:            "never got the final ACK of the close and sent its FIN again",
	TimeWaitAssassination:   "lost its TIME_WAIT to a RST (TIME_WAIT assassination)",
	RSTUnreadData:           "reset the connection: close() with unread data",
	RSTLingerZero:           "aborted with RST: SO_LINGER {1,0} or an application abort",
	RSTDataAfterClose:       "reset the peer's data: it had already closed",
	RSTAfterFinWait2Timeout: "reset the peer's late data: its FIN_WAIT_2 had expired or was about to",
	RSTOutOfWindow:          "is named as the sender of a RST its peer did not accept (blind, injected or stale)",
	CloseWaitStuck:          "never closed after the peer's FIN (CLOSE_WAIT)",
	FinWait2Stuck:           "waited in FIN_WAIT_2 for the peer's FIN",
	DataAfterFIN:            "sent data after its own FIN",
	SYNInTimeWait:           "had its 4-tuple reused while in TIME_WAIT",
	SimultaneousClose:       "closed at the same time as its peer",
	HalfClose:               "half-closed and kept reading",
	InvalidFlags:            "sent impossible flag combinations",
	KeepaliveTimeout:        "gave up: keepalive timeout",
	RetransmissionTimeout:   "gave up: retransmission timeout",
	SYNTimeout:              "gave up connecting: SYN timeout",
	SYNACKTimeout:           "gave up on the handshake: SYN-ACK timeout",
	OrphanTimeout:           "gave up on its FIN: orphan timeout",
	RSTLinger2:              "reset instead of waiting in FIN_WAIT_2 (TCP_LINGER2 < 0)",
	RSTMemoryPressure:       "reset at close(): the host was short of orphan or TCP memory",
	IdleCloseRace:           "closed an idle connection as its peer sent a new request on it (idle-timeout race)",
}

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
		ae, be := endsFlow[a.kind], endsFlow[best.kind]
		if (ae && !be) || (ae == be && firstFrame(a.frames) < firstFrame(best.frames)) {
			best = a
		}
	}
	return best
}

// endsFlow marks the kinds that say how a connection ended.
var endsFlow = [numKinds]bool{
	TimeWaitAssassination: true, RSTUnreadData: true, RSTLingerZero: true, RSTDataAfterClose: true,
	RSTAfterFinWait2Timeout: true, CloseWaitStuck: true, KeepaliveTimeout: true, RetransmissionTimeout: true,
	SYNTimeout: true, SYNACKTimeout: true, OrphanTimeout: true, RSTLinger2: true, RSTMemoryPressure: true,
	IdleCloseRace: true,
}

// appendVerdict appends t's verdict to p.
func (c *conn) appendVerdict(p *para, t *Teardown) {
	if a := c.mainAnomaly(); a != nil {
		p.s(a.side.String(), " ")
		if a.kind == RetransmissionTimeout && a.note2 != "gave-up" {
			p.s("kept retransmitting to a silent peer (retransmission timeout pending)")
		} else {
			p.s(verdictAct[a.kind])
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
		if !es.SilentSince.IsZero() && c.lastTime.After(es.SilentSince) {
			p.s(" (").ms(c.lastTime.Sub(es.SilentSince)).s(" before the flow's last segment)")
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
