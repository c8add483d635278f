package analyzer

import (
	"time"

	"finwave/flow"
)

// Stats counts what the analyzer did.
type Stats struct {
	Flows   int64 // flows created
	Open    int   // flows open now
	Evicted int64 // flows finished early by the MaxFlows cap
	Idle    int64 // flows finished by the idle timeout
	// Duplicates counts segments ignored as the same packet captured
	// twice within half a millisecond (tcpdump -i any on bridged hosts).
	Duplicates int64
}

// Analyzer runs the close machines over a stream of segments in capture
// order and emits one Teardown per flow as each flow finishes.
type Analyzer struct {
	cfg       Config
	emit      func(*Teardown)
	table     *flow.Table
	free      []*conn // recycled per-flow state
	spares    spares  // side structs lent to the conns that need them
	timeWaits timeWaits
	stats     Stats
}

// New returns an analyzer that calls emit for every finished flow, in the
// order flows finish. emit owns the Teardown it is given.
func New(cfg Config, emit func(*Teardown)) *Analyzer {
	def := DefaultConfig()
	if cfg.Profile == nil {
		cfg.Profile = def.Profile
	}
	if cfg.MaxSegments <= 0 {
		cfg.MaxSegments = def.MaxSegments
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = def.IdleTimeout
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = def.MaxFlows
	}
	a := &Analyzer{cfg: cfg, emit: emit}
	a.timeWaits.init(cfg.MaxFlows)
	a.table = flow.NewTable(flow.TableConfig{
		IdleTimeout: cfg.IdleTimeout,
		MaxFlows:    cfg.MaxFlows,
		MaxFinished: cfg.MaxFinished,
		OnFinish:    a.onFinish,
		OnForget:    cfg.OnForget,
		Continues:   a.continues,
	})
	return a
}

// Segment feeds one segment, in capture order.
func (a *Analyzer) Segment(seg *flow.Segment) {
	c, dir, created := a.table.Track(seg)
	k, _ := c.Data.(*conn)
	if created || k == nil {
		k = a.newConn(c, seg, dir)
		c.Data = k
	}
	s := k.sideOf[dir]
	if k.last[s].duplicate(seg, &k.copies) {
		a.stats.Duplicates++
		return
	}
	if seg.Tunnel.Type != flow.NoTunnel && !k.tunnelled {
		k.setTunnel(&seg.Tunnel)
	}
	snd, rcv := &c.Half[dir], &c.Half[dir.Reverse()]
	k.zeekSegment(seg, dir == flow.DirAB)
	k.step(&a.cfg, seg, s, snd, rcv)
	if seg.Frame != k.rareOf().contFrame {
		// A SYN kept in its flow (rfc5961.go) changed nothing at the
		// receiver: the sender's sequence state stays the connection's.
		snd.Observe(seg, rcv)
	}
	if k.closedBoth() {
		// Teardown complete: wait out the grace for late retransmissions
		// (a lost final ACK, TIME_WAIT re-ACKs), restarted by each of them.
		k.done = true
		a.table.MarkDone(c, seg.Time.Add(a.cfg.Grace))
	} else if k.done && k.revived {
		// A RST proved forged had closed both sides; one is back: the
		// table's deadline cannot be withdrawn, so it is pushed to the
		// idle timeout, renewed by each segment (flow.Table.MarkDone).
		a.table.MarkDone(c, seg.Time.Add(a.cfg.IdleTimeout))
	}
}

// closedBoth reports whether neither endpoint can take part any more: each
// is CLOSED or in TIME_WAIT.
func (c *conn) closedBoth() bool {
	for i := range c.ep {
		switch c.ep[i].state {
		case Closed, TimeWait:
		default:
			return false
		}
	}
	return true
}

// Close finishes every open flow (end of capture) in stream order.
func (a *Analyzer) Close() { a.table.Close() }

// Stats returns the counters so far.
func (a *Analyzer) Stats() Stats {
	st := a.table.Stats()
	a.stats.Flows = int64(st.Created)
	a.stats.Open = a.table.Len()
	a.stats.Evicted = int64(st.Finished[flow.FinishEvicted])
	a.stats.Idle = int64(st.Finished[flow.FinishIdle])
	return a.stats
}

// typicalChanges is the room for state changes a new conn starts with.
const typicalChanges = 12

