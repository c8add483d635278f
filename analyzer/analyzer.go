package analyzer

import (
	"finwave/flow"
)

// Stats counts what the analyzer did.
type Stats struct {
	Flows   int64 // flows created
	Open    int   // flows open now
	Evicted int64 // flows finished early by the MaxFlows cap
	Idle    int64 // flows finished by the idle timeout
}

// Analyzer runs the close machines over a stream of segments in capture
// order and emits one Teardown per flow as each flow finishes.
type Analyzer struct {
	cfg   Config
	emit  func(*Teardown)
	stats Stats
}

// New returns an analyzer that calls emit for every finished flow. emit owns
// the Teardown it is given.
func New(cfg Config, emit func(*Teardown)) *Analyzer {
	a := &Analyzer{cfg: cfg, emit: emit}
	return a
}

// Segment feeds one segment, in capture order.
func (a *Analyzer) Segment(seg *flow.Segment) {}

// Close finishes every open flow (end of capture) in stream order.
func (a *Analyzer) Close() {}

// Stats returns the counters so far.
func (a *Analyzer) Stats() Stats { return a.stats }
