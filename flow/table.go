package flow

import (
	"slices"
	"time"
)

// Conn is one TCP connection: one Wireshark tcp.stream (but see Track on
// overlays).
//
// unsafe.Sizeof(Conn{}) is 400 octets on 64-bit platforms (checked by
// TestConnSize); with its index entry, slot, LRU link and activity time
// a tracked connection costs about 430 octets plus whatever the user
// hangs on Data (the overlays by direction and in the key take 24 of
// them). The conn keeps no copy of a segment's tunnel or time: the
// analyzer keeps the ones it reports.
type Conn struct {
	ID   int64    // stream index: equals Wireshark's tcp.stream for the same capture
	A, B Endpoint // A is the source of the first segment seen
	Half [2]Half  // Half[DirAB] is what A sent

	FirstFrame, LastFrame int64 // the frames of the conn's first and latest segments

	// Streams lists the further Wireshark stream ids this conn took
	// over, in order, each with the frame that started it: a segment
	// that Wireshark's rule makes start a new stream, which
	// TableConfig.Continues kept in this conn (an in-window SYN on an
	// established connection: RFC 5961 §4). Nil for nearly every conn:
	// allocated only when it happens.
	Streams []StreamStart

	// Resumed is set when this Conn continues a stream the table had
	// already finished (idle, done or evicted) and whose 4-tuple came
	// back without starting a new stream: ID is the old stream's, the
	// halves start empty except for their Base.
	Resumed bool

	Data any // owned by the table's user (the analyzer); the table never reads it

	key    mapKey    // canonical key (see packKey)
	ovl    [2]uint64 // by Dir: the first non-zero overlay its segments had, 0 if none yet (see lookup)
	ws     wsState   // what Wireshark's stream split depends on
	hash   uint32    // connHash(&key)
	slot   int32     // this Conn's permanent index in Table.slots, lru, active and heapPos
	open   bool      // tracked: false while being finished and while free
	aFirst bool      // A is the first endpoint of key
}

// StreamStart is a Wireshark stream id and the frame that started it.
type StreamStart struct{ ID, Frame int64 }

// lastID returns the latest stream id of c: the one Wireshark gives the
// conn's later segments.
func (c *Conn) lastID() int64 {
	if n := len(c.Streams); n > 0 {
		return c.Streams[n-1].ID
	}
	return c.ID
}

// Dir returns the direction of segments sent by src.
func (c *Conn) Dir(src Endpoint) Dir {
	if src == c.A {
		return DirAB
	}
	return DirBA
}

// TableConfig configures a Table.
type TableConfig struct {
	// IdleTimeout finishes a conn (FinishIdle) when capture time passes
	// the capture time of its last segment plus IdleTimeout (that is
	// LastTime+IdleTimeout unless timestamps went backwards: capture time
	// never does). Zero disables idle expiry.
	IdleTimeout time.Duration
	// MaxFlows caps open conns: creating one more finishes the least
	// recently active (FinishEvicted). Zero means no cap.
	MaxFlows int
	// MaxFinished caps the records kept of finished conns so that a
	// 4-tuple that comes back without a new-stream SYN keeps its stream
	// id (see wireshark.go). Zero means DefaultMaxFinished; negative
	// keeps none.
	MaxFinished int
	// OnFinish is called before the conn is freed; the Conn is recycled
	// after it returns, so it must not be retained. OnFinish must not call
	// Track, Advance or Close.
	OnFinish func(c *Conn, why Finish, now time.Time)
	// OnForget, if set, is called with a stream id once no later conn can
	// take it (the table keeps no record of it to resume: a new stream
	// took its 4-tuple, its record was dropped for room, or it was
	// finished without one), always after OnFinish was called for it.
	// Users that map stream ids can drop the id then (pipeline.Sharded).
	OnForget func(id int64)
	// Continues, if set, is asked when seg, travelling in dir, would
	// start a new Wireshark stream on the 4-tuple of the open conn c
	// (see wireshark.go): returning true keeps seg in c, which still
	// takes the new stream id (Conn.Streams) so that every id stays equal
	// to Wireshark's tcp.stream. The table knows nothing of what makes a
	// SYN part of the old connection; its user decides (the analyzer: an
	// in-window SYN on a synchronized connection, RFC 5961 §4). It is
	// called before Track touches anything and must not call the table.
	// seg is a copy: a pointer given to an indirect call escapes, and
	// Track's caller's segment would be allocated on every call.
	Continues func(c *Conn, dir Dir, seg Segment) bool
}

