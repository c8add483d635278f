package report

import (
	"finwave/analyzer"
	"finwave/flow"
)

// jsonFlow is the reference of the per-flow JSON (SCHEMA.md): what
// encoding/json writes for it is what appendJSONFlow must write. Field
// order here is output order; every key is always present (null for
// unknown times) so consumers need no existence checks.
type jsonFlow struct {
	Type                 string        `json:"type,omitempty"` // "flow" in JSON lines only
	Stream               int64         `json:"stream"`
	WiresharkStreams     []jsonStream  `json:"wireshark_streams"`
	Client               string        `json:"client"`
	Server               string        `json:"server"`
	Tunnel               *jsonTunnel   `json:"tunnel"`
	Roles                string        `json:"roles"`
	FirstFrame           int64         `json:"first_frame"`
	LastFrame            int64         `json:"last_frame"`
	FirstTime            *string       `json:"first_time"`
	LastTime             *string       `json:"last_time"`
	Duration             float64       `json:"duration"`
	Pattern              string        `json:"pattern"`
	Closer               string        `json:"closer"`
	Verdict              string        `json:"verdict"`
	ClientState          string        `json:"client_state"`
	ClientStateSince     *string       `json:"client_state_since"`
	ClientStateUntil     *string       `json:"client_state_until"`
	ClientStateTentative bool          `json:"client_state_tentative"`
	ClientSilentFrame    int64         `json:"client_silent_frame"`
	ClientSilentSince    *string       `json:"client_silent_since"`
	ServerState          string        `json:"server_state"`
	ServerStateSince     *string       `json:"server_state_since"`
	ServerStateUntil     *string       `json:"server_state_until"`
	ServerStateTentative bool          `json:"server_state_tentative"`
	ServerSilentFrame    int64         `json:"server_silent_frame"`
	ServerSilentSince    *string       `json:"server_silent_since"`
	ZeekConnState        string        `json:"zeek_conn_state"`
	ZeekHistory          string        `json:"zeek_history"`
	ZeekUID              string        `json:"zeek_uid"`
	Zeek                 []jsonZeek    `json:"zeek"`
	CommunityID          *string       `json:"community_id"`
	Packets              jsonSides     `json:"packets"`
	Bytes                jsonSides     `json:"bytes"`
	Checksums            jsonChecksums `json:"checksums"`
	Offload              jsonOffloads  `json:"offload"`
	Finish               string        `json:"finish"`
	Continued            bool          `json:"continued"`
	Profile              string        `json:"profile"`
	Vantage              jsonVantage   `json:"vantage"`
	Segments             []jsonSegment `json:"segments"`
	SegmentsOmitted      int           `json:"segments_omitted"`
	Anomalies            []jsonAnomaly `json:"anomalies"`
}

type jsonVantage struct {
	At       string   `json:"at"`
	Evidence []string `json:"evidence"`
}

type jsonSides struct {
	Client uint64 `json:"client"`
	Server uint64 `json:"server"`
}

// jsonChecksums: per sending side, the segments whose wrong checksum was
// left to the NIC (offloaded, not errors) and those corrupted (bad).
type jsonChecksums struct {
	Client jsonChecksum `json:"client"`
	Server jsonChecksum `json:"server"`
}

type jsonChecksum struct {
	Offloaded int `json:"offloaded"`
	Bad       int `json:"bad"`
}

// jsonOffloads: per sending side, the segments larger than the MSS the
// peer announced (TSO/GSO or GRO frames) and the largest one's payload.
type jsonOffloads struct {
	Client jsonOffload `json:"client"`
	Server jsonOffload `json:"server"`
}

type jsonOffload struct {
	Super   int    `json:"super"`
	Largest uint32 `json:"largest"`
}

type jsonSegment struct {
	Frame     int64        `json:"frame"`
	Time      *float64     `json:"time"`      // seconds since the flow's first segment
	Timestamp *string      `json:"timestamp"` // absolute, RFC 3339 UTC
	From      string       `json:"from"`
	Flags     string       `json:"flags"`
	Seq       uint32       `json:"seq"`
	Ack       uint32       `json:"ack"`
	Len       uint32       `json:"len"`
	Label     string       `json:"label"`
	Changes   []jsonChange `json:"changes"`
	Explain   string       `json:"explain"`
}

