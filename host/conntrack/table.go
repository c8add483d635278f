package conntrack

import (
	"net/netip"
	"strconv"
	"sync"
	"time"

	ct "github.com/ti-mo/conntrack"

	"finwave/host"
)

// tcpStateNames are conntrack's TCP states as `conntrack -L` prints them,
// indexed by enum tcp_conntrack (include/uapi/linux/netfilter/nf_conntrack_tcp.h).
var tcpStateNames = [...]string{"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2"}

// StateName is conntrack's name of TCP state s (enum tcp_conntrack).
func StateName(s uint8) string {
	if int(s) < len(tcpStateNames) {
		return tcpStateNames[s]
	}
	return "STATE(" + strconv.Itoa(int(s)) + ")"
}

// Pair names which of an entry's four address pairs a segment carried.
// For a DNAT'd flow client → VIP translated to backend, the client side of
// the NAT carries Orig (client → VIP) and OrigReversed (VIP → client), the
// backend side Reply (backend → client) and ReplyReversed (client →
// backend). Without NAT, Orig equals ReplyReversed and Orig is named.
type Pair uint8

const (
	NoPair        Pair = iota
	Orig               // the original direction as its first packet had it
	OrigReversed       // the reply direction, after de-NAT
	Reply              // the reply direction as its sender sent it
	ReplyReversed      // the original direction, after NAT
	numPairs
)

var pairNames = [...]string{"", "orig", "orig-reversed", "reply", "reply-reversed"}

var _ [numPairs]string = pairNames

func (p Pair) String() string {
	if p < numPairs {
		return pairNames[p]
	}
	return "invalid"
}

// Pairs lists the pairs.
func Pairs() []Pair { return []Pair{Orig, OrigReversed, Reply, ReplyReversed} }

// Found is an entry found for a segment's pair.
type Found struct {
	host.Entry
	// Pair is which of the entry's pairs the looked-up segment carried.
	Pair Pair
	// Read is when the entry was last read (dump or event): Entry.Timeout
	// counts from then.
	Read time.Time
	// Destroyed is when conntrack reported the entry destroyed (zero while
	// it lives). Resynced is set when its DESTROY event was lost and a
	// later dump no longer had it: Destroyed is then the dump's time.
	Destroyed time.Time
	Resynced  bool
	// ID is conntrack's id of the entry (CTA_ID).
	ID uint32
}

// Live says whether the entry still existed when last heard of.
func (f Found) Live() bool { return f.Destroyed.IsZero() }

// key is one direction of a flow, as a segment carries it.
type key struct{ src, dst netip.AddrPort }

func dirKey(d host.Direction) key { return key{d.Src, d.Dst} }

// rec is one entry in the table; two keys (its Orig and its Reply
// direction) point to it.
type rec struct {
	Found
	gen uint64 // the dump generation that last saw it (resync)
}

// table holds the entries, indexed by both directions. Invariants: every
// live rec is in live under dirKey(Orig) and dirKey(Reply); len(live) ≤
// 2*maxLive; gone is a ring of at most maxGone destroyed recs, and goneIdx
// maps a key to the newest rec of gone that has it.
type table struct {
	mu       sync.Mutex
	live     map[key]*rec
	nlive    int
	maxLive  int
	gone     []*rec
	goneNext int
	goneMax  int
	goneIdx  map[key]*rec

	overflow uint64 // entries not kept: the live table was full
	events   uint64 // events applied (counted by the caller)
}

func newTable(maxLive, maxGone int) *table {
	return &table{
		live:    make(map[key]*rec),
		maxLive: maxLive,
		gone:    make([]*rec, 0, min(maxGone, 1024)),
		goneMax: maxGone,
		goneIdx: make(map[key]*rec),
	}
}

