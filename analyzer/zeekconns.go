package analyzer

import (
	"time"

	"finwave/flow"
	"finwave/internal/zeek"
)

// ZeekInactivity is Zeek's tcp_inactivity_timeout (scripts/base/init-bare.zeek:
// "const tcp_inactivity_timeout = 5 min"). Session::InactivityTimer
// (src/session/Session.cc) removes a connection once
// last_time + inactivity_timeout <= network_time, and the 4-tuple's next
// packet starts a new connection: a gap of at least this long splits a flow.
const ZeekInactivity = 5 * time.Minute

// ZeekConn is one of the connections Zeek logs for a flow. Zeek splits one
// flow into several when a SYN arrives that
// TCPSessionAdapter::IsReuse takes for a new connection, or when the
// 4-tuple idles for ZeekInactivity.
type ZeekConn struct {
	FirstFrame, LastFrame int64
	FirstTime, LastTime   time.Time
	ConnState             string
	// History is "" when too long to keep exactly (internal/zeek).
	History      string
	OrigIsClient bool
	Sent         [2]DirStats // indexed by Side
}

// zeekConns follows the Zeek connections of a flow after Zeek split it
// (conn.zc, nil until the first split). The flow-wide zeek.Conn
// (conn.zeek) always sees every segment, so the stream-level
// ZeekConnState and ZeekHistory describe the flow as if Zeek never split
// it. Until the first split the current Zeek connection is that same
// tracker; only after one does cur run beside it. A flow Zeek does not
// split therefore costs one comparison per segment, no allocation and
// one pointer of conn.
type zeekConns struct {
	done  []ZeekConn // Zeek connections ended by a split, in order
	cur   zeek.Conn
	first int64 // first frame of the current Zeek connection
	start time.Time
	base  [2]DirStats // c.sent when the current Zeek connection began
}

// zeekSegment runs before seg is fed to the analysis: it ends the current
// Zeek connection when seg starts a new one, then feeds seg to the Zeek
// trackers.
func (c *conn) zeekSegment(seg *flow.Segment, fromA bool) {
	z := c.zc
	curr := &c.zeek
	if z != nil {
		curr = &z.cur
	}
	if c.lastFrame != 0 {
		if seg.Time.Sub(c.lastAt.time()) >= ZeekInactivity || curr.Reuse(fromA, seg.Flags, seg.Seq) {
			if z == nil {
				z = take(c.spare, freeZCs)
				*z = zeekConns{done: z.done[:0]} // an earlier flow's, copied out at its finish
			}
			c.zeekEnd(z, curr)
			c.zc = z // from here on cur is the current Zeek connection
			z.cur = zeek.Conn{}
			p := c.zports
			z.cur.SetPorts(p[0], p[1], p[0] < 1024, p[1] < 1024)
			z.first, z.start, z.base = seg.Frame, seg.Time, c.sent
		}
	}
	c.zeek.ObserveSegment(fromA, seg)
	if z != nil {
		z.cur.ObserveSegment(fromA, seg)
	}
}

// zeekEnd records the current Zeek connection, tracked by zc, as ended at
// the last segment seen, in z. c.zc is nil when zc is the flow-wide
// tracker (no split yet; z is about to become c.zc).
func (c *conn) zeekEnd(z *zeekConns, zc *zeek.Conn) {
	first, start := z.first, z.start
	var base [2]DirStats
	if c.zc == nil {
		first, start = c.firstFrame, c.firstAt.time()
	} else {
		base = z.base
	}
	zs := ZeekConn{
		FirstFrame: first, LastFrame: c.lastFrame,
		FirstTime: start, LastTime: c.lastAt.time(),
		ConnState:    zc.ConnState(),
		History:      zc.History(),
		OrigIsClient: (c.sideOf[flow.DirAB] == Client) == zc.OrigIsA(),
	}
	for i := range zs.Sent {
		zs.Sent[i].Packets = c.sent[i].Packets - base[i].Packets
		zs.Sent[i].Bytes = c.sent[i].Bytes - base[i].Bytes
	}
	z.done = append(z.done, zs)
}

// zeekFinish fills t.Zeek: the ended Zeek connections and the last one,
// which ends with the flow. t's stream-level fields must be set.
func (c *conn) zeekFinish(t *Teardown) {
	z := c.zc
	if z == nil {
		t.Zeek = append(t.Zeek, ZeekConn{
			FirstFrame: c.firstFrame, LastFrame: c.lastFrame,
			FirstTime: c.firstAt.time(), LastTime: c.lastAt.time(),
			ConnState: t.ZeekConnState, History: t.ZeekHistory,
			OrigIsClient: t.ZeekOrigIsClient, Sent: t.Sent,
		})
		return
	}
	t.Zeek = append(t.Zeek, z.done...)
	c.zeekEnd(z, &z.cur)
	t.Zeek = append(t.Zeek, z.done[len(z.done)-1])
}
