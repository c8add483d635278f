package check

import (
	"errors"
	"strings"
	"testing"
	"time"

	"finwave/analyzer"
)

func TestParseDocExample(t *testing.T) {
	// The example of docs/expect-format.md must parse.
	src := `
# analysis options for this capture
option profile linux              # linux | rfc793
option rfc1337 on
option fin-timeout 3s
option stuck-after 5s

flows = 1
anomaly fin-retransmission <= 2
flow 0 closer = client
flow 0 pattern = four-way
flow 0 client_state = TIME-WAIT
flow 0 server_state = CLOSED
flow 0 zeek_conn_state = SF
flow 0 roles = observed
flow 0 has lost-final-ack
flow 0 lacks rst-unread-data
flow 0 anomalies = none
flow * lacks rst-unread-data
flow client=10.0.0.1:40001 closer = server
flow server=[fd00::2]:8000 pattern = reset
flow client-port=40001 has rst-linger-zero
flow 0 anomaly fin-retransmission >= 1
frame 12 label = wave-4
`
	e, err := Parse("x.expect", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Options) != 4 || len(e.Rules) != 17 {
		t.Fatalf("got %d options, %d rules; want 4, 17", len(e.Options), len(e.Rules))
	}
	if !e.NeedFrames() {
		t.Error("NeedFrames = false with a frame rule")
	}
	cfg := analyzer.DefaultConfig()
	cfg.Profile = &analyzer.RFC793
	e.Apply(&cfg)
	if cfg.Profile.Name != "linux" || !cfg.RFC1337 || cfg.FinTimeout != 3*time.Second || cfg.StuckAfter != 5*time.Second {
		t.Errorf("options not applied: %+v", cfg)
	}
	r := e.Rules[4] // client_state = TIME-WAIT
	if r.Line != 12 || r.value != "TIME_WAIT" || r.Text != "flow 0 client_state = TIME-WAIT" {
		t.Errorf("rule 4: line %d value %q text %q", r.Line, r.value, r.Text)
	}
	if got := e.Rules[0].Pos(); got != "x.expect:8" {
		t.Errorf("Pos = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		line string
		want string // substring of the error
	}{
		{"flows 1", "want: flows OP N"},
		{"flows =< 1", `expected an operator`},
		{"flows = -1", "expected a count"},
		{"flows = x", "expected a count"},
		{"anomaly no-such-kind = 1", `unknown anomaly kind "no-such-kind" (want one of: fin-retransmission,`},
		{"flow 0 closer < client", "closer compares with = or != only"},
		{"flow 0 closer = nobody", `closer: unknown value "nobody" (want one of: none, client, server, both)`},
		{"flow 0 pattern = five-way", "four-way"},
		{"flow 0 client_state = SLEEPING", "FIN_WAIT_2"},
		{"flow 0 zeek_conn_state = sf", `unknown value "sf"`},
		{"flow 0 colour = red", `unknown flow property "colour"`},
		{"flow x closer = client", `bad flow selector "x"`},
		{"flow -1 closer = client", "must not be negative"},
		{"flow client=10.0.0.1 closer = client", "want IP:PORT"},
		{"flow client-port=70000 closer = client", "port number"},
		{"flow 0 has", "want: flow SELECTOR"},
		{"flow 0 has lost-final-ack extra", "want: flow SELECTOR has KIND"},
		{"flow 0 anomalies = none,bogus", `unknown anomaly kind "none"`},
		{"flow 0 anomalies > none", "anomalies compares with = or != only"},
		{"frame 0 label = wave-1", "positive integer"},
		{"frame 3 label = wave-9", `unknown label "wave-9"`},
		{"frame 3 flags = FIN", "want: frame N label OP LABEL"},
		{"option profile bsd", `unknown profile "bsd"`},
		{"option rfc1337 yes", "want on or off"},
		{"option fin-timeout 60", "Go duration"},
		{"option colour on", `unknown option "colour"`},
		{"option profile", "want: option NAME VALUE"},
		{"expect everything", `unknown rule "expect"`},
	}
	for _, c := range cases {
		_, err := Parse("f.expect", strings.NewReader("# header\n\n"+c.line+"  # comment\n"))
		if err == nil {
			t.Errorf("%q: no error", c.line)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != 3 || pe.File != "f.expect" {
			t.Errorf("%q: error %v is not a ParseError at f.expect:3", c.line, err)
		}
		if !strings.HasPrefix(err.Error(), "f.expect:3: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %q, want it to contain %q", c.line, err, c.want)
		}
	}
}

func TestParseReportsEveryBadLine(t *testing.T) {
	_, err := Parse("f", strings.NewReader("flows = 1\nbogus\nflows = 2\noption profile linux\noption profile rfc793\n"))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"f:2: unknown rule", "f:5: option profile given twice (first at line 4)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

func TestParseAcceptedSpellings(t *testing.T) {
	cases := []struct{ line, value string }{
		{"flow 0 client_state = FIN-WAIT-2", "FIN_WAIT_2"},
		{"flow 0 client-state = fin_wait1", "FIN_WAIT_1"},
		{"flow 0 server_state = SYN-RECV", "SYN_RECEIVED"},
		{"flow 0 server_state = ESTAB", "ESTABLISHED"},
		{"flow 0 profile = rfc9293", "rfc793"},
		{"flow 0 anomalies = half-close,fin-retransmission,half-close", "fin-retransmission,half-close"},
		{"frame 2 label = none", "none"},
		{"frame 2 label = wave-2+3", "wave-2+3"},
	}
	for _, c := range cases {
		e, err := Parse("f", strings.NewReader(c.line))
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if got := e.Rules[0].value; got != c.value {
			t.Errorf("%q: value %q, want %q", c.line, got, c.value)
		}
	}
}

// FuzzParse: any input parses or fails with ParseErrors, never panics, and
// what parses can be evaluated.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"flows = 1", "flow * lacks half-close", "frame 3 label = wave-1",
		"flow client=[::1]:80 anomalies = none", "option profile linux\nflow 0 anomaly half-close >= 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse("fuzz", strings.NewReader(s))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a ParseError", err)
			}
			return
		}
		facts := NewFacts(e.NeedFrames())
		Evaluate(e, facts)
	})
}

