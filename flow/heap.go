package flow

// A binary min-heap of conns on their MarkDone deadline. Hand-written
// rather than container/heap so that nothing is boxed and each Conn keeps
// its own index (heapIdx) for O(log n) updates and removals.

func (t *Table) heapLess(i, j int) bool { return t.done[i].deadline < t.done[j].deadline }

func (t *Table) heapSwap(i, j int) {
	t.done[i], t.done[j] = t.done[j], t.done[i]
	t.done[i].heapIdx = int32(i)
	t.done[j].heapIdx = int32(j)
}

func (t *Table) heapPush(c *Conn) {
	c.heapIdx = int32(len(t.done))
	t.done = append(t.done, c)
	t.heapUp(len(t.done) - 1)
}

func (t *Table) heapRemove(i int) {
	last := len(t.done) - 1
	c := t.done[i]
	if i != last {
		t.heapSwap(i, last)
	}
	t.done[last] = nil
	t.done = t.done[:last]
	c.heapIdx = -1
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
