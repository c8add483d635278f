package check

import (
	"net/netip"
	"strings"
	"testing"

	"finwave/analyzer"
	"finwave/flow"
)

func ep(s string) flow.Endpoint {
	ap := netip.MustParseAddrPort(s)
	return flow.Endpoint{Addr: ap.Addr(), Port: ap.Port()}
}

// teardowns are hand-made analysis results: a clean four-way close by the
// client, a reset with two anomaly kinds, and an IPv6 flow left open.
func teardowns() []*analyzer.Teardown {
	return []*analyzer.Teardown{
		{
			Stream: 1, Client: ep("10.0.0.2:40002"), Server: ep("10.0.0.9:80"),
			Pattern: analyzer.PatternReset, Closer: analyzer.CloserServer,
			ClientEnd: analyzer.EndState{State: analyzer.Closed}, ServerEnd: analyzer.EndState{State: analyzer.Closed},
			ZeekConnState: "RSTR", Profile: "linux", Finish: flow.FinishDone,
			Anomalies: []analyzer.Anomaly{
				{Kind: analyzer.RSTUnreadData}, {Kind: analyzer.FINRetransmitted}, {Kind: analyzer.FINRetransmitted},
			},
			Segments: []analyzer.LabelledSegment{{Frame: 20, Label: analyzer.RST}},
		},
		{
			Stream: 0, Client: ep("10.0.0.1:40001"), Server: ep("10.0.0.9:80"),
			Pattern: analyzer.PatternFourWay, Closer: analyzer.CloserClient,
			ClientEnd: analyzer.EndState{State: analyzer.TimeWait}, ServerEnd: analyzer.EndState{State: analyzer.Closed},
			ZeekConnState: "SF", Profile: "linux", Finish: flow.FinishEnd,
			Segments: []analyzer.LabelledSegment{
				{Frame: 9, Label: analyzer.Wave1}, {Frame: 10, Label: analyzer.Wave2},
				{Frame: 11, Label: analyzer.Wave3}, {Frame: 12, Label: analyzer.Wave4}, {Frame: 13},
			},
		},
		{
			Stream: 2, Client: ep("[fd00::1]:40001"), Server: ep("[fd00::2]:8000"), Roles: analyzer.RolesInferred,
			Pattern: analyzer.PatternOpen, Closer: analyzer.CloserNone,
			ClientEnd: analyzer.EndState{State: analyzer.Established}, ServerEnd: analyzer.EndState{State: analyzer.Established},
			ZeekConnState: "OTH", Profile: "linux", Finish: flow.FinishEnd,
		},
	}
}

