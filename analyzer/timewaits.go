package analyzer

import (
	"hash/maphash"
	"time"

	"finwave/flow"
	"finwave/internal/probe"
)

// timeWait remembers that an endpoint of a finished flow was in TIME_WAIT, so a
// SYN reusing the 4-tuple later can be recognised (syn-in-time-wait).
type timeWait struct {
	addr  flow.Endpoint // the endpoint in TIME_WAIT
	until time.Time     // when its TIME_WAIT ends
}

// timeWaits is a bounded set of TIME_WAIT 4-tuples, keyed by the
// client→server key; expired entries are dropped as new ones come in, so it
// holds at most the TIME_WAITs of the last TIME_WAIT period (and never more
// than max). Like the kernel's TIME_WAIT sockets, it grows with the close
// rate over one TIME_WAIT period (60 s), then stays flat however long the
// capture.
//
// IPv4 4-tuples (nearly all of them) are kept apart from IPv6 ones, in a
// 12-octet key. Each table (twTable) is a ring of records in the order
// they were added plus an open-addressing index into it: about 40 octets
// per IPv4 TIME_WAIT, no pointers for the garbage collector to scan.
//
// Expiry is first in, first out: TIME_WAIT ends (until) are added in
// nearly increasing order, so add pops expired records from the front of
// each ring instead of sweeping (constant time per record). A record whose
// until is not in order only lives longer; lookup checks until anyway.
type timeWaits struct {
	v4  twTable[tw4Key]
	v6  twTable[tw6Key]
	max int
}

// tw4Key is a flow.Key of two IPv4 endpoints.
type tw4Key struct {
	src, dst     [4]byte
	sport, dport uint16
}

// tw6Key is any other flow.Key (IPv6, as 16 octets; zones are dropped:
// TIME_WAIT 4-tuples on two zones of one link-local address are not told
// apart).
type tw6Key struct {
	src, dst     [16]byte
	sport, dport uint16
}

// twVal is a timeWait in a pointer-free form: the endpoint in TIME_WAIT is the
// key's source or destination, until is UnixNano.
type twVal struct {
	until int64
	srcTW bool
}

func (t *timeWaits) init(max int) {
	t.v4.init()
	t.v6.init()
	t.max = max
}

func (t *timeWaits) add(k flow.Key, v timeWait, now time.Time) {
	nowNS := now.UnixNano()
	t.v4.expire(nowNS)
	t.v6.expire(nowNS)
	if t.v4.n+t.v6.n >= t.max {
		return // full of live TIME_WAITs: forget this one
	}
	val := twVal{until: v.until.UnixNano(), srcTW: v.addr == k.Src}
	if k4, ok := to4(k); ok {
		t.v4.put(k4, val)
	} else {
		t.v6.put(to6(k), val)
	}
}

// lookup finds a live TIME_WAIT on the 4-tuple of k, in either direction.
func (t *timeWaits) lookup(k flow.Key, now time.Time) (timeWait, bool) {
	nowNS := now.UnixNano()
	for _, key := range [...]flow.Key{k, k.Reverse()} {
		var v twVal
		var ok bool
		if k4, is4 := to4(key); is4 {
			v, ok = t.v4.get(k4, nowNS)
		} else {
			v, ok = t.v6.get(to6(key), nowNS)
		}
		if ok {
			addr := key.Dst
			if v.srcTW {
				addr = key.Src
			}
			return timeWait{addr: addr, until: time.Unix(0, v.until).In(now.Location())}, true
		}
	}
	return timeWait{}, false
}

func to4(k flow.Key) (tw4Key, bool) {
	if !k.Src.Addr.Is4() || !k.Dst.Addr.Is4() {
		return tw4Key{}, false
	}
	return tw4Key{src: k.Src.Addr.As4(), dst: k.Dst.Addr.As4(), sport: k.Src.Port, dport: k.Dst.Port}, true
}

func to6(k flow.Key) tw6Key {
	return tw6Key{src: k.Src.Addr.As16(), dst: k.Dst.Addr.As16(), sport: k.Src.Port, dport: k.Dst.Port}
}

