package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
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
// checks every flow comes out once, in stream order.
func TestSpillManyFlows(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	perm := permutation(n)

	t.Run("text", func(t *testing.T) {
		o := DefaultOptions()
		pr, pw := io.Pipe()
		r := NewText(pw, o).(*textRenderer)
		r.spill.limit = 1 << 20
		done := make(chan error, 1)
		go func() {
			err := func() error {
				for _, i := range perm {
					if err := r.Flow(tiny(i)); err != nil {
						return err
					}
				}
				if r.spill.file == nil {
					return fmt.Errorf("spill never moved to a file")
				}
				return r.Finish(&Capture{File: "many.pcap"})
			}()
			// Closed on every path, so the reader below never waits forever.
			pw.CloseWithError(err)
			done <- err
		}()
		// Stream the output: the test itself holds no copy of it.
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		next := int64(0)
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
			if got != next {
				t.Fatalf("flow %d reported where %d was due", got, next)
			}
			next++
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if next != int64(n) {
			t.Fatalf("%d flows reported, want %d", next, n)
		}
	})

	t.Run("json", func(t *testing.T) {
		o := DefaultOptions()
		pr, pw := io.Pipe()
		r := NewJSON(pw, o).(*jsonRenderer)
		r.spill.limit = 1 << 20
		done := make(chan error, 1)
		go func() {
			err := func() error {
				for _, i := range perm {
					if err := r.Flow(tiny(i)); err != nil {
						return err
					}
				}
				return r.Finish(&Capture{File: "many.pcap", ReadError: "truncated"})
			}()
			pw.CloseWithError(err) // on every path, as above
			done <- err
		}()
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
		next := int64(0)
		for dec.More() {
			key := tok().(string)
			if key != "flows" {
				var v any
				if err := dec.Decode(&v); err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				if key == "summary" && v.(map[string]any)["flows"] != float64(n) {
					t.Errorf("summary.flows = %v, want %d", v.(map[string]any)["flows"], n)
				}
				continue
			}
			tok() // [
			for dec.More() {
				var f struct {
					Stream int64 `json:"stream"`
				}
				if err := dec.Decode(&f); err != nil {
					t.Fatal(err)
				}
				if f.Stream != next {
					t.Fatalf("flow %d listed where %d was due", f.Stream, next)
				}
				next++
			}
			tok() // ]
		}
		tok() // }
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if next != int64(n) {
			t.Fatalf("%d flows listed, want %d", next, n)
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
