package analyzer

import (
	"time"

	"finwave/flow"
)

// tomb remembers that an endpoint of a finished flow was in TIME_WAIT, so a
// SYN reusing the 4-tuple later can be recognised (syn-in-time-wait).
type tomb struct {
	addr  flow.Endpoint // the endpoint in TIME_WAIT
	until time.Time     // when its TIME_WAIT ends
}

// tombstones is a bounded set of TIME_WAIT 4-tuples, keyed by the
// client→server key; expired entries are dropped as new ones come in, so it
// holds at most the TIME_WAITs of the last TIME_WAIT period (and never more
// than max). Like the kernel's TIME_WAIT sockets, it grows with the close
// rate over one TIME_WAIT period (60 s), then stays flat however long the
// capture.
//
// Keys and values are stored without pointers, and IPv4 4-tuples (nearly
// all of them) apart from IPv6 ones: about 60 octets per TIME_WAIT for
// IPv4 (12-octet key, value and queue entry) instead of 100 with one
// 36-octet key for both; the garbage collector need not scan them.
//
// Expiry is first in, first out: TIME_WAIT ends (until) are added in
// nearly increasing order, so add pops expired entries from the front of
// each queue instead of sweeping the map (constant time per entry). An
// entry whose until is not in order only lives longer in the map; lookup
// checks until anyway.
type tombstones struct {
	v4  twTable[tw4Key]
	v6  twTable[tw6Key]
	max int
}

// twTable is the map and expiry queue of one key type.
type twTable[K comparable] struct {
	m     map[K]twVal
	queue []twQueued[K]
	head  int
}

// twQueued is one add, in order.
type twQueued[K comparable] struct {
	key   K
	until int64
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

// twVal is a tomb in a pointer-free form: the endpoint in TIME_WAIT is the
// key's source or destination, until is UnixNano.
type twVal struct {
	until int64
	srcTW bool
}

func (t *tombstones) init(max int) {
	t.v4.m = make(map[tw4Key]twVal)
	t.v6.m = make(map[tw6Key]twVal)
	t.max = max
}

func (t *tombstones) add(k flow.Key, v tomb, now time.Time) {
	nowNS := now.UnixNano()
	t.v4.expire(nowNS)
	t.v6.expire(nowNS)
	if len(t.v4.m)+len(t.v6.m) >= t.max {
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
func (t *tombstones) lookup(k flow.Key, now time.Time) (tomb, bool) {
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
			return tomb{addr: addr, until: time.Unix(0, v.until).In(now.Location())}, true
		}
	}
	return tomb{}, false
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

// expire drops the entries queued before nowNS whose TIME_WAIT has ended.
func (t *twTable[K]) expire(nowNS int64) {
	for t.head < len(t.queue) && t.queue[t.head].until <= nowNS {
		q := t.queue[t.head]
		if old, ok := t.m[q.key]; ok && old.until <= nowNS {
			delete(t.m, q.key)
		}
		t.head++
	}
	if t.head > 1024 && t.head*2 > len(t.queue) {
		n := copy(t.queue, t.queue[t.head:])
		t.queue, t.head = t.queue[:n], 0
	}
}

func (t *twTable[K]) put(k K, v twVal) {
	t.m[k] = v
	t.queue = append(t.queue, twQueued[K]{key: k, until: v.until})
}

// get returns the live entry of k, dropping it if it has expired.
func (t *twTable[K]) get(k K, nowNS int64) (twVal, bool) {
	v, ok := t.m[k]
	if !ok {
		return twVal{}, false
	}
	if v.until <= nowNS {
		delete(t.m, k)
		return twVal{}, false
	}
	return v, true
}
