package report

import (
	"finwave/analyzer"
	"finwave/rollup"
)

// The JSON form of a rollup.Result (SCHEMA.md: hosts, services, pairs).
// Encoded once per capture with encoding/json: maps give sorted keys.

type jsonClosers struct {
	Self int64 `json:"self"`
	Peer int64 `json:"peer"`
	Both int64 `json:"both"`
}

type jsonBound struct {
	Min int64 `json:"min"`
	Max int64 `json:"max"`
}

type jsonPopulation struct {
	Start       *string            `json:"start"`
	StepSeconds float64            `json:"step_s"`
	Series      map[string][]int32 `json:"series,omitempty"`
	Peak        map[string]int32   `json:"peak"`
	PeakAt      map[string]*string `json:"peak_at"`
	AtEnd       map[string]int32   `json:"at_end"`
}

type jsonHost struct {
	Address     string               `json:"address"`
	Connections int64                `json:"connections"`
	AsClient    int64                `json:"as_client"`
	AsServer    int64                `json:"as_server"`
	Patterns    map[string]int64     `json:"patterns"`
	ClosedFirst jsonClosers          `json:"closed_first"`
	Anomalies   map[string]int64     `json:"anomalies"`
	SecondsIn   map[string]float64   `json:"seconds_in"`
	Counters    map[string]jsonBound `json:"predicted_nstat"`
	TWBuckets   float64              `json:"tw_buckets_used"`
	Population  jsonPopulation       `json:"population"`
}

type jsonIdle struct {
	Flows     int64   `json:"flows"`
	Min       float64 `json:"min_s"`
	Median    float64 `json:"median_s"`
	Max       float64 `json:"max_s"`
	Mode      float64 `json:"mode_s"`
	ModeFlows int64   `json:"mode_flows"`
}

type jsonCloseWait struct {
	Sockets     int64   `json:"sockets"`
	OldestSince *string `json:"oldest_since"`
}

type jsonService struct {
	Address         string           `json:"address"`
	Connections     int64            `json:"connections"`
	Clients         int64            `json:"clients"`
	Patterns        map[string]int64 `json:"patterns"`
	ClosedFirst     jsonClosers      `json:"closed_first"`
	Anomalies       map[string]int64 `json:"anomalies"`
	ClientAnomalies map[string]int64 `json:"client_anomalies"`
	IdleTimeout     *jsonIdle        `json:"idle_timeout"`
	ClientReuseIdle *jsonIdle        `json:"client_reuse_idle"`
	KeepAliveRace   int64            `json:"keepalive_race_risk"`
	IdleCloseRaces  int64            `json:"idle_close_races"`
	CloseWaitAtEnd  jsonCloseWait    `json:"close_wait_at_end"`
}

type jsonPair struct {
	Client        string   `json:"client"`
	Service       string   `json:"service"`
	Connections   int64    `json:"connections"`
	First         *string  `json:"first"`
	Last          *string  `json:"last"`
	Rate          float64  `json:"rate_per_s"`
	Hold          float64  `json:"port_hold_s"`
	PeakPorts     int64    `json:"peak_ports"`
	PeakAt        *string  `json:"peak_at"`
	Ports         int      `json:"port_range_size"`
	Exhaustion    *float64 `json:"exhaustion_s"`
	SynInTimeWait int64    `json:"syn_in_time_wait"`
	PortReuse     int64    `json:"port_reuse"`
}

type jsonRollup struct {
	Hosts    []jsonHost    `json:"hosts"`
	Services []jsonService `json:"services"`
	Pairs    []jsonPair    `json:"pairs"`
}

// CountMap is counts (indexed by E: a pattern, a kind) by name, without
// the zeros: the JSON's and the Parquet roll-ups' maps of counts.
func CountMap[E interface {
	~uint8
	String() string
}](counts []int64) map[string]int64 {
	m := map[string]int64{}
	for i, n := range counts {
		if n > 0 {
			m[E(i).String()] = n
		}
	}
	return m
}

