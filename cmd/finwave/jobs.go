package main

import (
	"context"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/pipeline"
)

// -j N: with N > 1 the capture is read ahead on its own goroutine
// (pipeline.Prefetch), decoded and routed by a symmetric 4-tuple hash to N
// analyzers on their own goroutines, and the finished flows are renumbered
// to Wireshark's stream ids and rendered on one more (pipeline.Sharded).
// The output is the same as with -j 1.

// parallelSource wraps src for -j N: with N > 1 the capture is read ahead
// on another goroutine.
func parallelSource(src capture.Source, jobs int) capture.Source {
	if jobs > 1 {
		return pipeline.Prefetch(src)
	}
	return src
}

// analyzeSource runs the analysis of src with jobs workers, closes the
// analyzers (flushing open flows) and returns once emit has seen every
// flow; whatever emit wrote is visible to the caller then.
func analyzeSource(ctx context.Context, runner *pipeline.Runner, src capture.Source, cfg analyzer.Config,
	emit func(*analyzer.Teardown), jobs int, st *pipeline.Stats) (analyzer.Stats, error) {
	if jobs > 1 {
		sh := &pipeline.Sharded{N: jobs, Config: cfg, Emit: emit}
		err := sh.Run(ctx, runner, src, st)
		return sh.Stats(), err
	}
	a := analyzer.New(cfg, emit)
	err := runner.Run(ctx, src, a, st)
	a.Close()
	return a.Stats(), err
}
