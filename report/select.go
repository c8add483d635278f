package report

import "finwave/analyzer"

// listed reports whether the flow passes the explicit filters: Stream and
// Only. SummaryOnly lists nothing.
func (o *Options) listed(t *analyzer.Teardown) bool {
	if o.SummaryOnly {
		return false
	}
	if o.Stream >= 0 && !t.HasStream(o.Stream) {
		return false
	}
	if len(o.Only) > 0 {
		hit := false
		for _, k := range o.Only {
			if t.HasAnomaly(k) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// textListed adds the text report's default selection: without All, a
// Stream or an Only filter, only flows worth reading are printed.
func (o *Options) textListed(t *analyzer.Teardown) bool {
	if o.All {
		return o.listed(t)
	}
	return o.groupListed(t)
}

// groupListed is textListed without All: the flows the groups gather (the
// grouped text report, the JSON document's groups).
func (o *Options) groupListed(t *analyzer.Teardown) bool {
	if !o.listed(t) {
		return false
	}
	if o.Stream >= 0 || len(o.Only) > 0 {
		return true
	}
	return WorthReading(t)
}

// grouped reports whether the text report gathers the listed flows into
// groups (one exemplar each) rather than listing every one: the default,
// also with Only; not with All, Stream or SummaryOnly.
func (o *Options) grouped() bool { return !o.All && o.Stream < 0 && !o.SummaryOnly }

// WorthReading reports whether a flow deserves a report by default: an
// anomaly of severity warning or error, an abortive end (reset,
// fin-then-reset, refused), a timer that gave up, or an unfinished
// teardown (half-closed, half-open: a side went silent).
func WorthReading(t *analyzer.Teardown) bool {
	switch t.Pattern {
	case analyzer.PatternReset, analyzer.PatternFINThenReset, analyzer.PatternRefused,
		analyzer.PatternHalfOpen, analyzer.PatternHalfClosed, analyzer.PatternTimeout:
		return true
	}
	for i := range t.Anomalies {
		if t.Anomalies[i].Severity >= analyzer.Warning {
			return true
		}
	}
	return false
}
