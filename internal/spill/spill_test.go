package spill

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestUnit exercises the store directly across the memory/file switch.
func TestUnit(t *testing.T) {
	for _, limit := range []int{1 << 20, 5} {
		s := Store{MemLimit: limit}
		for _, i := range []int64{5, 3, 9, 3, 0} {
			if err := s.Add(i, []byte(strconv.FormatInt(i, 10)+";")); err != nil {
				t.Fatal(err)
			}
		}
		var out []byte
		if err := s.Each(func(_ int64, b []byte) error { out = append(out, b...); return nil }); err != nil {
			t.Fatal(err)
		}
		if string(out) != "0;3;3;5;9;" {
			t.Errorf("limit %d: %q", limit, out)
		}
		if st := s.Stats(); st != (Stats{Records: 5, Bytes: 10, InFile: limit == 5}) {
			t.Errorf("limit %d: stats %+v", limit, st)
		}
		if err := s.Reset(); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st != (Stats{}) || s.MemLimit != limit {
			t.Errorf("limit %d: after Reset: stats %+v, limit %d", limit, st, s.MemLimit)
		}
	}
}

// TestRunsTies stores records with many equal keys (as many as 400 per key)
// across every combination of bytes in memory or in the file, index in
// memory or in runs (of 7 or 1000 entries), and runs merged while records
// arrive (every 2 or 50 runs), and checks the replay against a stable sort
// by key: equal keys come out in arrival order, whichever runs they were
// written to. After every Add the in-memory index is within its bound.
func TestRunsTies(t *testing.T) {
	const n = 20_000
	rng := rand.New(rand.NewPCG(3, 9))
	keys := make([]int64, n)
	for i := range keys {
		// A few keys repeat a lot, the rest are spread out.
		if i%2 == 0 {
			keys[i] = rng.Int64N(50)
		} else {
			keys[i] = rng.Int64N(1 << 40)
		}
	}
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	slices.SortStableFunc(want, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })

	for _, limit := range []int{1 << 30, 4 << 10} {
		for _, c := range [][2]int{{0, 0}, {7, 0}, {1000, 0}, {1000, 2}, {7, 50}} {
			runLen, maxRuns := c[0], c[1]
			name := fmt.Sprintf("limit=%d/runLen=%d/maxRuns=%d", limit, runLen, maxRuns)
			s := Store{MemLimit: limit, RunLen: runLen, MaxRuns: maxRuns}
			bound := runLen
			if bound == 0 {
				bound = DefaultRunLen
			}
			var b []byte
			for i, k := range keys {
				// Lengths vary: 1 to 5 octets.
				b = strconv.AppendInt(b[:0], int64(i), 10)
				if err := s.Add(k, b); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if len(s.index) > bound || cap(s.index) > bound {
					t.Fatalf("%s: in-memory index %d entries (capacity %d) after %d adds, bound %d", name, len(s.index), cap(s.index), i+1, bound)
				}
				if maxRuns > 0 && len(s.runs) >= max(maxRuns, 2) {
					t.Fatalf("%s: %d runs on disk, merged at %d", name, len(s.runs), maxRuns)
				}
			}
			if s.Len() != n {
				t.Fatalf("%s: len %d, want %d", name, s.Len(), n)
			}
			if st := s.Stats(); st.InFile != (limit < 1<<30) || (st.Runs > 0) != (runLen > 0) {
				t.Fatalf("%s: stats %+v", name, st)
			}
			k := 0
			err := s.Each(func(key int64, b []byte) error {
				if k >= n {
					return fmt.Errorf("more than %d records", n)
				}
				i, err := strconv.Atoi(string(b))
				if err != nil {
					return fmt.Errorf("record %d: %q", k, b)
				}
				if i != want[k] || key != keys[i] {
					return fmt.Errorf("record %d is arrival %d (key %d), want arrival %d (key %d)", k, i, key, want[k], keys[want[k]])
				}
				k++
				return nil
			})
			if err == nil && k != n {
				err = fmt.Errorf("%d records replayed, want %d", k, n)
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := s.Reset(); err != nil {
				t.Fatal(err)
			}
			if s.file != nil || s.runFile != nil || s.index != nil || s.runs != nil || s.Len() != 0 {
				t.Fatalf("%s: reset kept something", name)
			}
		}
	}
}

