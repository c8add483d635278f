package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"finwave/analyzer"
	"finwave/flow"
)

// synthFlow is a reset flow of stream n from client host host (its port
// unique) to server, with one anomaly kind at side (none when side is -1).
func synthFlow(n int64, host int, server string, p analyzer.Pattern, closer analyzer.Closer, k analyzer.Kind, side int) *analyzer.Teardown {
	cl := flow.Endpoint{Addr: netip.AddrFrom4([4]byte{192, 168, 0, byte(host)}), Port: uint16(30000 + n)}
	td := &analyzer.Teardown{
		Stream: n, Client: cl, Server: ep(server),
		FirstFrame: 2*n + 1, LastFrame: 2*n + 2,
		FirstTime: t0.Add(time.Duration(n) * time.Second), LastTime: t0.Add(time.Duration(n)*time.Second + time.Millisecond),
		Pattern: p, Closer: closer, Verdict: fmt.Sprintf("verdict of flow %d", n),
		Segments: []analyzer.LabelledSegment{{Frame: 2*n + 2, Time: t0.Add(time.Duration(n) * time.Second),
			From: analyzer.Side(closer - 1), Flags: flow.RST | flow.ACK, Seq: 1, Ack: 1, Label: analyzer.RST}},
		Finish: flow.FinishDone, Profile: "linux",
	}
	if side >= 0 {
		td.Anomalies = []analyzer.Anomaly{{Kind: k, Endpoint: analyzer.Side(side), Frames: []int64{2*n + 2},
			Severity: analyzer.Warning, Detail: "detail"}}
	}
	return td
}

// groupFlows: 60 flows whose groups are known by construction.
//   - 0-29: rst-unread-data at the server of S1, from 10 client hosts
//     (host 1+i%10): more than 3 hosts, one folded group of 30.
//   - 30-39: rst-linger-zero at the client, to S2, from hosts 1 (even
//     streams) and 2 (odd): two groups of 5.
//   - 40-49: rst-unread-data at the server of S2, from host 3: one group of 10.
//   - 50-59: four-way closes to S1 without anomaly: not worth reading, but
//     in S1's flows (S1 40 flows, S2 20).
func groupFlows() []*analyzer.Teardown {
	const s1, s2 = "10.0.0.1:80", "10.0.0.2:443"
	var tds []*analyzer.Teardown
	for i := int64(0); i < 60; i++ {
		switch {
		case i < 30:
			tds = append(tds, synthFlow(i, 1+int(i%10), s1, analyzer.PatternReset, analyzer.CloserServer, analyzer.RSTUnreadData, int(analyzer.Server)))
		case i < 40:
			tds = append(tds, synthFlow(i, 1+int(i%2), s2, analyzer.PatternReset, analyzer.CloserClient, analyzer.RSTLingerZero, int(analyzer.Client)))
		case i < 50:
			tds = append(tds, synthFlow(i, 3, s2, analyzer.PatternReset, analyzer.CloserServer, analyzer.RSTUnreadData, int(analyzer.Server)))
		default:
			tds = append(tds, synthFlow(i, 4, s1, analyzer.PatternFourWay, analyzer.CloserClient, 0, -1))
		}
	}
	return tds
}

type jsonGroup struct {
	Severity  string `json:"severity"`
	Flows     int64  `json:"flows"`
	Overflow  bool   `json:"overflow"`
	Pattern   string `json:"pattern"`
	Closer    string `json:"closer"`
	Anomalies []struct {
		Kind     string `json:"kind"`
		Endpoint string `json:"endpoint"`
	} `json:"anomalies"`
	Service      string   `json:"service"`
	ClientHost   *string  `json:"client_host"`
	ClientHosts  int64    `json:"client_hosts"`
	Exact        bool     `json:"client_hosts_exact"`
	ServiceFlows *int64   `json:"service_flows"`
	Share        *float64 `json:"share"`
	FirstTime    string   `json:"first_time"`
	LastTime     string   `json:"last_time"`
	Exemplar     int64    `json:"exemplar"`
	Streams      []int64  `json:"streams"`
	Verdict      string   `json:"verdict"`
}

