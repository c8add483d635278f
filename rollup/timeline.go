package rollup

import (
	"math"
	"time"
)

const (
	// maxSamples bounds a population series: the step doubles until the
	// span fits.
	maxSamples = 256
	// baseStep is the finest step, and every step is baseStep·2^k.
	baseStep = int64(time.Millisecond)
	// smallMax is how many events a timeline keeps as a list before it
	// becomes a difference array (maxSamples bins per series).
	smallMax = 64
	// openEnd marks an interval still running at the end of the capture.
	openEnd int64 = math.MaxInt64
)

// event is one change of a population: d sockets enter (+1) or leave (-1)
// series ser at t (Unix nanoseconds).
type event struct {
	t   int64
	ser uint8
	d   int8
}

// timeline is the populations of a few series over time, as a difference
// array binned on absolute time: bin k holds the events of ((k-1)·step,
// k·step], so the prefix sum through bin k is the population at k·step
// (an interval [from, to) counts at from, no longer at to). step is the
// least baseStep·2^j for which the events' span needs at most maxSamples
// bins, a function of the span alone: the same events in any order give
// the same bins. Few events are kept as a list instead (small), binned
// the same way when read.
type timeline struct {
	nser     int
	has      bool
	min, max int64 // span of the events' times
	small    []event
	step     int64
	lo       int64   // absolute bin index of bins[0] (ceilDiv(min, step))
	bins     []int32 // nser × maxSamples, series-major
}

// ceilDiv is ⌈t/s⌉ for s > 0.
func ceilDiv(t, s int64) int64 {
	q := t / s
	if t%s > 0 {
		q++
	}
	return q
}

// floorDiv is ⌊t/s⌋ for s > 0.
func floorDiv(t, s int64) int64 {
	q := t / s
	if t%s < 0 {
		q--
	}
	return q
}

// stepFor is the least step s·2^j (j ≥ 0) whose bins cover min..max in at
// most maxSamples samples.
func stepFor(min, max, s int64) int64 {
	for ceilDiv(max, s)-ceilDiv(min, s)+1 > maxSamples {
		s *= 2
	}
	return s
}

// interval adds a socket in series ser from from until to (openEnd: past
// the end of the capture).
func (tl *timeline) interval(ser int, from, to int64, scratch *[]int32) {
	tl.add(event{t: from, ser: uint8(ser), d: 1}, scratch)
	if to != openEnd {
		tl.add(event{t: to, ser: uint8(ser), d: -1}, scratch)
	}
}

func (tl *timeline) add(e event, scratch *[]int32) {
	if !tl.has {
		tl.has, tl.min, tl.max = true, e.t, e.t
	}
	grew := e.t < tl.min || e.t > tl.max
	tl.min, tl.max = min(tl.min, e.t), max(tl.max, e.t)
	if tl.bins == nil {
		if len(tl.small) < smallMax {
			tl.small = append(tl.small, e)
			return
		}
		tl.step = stepFor(tl.min, tl.max, baseStep)
		tl.lo = ceilDiv(tl.min, tl.step)
		tl.bins = make([]int32, tl.nser*maxSamples)
		for _, s := range tl.small {
			tl.put(s)
		}
		tl.small = nil
	} else if grew {
		s := stepFor(tl.min, tl.max, tl.step)
		if lo := ceilDiv(tl.min, s); s != tl.step || lo != tl.lo {
			tl.rebin(s, lo, scratch)
		}
	}
	tl.put(e)
}

func (tl *timeline) put(e event) {
	tl.bins[int(e.ser)*maxSamples+int(ceilDiv(e.t, tl.step)-tl.lo)] += int32(e.d)
}

// rebin moves the bins to step s (a multiple of tl.step) from bin lo.
func (tl *timeline) rebin(s, lo int64, scratch *[]int32) {
	if cap(*scratch) < len(tl.bins) {
		*scratch = make([]int32, len(tl.bins))
	}
	tmp := (*scratch)[:len(tl.bins)]
	copy(tmp, tl.bins)
	clear(tl.bins)
	f := s / tl.step
	for i, v := range tmp {
		if v == 0 {
			continue
		}
		ser, k := i/maxSamples, tl.lo+int64(i%maxSamples)
		tl.bins[ser*maxSamples+int(ceilDiv(k, f)-lo)] += v
	}
	tl.step, tl.lo = s, lo
}

// ownStep is the step of the timeline's own span.
func (tl *timeline) ownStep() int64 {
	if tl.bins != nil {
		return tl.step
	}
	return stepFor(tl.min, tl.max, baseStep)
}

// samples returns the populations of series ser at (L+i)·s for i < m, s
// a multiple of the timeline's own step: events before the first sample
// count in it, events after the last are left out.
func (tl *timeline) samples(ser int, s, L int64, m int, out []int32) []int32 {
	if cap(out) < m {
		out = make([]int32, m)
	}
	out = out[:m]
	clear(out)
	at := func(k int64, d int32) {
		i := k - L
		if i < 0 {
			i = 0
		}
		if i < int64(m) {
			out[i] += d
		}
	}
	if tl.bins != nil {
		f := s / tl.step
		for i, v := range tl.bins[ser*maxSamples : (ser+1)*maxSamples] {
			if v != 0 {
				at(ceilDiv(tl.lo+int64(i), f), v)
			}
		}
	} else {
		for _, e := range tl.small {
			if int(e.ser) == ser {
				at(ceilDiv(e.t, s), int32(e.d))
			}
		}
	}
	var run int32
	for i := range out {
		run += out[i]
		out[i] = run
	}
	return out
}

// peak is the largest population of series ser at the samples of the
// timeline's own step, the first sample time it was reached, and the
// population at the last sample at or before end.
func (tl *timeline) peak(ser int, end int64, buf []int32) (peak int32, at int64, atEnd int32, _ []int32) {
	if !tl.has {
		return 0, 0, 0, buf
	}
	s := tl.ownStep()
	L := ceilDiv(tl.min, s)
	m := int(ceilDiv(tl.max, s) - L + 1)
	buf = tl.samples(ser, s, L, m, buf)
	at = L * s
	for i, v := range buf {
		if v > peak {
			peak, at = v, (L+int64(i))*s
		}
	}
	switch e := floorDiv(end, s) - L; {
	case e < 0:
	case e >= int64(m):
		atEnd = buf[m-1]
	default:
		atEnd = buf[e]
	}
	return peak, at, atEnd, buf
}