// DefaultMaxFinished is the default TableConfig.MaxFinished: at most about
// 7 MiB of records (96 octets each plus two 8-octet index entries),
// allocated only as conns finish.
const DefaultMaxFinished = 1 << 16

// TableStats counts what a Table did.
type TableStats struct {
	Created  uint64    // conns created, resumed ones included
	Streams  int64     // distinct stream ids handed out
	Resumed  uint64    // conns that continued a finished stream id
	Finished [5]uint64 // indexed by Finish
	Peak     int       // most conns open at once
}

// Table tracks connections by 4-tuple. It is not safe for concurrent use.
type Table struct {
	cfg     TableConfig
	idx     index // open conns and ended streams by canonical key
	seed    hashSeed
	slots   []*Conn // every Conn the table allocated, by Conn.slot
	arena   []Conn  // Conns allocated in the last chunk and not yet handed out (see alloc)
	heapPos []int32 // by slot: index in done, -1 when not marked done
	nopen   int     // open conns
	// The LRU list of open conns, least recently active first, is kept
	// by slot in dense arrays rather than in the Conns: moving a conn to
	// the tail writes its neighbours' 8-octet links, not two cold Conns,
	// and holds no pointer for the collector. Links are slot+1, 0 for
	// none; a conn not in the list has {0, 0}.
	lru      []lruLink // by slot
	active   []int64   // by slot: capture time (UnixNano) of the conn's last Track
	lruHead  int32     // slot+1 of the least recently active open conn, 0 if none
	lruTail  int32     // slot+1 of the most recently active
	free     []int32   // slots of finished Conns, reused last in, first out
	done     []doneEnt // min-heap on deadline
	finished finishedStreams
	now      time.Time // capture time: the largest timestamp seen
	nowNS    int64     // now.UnixNano()
	nextID   int64
	stats    TableStats
	scratch  []*Conn
	started  bool
}

// NewTable returns an empty table.
func NewTable(cfg TableConfig) *Table {
	n := cfg.MaxFinished
	if n == 0 {
		n = DefaultMaxFinished
	}
	t := &Table{cfg: cfg, seed: newHashSeed()}
	t.finished.init(max(n, 0))
	return t
}

// Len returns the number of open conns.
func (t *Table) Len() int { return t.nopen }

// Stats returns the counters so far.
func (t *Table) Stats() TableStats { return t.stats }

// Now returns the capture time: the largest timestamp Track or Advance saw.
func (t *Table) Now() time.Time { return t.now }

// lookup returns the position of key's entry in the index and its ref,
// or, failing that, of the entry the overlay fallbacks pick, or the
// position of the empty entry where the key would go and ref 0. srcFirst
// says whether the segment's source is key's first endpoint. The entries
// of one 4-tuple in every overlay share a hash (connHash), so one walk of
// the probe run sees them all.
//
// The fallbacks (see Track) are reached only once the table has tracked
// a segment in an overlay (else every ovl is 0, and a 4-tuple has one
// entry): plain captures pay nothing. A key in an overlay falls back to
// the 4-tuple's entry outside any (at most one), else to its one entry
// whose direction of the segment has seen no other overlay; a key outside
// any falls back to the 4-tuple's entry in an overlay when there is
// exactly one.
func (t *Table) lookup(key *mapKey, h uint32, srcFirst bool) (pos int, ref int32) {
	x := &t.idx
	if len(x.ents) == 0 {
		return -1, 0
	}
	m := x.mask()
	plainPos, plainRef := 0, int32(0)
	altPos, altRef, alts := 0, int32(0), 0
	for i := int(h) & m; ; i = (i + 1) & m {
		e := x.ents[i]
		if e.ref == 0 {
			switch {
			case plainRef != 0:
				return plainPos, plainRef
			case alts == 1:
				return altPos, altRef
			}
			return i, 0
		}
		if e.tag != h {
			continue
		}
		k := t.keyOf(e.ref)
		if !k.sameTuple(key) {
			continue
		}
		switch {
		case k.ovl == key.ovl:
			return i, e.ref
		case k.ovl == 0:
			plainPos, plainRef = i, e.ref
		case key.ovl == 0 || t.acceptsOverlay(e.ref, srcFirst, key.ovl):
			altPos, altRef = i, e.ref
			alts++
		}
	}
}

