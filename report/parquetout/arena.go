package parquetout

import (
	"time"
	"unsafe"
)

// arena holds the values a batch of staged rows points to: strings copied
// out of the Teardown (whose memory is reused once Flow returns), nullable
// times and floats, list elements. Each part only grows by append: a
// value taken before a growth stays valid in the old array (kept alive by
// the rows that point to it). reset reuses the memory once the rows have
// been written (the Parquet writer copies every value it is given:
// column buffers append bytes, dictionaries copy new strings).
type arena struct {
	b     []byte
	times []time.Time
	f64s  []float64
	i64s  []int64
	strs  []string
}

func (a *arena) reset() {
	a.b, a.times, a.f64s, a.i64s = a.b[:0], a.times[:0], a.f64s[:0], a.i64s[:0]
	clear(a.strs) // no string kept alive past the batch
	a.strs = a.strs[:0]
}

// str copies s into the arena.
func (a *arena) str(s string) string {
	if s == "" {
		return ""
	}
	n := len(a.b)
	a.b = append(a.b, s...)
	return unsafe.String(&a.b[n], len(s))
}

// since is the string of b[n:], the bytes appended to the arena since n.
func (a *arena) since(n int) string {
	if len(a.b) == n {
		return ""
	}
	return unsafe.String(&a.b[n], len(a.b)-n)
}

// time is a pointer to tm in UTC, nil for the zero time (the JSON's null).
func (a *arena) time(tm time.Time) *time.Time {
	if tm.IsZero() {
		return nil
	}
	a.times = append(a.times, tm.UTC())
	return &a.times[len(a.times)-1]
}

func (a *arena) float(f float64) *float64 {
	a.f64s = append(a.f64s, f)
	return &a.f64s[len(a.f64s)-1]
}

func (a *arena) int64(v int64) *int64 {
	a.i64s = append(a.i64s, v)
	return &a.i64s[len(a.i64s)-1]
}

// ints copies v into the arena; nil for none.
func (a *arena) ints(v []int64) []int64 {
	if len(v) == 0 {
		return nil
	}
	n := len(a.i64s)
	a.i64s = append(a.i64s, v...)
	return a.i64s[n:len(a.i64s):len(a.i64s)]
}

// list is the strings added (add) since len(a.strs) was n, nil for none.
func (a *arena) list(n int) []string {
	if len(a.strs) == n {
		return nil
	}
	return a.strs[n:len(a.strs):len(a.strs)]
}

// add appends s to the strings of the list being built (list).
func (a *arena) add(s string) { a.strs = append(a.strs, s) }
