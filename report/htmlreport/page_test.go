package htmlreport

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/pipeline"
	"finwave/report"
)

// renderFixtures runs the fixtures through the real pipeline into New's
// renderer, recycling each teardown after Flow as the CLI does, and
// returns the page.
func renderFixtures(t *testing.T, o Options, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	r := New(&buf, o)
	c := &report.Capture{File: strings.Join(names, "+"), Profile: "linux"}
	for i, name := range names {
		src, err := capture.Open(filepath.Join("..", "..", "fixtures", name))
		if err != nil {
			t.Fatal(err)
		}
		var ferr error
		a := analyzer.New(analyzer.DefaultConfig(), func(td *analyzer.Teardown) {
			td.Stream += int64(i) * 1000 // one page of several captures: streams stay distinct
			if err := r.Flow(td); err != nil && ferr == nil {
				ferr = err
			}
			analyzer.Recycle(td)
		})
		var st pipeline.Stats
		if err := pipeline.Run(context.Background(), src, a, &st); err != nil {
			t.Fatal(err)
		}
		a.Close()
		src.Close()
		if ferr != nil {
			t.Fatal(ferr)
		}
		c.Frames += st.Frames
		c.TCPSegments += st.TCPSegments
		if c.First.IsZero() || st.First.Before(c.First) {
			c.First = st.First
		}
		if st.Last.After(c.Last) {
			c.Last = st.Last
		}
	}
	if err := r.Finish(c); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var goldenCases = []struct {
	name     string
	fixtures []string
}{
	{"close_wait_leak", []string{"close_wait_leak.pcap"}},
	{"mixed", []string{"many_flows.pcap", "fin_retransmission.pcap", "refused.pcap", "rst_unread_data.pcap"}},
}

// TestGolden: the page of a few fixtures, byte for byte.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name+".html.golden", renderFixtures(t, Options{}, tc.fixtures...))
		})
	}
}

// checkPage: page is well-formed XML (so: every element closed, every
// attribute quoted, everything escaped), its ids are unique, and it
// references nothing outside itself.
func checkPage(t *testing.T, page []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	ids := map[string]bool{}
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			for _, a := range el.Attr {
				switch a.Name.Local {
				case "id":
					if ids[a.Value] {
						t.Errorf("duplicate id %q", a.Value)
					}
					ids[a.Value] = true
				case "href", "src", "xlink:href", "action":
					if !strings.HasPrefix(a.Value, "#") {
						t.Errorf("<%s %s=%q>: a reference outside the page", el.Name.Local, a.Name.Local, a.Value)
					}
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 {
		t.Errorf("unbalanced elements: depth %d at the end", depth)
	}
	s := string(page)
	for _, u := range regexp.MustCompile(`https?://[^\s"'<>)]*`).FindAllString(s, -1) {
		if u != "http://www.w3.org/2000/svg" {
			t.Errorf("external URL in the page: %s", u)
		}
	}
	for _, bad := range []string{"@import", "url(http", "url(//", "<link", "<iframe", "<img"} {
		if strings.Contains(s, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}

// TestSelfContained: every fixture's page is well-formed and standalone.
func TestSelfContained(t *testing.T) {
	paths, _ := filepath.Glob("../../fixtures/*.pcap")
	if len(paths) == 0 {
		t.Fatal("no fixtures")
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	checkPage(t, renderFixtures(t, Options{}, names...))
	for _, tc := range goldenCases {
		checkPage(t, renderFixtures(t, Options{}, tc.fixtures...))
	}
}

// TestCheckPageFails: the checks above can fail.
func TestCheckPageFails(t *testing.T) {
	for _, bad := range []string{
		`<html><body><p>open</body></html>`,
		`<html><body><a href="https://example.com/">x</a></body></html>`,
		`<html><body><style>@import "x.css";</style></body></html>`,
		`<html><body><p id="a"></p><p id="a"></p></body></html>`,
	} {
		ft := &testing.T{}
		done := make(chan struct{})
		go func() { defer close(done); checkPage(ft, []byte(bad)) }()
		<-done
		if !ft.Failed() {
			t.Errorf("checkPage passed %s", bad)
		}
	}
}

// TestEscapes: text from a capture (the file name here; verdicts and
// details alike) is escaped.
func TestEscapes(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, Options{})
	if err := r.Finish(&report.Capture{File: `<script>alert("x")</script>&`}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `<script>alert`) {
		t.Error("file name not escaped")
	}
	checkPage(t, buf.Bytes())
}

// TestCaps: past MaxRows the page says how many flows it left out and
// how to get them; MaxLadders bounds the ladders.
func TestCaps(t *testing.T) {
	page := string(renderFixtures(t, Options{MaxRows: 3, MaxLadders: 1}, "many_flows.pcap", "refused.pcap", "rst_unread_data.pcap"))
	if !strings.Contains(page, "left out: <code>finwave --tsv FILE</code>") {
		t.Error("no note of the flows left out")
	}
	if n := strings.Count(page, "<tr class") + strings.Count(page, "<tr><td class=\"num\">"); n != 3 {
		t.Errorf("%d flow rows, want 3", n)
	}
	if n := strings.Count(page, `<article class="ladderbox"`); n > 1 {
		t.Errorf("%d ladders, want at most 1", n)
	}
}
