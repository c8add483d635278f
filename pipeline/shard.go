package pipeline

import (
	"cmp"
	"context"
	"encoding/binary"
	"slices"
	"sync"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/flow"
)

// Sharded analysis (finwave -j N).
//
// The calling goroutine reads and decodes frames (Runner.Run) and routes
// every segment into batches. Each batch goes to all N workers. Worker w
// owns the flows whose symmetric 4-tuple hash is w: it feeds them to its
// own analyzer (flow table, close machines) and, for every other segment,
// only advances its analyzer's capture time (Analyzer.Advance), which is
// all a single analyzer's flow table does with a segment of another flow
// before looking it up. So each flow finishes at the same capture time,
// with the same state, as with one analyzer: flows of one 4-tuple never
// leave their worker, so port-reuse splits (flow/wireshark.go) and
// TIME_WAIT reuse are decided as before.
//
// Stream ids: each worker numbers its streams in order of first appearance
// (local ids). Wireshark's tcp.stream is the order of first appearance over
// the whole capture, i.e. the rank of a stream's first frame. A merging
// goroutine takes the workers' results batch by batch, in batch order: the
// streams started in a batch (with their first frames) are merged in frame
// order and given the next global ids, then the flows finished during the
// batch are renumbered (a flow finishes after it starts, in the same or a
// later batch) and emitted. Emission order differs from one analyzer's
// (finish order across workers), which the renderers do not depend on:
// they sort listed flows by stream id, ties (a continued stream) in arrival
// order, and both parts of a continued stream come from the same worker in
// order.
//
// Known differences from one analyzer, all at caps: --max-flows and the
// TIME_WAIT and finished-stream records (flow.TableConfig.MaxFinished) are
// capped per worker (each worker holds its share of the cap), so when a
// cap is reached the flows evicted or forgotten are not the same ones. Memory: one analyzer per worker, and the id map, which
// holds only the ids a flow can still be emitted with: a worker reports
// (analyzer.Config.OnForget) each id no later flow can take, after the
// id's last flow, and the merger drops it. So the map is bounded by the
// open flows plus each worker's records of finished streams, whatever the
// length of the capture (TestShardedIDMapBounded).

// shardBatch is how many segments one batch carries.
const shardBatch = 1024

// batchesInFlight bounds the batches between the reader and the merger:
// the reader fills one while the workers run through one or two and the
// merger takes back the last; more only hold memory (a batch of
// shardBatch segments is 250 KiB, filled whole, so resident). With 4
// instead of 16, -j 2 on the kernel capture of the README peaks 4 MiB
// lower in the same time, -q and --json alike.
const batchesInFlight = 4

// outsInFlight bounds what each worker has done and the merger not yet
// taken: while batches flow, the reader's free batches (batchesInFlight)
// already bound how far the workers run ahead, so this only needs to
// absorb their jitter; at Close it bounds the chunks (closeChunk flows
// each) waiting per worker, all alive at once when the merger (rendering
// --json) is slower than the workers.
const outsInFlight = 4

// closeChunk is how many of the flows still open at the end a worker hands
// the merger at once. Closing the analyzer finishes every open flow in one
// call; handed over all together they would all be alive at once (their
// Teardowns, segments and labels), on top of the workers' tables. In chunks
// the merger emits, and the renderer recycles, each chunk while the worker
// builds the next: at most outsInFlight chunks wait per worker. 64, not
// 256: the held flows of a capture end together, and on the kernel capture
// of the README 2 workers × 4 chunks of 256 rendered Teardowns made -j 2's
// peak (118-125 MiB against 106-111 with 64; 16 gains nothing more).
const closeChunk = 64

type segBatch struct {
	segs  []flow.Segment
	shard []uint8
}

type started struct {
	local int64
	frame int64
}

// shardOut is what one worker did with one batch (batch nil: a chunk of
// the flows finished at Close, of at most closeChunk flows; a worker sends
// one or more of them after its last batch, then closes its channel).
type shardOut struct {
	batch    *segBatch
	started  []started
	finished []*analyzer.Teardown
	forgot   []int64 // local ids no later flow can take (after their finish)
}

