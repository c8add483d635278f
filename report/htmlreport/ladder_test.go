package htmlreport

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/flow"
	"finwave/pipeline"
)

// fixtureTeardowns analyses path through the real pipeline (default
// configuration) and returns its teardowns, not recycled.
func fixtureTeardowns(t testing.TB, path string) []*analyzer.Teardown {
	t.Helper()
	src, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []*analyzer.Teardown
	a := analyzer.New(analyzer.DefaultConfig(), func(td *analyzer.Teardown) { out = append(out, td) })
	var ps pipeline.Stats
	if err := pipeline.Run(context.Background(), src, a, &ps); err != nil {
		t.Fatal(err)
	}
	a.Close()
	return out
}

// ladders renders every flow of a fixture, one diagram after another.
func ladders(t testing.TB, path string) []byte {
	var b []byte
	for _, td := range fixtureTeardowns(t, path) {
		b = AppendLadder(b, td, LadderOptions{ID: fmt.Sprintf("s%d", td.Stream)})
	}
	return b
}

// ladderFixtures cover the kinds of ending: a lost final ACK (a cross, an
// undone change; at the client, between and unknown vantages), a reset
// with unread data, a simultaneous close, a FIN retransmission (a folded
// gap), a reset in TIME_WAIT, a three-way close, a refused SYN.
var ladderFixtures = []string{
	"lost_final_ack",
	"vantage_client_lost_final_ack",
	"vantage_router_lost_final_ack",
	"rst_unread_data",
	"simultaneous_close",
	"fin_retransmission",
	"time_wait_assassination",
	"three_way_close",
	"refused",
}

// TestLadderGolden pins the SVG of each fixture's ladders, one element (or
// group opening) per line so that a diff reads.
func TestLadderGolden(t *testing.T) {
	for _, name := range ladderFixtures {
		t.Run(name, func(t *testing.T) {
			got := ladders(t, filepath.Join("..", "..", "fixtures", name+".pcap"))
			checkGolden(t, "ladder_"+name+".svg", got)
		})
	}
}

// svgStats is what checkSVG counts in one diagram.
type svgStats struct {
	arrows, states, anomalies, crosses, folds int
}

// checkSVG decodes one <svg> strictly, fails on anything that refers
// outside the document, and counts the diagram's parts by class.
func checkSVG(t *testing.T, what string, b []byte) svgStats {
	t.Helper()
	var st svgStats
	d := xml.NewDecoder(bytes.NewReader(b))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("%s: not well-formed: %v", what, err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if e.Name.Local != "svg" || e.Name.Space != "http://www.w3.org/2000/svg" {
					t.Fatalf("%s: root %v, want svg in the SVG namespace", what, e.Name)
				}
			}
			depth++
			for _, a := range e.Attr {
				v := strings.ToLower(a.Value)
				if a.Name.Local == "href" || strings.Contains(v, "url(") && !strings.HasPrefix(v, "url(#") ||
					strings.Contains(v, "//") && a.Name.Local != "xmlns" {
					t.Errorf("%s: %s=%q refers outside the document", what, a.Name.Local, a.Value)
				}
				if a.Name.Local != "class" {
					continue
				}
				switch cls := strings.Fields(a.Value); {
				case e.Name.Local == "g" && cls[0] == "seg":
					st.arrows++
				case e.Name.Local == "g" && cls[0] == "st":
					st.states++
				case e.Name.Local == "g" && cls[0] == "anom":
					st.anomalies++
				case e.Name.Local == "path" && cls[0] == "cross":
					st.crosses++
				case e.Name.Local == "g" && cls[0] == "fold":
					st.folds++
				}
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if bytes.Contains(e, []byte("://")) {
				t.Errorf("%s: text %q names an address outside the document", what, e)
			}
		case xml.ProcInst, xml.Directive:
			t.Errorf("%s: unexpected %T", what, e)
		}
	}
	if roots != 1 {
		t.Fatalf("%s: %d root elements, want 1", what, roots)
	}
	return st
}

