package analyzer

import "time"

// Advance moves capture time to now without a segment and finishes the
// flows whose completed teardown has waited out its grace, or that have
// been idle longer than the idle timeout (flow.Table.Advance). A live
// capture calls it on a clock tick while no packets arrive, from the same
// goroutine that calls Segment; time never moves backwards.
func (a *Analyzer) Advance(now time.Time) { a.table.Advance(now) }
