package analyzer

import (
	"net/netip"
	"time"

	"finwave/flow"
)

// OpenStuck is an endpoint of a flow still open that has held CLOSE_WAIT or
// FIN_WAIT_2 for Config.StuckAfter or longer. A leaked socket never
// closes, so live capture reports it when the threshold passes rather than
// when the flow ends (StuckOpen); the flow stays tracked, and its
// Teardown, when it ends, tells the rest.
type OpenStuck struct {
	Stream         int64
	Client, Server flow.Endpoint
	Side           Side
	State          State     // CloseWait or FinWait2
	Kind           Kind      // CloseWaitStuck or FinWait2Stuck
	Since          time.Time // when the endpoint entered State
	Held           time.Duration
}

// Endpoint is the stuck side's address and port; Peer the other side's.
func (s *OpenStuck) Endpoint() netip.AddrPort {
	if s.Side == Server {
		return netip.AddrPortFrom(s.Server.Addr, s.Server.Port)
	}
	return netip.AddrPortFrom(s.Client.Addr, s.Client.Port)
}

// Peer is the other side's address and port.
func (s *OpenStuck) Peer() netip.AddrPort {
	if s.Side == Server {
		return netip.AddrPortFrom(s.Client.Addr, s.Client.Port)
	}
	return netip.AddrPortFrom(s.Server.Addr, s.Server.Port)
}

// StuckOpen calls fn, once per endpoint and state, for every endpoint of
// an open flow that has held CLOSE_WAIT (the application has not called
// close() after reading EOF) or FIN_WAIT_2 (the peer has not sent its FIN)
// for Config.StuckAfter or longer at capture time now. The Teardown's own
// close-wait-stuck / fin-wait2-stuck anomaly (conn.stuck) is unchanged:
// this is the early notice. fn must not keep s.
func (a *Analyzer) StuckOpen(now time.Time, fn func(s *OpenStuck)) {
	if a.cfg.StuckAfter <= 0 {
		return
	}
	var s OpenStuck
	a.table.EachOpen(func(fc *flow.Conn) {
		c, _ := fc.Data.(*conn)
		if c == nil {
			return
		}
		for i := range c.ep {
			e := &c.ep[i]
			if e.state != CloseWait && e.state != FinWait2 || e.since == c.rareOf().ep[i].stuckNoticed {
				continue
			}
			if now.Sub(e.since.time()) < a.cfg.StuckAfter || e.state == FinWait2 && e.fw2Timeout {
				continue
			}
			c.rareFor().ep[i].stuckNoticed = e.since
			cl, sv := c.endpoints(fc)
			s = OpenStuck{Stream: fc.ID, Client: cl, Server: sv, Side: e.side,
				State: e.state, Kind: CloseWaitStuck, Since: e.since.time(), Held: now.Sub(e.since.time())}
			if e.state == FinWait2 {
				s.Kind = FinWait2Stuck
			}
			fn(&s)
		}
	})
}