// Sharded runs one capture through N analyzers.
type Sharded struct {
	// N is the number of workers (at most 256).
	N int
	// Config configures every analyzer.
	Config analyzer.Config
	// Emit receives every finished flow with its global stream id, on one
	// goroutine (not the caller's) and never concurrently; it owns t (and may
	// give it back with analyzer.Recycle once done with it).
	Emit func(t *analyzer.Teardown)

	analyzers  []*analyzer.Analyzer
	peakMapped int // most stream ids mapped at once (tests)
	closeFlows int // flows handed over at Close (tests)
	peakClose  int // most flows in one hand-over at Close (tests)
}

// Stats sums the analyzers' counters; valid after Run.
func (s *Sharded) Stats() analyzer.Stats {
	var sum analyzer.Stats
	for _, a := range s.analyzers {
		st := a.Stats()
		sum.Flows += st.Flows
		sum.Open += st.Open
		sum.Evicted += st.Evicted
		sum.Idle += st.Idle
		sum.Duplicates += st.Duplicates
	}
	return sum
}

// Run reads src to its end like Runner.Run, analyses every flow (closing
// the analyzers at the end, which Runner.Run leaves to the caller) and
// returns once Emit has seen every flow.
func (s *Sharded) Run(ctx context.Context, r *Runner, src capture.Source, st *Stats) error {
	n := min(max(s.N, 1), 256)
	free := make(chan *segBatch, batchesInFlight)
	for range batchesInFlight {
		free <- &segBatch{segs: make([]flow.Segment, 0, shardBatch), shard: make([]uint8, 0, shardBatch)}
	}
	ins := make([]chan *segBatch, n)
	outs := make([]chan *shardOut, n)
	s.analyzers = make([]*analyzer.Analyzer, n)
	// --max-flows caps the whole analysis: each shard holds its share;
	// so do the records of finished streams (each shard sees its share of
	// the 4-tuples).
	cfg := s.Config
	if cfg.MaxFlows > 0 {
		cfg.MaxFlows = max(1, (cfg.MaxFlows+n-1)/n)
	}
	if cfg.MaxFinished == 0 {
		cfg.MaxFinished = flow.DefaultMaxFinished
	}
	if cfg.MaxFinished > 0 {
		cfg.MaxFinished = max(1, (cfg.MaxFinished+n-1)/n)
	}
	var wg sync.WaitGroup
	for w := range n {
		ins[w] = make(chan *segBatch, batchesInFlight)
		outs[w] = make(chan *shardOut, outsInFlight)
		cur := &shardOut{}
		closing := false
		wcfg := cfg
		wcfg.OnForget = func(id int64) { cur.forgot = append(cur.forgot, id) }
		a := analyzer.New(wcfg, func(t *analyzer.Teardown) {
			if closing && len(cur.finished) == closeChunk {
				// A chunk's forgotten ids follow its flows: an id
				// forgotten after this flow goes with a later chunk.
				outs[w] <- cur
				cur = &shardOut{}
			}
			cur.finished = append(cur.finished, t)
		})
		s.analyzers[w] = a
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range ins[w] {
				cur.batch = b
				for i := range b.segs {
					seg := &b.segs[i]
					if int(b.shard[i]) != w {
						a.Advance(seg.Time)
						continue
					}
					before := a.Streams()
					a.Segment(seg)
					if a.Streams() != before {
						cur.started = append(cur.started, started{local: before, frame: seg.Frame})
					}
				}
				outs[w] <- cur
				cur = &shardOut{}
			}
			closing = true
			a.Close()
			outs[w] <- cur // batch nil: the last chunk of the flows open at the end
			close(outs[w])
		}()
	}
	mergeDone := make(chan struct{})
	go func() {
		defer close(mergeDone)
		s.merge(outs, free)
	}()

	rt := &router{n: uint32(n), free: free, ins: ins}
	rt.cur = <-free
	err := r.Run(ctx, src, rt, st)
	rt.send()
	for _, in := range ins {
		close(in)
	}
	wg.Wait()
	<-mergeDone
	return err
}