func shuffled(tds []*analyzer.Teardown, seed uint64) []*analyzer.Teardown {
	out := slices.Clone(tds)
	rand.New(rand.NewPCG(seed, 7)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// TestGroupsByConstruction checks groups, counts, shares, exemplars, the
// other streams and the folding over client hosts, in the JSON and the
// text report, whatever the order the flows finish in.
func TestGroupsByConstruction(t *testing.T) {
	type want struct {
		flows     int64
		service   string
		host      string // "" folded
		hosts     int64
		kind, at  string
		share     float64
		exemplar  int64
		streams   []int64
		pattern   string
		first     string
		lastSecUT int64
	}
	wants := []want{
		{30, "10.0.0.1:80", "", 10, "rst-unread-data", "server", 0.75, 0, []int64{1, 2, 3, 4, 5}, "reset", "2024-03-05T10:00:00Z", 29},
		{10, "10.0.0.2:443", "192.168.0.3", 1, "rst-unread-data", "server", 0.5, 40, []int64{41, 42, 43, 44, 45}, "reset", "2024-03-05T10:00:40Z", 49},
		{5, "10.0.0.2:443", "192.168.0.1", 1, "rst-linger-zero", "client", 0.25, 30, []int64{32, 34, 36, 38}, "reset", "2024-03-05T10:00:30Z", 38},
		{5, "10.0.0.2:443", "192.168.0.2", 1, "rst-linger-zero", "client", 0.25, 31, []int64{33, 35, 37, 39}, "reset", "2024-03-05T10:00:31Z", 39},
	}
	c := &Capture{File: "groups.pcap", First: t0, Last: t0.Add(60 * time.Second), Profile: "linux"}
	wantJSON := render(t, jsonWith(DefaultOptions()), groupFlows(), c)
	wantText := render(t, textWith(DefaultOptions()), groupFlows(), c)
	for seed := range uint64(4) {
		if got := render(t, jsonWith(DefaultOptions()), shuffled(groupFlows(), seed), c); !bytes.Equal(got, wantJSON) {
			t.Fatalf("JSON depends on the finish order (seed %d)", seed)
		}
		if got := render(t, textWith(DefaultOptions()), shuffled(groupFlows(), seed), c); !bytes.Equal(got, wantText) {
			t.Fatalf("text depends on the finish order (seed %d)", seed)
		}
	}

	var doc struct {
		Flows  []json.RawMessage `json:"flows"`
		Groups []jsonGroup       `json:"groups"`
	}
	if err := json.Unmarshal(wantJSON, &doc); err != nil {
		t.Fatal(err)
	}
	// Every key of SCHEMA.md's group, always present, and no other.
	var raw struct{ Groups []map[string]json.RawMessage }
	if err := json.Unmarshal(wantJSON, &raw); err != nil {
		t.Fatal(err)
	}
	keys := []string{"severity", "flows", "overflow", "pattern", "closer", "anomalies", "service", "client_host", "client_hosts",
		"client_hosts_exact", "service_flows", "share", "first_time", "last_time", "exemplar", "streams", "verdict"}
	for i, g := range raw.Groups {
		got := slices.Sorted(maps.Keys(g))
		if !slices.Equal(got, slices.Sorted(slices.Values(keys))) {
			t.Errorf("group %d has keys %v, want %v", i+1, got, keys)
		}
	}
	if len(doc.Flows) != 60 {
		t.Errorf("%d flows in JSON, want every one (60)", len(doc.Flows))
	}
	if len(doc.Groups) != len(wants) {
		t.Fatalf("%d groups, want %d: %+v", len(doc.Groups), len(wants), doc.Groups)
	}
	for i, w := range wants {
		g := doc.Groups[i]
		host := ""
		if g.ClientHost != nil {
			host = *g.ClientHost
		}
		last := t0.Add(time.Duration(w.lastSecUT)*time.Second + time.Millisecond).Format(time.RFC3339Nano)
		if g.Flows != w.flows || g.Service != w.service || host != w.host || g.ClientHosts != w.hosts || !g.Exact ||
			len(g.Anomalies) != 1 || g.Anomalies[0].Kind != w.kind || g.Anomalies[0].Endpoint != w.at ||
			g.Share == nil || *g.Share != w.share || g.Exemplar != w.exemplar || !slices.Equal(g.Streams, w.streams) ||
			g.Pattern != w.pattern || g.Severity != "warning" || g.Overflow || g.FirstTime != w.first || g.LastTime != last ||
			g.Verdict != fmt.Sprintf("verdict of flow %d", w.exemplar) {
			t.Errorf("group %d = %+v, want %+v", i+1, g, w)
		}
	}

	// The text: one exemplar per group, in the groups' order, each headed
	// by its stream ids; the folded group names its client hosts.
	if got := textStreams(wantText); !slices.Equal(got, []int64{0, 40, 30, 31}) {
		t.Errorf("text exemplars %v, want 0 40 30 31", got)
	}
	for _, s := range []string{
		"50 of 60 flows worth reading in 4 groups",
		"━━ group 1 of 4 · ⚠ warning · 30 flows · 75.0% of the service's 40 flows\n",
		"   service 10.0.0.1:80 · 10 client hosts\n",
		"   Wireshark: tcp.stream in {0 1 2 3 4 5} · the lowest stream ids; flow 0 below\n",
		"   2024-03-05 10:00:00.000 → 10:00:29.001 UTC (+0 s → +29.00 s into the capture)\n",
		"   service 10.0.0.2:443 · client host 192.168.0.1\n",
		"   Wireshark: tcp.stream in {30 32 34 36 38} · flow 30 below\n",
		"▶ verdict of flow 31\nflow 31 · ",
	} {
		if !strings.Contains(string(wantText), s) {
			t.Errorf("text lacks %q:\n%s", s, wantText)
		}
	}
	if n := strings.Count(string(wantText), "▶ verdict of flow"); n != 4 {
		t.Errorf("%d ladders in the text, want one per group (4)", n)
	}
}

// TestGroupFolding: up to 3 client hosts, a group each; the 4th folds them
// into one, exemplar and streams the lowest over all of them.
func TestGroupFolding(t *testing.T) {
	for hosts := 1; hosts <= 5; hosts++ {
		var tds []*analyzer.Teardown
		for i := range int64(12) {
			// Stream ids descending per host: the exemplar changes.
			tds = append(tds, synthFlow(100-i, 1+int(i)%hosts, "10.0.0.1:80", analyzer.PatternReset,
				analyzer.CloserServer, analyzer.RSTUnreadData, int(analyzer.Server)))
		}
		out := render(t, jsonWith(DefaultOptions()), tds, &Capture{})
		var doc struct{ Groups []jsonGroup }
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		if hosts <= foldHosts {
			if len(doc.Groups) != hosts {
				t.Errorf("%d hosts: %d groups, want one per host", hosts, len(doc.Groups))
			}
			continue
		}
		if len(doc.Groups) != 1 || doc.Groups[0].ClientHost != nil || doc.Groups[0].ClientHosts != int64(hosts) ||
			doc.Groups[0].Flows != 12 || doc.Groups[0].Exemplar != 89 || !slices.Equal(doc.Groups[0].Streams, []int64{90, 91, 92, 93, 94}) {
			t.Errorf("%d hosts: groups %+v, want one folded group of 12 flows, exemplar 89", hosts, doc.Groups)
		}
		text := render(t, textWith(DefaultOptions()), tds, &Capture{})
		if !bytes.Contains(text, []byte("▶ verdict of flow 89\nflow 89 · ")) || bytes.Count(text, []byte("▶ ")) != 1 {
			t.Errorf("%d hosts: the folded group's ladder is not flow 89's:\n%s", hosts, text)
		}
	}
}

// TestHostSketch: exact below hostSketchK hosts, close above, the same in
// any order.
func TestHostSketch(t *testing.T) {
	addrs := make([]netip.Addr, 20000)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	}
	for _, n := range []int{1, 63, 64, 1000, 20000} {
		var a, b hostSketch
		for i := range n {
			a.add(addrs[i])
			a.add(addrs[i]) // twice: counted once
			b.add(addrs[n-1-i])
		}
		got, exact := a.count()
		if a != b {
			t.Errorf("%d hosts: the sketch depends on the order", n)
		}
		if n < hostSketchK {
			if got != int64(n) || !exact {
				t.Errorf("%d hosts: count %d exact %v", n, got, exact)
			}
			continue
		}
		if exact || got < int64(n)*6/10 || got > int64(n)*14/10 {
			t.Errorf("%d hosts: estimate %d exact %v, want within 40%%", n, got, exact)
		}
	}
}

// TestGroupCap: flows past maxGroups groups go to one overflow group,
// counted, last.
func TestGroupCap(t *testing.T) {
	var gr grouper
	for i := range int64(maxGroups + 7) {
		td := synthFlow(i, 1, "10.0.0.1:80", analyzer.PatternReset, analyzer.CloserServer, analyzer.RSTUnreadData, int(analyzer.Server))
		td.Server.Port = uint16(1 + i%60000)
		td.Server.Addr = netip.AddrFrom4([4]byte{10, 1, byte(i >> 16 & 0xff), byte(i >> 8 & 0xff)})
		gr.count(td)
		gr.add(td)
	}
	gs := gr.groups()
	if len(gs) != maxGroups+1 || !gs[maxGroups].overflow || gs[maxGroups].flows != 7 || gs[maxGroups].streams[0] != maxGroups {
		t.Fatalf("%d groups, last %+v: want %d and the overflow of 7 flows", len(gs), *gs[len(gs)-1], maxGroups)
	}
	var buf bytes.Buffer
	r := NewJSON(&buf, DefaultOptions()).(*jsonRenderer)
	r.groups = gr
	if err := r.Finish(&Capture{}); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) || !bytes.Contains(buf.Bytes(), []byte(`{"severity":"warning","flows":7,"overflow":true,`)) {
		t.Errorf("the overflow group is not in the JSON document")
	}
}