// acceptsOverlay says whether the conn or ended stream of ref, a 4-tuple
// in another overlay than o, may take a segment in overlay o whose source
// is (srcFirst) or is not the key's first endpoint: the segment's
// direction has seen no overlay yet, or o. Overlays may differ by
// direction: the tcpdump corpus's geneve.pcap has VNI 10 one way and 11
// the other, and a GRE tunnel may have an ikey and an okey.
func (t *Table) acceptsOverlay(ref int32, srcFirst bool, o uint64) bool {
	var aFirst bool
	var ovl *[2]uint64
	if ref > 0 {
		c := t.slots[ref-1]
		aFirst, ovl = c.aFirst, &c.ovl
	} else {
		es := t.finished.at(int(-ref - 1))
		aFirst, ovl = es.aFirst, &es.ovl
	}
	d := DirAB
	if aFirst != srcFirst {
		d = DirBA
	}
	return ovl[d] == 0 || ovl[d] == o
}

// keyOf returns the key of an index entry's conn or ended stream.
func (t *Table) keyOf(ref int32) *mapKey {
	if ref > 0 {
		return &t.slots[ref-1].key
	}
	return &t.finished.at(int(-ref - 1)).key
}

// Track finds or creates the conn of seg and returns it with the direction
// of seg. Before returning it may finish other conns (idle, done deadline
// passed, evicted, or the previous conn on this 4-tuple when seg starts a
// new tcp.stream), calling OnFinish for each. It does not call
// Half.Observe: the caller reads the halves as they were before seg, then
// calls c.Half[dir].Observe(seg, &c.Half[dir.Reverse()]).
//
// Conns are keyed by 4-tuple and overlay (seg.Tunnel.Overlay(): the VNI
// or GRE key of the innermost tunnel), so that the same inner 4-tuple in
// two virtual networks (the same pod addresses in two VNIs) is two flows.
// One flow may also be captured both encapsulated and not (tcpdump -i any
// on a node sees the underlay and the overlay device): a segment in an
// overlay whose key is unknown joins the 4-tuple's conn outside any
// overlay, and a segment outside any joins the 4-tuple's conn in an
// overlay when exactly one overlay has it. Wireshark keys conversations
// by addresses and ports alone, so on a capture holding one 4-tuple in
// two overlays the ids differ from its tcp.stream (by design; see
// wireshark.go).
func (t *Table) Track(seg *Segment) (c *Conn, dir Dir, created bool) {
	t.Advance(seg.Time)
	key, srcFirst := packKey(&seg.Src, &seg.Dst)
	key.ovl = seg.Tunnel.Overlay()
	h := connHash(&key, &t.seed)
	pos, ref := t.lookup(&key, h, srcFirst)
	if ref > 0 {
		c = t.slots[ref-1]
		dir = c.Dir(seg.Src)
		if !c.ws.newStream(dir, seg) {
			t.touch(c, seg, dir, key.ovl)
			return c, dir, false
		}
		if t.cfg.Continues != nil && t.cfg.Continues(c, dir, *seg) {
			// Wireshark starts a new conversation here: a new id, and
			// its stream state starts afresh (touch folds seg in).
			c.Streams = append(c.Streams, StreamStart{ID: t.nextID, Frame: seg.Frame})
			t.nextID++
			t.stats.Streams = t.nextID
			c.ws = wsState{}
			t.touch(c, seg, dir, key.ovl)
			return c, dir, false
		}
		t.finish(c, FinishReused)
		c, ref = nil, 0
	}
	// prior is copied out: evicting below may overwrite its ring slot.
	var prior endedStream
	havePrior := false
	if ref < 0 {
		es := t.finished.at(int(-ref - 1))
		d := DirAB
		if es.aFirst != srcFirst {
			d = DirBA
		}
		if !es.ws.newStream(d, seg) {
			prior, havePrior = *es, true
		} else if t.cfg.OnForget != nil {
			t.cfg.OnForget(es.id) // a new stream takes the 4-tuple
		}
		t.finished.drop(&t.idx, pos, int(-ref-1))
	}
	if t.cfg.MaxFlows > 0 && t.nopen >= t.cfg.MaxFlows && t.lruHead != 0 {
		t.finish(t.slots[t.lruHead-1], FinishEvicted)
	}
	c = t.alloc()
	c.key, c.hash = key, h
	if havePrior {
		c.ID = prior.id
		c.A, c.B = prior.endpoints()
		c.aFirst = prior.aFirst
		c.ws = prior.ws
		c.ovl = prior.ovl
		c.Resumed = true
		for d := range c.Half {
			c.Half[d].Base, c.Half[d].BaseSet = prior.ws.base[d], prior.ws.baseSet[d]
		}
		t.stats.Resumed++
	} else {
		c.ID = t.nextID
		t.nextID++
		t.stats.Streams = t.nextID
		c.A, c.B = seg.Src, seg.Dst
		c.aFirst = srcFirst
	}
	c.FirstFrame = seg.Frame
	t.idx.insert(h, connRef(c.slot))
	t.nopen++
	t.stats.Created++
	t.stats.Peak = max(t.stats.Peak, t.nopen)
	dir = c.Dir(seg.Src)
	t.touch(c, seg, dir, key.ovl)
	return c, dir, true
}