func jsonIdleOf(s *rollup.IdleStats) *jsonIdle {
	if s.N == 0 {
		return nil
	}
	return &jsonIdle{Flows: s.N, Min: s.Min.Seconds(), Median: s.Median.Seconds(), Max: s.Max.Seconds(),
		Mode: s.Mode.Seconds(), ModeFlows: s.ModeN}
}

func toJSONRollup(res *rollup.Result) *jsonRollup {
	j := &jsonRollup{Hosts: []jsonHost{}, Services: []jsonService{}, Pairs: []jsonPair{}}
	for i := range res.Hosts {
		h := &res.Hosts[i]
		jh := jsonHost{
			Address: h.Addr.String(), Connections: h.Conns, AsClient: h.AsClient, AsServer: h.AsServer,
			Patterns:    CountMap[analyzer.Pattern](h.Patterns),
			ClosedFirst: jsonClosers{h.ClosedFirst, h.PeerClosedFirst, h.BothClosed},
			Anomalies:   CountMap[analyzer.Kind](h.Anomalies),
			SecondsIn:   map[string]float64{},
			Counters:    map[string]jsonBound{},
			TWBuckets:   h.TWBuckets,
		}
		for s, d := range h.InState {
			jh.SecondsIn[jsonSeriesNames[s]] = d.Seconds()
		}
		for c, v := range h.Counters {
			jh.Counters[analyzer.Counter(c).String()] = jsonBound{v.Min, v.Max}
		}
		p := &h.Population
		jp := jsonPopulation{Start: jsonTime(p.Start), StepSeconds: p.Step.Seconds(),
			Peak: map[string]int32{}, PeakAt: map[string]*string{}, AtEnd: map[string]int32{}}
		for s := range rollup.NumSeries {
			k := jsonSeriesNames[s]
			if p.Series[s] != nil {
				if jp.Series == nil {
					jp.Series = map[string][]int32{}
				}
				jp.Series[k] = p.Series[s]
			}
			jp.Peak[k], jp.PeakAt[k], jp.AtEnd[k] = p.Peak[s], jsonTime(p.PeakAt[s]), p.AtEnd[s]
		}
		jh.Population = jp
		j.Hosts = append(j.Hosts, jh)
	}
	for i := range res.Services {
		s := &res.Services[i]
		js := jsonService{
			Address: s.Server.String(), Connections: s.Conns, Clients: s.Clients,
			Patterns:        CountMap[analyzer.Pattern](s.Patterns),
			ClosedFirst:     jsonClosers{s.ClosedFirst, s.PeerClosedFirst, s.BothClosed},
			Anomalies:       CountMap[analyzer.Kind](s.Anomalies),
			ClientAnomalies: CountMap[analyzer.Kind](s.PeerAnomalies),
			IdleTimeout:     jsonIdleOf(&s.Idle),
			ClientReuseIdle: jsonIdleOf(&s.ClientIdle),
			KeepAliveRace:   s.RaceRisk,
			IdleCloseRaces:  s.IdleRaces,
			CloseWaitAtEnd:  jsonCloseWait{s.CloseWait, jsonTime(s.CloseWaitSince)},
		}
		j.Services = append(j.Services, js)
	}
	for i := range res.Pairs {
		p := &res.Pairs[i]
		jp := jsonPair{
			Client: p.Client.String(), Service: p.Server.String(), Connections: p.Conns,
			First: jsonTime(p.First), Last: jsonTime(p.Last), Rate: p.Rate, Hold: p.Hold.Seconds(),
			PeakPorts: p.PeakPorts, PeakAt: jsonTime(p.PeakAt), Ports: p.Ports,
			SynInTimeWait: p.SynInTimeWait, PortReuse: p.PortReuse,
		}
		if p.Exhaustion > 0 {
			e := p.Exhaustion.Seconds()
			jp.Exhaustion = &e
		}
		j.Pairs = append(j.Pairs, jp)
	}
	return j
}