// TestEachStops: the first error of fn ends Each and is returned as is.
func TestEachStops(t *testing.T) {
	var s Store
	for k := range int64(10) {
		if err := s.Add(k, []byte{byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Each(func(key int64, _ []byte) error {
		calls++
		if key == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 4 {
		t.Errorf("Each = %v after %d calls, want the callback's error after 4", err, calls)
	}
}

// TestTempFileError: a store that cannot create its temporary file says so,
// wrapping the cause, keeps the error for every later call, and is usable
// again after Reset.
func TestTempFileError(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	s := Store{MemLimit: 4}
	if err := s.Add(1, []byte("abc")); err != nil {
		t.Fatalf("in memory: %v", err)
	}
	err := s.Add(2, []byte("def"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "spill: records to temporary file: ") {
		t.Fatalf("Add past the limit = %v, want the temporary file's error, wrapped", err)
	}
	if err2 := s.Add(3, []byte("g")); err2 != err {
		t.Errorf("next Add = %v, want the same error %v (sticky)", err2, err)
	}
	if err2 := s.Each(func(int64, []byte) error { return nil }); err2 != err {
		t.Errorf("Each = %v, want the same error %v (sticky)", err2, err)
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(1, []byte("abc")); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
}

// BenchmarkStore stores 200k records of 300 octets (most in the temporary
// file, the index in four runs) and replays them: added in random order
// (one read per record), and nearly in key order (each record at most 16
// places from its rank: a few reads per window).
func BenchmarkStore(b *testing.B) {
	const n = 200_000
	random, near := make([]int64, n), make([]int64, n)
	for i, k := range rand.New(rand.NewPCG(7, 7)).Perm(n) {
		random[i], near[i] = int64(k), int64(i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+16 < n; i += 16 {
		rng.Shuffle(16, func(j, k int) { near[i+j], near[i+k] = near[i+k], near[i+j] })
	}
	for _, c := range []struct {
		name  string
		order []int64
	}{{"random", random}, {"near", near}} {
		b.Run(c.name, func(b *testing.B) {
			rec := bytes.Repeat([]byte{'x'}, 300)
			b.SetBytes(int64(n * len(rec)))
			b.ReportAllocs()
			var s Store
			for b.Loop() {
				for _, i := range c.order {
					if err := s.Add(i, rec); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Each(func(int64, []byte) error { return nil }); err != nil {
					b.Fatal(err)
				}
				if err := s.Reset(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestAllocs: Add allocates nothing per record once its buffers have grown
// (in memory, then in the file with the index in runs), and Each allocates
// per call, not per record: replaying ten times as many records costs no
// more allocations.
func TestAllocs(t *testing.T) {
	rec := bytes.Repeat([]byte{'x'}, 100)
	for _, limit := range []int{1 << 30, 1 << 10} {
		s := Store{MemLimit: limit, RunLen: 1000}
		key := int64(0)
		add := func() {
			key = (key + 7919) % 100_003
			if err := s.Add(key, rec); err != nil {
				t.Fatal(err)
			}
		}
		for range 5000 {
			add() // warm up: past the limit, the index in runs
		}
		if n := testing.AllocsPerRun(5000, add); n != 0 {
			t.Errorf("limit %d: %v allocations per Add", limit, n)
		}
		each := func(n int) float64 {
			if err := s.Reset(); err != nil {
				t.Fatal(err)
			}
			for range n {
				add()
			}
			return testing.AllocsPerRun(1, func() {
				if err := s.Each(func(int64, []byte) error { return nil }); err != nil {
					t.Fatal(err)
				}
			})
		}
		if few, many := each(2000), each(20_000); many > few {
			t.Errorf("limit %d: Each allocates %v times over 2000 records, %v over 20000", limit, few, many)
		}
		spans := func(n int) float64 {
			each(n)
			return testing.AllocsPerRun(1, func() {
				if err := s.Spans(func([]byte) error { return nil }); err != nil {
					t.Fatal(err)
				}
			})
		}
		if few, many := spans(2000), spans(20_000); many > few {
			t.Errorf("limit %d: Spans allocates %v times over 2000 records, %v over 20000", limit, few, many)
		}
		if err := s.Reset(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSpans: Spans gives the bytes Each gives, in the same order, over
// records in memory and in the file (small windows too), with the index in
// memory and in runs; records added in key order come in few spans, and
// the first error of the callback is returned as is.
func TestSpans(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 11))
	for _, c := range []struct {
		limit, runLen int
		sorted        bool
	}{{1 << 30, 0, false}, {1 << 30, 0, true}, {1 << 12, 0, false}, {1 << 12, 0, true}, {1 << 12, 100, false}, {1 << 12, 100, true}, {1 << 30, 100, true}} {
		s := Store{MemLimit: c.limit, RunLen: c.runLen}
		const n = 5000
		for i := range n {
			key := int64(i)
			if !c.sorted {
				key = rng.Int64N(n / 3) // ties too
			}
			// Sizes 0 to 3000: a few records larger than the window.
			size := rng.IntN(300)
			if i%500 == 0 {
				size = 3000 + rng.IntN(readWindow)
			}
			rec := bytes.Repeat([]byte{byte('a' + i%26)}, size)
			if err := s.Add(key, rec); err != nil {
				t.Fatal(err)
			}
		}
		var want, got []byte
		if err := s.Each(func(_ int64, b []byte) error { want = append(want, b...); return nil }); err != nil {
			t.Fatal(err)
		}
		calls := 0
		if err := s.Spans(func(b []byte) error { got = append(got, b...); calls++; return nil }); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%+v: Spans gives %d bytes differing from Each's %d", c, len(got), len(want))
		}
		if c.sorted && calls > n/10 {
			t.Errorf("%+v: %d spans for %d records added in key order", c, calls, n)
		}
		stop := errors.New("stop")
		if err := s.Spans(func([]byte) error { return stop }); err != stop {
			t.Errorf("%+v: Spans = %v, want the callback's error", c, err)
		}
		t.Logf("%+v: %d records, %d bytes, %d spans", c, n, len(got), calls)
		if err := s.Reset(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriteBehindError: a write that fails behind the caller's back (the
// file closed under the store) comes out of a later Add, wrapped, then out
// of every call until Reset, after which the store works again.
func TestWriteBehindError(t *testing.T) {
	s := Store{MemLimit: 4}
	rec := bytes.Repeat([]byte{'x'}, 1000)
	if err := s.Add(1, rec); err != nil {
		t.Fatal(err)
	}
	if s.file == nil {
		t.Fatal("the record is not in the file")
	}
	s.file.Close()
	var err error
	for i := 0; err == nil && i < 4*writeBuf/len(rec); i++ {
		err = s.Add(int64(i), rec)
	}
	if !errors.Is(err, fs.ErrClosed) || !strings.HasPrefix(err.Error(), "spill: write: ") {
		t.Fatalf("Add = %v, want the write's error, wrapped", err)
	}
	if err2 := s.Add(3, rec); err2 != err {
		t.Errorf("next Add = %v, want the same error %v (sticky)", err2, err)
	}
	if err2 := s.Each(func(int64, []byte) error { return nil }); err2 != err {
		t.Errorf("Each = %v, want the same error %v (sticky)", err2, err)
	}
	_ = s.Reset() // closing the closed file fails: nothing to check
	for i := range 1000 {
		if err := s.Add(int64(1000-i), rec); err != nil {
			t.Fatalf("after Reset: %v", err)
		}
	}
	n := 0
	if err := s.Each(func(int64, []byte) error { n++; return nil }); err != nil || n != 1000 {
		t.Errorf("after Reset: Each = %v over %d records, want nil over 1000", err, n)
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
}
