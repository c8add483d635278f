package report

import (
	"cmp"
	"net/netip"
	"slices"

	"finwave/analyzer"
	"finwave/flow"
)

// maxKinds bounds the anomaly kinds counted per kind; kinds beyond it (none
// today: analyzer defines 15) are not counted per kind.
const maxKinds = 32

// maxEndpoints bounds the endpoint map of the "most anomalies" table. Past
// it, anomalies at endpoints not yet tracked are counted in untracked only.
// An anomaly at a client is counted for its host (ip: the client's port is
// ephemeral), one at a server for its service (ip:port).
const maxEndpoints = 100_000

// topEndpoints is how many endpoints the summary lists.
const topEndpoints = 10

// kindStat aggregates one anomaly kind.
type kindStat struct {
	flows    int64    // flows with at least one anomaly of the kind
	count    int64    // anomalies of the kind
	side     [2]int64 // anomalies by endpoint side (client, server)
	severity [3]int64 // anomalies by severity
}

// maxSeverity is the highest severity seen for the kind.
func (k *kindStat) maxSeverity() analyzer.Severity {
	for s := len(k.severity) - 1; s > 0; s-- {
		if k.severity[s] > 0 {
			return analyzer.Severity(s)
		}
	}
	return analyzer.Info
}

// endpointKey names an endpoint of the "most anomalies" table: a client
// host (port 0) or a service.
type endpointKey struct {
	addr   netip.Addr
	port   uint16
	server bool
}

// anomalyEndpoint returns the key an anomaly at side of t is counted for.
func anomalyEndpoint(t *analyzer.Teardown, side analyzer.Side) endpointKey {
	if side == analyzer.Server {
		return endpointKey{t.Server.Addr, t.Server.Port, true}
	}
	return endpointKey{addr: t.Client.Addr}
}

// name is the key as printed: the client host's address, the service's ip:port.
func (k endpointKey) name() string {
	if k.server {
		return flow.Endpoint{Addr: k.addr, Port: k.port}.String()
	}
	return k.addr.String()
}

// role is "client host" or "service".
func (k endpointKey) role() string {
	if k.server {
		return "service"
	}
	return "client host"
}

// endpointStat counts anomalies (warning or error) at one endpoint.
type endpointStat struct {
	total int64
	kinds [maxKinds]uint32
}

// summary is the incremental aggregate of every flow of one capture:
// counters only, no per-flow lists. Memory: fixed arrays plus the endpoint
// map, bounded by maxEndpoints.
type summary struct {
	flows     int64
	listed    int64 // flows selected for listing
	groups    int64 // groups of the listed flows (grouped text report)
	patterns  [16]int64
	closers   [4]int64
	kinds     [maxKinds]kindStat
	endpoints map[endpointKey]*endpointStat
	untracked int64  // anomalies at endpoints past the cap
	epLimit   int    // endpoint cap; 0 means maxEndpoints (tests lower it)
	headlines []byte // "WHAT HAPPENED", written after the capture line
	csum      csumSummary
}

func (s *summary) add(t *analyzer.Teardown) {
	s.flows++
	s.csum.add(t)
	if int(t.Pattern) < len(s.patterns) {
		s.patterns[t.Pattern]++
	}
	if int(t.Closer) < len(s.closers) {
		s.closers[t.Closer]++
	}
	var seen [maxKinds]bool
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		if int(a.Kind) >= maxKinds {
			continue
		}
		k := &s.kinds[a.Kind]
		k.count++
		if !seen[a.Kind] {
			seen[a.Kind] = true
			k.flows++
		}
		k.side[a.Endpoint&1]++
		if int(a.Severity) < len(k.severity) {
			k.severity[a.Severity]++
		}
		if a.Severity < analyzer.Warning {
			continue
		}
		ep := anomalyEndpoint(t, a.Endpoint)
		e := s.endpoints[ep]
		if e == nil {
			limit := s.epLimit
			if limit <= 0 {
				limit = maxEndpoints
			}
			if len(s.endpoints) >= limit {
				s.untracked++
				continue
			}
			if s.endpoints == nil {
				s.endpoints = make(map[endpointKey]*endpointStat)
			}
			e = new(endpointStat)
			s.endpoints[ep] = e
		}
		e.total++
		e.kinds[a.Kind]++
	}
}

// patternRow is one row of the teardown-pattern table.
type patternRow struct {
	pattern analyzer.Pattern
	flows   int64
}

// patternRows lists the patterns seen, most flows first (ties in
// declaration order).
func (s *summary) patternRows() []patternRow {
	var rows []patternRow
	for p := range s.patterns {
		if s.patterns[p] > 0 {
			rows = append(rows, patternRow{analyzer.Pattern(p), s.patterns[p]})
		}
	}
	slices.SortStableFunc(rows, func(a, b patternRow) int { return cmp.Compare(b.flows, a.flows) })
	return rows
}

// kindRows lists the anomaly kinds seen: highest severity first, then most
// flows, then declaration order.
func (s *summary) kindRows() []analyzer.Kind {
	var rows []analyzer.Kind
	for k := range s.kinds {
		if s.kinds[k].count > 0 {
			rows = append(rows, analyzer.Kind(k))
		}
	}
	slices.SortStableFunc(rows, func(a, b analyzer.Kind) int {
		ka, kb := &s.kinds[a], &s.kinds[b]
		if c := cmp.Compare(kb.maxSeverity(), ka.maxSeverity()); c != 0 {
			return c
		}
		return cmp.Compare(kb.flows, ka.flows)
	})
	return rows
}

// endpointRow is one row of the endpoints table.
type endpointRow struct {
	ep   endpointKey
	name string
	stat *endpointStat
}

// topEndpointRows returns up to topEndpoints endpoints (client hosts and
// services) with the most anomalies, ties by address text.
func (s *summary) topEndpointRows() []endpointRow {
	rows := make([]endpointRow, 0, len(s.endpoints))
	for ep, st := range s.endpoints {
		rows = append(rows, endpointRow{ep, ep.name(), st})
	}
	slices.SortFunc(rows, func(a, b endpointRow) int {
		if c := cmp.Compare(b.stat.total, a.stat.total); c != 0 {
			return c
		}
		if c := cmp.Compare(a.name, b.name); c != 0 {
			return c
		}
		return cmp.Compare(a.ep.role(), b.ep.role())
	})
	if len(rows) > topEndpoints {
		rows = rows[:topEndpoints]
	}
	return rows
}