// touch records seg's activity on c: its frame, LRU position, stream
// state, the first overlay (ovl, seg's) of its direction.
func (t *Table) touch(c *Conn, seg *Segment, dir Dir, ovl uint64) {
	c.LastFrame = seg.Frame
	if ovl != 0 && c.ovl[dir] == 0 {
		c.ovl[dir] = ovl
	}
	t.active[c.slot] = t.nowNS
	if t.lruTail != c.slot+1 { // else already the most recent: moving it is a no-op
		t.lruRemove(c.slot)
		t.lruPush(c.slot)
	}
	c.ws.observe(dir, seg)
}

// Advance moves capture time to now (never backwards) and finishes the
// conns whose done deadline or idle timeout it passes. Track calls it; a
// live capture may call it on a clock tick when no packets arrive.
func (t *Table) Advance(now time.Time) {
	if !t.started || now.After(t.now) {
		t.now = now
		t.nowNS = now.UnixNano()
		t.started = true
	}
	for len(t.done) > 0 && t.nowNS > t.done[0].deadline {
		t.finish(t.slots[t.done[0].slot], FinishDone)
	}
	if t.cfg.IdleTimeout > 0 {
		for t.lruHead != 0 && t.nowNS-t.active[t.lruHead-1] > int64(t.cfg.IdleTimeout) {
			t.finish(t.slots[t.lruHead-1], FinishIdle)
		}
	}
}

// MarkDone says the conn's teardown is complete: the table finishes it
// (FinishDone) once capture time passes deadline. A later call replaces the
// deadline; later segments do not cancel it.
//
// c must be open: a call for a conn that is being finished (from OnFinish)
// or already recycled is ignored.
func (t *Table) MarkDone(c *Conn, deadline time.Time) {
	if !c.open {
		return
	}
	dl := deadline.UnixNano()
	if i := t.heapPos[c.slot]; i >= 0 {
		t.done[i].deadline = dl
		t.heapFix(int(i))
		return
	}
	t.heapPush(c.slot, dl)
}

