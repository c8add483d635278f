package rollup

// table maps keys to entries, at most max of them. Past the cap it keeps
// the max smallest keys (less), whatever the order they came in: a new
// key smaller than the largest kept one evicts it, a larger one is not
// kept. The kept set, and so every kept entry's figures, depends only on
// the set of keys; lost counts the connections of the keys not kept
// (evicted entries' conns, and each one refused).
type table[K comparable, V any] struct {
	m     map[K]*V
	heap  []K // max-heap of the kept keys by less
	less  func(a, b K) bool
	conns func(*V) int64
	max   int
	lost  int64
}

func newTable[K comparable, V any](max int, less func(a, b K) bool, conns func(*V) int64) table[K, V] {
	return table[K, V]{m: map[K]*V{}, less: less, conns: conns, max: max}
}

func (t *table[K, V]) reset() {
	clear(t.m)
	t.heap = t.heap[:0]
	t.lost = 0
}

// get returns k's entry, made by mk if new; nil when k is past the cap
// (its connection is then counted in lost).
func (t *table[K, V]) get(k K, mk func() *V) *V {
	if v, ok := t.m[k]; ok {
		return v
	}
	if len(t.m) >= t.max {
		if !t.less(k, t.heap[0]) {
			t.lost++
			return nil
		}
		top := t.heap[0]
		t.lost += t.conns(t.m[top])
		delete(t.m, top)
		last := len(t.heap) - 1
		t.heap[0] = t.heap[last]
		t.heap = t.heap[:last]
		t.down(0)
	}
	v := mk()
	t.m[k] = v
	t.heap = append(t.heap, k)
	t.up(len(t.heap) - 1)
	return v
}

func (t *table[K, V]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(t.heap[p], t.heap[i]) {
			return
		}
		t.heap[p], t.heap[i] = t.heap[i], t.heap[p]
		i = p
	}
}

func (t *table[K, V]) down(i int) {
	n := len(t.heap)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && t.less(t.heap[c], t.heap[c+1]) {
			c++
		}
		if !t.less(t.heap[i], t.heap[c]) {
			return
		}
		t.heap[i], t.heap[c] = t.heap[c], t.heap[i]
		i = c
	}
}