// want is what a diagram of td must show: an arrow per drawn segment, a
// state per change of those, a badge per anomaly frame among them, a
// cross per segment whose receiver's change was undone.
func want(td *analyzer.Teardown) svgStats {
	segs := td.Segments
	if len(segs) > MaxLadderArrows {
		segs = segs[:MaxLadderArrows]
	}
	var w svgStats
	drawn := map[int64]bool{}
	for _, s := range segs {
		w.arrows++
		w.states += len(s.Changes)
		drawn[s.Frame] = true
		for _, c := range s.Changes {
			if c.Undone && c.Side != s.From {
				w.crosses++
				break
			}
		}
	}
	for _, a := range td.Anomalies {
		for _, f := range a.Frames {
			if drawn[f] {
				w.anomalies++
			}
		}
	}
	return w
}

// TestLadderEveryFixture: every flow of every fixture gives one
// well-formed, self-contained SVG with as many arrows as segments, states
// as changes, badges as anomaly frames and crosses as lost segments.
func TestLadderEveryFixture(t *testing.T) {
	paths, _ := filepath.Glob("../../fixtures/*.pcap*")
	if len(paths) == 0 {
		t.Fatal("no fixtures")
	}
	var flows, crosses, anomalies, folds int
	for _, p := range paths {
		for _, td := range fixtureTeardowns(t, p) {
			what := fmt.Sprintf("%s stream %d", filepath.Base(p), td.Stream)
			got := checkSVG(t, what, AppendLadder(nil, td, LadderOptions{ID: "x"}))
			w := want(td)
			w.folds = got.folds
			if got != w {
				t.Errorf("%s: drew %+v, want %+v", what, got, w)
			}
			flows++
			crosses += got.crosses
			anomalies += got.anomalies
			folds += got.folds
		}
	}
	// The fixtures include lost segments, anomalies and long gaps: a
	// diagram that never draws them is wrong, not merely quiet.
	if flows == 0 || crosses == 0 || anomalies == 0 || folds == 0 {
		t.Errorf("over %d flows: %d crosses, %d anomaly badges, %d folds; want some of each", flows, crosses, anomalies, folds)
	}
}

// TestLadderEscapes: text from the capture (explanations, kernel paths,
// details) is escaped, and what XML forbids is replaced, so the SVG stays
// well-formed and carries no markup of its own.
func TestLadderEscapes(t *testing.T) {
	odd := "<script>alert('x')</script> & \"q\" \x00\x1b\xff\xfe\uFFFE ]]> http://evil.example/"
	t0 := time.Unix(1700000000, 0)
	td := &analyzer.Teardown{
		FirstTime: t0, LastTime: t0.Add(time.Second),
		Segments: []analyzer.LabelledSegment{{Frame: 1, Time: t0, Flags: flow.FIN | flow.ACK, Label: analyzer.Wave1, Explain: odd,
			Changes: []analyzer.Change{{Side: analyzer.Client, From: analyzer.Established, To: analyzer.FinWait1, Reason: odd}}}},
		Anomalies: []analyzer.Anomaly{{Frames: []int64{1}, Severity: analyzer.Error, Detail: odd}},
	}
	b := AppendLadder(nil, td, LadderOptions{ID: `a"b<c`})
	if bytes.Contains(b, []byte("<script")) || bytes.Contains(b, []byte("http://evil")) {
		t.Errorf("unescaped capture text in %s", b)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := d.Token(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("not well-formed: %v\n%s", err, b)
			}
			break
		}
	}
}