// Close finishes every open conn (FinishEnd) in ascending ID order.
func (t *Table) Close() {
	s := t.scratch[:0]
	for _, c := range t.slots {
		if c.open {
			s = append(s, c)
		}
	}
	slices.SortFunc(s, func(a, b *Conn) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	for i, c := range s {
		t.finish(c, FinishEnd)
		s[i] = nil
	}
	t.scratch = s[:0]
}

// finish removes c, reports it and recycles it.
func (t *Table) finish(c *Conn, why Finish) {
	c.open = false
	t.nopen--
	t.lruRemove(c.slot)
	if i := t.heapPos[c.slot]; i >= 0 {
		t.heapRemove(int(i))
	}
	kept := why != FinishReused && why != FinishEnd && t.finished.cap > 0
	evicted := int64(-1)
	last := c.lastID() // the id a resumed 4-tuple continues, as Wireshark's
	if kept {
		evicted = t.finished.put(&t.idx, connRef(c.slot),
			endedStream{key: c.key, ovl: c.ovl, id: last, ws: c.ws, hash: c.hash, aFirst: c.aFirst})
	} else {
		t.idx.del(t.idx.findRef(c.hash, connRef(c.slot)))
	}
	t.stats.Finished[why]++
	if t.cfg.OnFinish != nil {
		t.cfg.OnFinish(c, why, t.now)
	}
	if t.cfg.OnForget != nil {
		if evicted >= 0 {
			t.cfg.OnForget(evicted)
		}
		if !kept || c.ID != last {
			t.cfg.OnForget(c.ID)
		}
		for _, st := range c.Streams {
			if !kept || st.ID != last {
				t.cfg.OnForget(st.ID)
			}
		}
	}
	*c = Conn{slot: c.slot}
	t.free = append(t.free, c.slot)
}

// connChunk is the number of Conns alloc allocates at once: one
// allocation for many conns, while memory still follows the most conns
// open at once (rounded up to a chunk). 68 Conns of 400 octets are 27,200,
// just under Go's 27,264-octet size class (64 left 1,664 unused).
const connChunk = 68

// alloc takes a Conn from the free list or gives one a new slot, from
// the current chunk of Conns, allocating the next chunk when it is used
// up. Conns are never freed: a finished one goes to the free list.
func (t *Table) alloc() *Conn {
	var c *Conn
	if n := len(t.free); n > 0 {
		c = t.slots[t.free[n-1]]
		t.free = t.free[:n-1]
	} else {
		if len(t.arena) == 0 {
			t.arena = make([]Conn, connChunk)
		}
		c, t.arena = &t.arena[0], t.arena[1:]
		c.slot = int32(len(t.slots))
		t.slots = append(t.slots, c)
		t.heapPos = append(t.heapPos, -1)
		t.lru = append(t.lru, lruLink{})
		t.active = append(t.active, 0)
	}
	*c = Conn{slot: c.slot, open: true}
	c.Half[DirAB].Reset()
	c.Half[DirBA].Reset()
	return c
}

// EachOpen calls fn for every open flow, least recently active first. fn
// must not Track, Advance, MarkDone or Close the table.
func (t *Table) EachOpen(fn func(c *Conn)) {
	for l := t.lruHead; l != 0; l = t.lru[l-1].next {
		fn(t.slots[l-1])
	}
}

// lruLink is a slot's place in the LRU list: its neighbours' slot+1, 0
// for none.
type lruLink struct{ prev, next int32 }

// lruPush appends slot, which is not in the list, as the most recent.
func (t *Table) lruPush(slot int32) {
	t.lru[slot] = lruLink{prev: t.lruTail}
	if t.lruTail != 0 {
		t.lru[t.lruTail-1].next = slot + 1
	} else {
		t.lruHead = slot + 1
	}
	t.lruTail = slot + 1
}

// lruRemove takes slot out of the list; a slot not in it is left alone.
func (t *Table) lruRemove(slot int32) {
	l := t.lru[slot]
	if l.prev != 0 {
		t.lru[l.prev-1].next = l.next
	} else if t.lruHead == slot+1 {
		t.lruHead = l.next
	}
	if l.next != 0 {
		t.lru[l.next-1].prev = l.prev
	} else if t.lruTail == slot+1 {
		t.lruTail = l.prev
	}
	t.lru[slot] = lruLink{}
}