type jsonChange struct {
	Side           string `json:"side"`
	From           string `json:"from"`
	To             string `json:"to"`
	Tentative      bool   `json:"tentative"`
	ConfirmedFrame int64  `json:"confirmed_frame"`
	Undone         bool   `json:"undone"`
	Reason         string `json:"reason"`
}

type jsonAnomaly struct {
	Kind     string   `json:"kind"`
	Endpoint string   `json:"endpoint"`
	Address  string   `json:"address"`
	Frames   []int64  `json:"frames"`
	DSACK    int64    `json:"dsack_frame"`
	Severity string   `json:"severity"`
	Counters []string `json:"counters"`
	Detail   string   `json:"detail"`
}

// jsonStream is a further Wireshark stream id of a flow.
type jsonStream struct {
	Stream     int64 `json:"stream"`
	FirstFrame int64 `json:"first_frame"`
}

// jsonZeek is one Zeek connection of a flow (the "zeek" array).
type jsonZeek struct {
	UID        string  `json:"uid"`
	ConnState  string  `json:"conn_state"`
	History    string  `json:"history"`
	FirstFrame int64   `json:"first_frame"`
	FirstTime  *string `json:"first_time"`
}

// toJSONFlow converts a Teardown; the result shares no memory with t except
// immutable strings.
func toJSONFlow(t *analyzer.Teardown) *jsonFlow {
	f := toJSONFlowBase(t)
	for _, s := range t.Streams {
		f.WiresharkStreams = append(f.WiresharkStreams, jsonStream{s.ID, s.Frame})
	}
	return f
}

