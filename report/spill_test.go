package report

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"finwave/analyzer"
	"finwave/flow"
)

// tiny returns a minimal reset flow numbered n: worth reading, one segment.
func tiny(n int64) *analyzer.Teardown {
	a := ep("10.0.0.1:1")
	a.Port = uint16(1024 + n%60000)
	return &analyzer.Teardown{
		Stream: n, Client: a, Server: ep("10.0.0.2:80"),
		FirstFrame: 2*n + 1, LastFrame: 2*n + 2, FirstTime: t0.Add(time.Duration(n) * time.Millisecond),
		LastTime: t0.Add(time.Duration(n)*time.Millisecond + time.Microsecond),
		Pattern:  analyzer.PatternReset, Closer: analyzer.CloserServer,
		Segments: []analyzer.LabelledSegment{{Frame: 2*n + 2, Time: t0.Add(time.Duration(n) * time.Millisecond),
			From: analyzer.Server, Flags: flow.RST | flow.ACK, Seq: 1, Ack: 1, Label: analyzer.RST}},
		Finish: flow.FinishDone, Profile: "linux",
	}
}

// permutation returns 0..n-1 in a scrambled, deterministic finish order.
func permutation(n int) []int64 {
	p := make([]int64, n)
	for i := range p {
		p[i] = int64(i)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	rng.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// TestSpillManyFlows renders 200k flows finishing out of order with a
// small in-memory limit, so most of them go through the temporary file, and
// checks every flow comes out once, in stream order. Every seventh stream
// finishes twice, the second time 5000 flows later: ties, which must come
// out in arrival order.
//
// Each renderer runs with the default index bound (the index stays in memory
// with -short, three runs on disk without), and on a quarter of the flows with
// a bound of 1000 entries (dozens of sorted runs on disk, merged at replay,
// ties in different runs) and the same with at most 4 runs (runs merged while
// flows arrive). After every flow the in-memory index is within its bound.
func TestSpillManyFlows(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	for _, b := range []struct {
		name            string
		flows           int
		runMax, maxRuns int
	}{
		{"default index bound", n, 0, 0},
		{"index in 1000-entry runs", n / 4, 1000, 0},
		{"index in runs merged by 4", n / 4, 1000, 4},
	} {
		t.Run(b.name, func(t *testing.T) {
			feed := arrivals(permutation(b.flows))
			bound := b.runMax
			if bound == 0 {
				bound = defaultSpillRun
			}
			configure := func(s *spill) {
				s.limit = 1 << 20
				s.runMax, s.maxRuns = b.runMax, b.maxRuns
			}
			// checkIndex is called after every flow.
			checkIndex := func(s *spill) error {
				if cap(s.index) > bound {
					return fmt.Errorf("in-memory index holds %d entries (capacity %d), bound %d", len(s.index), cap(s.index), bound)
				}
				if b.maxRuns > 0 && len(s.runs) >= b.maxRuns {
					return fmt.Errorf("%d runs on disk, merged at %d", len(s.runs), b.maxRuns)
				}
				return nil
			}
			// checkEnd is called before Finish.
			checkEnd := func(s *spill) error {
				if s.file == nil {
					return fmt.Errorf("spill never moved to a file")
				}
				if (len(s.runs) > 0) != (len(feed) > bound) {
					return fmt.Errorf("%d runs on disk for %d flows", len(s.runs), len(feed))
				}
				return nil
			}
			spillManyFlows(t, b.flows, feed, configure, checkIndex, checkEnd)
		})
	}
}

// arrival is one flow given to a renderer: its stream, and whether it is the
// second flow with that stream (a tie, told apart by client port 1).
type arrival struct {
	stream int64
	again  bool
}

func (a arrival) teardown() *analyzer.Teardown {
	td := tiny(a.stream)
	if a.again {
		td.Client.Port = 1
	}
	return td
}

// arrivals returns the finish order perm where every seventh stream finishes
// again 5000 flows after its first time (more than spillWindow further in the
// file, so each reads the two alone, and in another run of a 1000-entry index).
func arrivals(perm []int64) []arrival {
	const later = 5000
	var feed, pending []arrival
	due := []int{}
	for _, s := range perm {
		for len(pending) > 0 && due[0] <= len(feed) {
			feed = append(feed, pending[0])
			pending, due = pending[1:], due[1:]
		}
		feed = append(feed, arrival{stream: s})
		if s%7 == 0 {
			pending = append(pending, arrival{stream: s, again: true})
			due = append(due, len(feed)+later)
		}
	}
	return append(feed, pending...)
}

// replayOrder checks flows come out in stream order, a stream's second flow
// right after its first.
type replayOrder struct {
	n    int64 // streams 0..n-1
	next arrival
	seen int
}

func (o *replayOrder) check(got arrival) error {
	if got != o.next {
		return fmt.Errorf("flow %d (again %v) where %d (again %v) was due", got.stream, got.again, o.next.stream, o.next.again)
	}
	o.seen++
	if o.next.stream%7 == 0 && !o.next.again {
		o.next.again = true
	} else {
		o.next = arrival{stream: o.next.stream + 1}
	}
	return nil
}

func (o *replayOrder) done(want int) error {
	if o.seen != want || o.next.stream != o.n {
		return fmt.Errorf("%d flows replayed, want %d", o.seen, want)
	}
	return nil
}

// feedSpill gives r every flow of feed on another goroutine, checking the
// spill sp after each and at the end, then finishes r with c. It closes pw
// on every path (so a reader of its output never waits forever) and sends
// the outcome on the returned channel.
func feedSpill(r Renderer, sp *spill, pw *io.PipeWriter, feed []arrival, checkIndex, checkEnd func(*spill) error, c *Capture) <-chan error {
	done := make(chan error, 1)
	go func() {
		err := func() error {
			for _, a := range feed {
				if err := r.Flow(a.teardown()); err != nil {
					return err
				}
				if err := checkIndex(sp); err != nil {
					return err
				}
			}
			if err := checkEnd(sp); err != nil {
				return err
			}
			return r.Finish(c)
		}()
		pw.CloseWithError(err)
		done <- err
	}()
	return done
}

func spillManyFlows(t *testing.T, n int, feed []arrival, configure func(*spill), checkIndex, checkEnd func(*spill) error) {
	t.Run("text", func(t *testing.T) {
		o := DefaultOptions()
		pr, pw := io.Pipe()
		r := NewText(pw, o).(*textRenderer)
		configure(&r.spill)
		done := feedSpill(r, &r.spill, pw, feed, checkIndex, checkEnd, &Capture{File: "many.pcap"})
		// Stream the output: the test itself holds no copy of it.
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		order := replayOrder{n: int64(n)}
		prefix := []byte("flow ")
		for sc.Scan() {
			line := sc.Bytes()
			if !bytes.HasPrefix(line, prefix) {
				continue
			}
			sp := bytes.IndexByte(line[len(prefix):], ' ')
			got, err := strconv.ParseInt(string(line[len(prefix):len(prefix)+sp]), 10, 64)
			if err != nil {
				t.Fatalf("bad header %q", line)
			}
			if err := order.check(arrival{stream: got, again: bytes.Contains(line, []byte(":1 → "))}); err != nil {
				t.Fatal(err)
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := order.done(len(feed)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("json", func(t *testing.T) {
		o := DefaultOptions()
		pr, pw := io.Pipe()
		r := NewJSON(pw, o).(*jsonRenderer)
		configure(&r.spill)
		done := feedSpill(r, &r.spill, pw, feed, checkIndex, checkEnd, &Capture{File: "many.pcap", ReadError: "truncated"})
		dec := json.NewDecoder(pr)
		// Walk the document token by token: {"finwave":1, ..., "flows":[...], "summary":{...}}.
		tok := func() json.Token {
			tk, err := dec.Token()
			if err != nil {
				t.Fatalf("token: %v", err)
			}
			return tk
		}
		if tok() != json.Delim('{') {
			t.Fatal("document does not start with {")
		}
		order := replayOrder{n: int64(n)}
		for dec.More() {
			key := tok().(string)
			if key != "flows" {
				var v any
				if err := dec.Decode(&v); err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				if key == "summary" && v.(map[string]any)["flows"] != float64(len(feed)) {
					t.Errorf("summary.flows = %v, want %d", v.(map[string]any)["flows"], len(feed))
				}
				continue
			}
			tok() // [
			for dec.More() {
				var f struct {
					Stream int64  `json:"stream"`
					Client string `json:"client"`
				}
				if err := dec.Decode(&f); err != nil {
					t.Fatal(err)
				}
				if err := order.check(arrival{stream: f.Stream, again: strings.HasSuffix(f.Client, ":1")}); err != nil {
					t.Fatal(err)
				}
			}
			tok() // ]
		}
		tok() // }
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := order.done(len(feed)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSpillUnit exercises the store directly across the memory/file switch.
func TestSpillUnit(t *testing.T) {
	for _, limit := range []int{1 << 20, 5} {
		s := spill{limit: limit}
		for _, i := range []int64{5, 3, 9, 3, 0} {
			if err := s.add(i, []byte(strconv.FormatInt(i, 10)+";")); err != nil {
				t.Fatal(err)
			}
		}
		var out []byte
		if err := s.each(func(_ int64, b []byte) error { out = append(out, b...); return nil }); err != nil {
			t.Fatal(err)
		}
		if string(out) != "0;3;3;5;9;" {
			t.Errorf("limit %d: %q", limit, out)
		}
		if (s.file != nil) != (limit == 5) {
			t.Errorf("limit %d: file=%v", limit, s.file != nil)
		}
		if err := s.reset(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSpillRunsTies stores flows with many equal streams (as many as 400 per
// stream) across every combination of bytes in memory or in the file, index
// in memory or in runs (of 7 or 1000 entries), and runs merged while flows
// arrive (every 2 or 50 runs), and checks
// the replay against a stable sort by stream: equal streams come out in
// arrival order, whichever runs they were written to. After every add the
// in-memory index is within its bound.
func TestSpillRunsTies(t *testing.T) {
	const n = 20_000
	rng := rand.New(rand.NewPCG(3, 9))
	streams := make([]int64, n)
	for i := range streams {
		// A few streams repeat a lot, the rest are spread out.
		if i%2 == 0 {
			streams[i] = rng.Int64N(50)
		} else {
			streams[i] = rng.Int64N(1 << 40)
		}
	}
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	slices.SortStableFunc(want, func(a, b int) int { return cmp.Compare(streams[a], streams[b]) })

	for _, limit := range []int{1 << 30, 4 << 10} {
		for _, c := range [][2]int{{0, 0}, {7, 0}, {1000, 0}, {1000, 2}, {7, 50}} {
			runMax, maxRuns := c[0], c[1]
			name := fmt.Sprintf("limit=%d/runMax=%d/maxRuns=%d", limit, runMax, maxRuns)
			s := spill{limit: limit, runMax: runMax, maxRuns: maxRuns}
			bound := runMax
			if bound == 0 {
				bound = defaultSpillRun
			}
			var b []byte
			for i, st := range streams {
				// Lengths vary: 1 to 5 octets.
				b = strconv.AppendInt(b[:0], int64(i), 10)
				if err := s.add(st, b); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if len(s.index) > bound || cap(s.index) > bound {
					t.Fatalf("%s: in-memory index %d entries (capacity %d) after %d adds, bound %d", name, len(s.index), cap(s.index), i+1, bound)
				}
				if maxRuns > 0 && len(s.runs) >= max(maxRuns, 2) {
					t.Fatalf("%s: %d runs on disk, merged at %d", name, len(s.runs), maxRuns)
				}
			}
			if s.len() != n {
				t.Fatalf("%s: len %d, want %d", name, s.len(), n)
			}
			if (s.file != nil) != (limit < 1<<30) || (len(s.runs) > 0) != (runMax > 0) {
				t.Fatalf("%s: file %v, %d runs", name, s.file != nil, len(s.runs))
			}
			k := 0
			err := s.each(func(st int64, b []byte) error {
				if k >= n {
					return fmt.Errorf("more than %d flows", n)
				}
				i, err := strconv.Atoi(string(b))
				if err != nil {
					return fmt.Errorf("flow %d: %q", k, b)
				}
				if i != want[k] || st != streams[i] {
					return fmt.Errorf("flow %d is arrival %d (stream %d), want arrival %d (stream %d)", k, i, st, want[k], streams[want[k]])
				}
				k++
				return nil
			})
			if err == nil && k != n {
				err = fmt.Errorf("%d flows replayed, want %d", k, n)
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := s.reset(); err != nil {
				t.Fatal(err)
			}
			if s.file != nil || s.runFile != nil || s.index != nil || s.runs != nil || s.len() != 0 {
				t.Fatalf("%s: reset kept something", name)
			}
		}
	}
}

func BenchmarkTextFlow(b *testing.B) {
	r := NewText(io.Discard, func() Options { o := DefaultOptions(); o.All = true; return o }())
	td := lostFinalACK()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Flow(td); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = r.Finish(&Capture{})
}

func BenchmarkJSONFlow(b *testing.B) {
	r := NewJSON(io.Discard, DefaultOptions())
	td := lostFinalACK()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Flow(td); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = r.Finish(&Capture{})
}

func BenchmarkSummaryOnly(b *testing.B) {
	r := NewText(io.Discard, func() Options { o := DefaultOptions(); o.SummaryOnly = true; return o }())
	td := lostFinalACK()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Flow(td); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUnlistedFlowAllocs: a flow that is only counted (not listed) costs no
// allocation once its endpoints are known: the summary is counters only.
func TestUnlistedFlowAllocs(t *testing.T) {
	o := DefaultOptions()
	o.SummaryOnly = true
	for _, r := range []Renderer{NewText(io.Discard, o), NewJSON(io.Discard, o)} {
		td := lostFinalACK()
		if err := r.Flow(td); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { _ = r.Flow(td) }); n != 0 {
			t.Errorf("%T: %v allocations per unlisted flow", r, n)
		}
	}
}

// BenchmarkSpill stores 200k renderings of 300 octets (most in the
// temporary file, the index in four runs) and replays them: finishing in
// random order (one read per flow), and nearly in stream order (each flow at
// most 16 places from its rank: a few reads per window).
func BenchmarkSpill(b *testing.B) {
	const n = 200_000
	near := make([]int64, n)
	for i := range near {
		near[i] = int64(i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+16 < n; i += 16 {
		rng.Shuffle(16, func(j, k int) { near[i+j], near[i+k] = near[i+k], near[i+j] })
	}
	for _, c := range []struct {
		name  string
		order []int64
	}{{"random", permutation(n)}, {"near", near}} {
		b.Run(c.name, func(b *testing.B) {
			flow := bytes.Repeat([]byte{'x'}, 300)
			b.SetBytes(int64(n * len(flow)))
			b.ReportAllocs()
			var s spill
			for b.Loop() {
				for _, i := range c.order {
					if err := s.add(i, flow); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.each(func(int64, []byte) error { return nil }); err != nil {
					b.Fatal(err)
				}
				if err := s.reset(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