// TestLadderBounded: a flow kept whole (65536 segments, each with changes,
// an explanation and an anomaly) draws MaxLadderArrows arrows, says how
// many it left out, and stays under 1 MB.
func TestLadderBounded(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	td := &analyzer.Teardown{FirstTime: t0, Vantage: analyzer.Vantage{At: analyzer.VantageBetween, ClientAnswer: time.Millisecond, ServerAnswer: 3 * time.Millisecond}}
	var frames []int64
	for i := range 1 << 16 {
		from := analyzer.Side(i & 1)
		td.Segments = append(td.Segments, analyzer.LabelledSegment{Frame: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond),
			From: from, Flags: flow.ACK, Seq: uint32(i), Ack: uint32(i), Len: 1448, Label: analyzer.KeepAlive,
			Explain: "tcp_keepalive_timer: a probe with seq = snd.nxt-1",
			Changes: []analyzer.Change{{Side: from, From: analyzer.Established, To: analyzer.Established, Reason: "none"}}})
		frames = append(frames, int64(i+1))
	}
	td.Anomalies = []analyzer.Anomaly{{Frames: frames, Severity: analyzer.Warning, Detail: "many"}}
	start := time.Now()
	b := AppendLadder(nil, td, LadderOptions{ID: "big"})
	el := time.Since(start)
	got := checkSVG(t, "big", b)
	if got.arrows != MaxLadderArrows || got.states != MaxLadderArrows || got.anomalies != MaxLadderArrows {
		t.Errorf("drew %+v, want %d of each", got, MaxLadderArrows)
	}
	if !bytes.Contains(b, []byte("65136 more segments not drawn")) {
		t.Error("no note of the segments left out")
	}
	if len(b) > 1<<20 {
		t.Errorf("%d bytes, want under 1 MB", len(b))
	}
	t.Logf("%d segments: %d bytes in %v", len(td.Segments), len(b), el)
}

// arrows maps each drawn segment's frame to its arrow's ends.
func arrows(t *testing.T, b []byte) map[string][4]int {
	t.Helper()
	out := map[string][4]int{}
	d := xml.NewDecoder(bytes.NewReader(b))
	frame := ""
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		e, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		var v [4]int
		isArrow := false
		for _, a := range e.Attr {
			switch a.Name.Local {
			case "data-frame":
				if e.Name.Local == "g" {
					frame = a.Value
				}
			case "class":
				isArrow = e.Name.Local == "line" && a.Value == "arrow"
			}
			for i, n := range []string{"x1", "y1", "x2", "y2"} {
				if a.Name.Local == n {
					fmt.Sscan(a.Value, &v[i])
				}
			}
		}
		if isArrow {
			out[frame] = v
		}
	}
	return out
}

// TestLadderVantageSlants: the vantage decides where each arrow is level.
// At the client the client's arrows leave at the frame's y and the
// server's arrive there, slanted by half the server's answer time; at the
// server the reverse; between, both ends slant; unknown, every arrow is
// level. Two segments a second apart also fold the gap between them.
func TestLadderVantageSlants(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	td := &analyzer.Teardown{FirstTime: t0, Segments: []analyzer.LabelledSegment{
		{Frame: 1, Time: t0, From: analyzer.Client, Flags: flow.FIN | flow.ACK, Label: analyzer.Wave1},
		{Frame: 2, Time: t0.Add(10 * time.Millisecond), From: analyzer.Server, Flags: flow.FIN | flow.ACK, Label: analyzer.Wave23},
		{Frame: 3, Time: t0.Add(10 * time.Second), From: analyzer.Client, Flags: flow.ACK, Label: analyzer.Wave4},
	}}
	td.Vantage.ClientAnswer, td.Vantage.ServerAnswer = 2*time.Millisecond, 8*time.Millisecond
	for _, c := range []struct {
		at         analyzer.VantagePoint
		levelC     bool // client's arrows leave at the frame's time
		slantC     bool // client's arrows slant at all
		slantS     bool
		serverSent bool // the server's arrows leave at the frame's time
	}{
		{analyzer.VantageUnknown, true, false, false, true},
		{analyzer.VantageClient, true, true, true, false},
		{analyzer.VantageServer, false, true, true, true},
		{analyzer.VantageBetween, false, true, true, false},
	} {
		td.Vantage.At = c.at
		b := AppendLadder(nil, td, LadderOptions{})
		ar := arrows(t, b)
		if len(ar) != 3 {
			t.Fatalf("%v: %d arrows, want 3", c.at, len(ar))
		}
		a1, a2 := ar["1"], ar["2"]
		if got := a1[3] != a1[1]; got != c.slantC {
			t.Errorf("%v: client's arrow %v slants %v, want %v", c.at, a1, got, c.slantC)
		}
		if got := a2[3] != a2[1]; got != c.slantS {
			t.Errorf("%v: server's arrow %v slants %v, want %v", c.at, a2, got, c.slantS)
		}
		if a1[3] < a1[1] || a2[3] < a2[1] {
			t.Errorf("%v: an arrow goes back in time: %v %v", c.at, a1, a2)
		}
		// The time column gives each frame's y (its baseline 4 lower).
		y1, y2 := timeY(t, b, 1), timeY(t, b, 2)
		if got := a1[1] == y1; got != c.levelC {
			t.Errorf("%v: client's arrow leaves at y %d, frame at %d: at the frame's time %v, want %v", c.at, a1[1], y1, got, c.levelC)
		}
		if got := a2[1] == y2; got != c.serverSent {
			t.Errorf("%v: server's arrow leaves at y %d, frame at %d: at the frame's time %v, want %v", c.at, a2[1], y2, got, c.serverSent)
		}
		if !bytes.Contains(b, []byte(`<g class="fold">`)) || !bytes.Contains(b, []byte("9.99 s later")) {
			t.Errorf("%v: the 10 s gap is not folded with its duration", c.at)
		}
		if a3 := ar["3"]; a3[1]-a2[3] > rowPx+foldPx+2*rowPx {
			t.Errorf("%v: folded gap drawn %d high", c.at, a3[1]-a2[3])
		}
	}
}