func TestEvaluate(t *testing.T) {
	cases := []struct {
		rule  string
		ok    bool
		found string // substring of Found when not empty
	}{
		{"flows = 3", true, "3 flows"},
		{"flows < 3", false, "3 flows"},
		{"flows >= 1", true, ""},
		{"flows != 3", false, ""},
		{"anomaly fin-retransmission = 2", true, "2 fin-retransmission"},
		{"anomaly fin-retransmission > 2", false, "2 fin-retransmission"},
		{"anomaly lost-final-ack = 0", true, ""},
		{"flow 0 closer = client", true, ""},
		{"flow 0 closer != client", false, "closer client"},
		{"flow 1 closer = client", false, "closer server"},
		{"flow 0 pattern = four-way", true, ""},
		{"flow 0 client_state = TIME-WAIT", true, ""},
		{"flow 0 client_state = FIN_WAIT_2", false, "client_state TIME_WAIT"},
		{"flow 0 server_state = CLOSED", true, ""},
		{"flow 0 zeek_conn_state = SF", true, ""},
		{"flow 1 zeek_conn_state = SF", false, "zeek_conn_state RSTR"},
		{"flow 0 roles = observed", true, ""},
		{"flow 2 roles = inferred", true, ""},
		{"flow 0 finish = end-of-capture", true, ""},
		{"flow 0 profile = linux", true, ""},
		{"flow 1 has rst-unread-data", true, ""},
		{"flow 0 has rst-unread-data", false, "anomalies none"},
		{"flow 1 lacks rst-unread-data", false, "anomalies fin-retransmission,rst-unread-data"},
		{"flow 1 has rst-linger-zero|rst-unread-data", true, ""},
		{"flow 1 has rst-linger-zero|half-close", false, "anomalies fin-retransmission,rst-unread-data"},
		{"flow 1 lacks rst-linger-zero|half-close", true, ""},
		{"flow 1 lacks rst-linger-zero|rst-unread-data", false, "anomalies fin-retransmission,rst-unread-data"},
		{"flow 1 anomaly fin-retransmission = 2", true, ""},
		{"flow 1 anomaly fin-retransmission < 2", false, "2 fin-retransmission"},
		{"flow 0 anomalies = none", true, ""},
		{"flow 1 anomalies = rst-unread-data,fin-retransmission", true, ""},
		{"flow 1 anomalies = rst-unread-data", false, "anomalies fin-retransmission,rst-unread-data"},
		{"flow 1 anomalies != none", true, ""},
		// Selectors.
		{"flow 7 closer = client", false, "no flow matches 7"},
		{"flow * lacks lost-final-ack", true, "all 3 matching flows"},
		{"flow * lacks rst-unread-data", false, "1 of 3 flows: stream 1:"},
		{"flow * profile = rfc793", false, "3 of 3 flows: stream 0: profile linux; stream 1:"},
		{"flow client=10.0.0.1:40001 closer = client", true, ""},
		{"flow client=10.0.0.1:40009 closer = client", false, "no flow matches client=10.0.0.1:40009"},
		{"flow server=10.0.0.9:80 closer = client", false, "1 of 2 flows: stream 1: closer server"},
		{"flow server=[fd00::2]:8000 pattern = open", true, ""},
		{"flow server=[FD00:0::2]:8000 pattern = open", true, ""},
		{"flow client-port=40001 lacks rst-unread-data", true, "all 2 matching flows"},
		{"flow client-port=40002 has rst-unread-data", true, ""},
		// Frames.
		{"frame 12 label = wave-4", true, ""},
		{"frame 9 label = wave-1", true, ""},
		{"frame 9 label != wave-1", false, "label wave-1"},
		{"frame 11 label = wave-2+3", false, "label wave-3"},
		{"frame 13 label = none", true, ""},
		{"frame 20 label = rst", true, ""},
		{"frame 99 label = rst", false, "frame 99 is not a segment"},
		{"frame 99 label != rst", false, "frame 99 is not a segment"},
	}
	for _, c := range cases {
		e, err := Parse("t.expect", strings.NewReader(c.rule))
		if err != nil {
			t.Fatalf("%q: %v", c.rule, err)
		}
		facts := NewFacts(e.NeedFrames())
		for _, td := range teardowns() {
			facts.Add(td)
		}
		res := Evaluate(e, facts)
		if len(res) != 1 {
			t.Fatalf("%q: %d results", c.rule, len(res))
		}
		if res[0].OK != c.ok || !strings.Contains(res[0].Found, c.found) {
			t.Errorf("%q: ok=%v found=%q; want ok=%v found containing %q", c.rule, res[0].OK, res[0].Found, c.ok, c.found)
		}
	}
}

func TestEvaluateNoFlows(t *testing.T) {
	e, err := Parse("t", strings.NewReader("flows = 0\nflow * lacks half-close\nflow 0 closer = none\nanomaly half-close = 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	res := Evaluate(e, NewFacts(false))
	want := []struct {
		ok    bool
		found string
	}{{true, "0 flows"}, {false, "no flows in the capture"}, {false, "no flow matches 0"}, {true, "0 half-close"}}
	for i, w := range want {
		if res[i].OK != w.ok || res[i].Found != w.found {
			t.Errorf("rule %q: ok=%v found=%q; want %v %q", res[i].Rule.Text, res[i].OK, res[i].Found, w.ok, w.found)
		}
	}
}

func TestFactsWithoutFramesKeepNoLabels(t *testing.T) {
	f := NewFacts(false)
	for _, td := range teardowns() {
		f.Add(td)
	}
	if f.Labels != nil {
		t.Error("labels collected without frame rules")
	}
	if got := f.Flows[0].count(analyzer.FINRetransmitted); got != 2 {
		t.Errorf("count = %d, want 2", got)
	}
}
