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
type tombstones struct {
	m       map[flow.Key]tomb
	max     int
	inserts int
}

func (t *tombstones) init(max int) {
	t.m = make(map[flow.Key]tomb)
	t.max = max
}

func (t *tombstones) add(k flow.Key, v tomb, now time.Time) {
	t.inserts++
	if t.inserts >= 1024 || len(t.m) >= t.max {
		t.inserts = 0
		for key, old := range t.m {
			if !old.until.After(now) {
				delete(t.m, key)
			}
		}
		if len(t.m) >= t.max {
			return // full of live TIME_WAITs: forget this one
		}
	}
	t.m[k] = v
}

// lookup finds a live TIME_WAIT on the 4-tuple of k, in either direction.
func (t *tombstones) lookup(k flow.Key, now time.Time) (tomb, bool) {
	for _, key := range [...]flow.Key{k, k.Reverse()} {
		if v, ok := t.m[key]; ok {
			if v.until.After(now) {
				return v, true
			}
			delete(t.m, key)
		}
	}
	return tomb{}, false
}