// The tunnel property: none, a type, or a type and its identifier.
func TestParseTunnel(t *testing.T) {
	for _, c := range []struct{ line, value, err string }{
		{"flow 0 tunnel = vxlan 42", "vxlan 42", ""},
		{"flow 0 tunnel = geneve", "geneve", ""},
		{"flow 0 tunnel = none", "none", ""},
		{"flow 0 tunnel != ip-in-ip", "ip-in-ip", ""},
		{"flow 0 tunnel = vxlan x", "", "want TYPE or TYPE ID"},
		{"flow 0 tunnel = l2tp", "", "unknown value"},
	} {
		e, err := Parse("x.expect", strings.NewReader(c.line))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.line, err, c.err)
			}
			continue
		}
		if err != nil || e.Rules[0].value != c.value {
			t.Errorf("%q: %v, value %q, want %q", c.line, err, e.Rules[0].value, c.value)
		}
	}
	f := &Facts{Flows: []Flow{{Stream: 0, Tunnel: "vxlan 42"}}}
	for line, want := range map[string]bool{
		"flow 0 tunnel = vxlan 42": true, "flow 0 tunnel = vxlan": true, "flow 0 tunnel = vxlan 7": false,
		"flow 0 tunnel = none": false, "flow 0 tunnel != geneve": true,
	} {
		e, err := Parse("x.expect", strings.NewReader(line))
		if err != nil {
			t.Fatal(err)
		}
		if got := Evaluate(e, f)[0].OK; got != want {
			t.Errorf("%q on a vxlan 42 flow: %v, want %v", line, got, want)
		}
	}
}

// The vantage property: one point, or alternatives the wire cannot settle.
func TestParseVantage(t *testing.T) {
	if _, err := Parse("x.expect", strings.NewReader("flow 0 vantage = router")); err == nil || !strings.Contains(err.Error(), "unknown value") {
		t.Errorf("vantage = router: error %v, want unknown value", err)
	}
	f := &Facts{Flows: []Flow{{Stream: 0, Vantage: analyzer.VantageClient}}}
	for line, want := range map[string]bool{
		"flow 0 vantage = client": true, "flow 0 vantage = client|unknown": true, "flow 0 vantage = between": false,
		"flow 0 vantage != server|between": true, "flow 0 vantage != client": false,
	} {
		e, err := Parse("x.expect", strings.NewReader(line))
		if err != nil {
			t.Fatal(err)
		}
		if got := Evaluate(e, f)[0].OK; got != want {
			t.Errorf("%q on a client-vantage flow: %v, want %v", line, got, want)
		}
	}
}

// The dsack_frame property: a frame number or none.
func TestParseDSACKFrame(t *testing.T) {
	if _, err := Parse("x.expect", strings.NewReader("flow 0 dsack_frame = -3")); err == nil {
		t.Error("dsack_frame = -3 parsed")
	}
	f := &Facts{Flows: []Flow{{Stream: 0, DSACK: 10}, {Stream: 1}}}
	for line, want := range map[string]bool{
		"flow 0 dsack_frame = 10": true, "flow 0 dsack_frame = 11": false, "flow 0 dsack_frame = none": false,
		"flow 1 dsack_frame = none": true, "flow 1 dsack_frame != 10": true,
	} {
		e, err := Parse("x.expect", strings.NewReader(line))
		if err != nil {
			t.Fatal(err)
		}
		if got := Evaluate(e, f)[0].OK; got != want {
			t.Errorf("%q: %v, want %v", line, got, want)
		}
	}
}
