package main

import (
	"sync"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/pipeline"
)

// -j N: today finwave runs one analysis as a pipeline of up to three
// goroutines — reading ahead (pipeline.Prefetch), the flow table and close
// machines, and rendering (asyncEmit) — rather than sharding flows across
// N analyzers (README, Performance, says what sharding needs to keep the
// output identical). Every stage sees the same data in the same order as
// with -j 1, so the output is byte-identical by construction.

// parallelSource wraps src for -j N: with N > 1 the capture is read ahead
// on another goroutine.
func parallelSource(src capture.Source, jobs int) capture.Source {
	if jobs > 1 {
		return pipeline.Prefetch(src)
	}
	return src
}

// asyncEmit returns an emit function that hands each Teardown to fn on a
// rendering goroutine, in the order emitted, and wait, which returns once
// fn has seen every Teardown. With jobs <= 1 fn is called directly. After
// wait returns, whatever fn wrote is visible to the caller.
func asyncEmit(fn func(*analyzer.Teardown), jobs int) (emit func(*analyzer.Teardown), wait func()) {
	if jobs <= 1 {
		return fn, func() {}
	}
	ch := make(chan []*analyzer.Teardown, 8)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for b := range ch {
			for _, t := range b {
				fn(t)
			}
		}
	}()
	// Teardowns go over in small batches: one channel operation per
	// batch, not per flow.
	const batchLen = 64
	var cur []*analyzer.Teardown
	emit = func(t *analyzer.Teardown) {
		if cur == nil {
			cur = make([]*analyzer.Teardown, 0, batchLen)
		}
		cur = append(cur, t)
		if len(cur) == batchLen {
			ch <- cur
			cur = nil
		}
	}
	wait = func() {
		if len(cur) > 0 {
			ch <- cur
			cur = nil
		}
		close(ch)
		wg.Wait()
	}
	return emit, wait
}
