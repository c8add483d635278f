package check

import (
	"slices"
	"strconv"

	"finwave/analyzer"
	"finwave/flow"
)

// KindCount is the number of anomalies of one kind in a flow.
type KindCount struct {
	Kind analyzer.Kind
	N    int
}

// Flow is the compact summary of one analysed flow that rules are judged
// against: a few dozen bytes instead of a Teardown with its segments.
type Flow struct {
	Stream                   int64
	Client, Server           flow.Endpoint
	Roles                    analyzer.Roles
	Pattern                  analyzer.Pattern
	Closer                   analyzer.Closer
	ClientState, ServerState analyzer.State
	ZeekConnState            string
	Finish                   flow.Finish
	Profile                  string
	Tunnel                   string // "none", "TYPE" or "TYPE ID", as FieldTunnel compares
	Vantage                  analyzer.VantagePoint
	DSACK                    int64       // the first anomaly's DSACK frame, 0 when none
	Kinds                    []KindCount // ascending kind, N > 0
	// Streams are the flow's further Wireshark stream ids (Teardown.Streams),
	// nil for nearly every flow: a stream selector matches any of them.
	Streams []int64
}

// streamIDs returns the ids of ss, nil when there are none.
func streamIDs(ss []flow.StreamStart) []int64 {
	var ids []int64
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}

// count returns the number of anomalies of kind k.
func (f *Flow) count(k analyzer.Kind) int {
	for _, kc := range f.Kinds {
		if kc.Kind == k {
			return kc.N
		}
	}
	return 0
}

// kindSet returns the distinct kinds, ascending.
func (f *Flow) kindSet() []analyzer.Kind {
	ks := make([]analyzer.Kind, len(f.Kinds))
	for i, kc := range f.Kinds {
		ks[i] = kc.Kind
	}
	return ks
}

// field returns the value of a compared property, spelled as in JSON.
func (f *Flow) field(fl Field) string {
	switch fl {
	case FieldCloser:
		return f.Closer.String()
	case FieldPattern:
		return f.Pattern.String()
	case FieldClientState:
		return f.ClientState.String()
	case FieldServerState:
		return f.ServerState.String()
	case FieldZeekConnState:
		return f.ZeekConnState
	case FieldRoles:
		return f.Roles.String()
	case FieldFinish:
		return f.Finish.String()
	case FieldTunnel:
		return f.Tunnel
	case FieldVantage:
		return f.Vantage.String()
	case FieldDSACKFrame:
		if f.DSACK == 0 {
			return "none"
		}
		return strconv.FormatInt(f.DSACK, 10)
	default:
		return f.Profile
	}
}

// FlowOf condenses a teardown.
func FlowOf(t *analyzer.Teardown) Flow {
	f := Flow{
		Stream: t.Stream, Client: t.Client, Server: t.Server, Roles: t.Roles,
		Streams: streamIDs(t.Streams),
		Pattern: t.Pattern, Closer: t.Closer,
		ClientState: t.ClientEnd.State, ServerState: t.ServerEnd.State,
		ZeekConnState: t.ZeekConnState, Finish: t.Finish, Profile: t.Profile,
		Tunnel: tunnelValue(&t.Tunnel), Vantage: t.Vantage.At,
	}
	for i := range t.Anomalies {
		k := t.Anomalies[i].Kind
		if d := t.Anomalies[i].DSACK; d != 0 && (f.DSACK == 0 || d < f.DSACK) {
			f.DSACK = d
		}
		j, found := slices.BinarySearchFunc(f.Kinds, k, func(kc KindCount, k analyzer.Kind) int { return int(kc.Kind) - int(k) })
		if found {
			f.Kinds[j].N++
		} else {
			f.Kinds = slices.Insert(f.Kinds, j, KindCount{Kind: k, N: 1})
		}
	}
	return f
}

// Facts collects what the rules of one capture need, flow by flow as the
// analyzer emits them.
type Facts struct {
	Flows []Flow
	// Labels maps frame numbers to segment labels; nil unless frame rules
	// asked for them.
	Labels map[int64]analyzer.Label
}

// NewFacts returns an empty collection; frames says whether to keep the
// label of every segment (only needed for `frame` rules).
func NewFacts(frames bool) *Facts {
	f := &Facts{}
	if frames {
		f.Labels = map[int64]analyzer.Label{}
	}
	return f
}

// Add records one finished flow. It does not keep t.
func (f *Facts) Add(t *analyzer.Teardown) {
	f.Flows = append(f.Flows, FlowOf(t))
	if f.Labels != nil {
		for i := range t.Segments {
			f.Labels[t.Segments[i].Frame] = t.Segments[i].Label
		}
	}
}

// sort orders flows by stream, the order findings are printed in.
func (f *Facts) sort() {
	slices.SortFunc(f.Flows, func(a, b Flow) int {
		switch {
		case a.Stream < b.Stream:
			return -1
		case a.Stream > b.Stream:
			return 1
		}
		return 0
	})
}

// tunnelValue spells a flow's tunnel as FieldTunnel compares it.
func tunnelValue(t *flow.Tunnel) string {
	switch {
	case t.Type == flow.NoTunnel:
		return "none"
	case t.HasID:
		return t.Type.String() + " " + strconv.FormatUint(uint64(t.ID), 10)
	}
	return t.Type.String()
}
