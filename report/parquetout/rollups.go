package parquetout

import (
	"time"

	"finwave/analyzer"
	"finwave/report"
	"finwave/rollup"
)

// AnomalyRow is one row of anomalies.parquet (the JSON flow's
// "anomalies"), in the flow's order.
type AnomalyRow struct {
	Capture  string   `parquet:"capture,dict"`
	Host     string   `parquet:"host,optional,dict"`
	Key      string   `parquet:"key"`
	Stream   int64    `parquet:"stream,delta"`
	Kind     string   `parquet:"kind,dict"`
	Endpoint string   `parquet:"endpoint,dict"`
	Address  string   `parquet:"address,dict"`
	Frames   []int64  `parquet:"frames,list"`
	DSACK    int64    `parquet:"dsack_frame,delta"`
	Severity string   `parquet:"severity,dict"`
	Counters []string `parquet:"counters,list" parquet-element:",dict"`
	Detail   string   `parquet:"detail"`
}

// HostRow is one row of hosts.parquet: the JSON's "hosts" entry of a
// capture. Counts by name are maps without the zeros, as in the JSON.
type HostRow struct {
	Capture           string             `parquet:"capture,dict"`
	Host              string             `parquet:"host,optional,dict"`
	Address           string             `parquet:"address"`
	Connections       int64              `parquet:"connections,delta"`
	AsClient          int64              `parquet:"as_client,delta"`
	AsServer          int64              `parquet:"as_server,delta"`
	Patterns          map[string]int64   `parquet:"patterns"`
	ClosedFirstSelf   int64              `parquet:"closed_first_self,delta"`
	ClosedFirstPeer   int64              `parquet:"closed_first_peer,delta"`
	ClosedFirstBoth   int64              `parquet:"closed_first_both,delta"`
	Anomalies         map[string]int64   `parquet:"anomalies"`
	SecondsIn         map[string]float64 `parquet:"seconds_in"`
	PredictedNstatMin map[string]int64   `parquet:"predicted_nstat_min"`
	PredictedNstatMax map[string]int64   `parquet:"predicted_nstat_max"`
	TWBucketsUsed     float64            `parquet:"tw_buckets_used"`
	PopulationStart   *time.Time         `parquet:"population_start,optional,timestamp(nanosecond)"`
	PopulationStepS   float64            `parquet:"population_step_s"`
	PopulationPeak    map[string]int32   `parquet:"population_peak"`
	PopulationPeakAt  map[string]int64   `parquet:"population_peak_at" parquet-value:",timestamp(nanosecond)"`
	PopulationAtEnd   map[string]int32   `parquet:"population_at_end"`
}

// ServiceRow is one row of services.parquet: the JSON's "services" entry.
// The idle statistics are null when no connection was measured (the
// JSON's null).
type ServiceRow struct {
	Capture         string           `parquet:"capture,dict"`
	Host            string           `parquet:"host,optional,dict"`
	Address         string           `parquet:"address"`
	Connections     int64            `parquet:"connections,delta"`
	Clients         int64            `parquet:"clients,delta"`
	Patterns        map[string]int64 `parquet:"patterns"`
	ClosedFirstSelf int64            `parquet:"closed_first_self,delta"`
	ClosedFirstPeer int64            `parquet:"closed_first_peer,delta"`
	ClosedFirstBoth int64            `parquet:"closed_first_both,delta"`
	Anomalies       map[string]int64 `parquet:"anomalies"`
	ClientAnomalies map[string]int64 `parquet:"client_anomalies"`
	IdleTimeout     *IdleRow         `parquet:"idle_timeout,optional"`
	ClientReuseIdle *IdleRow         `parquet:"client_reuse_idle,optional"`
	KeepAliveRace   int64            `parquet:"keepalive_race_risk,delta"`
	IdleCloseRaces  int64            `parquet:"idle_close_races,delta"`
	CloseWaitAtEnd  int64            `parquet:"close_wait_at_end_sockets,delta"`
	CloseWaitSince  *time.Time       `parquet:"close_wait_at_end_oldest_since,optional,timestamp(nanosecond)"`
}

// IdleRow is a distribution of idle times (the JSON's idle_timeout and
// client_reuse_idle), seconds.
type IdleRow struct {
	Flows     int64   `parquet:"flows,delta"`
	MinS      float64 `parquet:"min_s"`
	MedianS   float64 `parquet:"median_s"`
	MaxS      float64 `parquet:"max_s"`
	ModeS     float64 `parquet:"mode_s"`
	ModeFlows int64   `parquet:"mode_flows,delta"`
}