// twTable holds the TIME_WAITs of one key type.
//
// Invariants: ring[head%len(ring) .. tail%len(ring)) (circularly, len(ring)
// a power of two) holds the records in the order they were added; a record
// is live when the index has an entry for it, and every key has at most
// one live record. The index is open-addressed with linear probing and
// backward-shift deletion (no deletion markers), at most half full; an
// entry holds its key's hash (tag) and the record's ring position + 1
// (pos; 0 is empty).
type twTable[K comparable] struct {
	seed       maphash.Seed
	ring       []twRec[K]
	head, tail uint64
	idx        []twSlot
	n          int // live records
}

type twRec[K comparable] struct {
	key  K
	val  twVal
	live bool
}

type twSlot struct {
	tag uint32
	pos uint32
}

const twMinSize = 1 << 10

func (t *twTable[K]) init() {
	t.seed = maphash.MakeSeed()
	t.ring = make([]twRec[K], twMinSize)
	t.idx = make([]twSlot, 2*twMinSize)
}

func (t *twTable[K]) hash(k K) uint32 { return uint32(maphash.Comparable(t.seed, k)) }

// find returns the index slot of k's live record, or -1.
func (t *twTable[K]) find(k K, h uint32) int {
	m := len(t.idx) - 1
	for i := int(h) & m; t.idx[i].pos != 0; i = (i + 1) & m {
		if e := t.idx[i]; e.tag == h && t.ring[e.pos-1].key == k {
			return i
		}
	}
	return -1
}

// put adds k's TIME_WAIT, replacing a live one of the same key.
func (t *twTable[K]) put(k K, v twVal) {
	h := t.hash(k)
	if i := t.find(k, h); i >= 0 {
		t.drop(i)
	}
	if t.tail-t.head == uint64(len(t.ring)) {
		t.growRing()
	}
	if (t.n+1)*2 > len(t.idx) {
		t.rehash(2 * len(t.idx))
	}
	pos := uint32(t.tail&uint64(len(t.ring)-1)) + 1
	t.ring[pos-1] = twRec[K]{key: k, val: v, live: true}
	t.tail++
	t.insert(twSlot{tag: h, pos: pos})
	t.n++
}

// get returns k's live TIME_WAIT, dropping it if it ended by nowNS.
func (t *twTable[K]) get(k K, nowNS int64) (twVal, bool) {
	i := t.find(k, t.hash(k))
	if i < 0 {
		return twVal{}, false
	}
	v := t.ring[t.idx[i].pos-1].val
	if v.until <= nowNS {
		t.drop(i)
		return twVal{}, false
	}
	return v, true
}

// expire pops the records at the front of the ring that ended by nowNS or
// were dropped.
func (t *twTable[K]) expire(nowNS int64) {
	mask := uint64(len(t.ring) - 1)
	for t.head < t.tail {
		r := &t.ring[t.head&mask]
		if r.live {
			if r.val.until > nowNS {
				return
			}
			t.drop(t.find(r.key, t.hash(r.key)))
		}
		t.head++
	}
}

// drop removes the index entry at slot i and marks its record dead.
func (t *twTable[K]) drop(i int) {
	t.ring[t.idx[i].pos-1].live = false
	t.n--
	probe.Delete(t.idx, i)
}

func (e twSlot) Home() uint32 { return e.tag }
func (e twSlot) Empty() bool  { return e.pos == 0 }

func (t *twTable[K]) insert(e twSlot) {
	m := len(t.idx) - 1
	i := int(e.tag) & m
	for t.idx[i].pos != 0 {
		i = (i + 1) & m
	}
	t.idx[i] = e
}

// growRing doubles the ring, moving the records to its start in order;
// the index is rebuilt for the new positions.
func (t *twTable[K]) growRing() {
	old, mask := t.ring, uint64(len(t.ring)-1)
	t.ring = make([]twRec[K], 2*len(old))
	n := uint64(0)
	for p := t.head; p < t.tail; p++ {
		t.ring[n] = old[p&mask]
		n++
	}
	t.head, t.tail = 0, n
	t.rehash(len(t.idx))
}

// rehash rebuilds the index with size slots from the live records.
func (t *twTable[K]) rehash(size int) {
	t.idx = make([]twSlot, size)
	mask := uint64(len(t.ring) - 1)
	for p := t.head; p < t.tail; p++ {
		if r := &t.ring[p&mask]; r.live {
			t.insert(twSlot{tag: t.hash(r.key), pos: uint32(p&mask) + 1})
		}
	}
}