// fromFlow converts a conntrack flow to an entry; ok is false for a
// non-TCP flow.
func fromFlow(f *ct.Flow, at time.Time) (rec, bool) {
	o, r := f.TupleOrig, f.TupleReply
	if o.Proto.Protocol != 6 { // IPPROTO_TCP
		return rec{}, false
	}
	ap := func(a netip.Addr, p uint16) netip.AddrPort { return netip.AddrPortFrom(a.Unmap(), p) }
	var e rec
	e.Orig = host.Direction{Src: ap(o.IP.SourceAddress, o.Proto.SourcePort), Dst: ap(o.IP.DestinationAddress, o.Proto.DestinationPort)}
	e.Reply = host.Direction{Src: ap(r.IP.SourceAddress, r.Proto.SourcePort), Dst: ap(r.IP.DestinationAddress, r.Proto.DestinationPort)}
	if f.ProtoInfo.TCP != nil {
		e.State = StateName(f.ProtoInfo.TCP.State)
	}
	e.Timeout = time.Duration(f.Timeout) * time.Second
	e.Mark = f.Mark
	// IPS_SRC_NAT / IPS_DST_NAT (include/uapi/linux/netfilter/nf_conntrack_common.h);
	// the tuples say the same when the status is absent: a DNAT'd reply
	// comes from another address than the original went to.
	e.SNAT = f.Status.SrcNAT() || e.Reply.Dst != e.Orig.Src
	e.DNAT = f.Status.DstNAT() || e.Reply.Src != e.Orig.Dst
	e.Read = at
	e.ID = f.ID
	return e, true
}

// upsert records a NEW or UPDATE (or a dumped entry): fields the message
// lacks (an UPDATE without CTA_PROTOINFO carries no state) keep their
// last value.
func (t *table) upsert(n rec, gen uint64) {
	k := dirKey(n.Orig)
	if old := t.live[k]; old != nil {
		if n.State == "" {
			n.State = old.State
		}
		if n.Timeout == 0 {
			n.Timeout = old.Timeout
		}
		*old = n
		old.gen = gen
		t.live[dirKey(n.Reply)] = old
		return
	}
	if t.nlive >= t.maxLive {
		t.overflow++
		return
	}
	p := new(rec)
	*p = n
	p.gen = gen
	t.live[k] = p
	t.live[dirKey(n.Reply)] = p
	t.nlive++
}

// destroy records a DESTROY: the entry leaves the live table for the ring
// of destroyed ones, keeping its last state when the event has none.
func (t *table) destroy(n rec, at time.Time, resynced bool) {
	k := dirKey(n.Orig)
	if old := t.live[k]; old != nil {
		if n.State == "" {
			n.State = old.State
		}
		t.unlink(old)
	}
	n.Destroyed = at
	n.Resynced = resynced
	n.Timeout = 0
	t.remember(n)
}

func (t *table) unlink(p *rec) {
	for _, k := range [2]key{dirKey(p.Orig), dirKey(p.Reply)} {
		if t.live[k] == p {
			delete(t.live, k)
		}
	}
	t.nlive--
}

// remember puts a destroyed entry in the ring, evicting the oldest when it
// is full.
func (t *table) remember(n rec) {
	if t.goneMax <= 0 {
		return
	}
	p := new(rec)
	*p = n
	if len(t.gone) < t.goneMax {
		t.gone = append(t.gone, p)
	} else {
		old := t.gone[t.goneNext]
		for _, k := range [2]key{dirKey(old.Orig), dirKey(old.Reply)} {
			if t.goneIdx[k] == old {
				delete(t.goneIdx, k)
			}
		}
		t.gone[t.goneNext] = p
		t.goneNext = (t.goneNext + 1) % len(t.gone)
	}
	t.goneIdx[dirKey(p.Orig)] = p
	t.goneIdx[dirKey(p.Reply)] = p
}

// sweep ends a resync: live entries the dump of generation gen (begun at
// at) did not see, and no event since then did, were destroyed while
// events were lost.
func (t *table) sweep(gen uint64, at time.Time) {
	for k, p := range t.live {
		if p.gen != gen && k == dirKey(p.Orig) && !p.Read.After(at) {
			t.unlink(p)
			n := *p
			n.Destroyed = at
			n.Resynced = true
			n.Timeout = 0
			t.remember(n)
		}
	}
}

// find looks the pair src → dst up: live entries first, then destroyed.
func (t *table) find(src, dst netip.AddrPort) (Found, bool) {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	for _, m := range [2]map[key]*rec{t.live, t.goneIdx} {
		if p := m[key{src, dst}]; p != nil {
			f := p.Found
			f.Pair = Orig
			if (host.Direction{Src: src, Dst: dst}) != p.Orig {
				f.Pair = Reply
			}
			return f, true
		}
		if p := m[key{dst, src}]; p != nil {
			f := p.Found
			f.Pair = OrigReversed
			if (host.Direction{Src: dst, Dst: src}) != p.Orig {
				f.Pair = ReplyReversed
			}
			return f, true
		}
	}
	return Found{}, false
}