// timeY is the y of frame f's time in the time column.
func timeY(t *testing.T, b []byte, f int) int {
	t.Helper()
	m := regexp.MustCompile(fmt.Sprintf(`<text class="time" x="4" y="(\d+)">[0-9.]+  #%d<`, f)).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no time of frame %d", f)
	}
	y, _ := strconv.Atoi(string(m[1]))
	return y - 4
}

// TestLadderMarks: a tentative change is marked "?" and underlined
// dashed, an undone one struck out and its segment crossed, in words the
// page's script and a reader without colour both see.
func TestLadderMarks(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	td := &analyzer.Teardown{FirstTime: t0, Segments: []analyzer.LabelledSegment{
		{Frame: 1, Time: t0, From: analyzer.Client, Flags: flow.ACK, Label: analyzer.Wave4,
			Changes: []analyzer.Change{{Side: analyzer.Server, From: analyzer.LastAck, To: analyzer.Closed, Undone: true}}},
		{Frame: 2, Time: t0.Add(time.Millisecond), From: analyzer.Client, Flags: flow.ACK, Label: analyzer.TimeWaitACK,
			Changes: []analyzer.Change{{Side: analyzer.Server, From: analyzer.LastAck, To: analyzer.Closed, Tentative: true}}},
	}}
	b := string(AppendLadder(nil, td, LadderOptions{}))
	for _, w := range []string{
		`<g class="seg c2s l-wave-4 lost" data-frame="1"`,
		`<path class="cross"`,
		`<g class="st s-server undone"><title>server LAST_ACK→CLOSED (not received)`,
		`<g class="st s-server tentative">`,
		`>CLOSED?</text><line class="mark"`,
		`stroke-dasharray="3 2"`,
	} {
		if !strings.Contains(b, w) {
			t.Errorf("no %q in\n%s", w, b)
		}
	}
	if strings.Count(b, "marker-end=") != 1 {
		t.Errorf("%d arrowheads, want 1 (the lost segment ends in a cross)", strings.Count(b, "marker-end="))
	}
}

// TestLadderNoStyle: NoStyle leaves the fallback style out and nothing
// else; the ladder still uses only classes, no inline colour.
func TestLadderNoStyle(t *testing.T) {
	td := fixtureTeardowns(t, "../../fixtures/lost_final_ack.pcap")[0]
	with := AppendLadder(nil, td, LadderOptions{ID: "a"})
	bare := AppendLadder(nil, td, LadderOptions{ID: "a", NoStyle: true})
	if got := strings.Replace(string(with), "<style>"+LadderCSS+"</style>\n", "", 1); got != string(bare) {
		t.Errorf("NoStyle changed more than the style:\n%s", bare)
	}
	for _, colour := range []string{" fill=", " stroke=", " style=", " color="} {
		for _, line := range strings.Split(string(bare), "\n") {
			if strings.Contains(line, colour) {
				t.Errorf("inline colour %q in %s", colour, line)
			}
		}
	}
}