// merge renumbers and emits the workers' flows, batch by batch.
func (s *Sharded) merge(outs []chan *shardOut, free chan<- *segBatch) {
	n := len(outs)
	// global[w][local id]: only the ids a flow can still be emitted with
	// (open, or resumable from the worker's records of finished streams),
	// so it holds at most the open flows plus the records
	// (flow.DefaultMaxFinished) per worker, however long the capture.
	global := make([]map[int64]int64, n)
	for w := range global {
		global[w] = make(map[int64]int64)
	}
	var next int64
	batch := make([]*shardOut, n)
	var starts []struct {
		w int
		started
	}
	for {
		open := 0
		for w := range outs {
			batch[w] = nil
			if o, ok := <-outs[w]; ok {
				batch[w] = o
				open++
			}
		}
		if open == 0 {
			return
		}
		starts = starts[:0]
		for w, o := range batch {
			if o == nil {
				continue
			}
			for _, st := range o.started {
				starts = append(starts, struct {
					w int
					started
				}{w, st})
			}
		}
		slices.SortFunc(starts, func(a, b struct {
			w int
			started
		}) int {
			return cmp.Compare(a.frame, b.frame)
		})
		for _, st := range starts {
			global[st.w][st.local] = next
			next++
		}
		mapped := 0
		for w := range global {
			mapped += len(global[w])
		}
		s.peakMapped = max(s.peakMapped, mapped)
		var b *segBatch
		for w, o := range batch {
			if o == nil {
				continue
			}
			for _, t := range o.finished {
				if id, ok := global[w][t.Stream]; ok {
					t.Stream = id
				}
				for i := range t.Streams {
					if id, ok := global[w][t.Streams[i].ID]; ok {
						t.Streams[i].ID = id
					}
				}
				if s.Emit != nil {
					s.Emit(t)
				}
			}
			// After the finished: an id is forgotten after its last flow.
			for _, id := range o.forgot {
				delete(global[w], id)
			}
			if o.batch != nil {
				b = o.batch
			} else {
				s.closeFlows += len(o.finished)
				s.peakClose = max(s.peakClose, len(o.finished))
			}
		}
		if b != nil {
			b.segs, b.shard = b.segs[:0], b.shard[:0]
			free <- b
		}
	}
}

// router is the Sink of the reading goroutine: it copies each segment
// into the current batch with its shard.
type router struct {
	n    uint32
	free chan *segBatch
	ins  []chan *segBatch
	cur  *segBatch
}

func (r *router) Segment(seg *flow.Segment) {
	b := r.cur
	b.segs = append(b.segs, *seg)
	b.shard = append(b.shard, uint8(shardOf(seg)%r.n))
	if len(b.segs) == shardBatch {
		r.send()
		r.cur = <-r.free
	}
}

// send hands the current batch to every worker (an empty one too: it
// keeps the merger's batch count simple).
func (r *router) send() {
	if r.cur == nil || len(r.cur.segs) == 0 {
		return
	}
	for _, in := range r.ins {
		in <- r.cur
	}
	r.cur = nil
}

// shardOf hashes the 4-tuple symmetrically: both directions of a flow
// give the same value. The sum of the endpoints' hashes is symmetric; the
// finalizer (murmur3's fmix64) then spreads every input bit over the
// result, so that the shard (the result modulo N) is balanced even when
// the endpoints differ little: the sum alone was nearly constant modulo 2
// for a kernel's own connections (one address, even ephemeral ports), 97%
// of the segments on one worker (TestShardOfBalanced).
func shardOf(seg *flow.Segment) uint32 {
	h := endpointHash(seg.Src) + endpointHash(seg.Dst)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return uint32(h >> 32)
}

// endpointHash mixes the low 64 bits of the address (the prefix rarely
// varies) with the port: one multiply, as shardOf's finalizer spreads the
// bits.
func endpointHash(e flow.Endpoint) uint64 {
	a := e.Addr.As16()
	h := binary.BigEndian.Uint64(a[8:]) ^ uint64(e.Port)*0x9e3779b97f4a7c15
	return h * 0xbf58476d1ce4e5b9
}
