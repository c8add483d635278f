package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"finwave/analyzer"
	"finwave/flow"
	"finwave/internal/spill"
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
// flows arrive). After every flow the runs on disk stay below the merge
// count; the bound of the in-memory index is internal/spill's own test.
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
				bound = spill.DefaultRunLen
			}
			configure := func(s *spill.Store) {
				s.MemLimit = 1 << 20
				s.RunLen, s.MaxRuns = b.runMax, b.maxRuns
			}
			// checkIndex is called after every flow (the bound on the
			// in-memory index itself is spill's own test).
			checkIndex := func(s *spill.Store) error {
				if st := s.Stats(); b.maxRuns > 0 && st.Runs >= b.maxRuns {
					return fmt.Errorf("%d runs on disk, merged at %d", st.Runs, b.maxRuns)
				}
				return nil
			}
			// checkEnd is called before Finish.
			checkEnd := func(s *spill.Store) error {
				st := s.Stats()
				if !st.InFile {
					return fmt.Errorf("spill never moved to a file")
				}
				if (st.Runs > 0) != (len(feed) > bound) {
					return fmt.Errorf("%d runs on disk for %d flows", st.Runs, len(feed))
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
// again 5000 flows after its first time (more than the spill's 1 MiB read
// window further in the file, so the two are read alone, and in another run of
// a 1000-entry index).
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
func feedSpill(r Renderer, sp *spill.Store, pw *io.PipeWriter, feed []arrival, checkIndex, checkEnd func(*spill.Store) error, c *Capture) <-chan error {
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

func spillManyFlows(t *testing.T, n int, feed []arrival, configure func(*spill.Store), checkIndex, checkEnd func(*spill.Store) error) {
	t.Run("text", func(t *testing.T) {
		o := DefaultOptions()
		o.All = true // the spill lists every flow; the default report groups them
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