// PairRow is one row of pairs.parquet: the JSON's "pairs" entry, a client
// address and the service it connects to.
type PairRow struct {
	Capture       string     `parquet:"capture,dict"`
	Host          string     `parquet:"host,optional,dict"`
	Client        string     `parquet:"client"`
	Service       string     `parquet:"service"`
	Connections   int64      `parquet:"connections,delta"`
	First         *time.Time `parquet:"first,optional,timestamp(nanosecond)"`
	Last          *time.Time `parquet:"last,optional,timestamp(nanosecond)"`
	RatePerS      float64    `parquet:"rate_per_s"`
	PortHoldS     float64    `parquet:"port_hold_s"`
	PeakPorts     int64      `parquet:"peak_ports,delta"`
	PeakAt        *time.Time `parquet:"peak_at,optional,timestamp(nanosecond)"`
	PortRangeSize int64      `parquet:"port_range_size,delta"`
	ExhaustionS   *float64   `parquet:"exhaustion_s,optional"`
	SynInTimeWait int64      `parquet:"syn_in_time_wait,delta"`
	PortReuse     int64      `parquet:"port_reuse,delta"`
}

// writeRollup writes a capture's hosts, services and pairs. They are few
// (capped by rollup.Options), so each is built afresh.
func (w *Writer) writeRollup(res *rollup.Result) error {
	for i := range res.Hosts {
		h := &res.Hosts[i]
		r := HostRow{
			Capture: w.capture, Host: w.host, Address: h.Addr.String(),
			Connections: h.Conns, AsClient: h.AsClient, AsServer: h.AsServer,
			Patterns:        report.CountMap[analyzer.Pattern](h.Patterns),
			ClosedFirstSelf: h.ClosedFirst, ClosedFirstPeer: h.PeerClosedFirst, ClosedFirstBoth: h.BothClosed,
			Anomalies:         report.CountMap[analyzer.Kind](h.Anomalies),
			SecondsIn:         map[string]float64{},
			PredictedNstatMin: map[string]int64{}, PredictedNstatMax: map[string]int64{},
			TWBucketsUsed:   h.TWBuckets,
			PopulationStart: timePtr(h.Population.Start), PopulationStepS: h.Population.Step.Seconds(),
			PopulationPeak: map[string]int32{}, PopulationPeakAt: map[string]int64{}, PopulationAtEnd: map[string]int32{},
		}
		for s, d := range h.InState {
			r.SecondsIn[report.SeriesName(s)] = d.Seconds()
		}
		for c, v := range h.Counters {
			name := analyzer.Counter(c).String()
			r.PredictedNstatMin[name], r.PredictedNstatMax[name] = v.Min, v.Max
		}
		p := &h.Population
		for s := range rollup.NumSeries {
			k := report.SeriesName(s)
			r.PopulationPeak[k], r.PopulationAtEnd[k] = p.Peak[s], p.AtEnd[s]
			if !p.PeakAt[s].IsZero() {
				r.PopulationPeakAt[k] = p.PeakAt[s].UnixNano()
			}
		}
		w.hosts.rows = append(w.hosts.rows, r)
	}
	if err := w.hosts.flush(); err != nil {
		return err
	}
	for i := range res.Services {
		s := &res.Services[i]
		r := ServiceRow{
			Capture: w.capture, Host: w.host, Address: s.Server.String(),
			Connections: s.Conns, Clients: s.Clients,
			Patterns:        report.CountMap[analyzer.Pattern](s.Patterns),
			ClosedFirstSelf: s.ClosedFirst, ClosedFirstPeer: s.PeerClosedFirst, ClosedFirstBoth: s.BothClosed,
			Anomalies:       report.CountMap[analyzer.Kind](s.Anomalies),
			ClientAnomalies: report.CountMap[analyzer.Kind](s.PeerAnomalies),
			IdleTimeout:     idleRow(&s.Idle), ClientReuseIdle: idleRow(&s.ClientIdle),
			KeepAliveRace: s.RaceRisk, IdleCloseRaces: s.IdleRaces,
			CloseWaitAtEnd: s.CloseWait, CloseWaitSince: timePtr(s.CloseWaitSince),
		}
		w.services.rows = append(w.services.rows, r)
	}
	if err := w.services.flush(); err != nil {
		return err
	}
	for i := range res.Pairs {
		p := &res.Pairs[i]
		r := PairRow{
			Capture: w.capture, Host: w.host, Client: p.Client.String(), Service: p.Server.String(),
			Connections: p.Conns, First: timePtr(p.First), Last: timePtr(p.Last),
			RatePerS: p.Rate, PortHoldS: p.Hold.Seconds(), PeakPorts: p.PeakPorts, PeakAt: timePtr(p.PeakAt),
			PortRangeSize: int64(p.Ports), SynInTimeWait: p.SynInTimeWait, PortReuse: p.PortReuse,
		}
		if p.Exhaustion > 0 {
			e := p.Exhaustion.Seconds()
			r.ExhaustionS = &e
		}
		w.pairs.rows = append(w.pairs.rows, r)
	}
	return w.pairs.flush()
}

func idleRow(s *rollup.IdleStats) *IdleRow {
	if s.N == 0 {
		return nil
	}
	return &IdleRow{Flows: s.N, MinS: s.Min.Seconds(), MedianS: s.Median.Seconds(), MaxS: s.Max.Seconds(),
		ModeS: s.Mode.Seconds(), ModeFlows: s.ModeN}
}

// timePtr is a fresh pointer to tm in UTC, nil for the zero time.
func timePtr(tm time.Time) *time.Time {
	if tm.IsZero() {
		return nil
	}
	u := tm.UTC()
	return &u
}
