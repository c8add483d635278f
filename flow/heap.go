package flow

// A binary min-heap of conns on their MarkDone deadline. Hand-written
// rather than container/heap so that nothing is boxed.
//
// Entries carry their deadline and the conn's slot, and each slot's heap
// position lives in Table.heapPos rather than in the Conn: sifting
// compares and moves entries of two dense arrays without touching a
// Conn. The comparisons and swaps are those of the original heap of
// *Conn, so conns with equal deadlines still finish in the same order.

type doneEnt struct {
	deadline int64 // UnixNano
	slot     int32
}

func (t *Table) heapLess(i, j int) bool { return t.done[i].deadline < t.done[j].deadline }

func (t *Table) heapSwap(i, j int) {
	t.done[i], t.done[j] = t.done[j], t.done[i]
	t.heapPos[t.done[i].slot] = int32(i)
	t.heapPos[t.done[j].slot] = int32(j)
}

func (t *Table) heapPush(slot int32, deadline int64) {
	t.heapPos[slot] = int32(len(t.done))
	t.done = append(t.done, doneEnt{deadline: deadline, slot: slot})
	t.heapUp(len(t.done) - 1)
}

func (t *Table) heapRemove(i int) {
	last := len(t.done) - 1
	slot := t.done[i].slot
	if i != last {
		t.heapSwap(i, last)
	}
	t.done = t.done[:last]
	t.heapPos[slot] = -1
	if i != last {
		t.heapFix(i)
	}
}

func (t *Table) heapFix(i int) {
	if !t.heapDown(i) {
		t.heapUp(i)
	}
}

func (t *Table) heapUp(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.heapLess(i, p) {
			return
		}
		t.heapSwap(i, p)
		i = p
	}
}

// heapDown reports whether the element moved.
func (t *Table) heapDown(i int) bool {
	start, n := i, len(t.done)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && t.heapLess(r, l) {
			m = r
		}
		if !t.heapLess(m, i) {
			break
		}
		t.heapSwap(i, m)
		i = m
	}
	return i > start
}
