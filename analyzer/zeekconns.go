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

// zeekConns follows the Zeek connections of a flow. The flow-wide
// zeek.Conn (conn.zeek) always sees every segment, so the stream-level
// ZeekConnState and ZeekHistory describe the flow as if Zeek never split
// it. Until the first split the current Zeek connection is that same
// tracker; only after one does cur run beside it. A flow Zeek does not
// split therefore costs one comparison per segment and no allocation.
type zeekConns struct {
	done  []ZeekConn // Zeek connections ended by a split, in order
	split bool       // cur is in use
	cur   zeek.Conn
	first int64 // first frame of the current Zeek connection
	start time.Time
	base  [2]DirStats // c.sent when the current Zeek connection began
	ports [2]uint16   // of A and B, for zeek.Conn.SetPorts
}

// zeekSegment runs before seg is fed to the analysis: it ends the current
// Zeek connection when seg starts a new one, then feeds seg to the Zeek
// trackers.
func (c *conn) zeekSegment(seg *flow.Segment, fromA bool) {
	z := &c.zc
	curr := &c.zeek
	if z.split {
		curr = &z.cur
	}
	if c.lastFrame != 0 {
		if seg.Time.Sub(c.lastTime) >= ZeekInactivity || curr.Reuse(fromA, seg.Flags, seg.Seq) {
			c.zeekEnd(curr)
			z.split = true
			z.cur = zeek.Conn{}
			z.cur.SetPorts(z.ports[0], z.ports[1], z.ports[0] < 1024, z.ports[1] < 1024)
			z.first, z.start, z.base = seg.Frame, seg.Time, c.sent
			curr = &z.cur
		}
	}
	c.zeek.ObserveSegment(fromA, seg)
	if z.split {
		z.cur.ObserveSegment(fromA, seg)
	}
}

// zeekEnd records the current Zeek connection, tracked by zc, as ended at
// the last segment seen.
func (c *conn) zeekEnd(zc *zeek.Conn) {
	z := &c.zc
	first, start := z.first, z.start
	if !z.split {
		first, start = c.firstFrame, c.firstTime
	}
	zs := ZeekConn{
		FirstFrame: first, LastFrame: c.lastFrame,
		FirstTime: start, LastTime: c.lastTime,
		ConnState:    zc.ConnState(),
		History:      zc.History(),
		OrigIsClient: (c.sideOf[flow.DirAB] == Client) == zc.OrigIsA(),
	}
	for i := range zs.Sent {
		zs.Sent[i].Packets = c.sent[i].Packets - z.base[i].Packets
		zs.Sent[i].Bytes = c.sent[i].Bytes - z.base[i].Bytes
	}
	z.done = append(z.done, zs)
}

// zeekFinish fills t.Zeek: the ended Zeek connections and the last one,
// which ends with the flow. t's stream-level fields must be set.
func (c *conn) zeekFinish(t *Teardown) {
	z := &c.zc
	t.Zeek = append(t.Zeek, z.done...)
	if !z.split {
		t.Zeek = append(t.Zeek, ZeekConn{
			FirstFrame: c.firstFrame, LastFrame: c.lastFrame,
			FirstTime: c.firstTime, LastTime: c.lastTime,
			ConnState: t.ZeekConnState, History: t.ZeekHistory,
			OrigIsClient: t.ZeekOrigIsClient, Sent: t.Sent,
		})
		return
	}
	c.zeekEnd(&z.cur)
	t.Zeek = append(t.Zeek, z.done[len(z.done)-1])
}
