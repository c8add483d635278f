package flow

import "finwave/internal/probe"

// index maps canonical 4-tuples to open conns and to the ended streams of
// finished ones. A 4-tuple has at most one of the two at a time (Track
// drops the ended stream of a 4-tuple before it opens a conn on it), so
// one lookup finds either.
//
// It is an open-addressing table with linear probing and backward-shift
// deletion: no deletion markers, so lookups stay short however many
// conns come and go (Go's maps keep markers, and at a steady churn their
// lookups of absent keys walked long probe sequences). Entries are 8
// octets and hold no pointers; keys live in the Conn or endedStream an
// entry refers to, and the hash is kept in the entry (tag) to skip most key
// comparisons and to rehash without keys.
type index struct {
	ents []ient // power-of-two length; at most half full
	n    int
}

// ient is an index entry: ref 0 is empty, ref > 0 the conn in slot
// ref-1, ref < 0 the endedStream in ring slot -ref-1. tag is the key's
// connHash; its low bits are the entry's home position.
type ient struct {
	tag uint32
	ref int32
}

func connRef(slot int32) int32 { return slot + 1 }
func endedRef(i int) int32     { return int32(-i - 1) }

const minIndex = 1 << 10

func (x *index) mask() int { return len(x.ents) - 1 }

// findRef returns the position of the entry of ref, whose key hashes to
// h. The entry must be present.
func (x *index) findRef(h uint32, ref int32) int {
	m := x.mask()
	for i := int(h) & m; ; i = (i + 1) & m {
		if x.ents[i].ref == ref {
			return i
		}
	}
}

// insert adds an entry known to be absent.
func (x *index) insert(h uint32, ref int32) {
	if (x.n+1)*2 > len(x.ents) {
		x.grow()
	}
	m := x.mask()
	i := int(h) & m
	for x.ents[i].ref != 0 {
		i = (i + 1) & m
	}
	x.ents[i] = ient{tag: h, ref: ref}
	x.n++
}

func (x *index) grow() {
	old := x.ents
	x.ents = make([]ient, max(minIndex, 2*len(old)))
	m := x.mask()
	for _, e := range old {
		if e.ref == 0 {
			continue
		}
		i := int(e.tag) & m
		for x.ents[i].ref != 0 {
			i = (i + 1) & m
		}
		x.ents[i] = e
	}
}

// del removes the entry at i, moving later entries of its run back so
// that every entry stays reachable from its home without gaps.
func (x *index) del(i int) {
	probe.Delete(x.ents, i)
	x.n--
}

func (e ient) Home() uint32 { return e.tag }
func (e ient) Empty() bool  { return e.ref == 0 }