// TestGroupedFlowAllocs: in the grouped text report, a flow joining an
// existing group allocates nothing, and the exemplar is rendered only when
// a lower stream id arrives.
func TestGroupedFlowAllocs(t *testing.T) {
	r := NewText(io.Discard, DefaultOptions()).(*textRenderer)
	renders := 0
	render := r.groups.render
	r.groups.render = func(b []byte, td *analyzer.Teardown) []byte {
		renders++
		return render(b, td)
	}
	tds := append(groupFlows(), scenarios()...)
	for _, td := range tds {
		if err := r.Flow(td); err != nil {
			t.Fatal(err)
		}
	}
	// One per group, and hosts 2 and 3 of the folded group had their own
	// before the 4th folded them.
	if renders != 4+5+2 {
		t.Errorf("%d renderings for flows in stream order, want one per group and two before folding (11)", renders)
	}
	renders = 0
	next := int64(1000)
	flows := func() {
		for _, td := range tds {
			td.Stream = next // later streams: none becomes an exemplar
			next++
			if err := r.Flow(td); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The roll-up's per-host and per-pair timelines keep their first
	// events as a short list (at most 64) before they become fixed bins:
	// steady state is once every one has.
	for range 64 {
		flows()
	}
	if n := testing.AllocsPerRun(100, flows); n != 0 {
		t.Errorf("%v allocations per %d grouped flows", n, len(tds))
	}
	if renders != 0 {
		t.Errorf("%d renderings of flows that were no exemplar", renders)
	}
	var out bytes.Buffer
	r.w = &out
	if err := r.Finish(&Capture{}); err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^━━ group `).FindAll(out.Bytes(), -1); len(m) != 9 {
		t.Errorf("%d groups, want 9", len(m))
	}
}
