package htmlreport

import (
	"cmp"
	"iter"
	"slices"
)

// rowChunk is how many rows one chunk of a rowStore holds.
const rowChunk = 4096

// rowStore keeps the rows in fixed chunks: adding one never copies the
// others (a growing slice of 200,000 rows would copy them again and again).
type rowStore struct {
	chunks [][]row
	n      int
}

func (s *rowStore) add(rw row) {
	if s.n%rowChunk == 0 && s.n/rowChunk == len(s.chunks) {
		s.chunks = append(s.chunks, make([]row, 0, rowChunk))
	}
	c := &s.chunks[s.n/rowChunk]
	*c = append(*c, rw)
	s.n++
}

func (s *rowStore) len() int { return s.n }

// all yields every row, in the order added.
func (s *rowStore) all() iter.Seq[*row] {
	return func(yield func(*row) bool) {
		for _, c := range s.chunks {
			for i := range c {
				if !yield(&c[i]) {
					return
				}
			}
		}
	}
}

// reset empties the store, keeping its chunks for the next capture.
func (s *rowStore) reset() {
	for i := range s.chunks {
		s.chunks[i] = s.chunks[i][:0]
	}
	s.n = 0
}

// rank orders the rows for the listing: errors, warnings, then info; at
// each severity the flows worth reading first. Lower is listed first.
func rank(rw *row) int {
	r := 2 * (2 - min(int(rw.sev), 2))
	if !rw.worth {
		r++
	}
	return r
}

const numRanks = 6

// pick returns up to max rows: every row of the better ranks, and of the
// rank where the cap falls the lowest streams; in stream order. The result
// is the same whatever order the rows were added in.
func (s *rowStore) pick(max int) []row {
	var per [numRanks]int
	for rw := range s.all() {
		per[rank(rw)]++
	}
	cut, room := numRanks, max // ranks < cut are taken whole
	for k := range numRanks {
		if per[k] > room {
			cut = k
			break
		}
		room -= per[k]
	}
	var limit int64 = -1 // in rank cut, streams up to limit are taken
	if cut < numRanks && room > 0 {
		streams := make([]int64, 0, per[cut])
		for rw := range s.all() {
			if rank(rw) == cut {
				streams = append(streams, rw.stream)
			}
		}
		slices.Sort(streams)
		limit = streams[room-1]
	}
	out := make([]row, 0, min(max, s.n))
	for rw := range s.all() {
		k := rank(rw)
		if k < cut || (k == cut && rw.stream <= limit && len(out) < max) {
			out = append(out, *rw)
		}
	}
	slices.SortFunc(out, func(a, b row) int { return cmp.Compare(a.stream, b.stream) })
	return out
}
