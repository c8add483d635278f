package hostview

import (
	"sync"
	"time"

	"finwave/host"
)

// Journal keeps the kernel's traced events of each socket (by its Tuple)
// until the flow they belong to is reported and takes them. The tracer's
// reader adds from its goroutine while the analysis takes from its own:
// safe for concurrent use. Memory is bounded: at most maxSockets sockets
// and maxEvents events each; what does not fit is counted (Overflow), and
// the sockets of flows never reported (outside the capture filter, say)
// are swept once idle for longer than an idle flow lives.
type Journal struct {
	mu       sync.Mutex
	by       map[host.Tuple]*socketEvents
	free     []*socketEvents // taken sockets' records, for reuse: no allocation per connection
	since    time.Time
	maxSocks int
	overflow int64
}

// socketEvents is one socket's events, kept without the tuple (the map's
// key): 48 bytes an event instead of host.Event's 130.
type socketEvents struct {
	events []event
	last   time.Time
}

// event is a host.Event without its Tuple.
type event struct {
	unixNano     int64
	pid          uint32
	kind         host.EventKind
	old, new     host.State
	reason, comm string
}

func (e *event) set(ev *host.Event) {
	*e = event{unixNano: ev.Time.UnixNano(), pid: ev.PID, kind: ev.Kind, old: ev.Old, new: ev.New, reason: ev.Reason, comm: ev.Comm}
}

func (e *event) hostEvent(t host.Tuple) host.Event {
	return host.Event{Kind: e.kind, Time: time.Unix(0, e.unixNano), Tuple: t, Old: e.old, New: e.new, Reason: e.reason, PID: e.pid, Comm: e.comm}
}

// Limits of a Journal.
const (
	maxEvents       = 64 // per socket: a handshake, a close, some resets and drops
	eventsCap       = 8  // a record's first array: a connection's usual events
	maxFree         = 8192
	defaultMaxSocks = 1 << 16
)

// NewJournal is an empty journal of a trace that began at since (events
// before it were not traced); maxSockets ≤ 0 takes the default (65 536).
func NewJournal(since time.Time, maxSockets int) *Journal {
	if maxSockets <= 0 {
		maxSockets = defaultMaxSocks
	}
	return &Journal{by: make(map[host.Tuple]*socketEvents), since: since, maxSocks: maxSockets}
}

// Since is when the trace began.
func (j *Journal) Since() time.Time { return j.since }

// Add records ev under its socket.
func (j *Journal) Add(ev host.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	se := j.by[ev.Tuple]
	if se == nil {
		if len(j.by) >= j.maxSocks {
			j.overflow++
			return
		}
		if n := len(j.free); n > 0 {
			se, j.free = j.free[n-1], j.free[:n-1]
		} else {
			se = &socketEvents{events: make([]event, 0, eventsCap)}
		}
		j.by[ev.Tuple] = se
	}
	if len(se.events) >= maxEvents {
		j.overflow++
		return
	}
	se.events = append(se.events, event{})
	se.events[len(se.events)-1].set(&ev)
	se.last = ev.Time
}

// Take appends the events of socket t from first on to dst, in time order,
// and forgets those up to last: the flow that owned them is reported. An
// event after last belongs to a later connection on the same pair and
// stays.
func (j *Journal) Take(t host.Tuple, first, last time.Time, dst []host.Event) []host.Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	se := j.by[t]
	if se == nil {
		return dst
	}
	// A connection's events come before its last segment was captured,
	// give or take the trace's latency: one kernelSlack after it.
	end, start := last.Add(kernelSlack).UnixNano(), first.Add(-kernelSlack).UnixNano()
	keep := se.events[:0]
	for _, ev := range se.events {
		switch {
		case ev.unixNano > end:
			keep = append(keep, ev)
		case ev.unixNano >= start:
			dst = append(dst, ev.hostEvent(t))
		}
	}
	if len(keep) == 0 {
		j.release(t, se)
	} else {
		se.events = keep
	}
	sortEvents(dst)
	return dst
}

// kernelSlack is how far the trace's clock and the capture's may be apart
// for one event, conversion and scheduling included.
const kernelSlack = time.Second

// Sweep forgets the sockets whose last event is before cutoff: their flows
// were never reported (not captured) or will not be.
func (j *Journal) Sweep(cutoff time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for t, se := range j.by {
		if se.last.Before(cutoff) {
			j.release(t, se)
		}
	}
}

// release forgets socket t, keeping its record for reuse (up to maxFree).
func (j *Journal) release(t host.Tuple, se *socketEvents) {
	delete(j.by, t)
	if len(j.free) < maxFree {
		se.events = se.events[:0]
		j.free = append(j.free, se)
	}
}

// Overflow counts the events not kept (limits reached).
func (j *Journal) Overflow() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.overflow
}

// Len is the number of sockets with events kept.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.by)
}

// sortEvents sorts by time, stably (insertion sort: a socket's events come
// nearly in order, CPUs' ring buffer records interleaved at most).
func sortEvents(evs []host.Event) {
	for i := 1; i < len(evs); i++ {
		for k := i; k > 0 && evs[k].Time.Before(evs[k-1].Time); k-- {
			evs[k], evs[k-1] = evs[k-1], evs[k]
		}
	}
}
