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

// tombstones is a bounded map of TIME_WAIT 4-tuples, keyed by the
// client→server key; expired entries are swept as new ones come in, so it
// holds at most the TIME_WAITs of the last TIME_WAIT period (and never more
// than max).
//
// Keys and values are stored without pointers (twKey, twVal: 36+9 octets
// instead of 64+56): the map holds up to a TIME_WAIT period of closes (60 s
// of a busy server, hundreds of thousands of entries) and the garbage
// collector need not scan it.
//
// Expiry is first in, first out: TIME_WAIT ends (until) are added in
// nearly increasing order, so add pops expired entries from the front of
// queue instead of sweeping the map (constant time per entry). An entry
// whose until is not in order only lives longer in the map; lookup checks
// until anyway.
type tombstones struct {
	m     map[twKey]twVal
	max   int
	queue []twQueued
	head  int
}

// twQueued is one add, in order.
type twQueued struct {
	key   twKey
	until int64
}

// twKey is a flow.Key in a pointer-free form (IPv4 as IPv4-mapped IPv6;
// zones are dropped: TIME_WAIT 4-tuples on two zones of one link-local
// address are not told apart).
type twKey struct {
	src, dst     [16]byte
	sport, dport uint16
}

// twVal is a tomb in a pointer-free form: the endpoint in TIME_WAIT is the
// key's source or destination, until is UnixNano.
type twVal struct {
	until int64
	srcTW bool
}

func toTWKey(k flow.Key) twKey {
	return twKey{src: k.Src.Addr.As16(), dst: k.Dst.Addr.As16(), sport: k.Src.Port, dport: k.Dst.Port}
}

func (t *tombstones) init(max int) {
	t.m = make(map[twKey]twVal)
	t.max = max
}

func (t *tombstones) add(k flow.Key, v tomb, now time.Time) {
	nowNS := now.UnixNano()
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
	if len(t.m) >= t.max {
		return // full of live TIME_WAITs: forget this one
	}
	tk := toTWKey(k)
	until := v.until.UnixNano()
	t.m[tk] = twVal{until: until, srcTW: v.addr == k.Src}
	t.queue = append(t.queue, twQueued{key: tk, until: until})
}

// lookup finds a live TIME_WAIT on the 4-tuple of k, in either direction.
func (t *tombstones) lookup(k flow.Key, now time.Time) (tomb, bool) {
	nowNS := now.UnixNano()
	for _, key := range [...]flow.Key{k, k.Reverse()} {
		tk := toTWKey(key)
		if v, ok := t.m[tk]; ok {
			if v.until > nowNS {
				addr := key.Dst
				if v.srcTW {
					addr = key.Src
				}
				return tomb{addr: addr, until: time.Unix(0, v.until).In(now.Location())}, true
			}
			delete(t.m, tk)
		}
	}
	return tomb{}, false
}