// newConn starts the analysis of a flow at its first segment and decides
// the roles: the SYN sender is the client; without a SYN the lower port is
// the server's (well-known ports are low, ephemeral ports high).
func (a *Analyzer) newConn(c *flow.Conn, seg *flow.Segment, dir flow.Dir) *conn {
	var k *conn
	if n := len(a.free); n > 0 {
		k = a.free[n-1]
		a.free = a.free[:n-1]
	} else {
		k = new(conn)
	}
	*k = conn{continued: c.Resumed, changes: k.changes[:0], segs: k.segs[:0], anoms: k.anoms[:0], tunnelBuf: k.tunnelBuf, spare: &a.spares}
	k.keepAll = a.cfg.KeepEvery != nil && a.cfg.KeepEvery(c.ID)
	if k.changes == nil {
		// A whole connection makes about ten changes (handshake and four
		// waves on both sides): room for them at once, not 1, 2, 4, 8, 16.
		k.changes = make([]change, 0, typicalChanges)
	}
	clientIsSrc := true
	switch {
	case seg.Flags&(flow.SYN|flow.ACK) == flow.SYN:
	case seg.Flags&(flow.SYN|flow.ACK) == flow.SYN|flow.ACK:
		clientIsSrc = false
	default:
		k.roles = RolesInferred
		clientIsSrc = seg.Src.Port > seg.Dst.Port
		if seg.Src.Port == seg.Dst.Port {
			clientIsSrc = true
		}
	}
	client := seg.Src
	if clientIsSrc {
		k.sideOf[dir], k.sideOf[dir.Reverse()] = Client, Server
	} else {
		k.sideOf[dir], k.sideOf[dir.Reverse()] = Server, Client
		client = seg.Dst
	}
	k.ep[Client].side, k.ep[Server].side = Client, Server
	for i := range k.ep {
		k.ep[i].since = noTime
	}
	k.firstAt, k.lastAt = noTime, noTime // as time.Time{} was, until the first segment
	aPort, bPort := c.A.Port, c.B.Port
	k.zeek.SetPorts(aPort, bPort, aPort < 1024, bPort < 1024)
	k.zports = [2]uint16{aPort, bPort}
	if seg.Flags&flow.SYN == 0 {
		// Mid-stream: the connection existed before the capture began.
		for i := range k.ep {
			k.ep[i].enter(Established, toNanos(seg.Time))
		}
		k.estab = true
	}
	if seg.Flags&(flow.SYN|flow.ACK) == flow.SYN {
		if tw, ok := a.timeWaits.lookup(flow.Key{Src: seg.Src, Dst: seg.Dst}, seg.Time); ok {
			side := Server
			if tw.addr == client {
				side = Client
			}
			an := k.addAnomaly(SYNInTimeWait, side, seg.Frame)
			an.dur = tw.until.Sub(seg.Time)
			if side != k.sideOf[dir] {
				k.startTWReuse(&a.cfg, side, tw.until)
			}
		}
	}
	return k
}

// onFinish is the flow table's callback: finish the teardown and emit it.
func (a *Analyzer) onFinish(c *flow.Conn, why flow.Finish, now time.Time) {
	k, _ := c.Data.(*conn)
	if k == nil {
		return
	}
	c.Data = nil
	t := k.finish(&a.cfg, why, now, c)
	// Remember TIME_WAIT endpoints, for SYNs that reuse the 4-tuple.
	for _, s := range [...]Side{Client, Server} {
		if es := t.End(s); es.State == TimeWait && es.Until.After(now) {
			a.timeWaits.add(flow.Key{Src: t.Client, Dst: t.Server}, timeWait{addr: t.Endpoint(s), until: es.Until}, now)
		}
	}
	if why == flow.FinishReused {
		// tcp_timewait_state_process: a SYN newer than the old connection
		// is accepted (TCP_TW_SYN) and the TIME_WAIT socket is recycled.
		for _, s := range [...]Side{Client, Server} {
			es := t.End(s)
			if es.State == TimeWait {
				es.State = Closed
				es.Until = time.Time{}
				if s == Client {
					t.ClientEnd = es
				} else {
					t.ServerEnd = es
				}
			}
		}
	}
	// Keep k, and its slices' backing arrays, for the next flow: finish
	// copied what the Teardown needs (the anomalies' frames arrays are
	// reused by addAnomaly; their other fields are only strings set from
	// constants). newConn clears the rest: one clear per flow, not two.
	k.release()
	a.free = append(a.free, k)
	if a.emit != nil {
		a.emit(t)
	}
}

// setTunnel records the flow's encapsulation (its first tunnelled
// segment's).
func (c *conn) setTunnel(t *flow.Tunnel) {
	if c.tunnelBuf == nil {
		c.tunnelBuf = new(flow.Tunnel)
	}
	*c.tunnelBuf = *t
	c.tunnelled = true
}
