// Package rollup sums the teardowns of a capture per host (an IP
// address), per service (a server endpoint) and per client→service pair:
// which host or service, doing what, since when. A Rollup takes each
// analyzer.Teardown as the analyzer emits it (Add) and gives a Result at
// the end.
//
// Invariants:
//
//   - No per-flow retention. Memory is proportional to the hosts,
//     services and pairs, not to the flows: a host keeps counters, a
//     population timeline (a list of up to 64 events, then a difference
//     array of 4×256 int32, 4 KiB) and open-interval sums; a service two
//     histograms of rounded durations (at most 90 values a decade); a
//     pair a timeline (one series, 1 KiB) and its set of client ports
//     (up to 32 listed, then an 8 KiB bitmap). Measured: 200,000
//     connections from 100,000 clients (two each) to 10 services take
//     about 170 MB (~1.7 KB a client host and its pair); from 1,000
//     clients, 15 MB. Add keeps no reference to the Teardown or its slices.
//   - Order independence. The same set of Add calls in any order gives a
//     Result that is reflect.DeepEqual (the pipeline's -j N feeds flows
//     in another order than -j 1). Every figure is a sum, a minimum or a
//     maximum, or is binned on absolute time with a step that depends on
//     the span alone; past a cap the kept entries are those with the
//     smallest keys, a function of the set of keys.
//   - Deterministic order. Result's lists are sorted by a count, ties
//     broken by address (then port), never by map order.
//   - Add allocates nothing for a known host, service and pair once their
//     timelines are arrays (steady state); a new entry allocates it.
//
// Populations. A side's time in each tracked state comes from its
// recorded state changes (Segments' Changes, Undone ones left out,
// sorted by time), each state lasting until the next change, then its end
// state from EndState.Since until EndState.Until (TIME_WAIT without an
// Until: Since + Options.TimeWait), or past the end of the capture when
// no timer ends it (CLOSE_WAIT). Timer changes (Frame 0) are not in the
// segments: a state whose next change is missing ends where the end state
// began. Tracked: TIME_WAIT, CLOSE_WAIT, FIN_WAIT_2, and orphaned
// (FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK: sent its FIN, waiting on the
// peer; what Linux counts as an orphan once the application closed, an
// upper bound since the wire cannot tell close() from shutdown()).
// Populations are exact counts sampled at steps of 1 ms·2^k: a host's
// peaks at the least step that covers its own span in 256 samples, the
// Result's series on one axis for all hosts. A TIME_WAIT that outlives
// the capture counts until its Until: the series run past Last until the
// last one ends.
//
// Caps. Options.MaxHosts, MaxServices and MaxPairs (100,000 each by
// default) bound the maps. Past a cap a table keeps its smallest keys:
// a new key below the largest kept one evicts it (its figures dropped),
// a key above is not kept; Result.Untracked counts the connections left
// out. The kept entries' figures are complete and order-independent;
// Service.Clients then counts only the pairs kept.
package rollup