func toJSONFlowBase(t *analyzer.Teardown) *jsonFlow {
	f := &jsonFlow{
		Stream:               t.Stream,
		WiresharkStreams:     []jsonStream{},
		Client:               t.Client.String(),
		Server:               t.Server.String(),
		Tunnel:               toJSONTunnel(&t.Tunnel),
		Roles:                t.Roles.String(),
		FirstFrame:           t.FirstFrame,
		LastFrame:            t.LastFrame,
		FirstTime:            jsonTime(t.FirstTime),
		LastTime:             jsonTime(t.LastTime),
		Pattern:              t.Pattern.String(),
		Closer:               t.Closer.String(),
		Verdict:              t.Verdict,
		ClientState:          t.ClientEnd.State.String(),
		ClientStateSince:     jsonTime(t.ClientEnd.Since),
		ClientStateUntil:     jsonTime(t.ClientEnd.Until),
		ClientStateTentative: t.ClientEnd.Tentative,
		ClientSilentFrame:    t.ClientEnd.SilentFrame,
		ClientSilentSince:    jsonTime(t.ClientEnd.SilentSince),
		ServerState:          t.ServerEnd.State.String(),
		ServerStateSince:     jsonTime(t.ServerEnd.Since),
		ServerStateUntil:     jsonTime(t.ServerEnd.Until),
		ServerStateTentative: t.ServerEnd.Tentative,
		ServerSilentFrame:    t.ServerEnd.SilentFrame,
		ServerSilentSince:    jsonTime(t.ServerEnd.SilentSince),
		ZeekConnState:        t.ZeekConnState,
		ZeekHistory:          t.ZeekHistory,
		ZeekUID:              string(appendUID(nil, t)),
		Zeek:                 make([]jsonZeek, len(t.Zeek)),
		Packets:              jsonSides{t.Sent[analyzer.Client].Packets, t.Sent[analyzer.Server].Packets},
		Bytes:                jsonSides{t.Sent[analyzer.Client].Bytes, t.Sent[analyzer.Server].Bytes},
		Checksums: jsonChecksums{
			jsonChecksum{t.Offload[analyzer.Client].ChecksumPartial, t.BadChecksums[analyzer.Client]},
			jsonChecksum{t.Offload[analyzer.Server].ChecksumPartial, t.BadChecksums[analyzer.Server]},
		},
		Offload: jsonOffloads{
			jsonOffload{t.Offload[analyzer.Client].Super, t.Offload[analyzer.Client].Largest},
			jsonOffload{t.Offload[analyzer.Server].Super, t.Offload[analyzer.Server].Largest},
		},
		Finish:          t.Finish.String(),
		Continued:       t.Continued,
		Profile:         t.Profile,
		Vantage:         jsonVantage{At: t.Vantage.At.String(), Evidence: append([]string{}, t.Vantage.Evidence...)},
		Segments:        make([]jsonSegment, len(t.Segments)),
		SegmentsOmitted: t.SegmentsOmitted,
		Anomalies:       make([]jsonAnomaly, len(t.Anomalies)),
	}
	if id := string(appendCommunityID(nil, t)); id != "" {
		f.CommunityID = &id
	}
	if !t.FirstTime.IsZero() && !t.LastTime.IsZero() {
		f.Duration = t.LastTime.Sub(t.FirstTime).Seconds()
	}
	for i := range t.Segments {
		s := &t.Segments[i]
		js := &f.Segments[i]
		*js = jsonSegment{
			Frame: s.Frame, Timestamp: jsonTime(s.Time), From: s.From.String(), Flags: s.Flags.String(),
			Seq: s.Seq, Ack: s.Ack, Len: s.Len, Label: s.Label.String(),
			Changes: make([]jsonChange, len(s.Changes)), Explain: s.Explain,
		}
		if !s.Time.IsZero() && !t.FirstTime.IsZero() {
			rel := s.Time.Sub(t.FirstTime).Seconds()
			js.Time = &rel
		}
		for j := range s.Changes {
			c := &s.Changes[j]
			js.Changes[j] = jsonChange{Side: c.Side.String(), From: c.From.String(), To: c.To.String(),
				Tentative: c.Tentative, ConfirmedFrame: c.Confirmed, Undone: c.Undone, Reason: c.Reason}
		}
	}
	for i := range t.Anomalies {
		a := &t.Anomalies[i]
		frames := a.Frames
		if frames == nil {
			frames = []int64{}
		}
		f.Anomalies[i] = jsonAnomaly{Kind: a.Kind.String(), Endpoint: a.Endpoint.String(),
			Address: t.Endpoint(a.Endpoint).String(), Frames: frames, DSACK: a.DSACK, Severity: a.Severity.String(), Counters: counters(a.Counters), Detail: a.Detail}
	}
	for i := range t.Zeek {
		z := &t.Zeek[i]
		f.Zeek[i] = jsonZeek{string(appendUIDAt(nil, t, z.FirstTime)), z.ConnState, z.History, z.FirstFrame, jsonTime(z.FirstTime)}
	}
	return f
}

// counters is a's counters as the JSON spells them: [] when none.
func counters(cs []string) []string {
	if cs == nil {
		return []string{}
	}
	return cs
}

type jsonTunnel struct {
	Type     string   `json:"type"`
	ID       *uint32  `json:"id"`
	OuterSrc *string  `json:"outer_src"`
	OuterDst *string  `json:"outer_dst"`
	Path     []string `json:"path"`
}

func toJSONTunnel(t *flow.Tunnel) *jsonTunnel {
	if t.Type == flow.NoTunnel {
		return nil
	}
	j := &jsonTunnel{Type: t.Type.String(), Path: []string{}}
	if t.HasID {
		id := t.ID
		j.ID = &id
	}
	if t.Outer.Src.Addr.IsValid() {
		ep := func(e flow.Endpoint) *string {
			s := e.Addr.String()
			if e.Port != 0 {
				s = e.String()
			}
			return &s
		}
		j.OuterSrc, j.OuterDst = ep(t.Outer.Src), ep(t.Outer.Dst)
	}
	for i := 0; i < int(t.Depth); i++ {
		j.Path = append(j.Path, t.Path[i].String())
	}
	return j
}
