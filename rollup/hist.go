package rollup

import (
	"slices"
	"time"
)

// IdleStats summarises durations with bounded memory: N, Min and Max are
// exact; Median and Mode are values rounded to two significant digits
// (5.0003 s counts as 5.0 s, 123.4 ms as 120 ms: at most 5 % off), so
// that flows closed by the same timeout share a value. Mode is the
// rounded value most flows share (ties: the shorter), ModeN how many.
// Zero N: no flow contributed, every field zero.
type IdleStats struct {
	N                      int64
	Min, Median, Max, Mode time.Duration
	ModeN                  int64
}

// round2 rounds v (≥ 0) to two significant digits.
func round2(v int64) int64 {
	if v < 100 {
		return v
	}
	p := int64(1)
	for v/p >= 100 {
		p *= 10
	}
	return (v + p/2) / p * p
}

// hbin is one rounded value and how many durations rounded to it.
type hbin struct{ v, n int64 }

// hist counts durations by rounded value: memory proportional to the
// distinct rounded values (at most 90 per decade), not to the count.
type hist struct {
	n        int64
	min, max time.Duration
	bins     []hbin // ascending v
}

func (h *hist) add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if h.n == 0 || d > h.max {
		h.max = d
	}
	h.n++
	v := round2(int64(d))
	i, ok := slices.BinarySearchFunc(h.bins, v, func(b hbin, v int64) int { return cmp64(b.v, v) })
	if ok {
		h.bins[i].n++
		return
	}
	h.bins = slices.Insert(h.bins, i, hbin{v: v, n: 1})
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// atLeast counts the durations whose rounded value is v or more.
func (h *hist) atLeast(v time.Duration) int64 {
	var n int64
	for _, b := range h.bins {
		if b.v >= int64(v) {
			n += b.n
		}
	}
	return n
}

func (h *hist) stats() IdleStats {
	if h.n == 0 {
		return IdleStats{}
	}
	st := IdleStats{N: h.n, Min: h.min, Max: h.max}
	var cum int64
	half := (h.n + 1) / 2
	for _, b := range h.bins {
		if cum < half && cum+b.n >= half {
			st.Median = time.Duration(b.v)
		}
		cum += b.n
		if b.n > st.ModeN {
			st.Mode, st.ModeN = time.Duration(b.v), b.n
		}
	}
	return st
}
