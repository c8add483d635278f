package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

// clientPorts is the CLIENT PORTS section, which becomes blocks of short
// lines when the table does not fit (appendPairsText): its words change
// by design.
var clientPorts = regexp.MustCompile(`(?s)\n CLIENT PORTS .*?(\n\n|$)`)

// words is text's words without the ladder's dashes (compaction shortens
// arrows), without ANSI escapes and without the CLIENT PORTS section.
func words(s string) []string {
	var out []string
	s = clientPorts.ReplaceAllString(ansiRE.ReplaceAllString(s, ""), "\n\n")
	for _, w := range strings.Fields(s) {
		if w = strings.ReplaceAll(w, "─", ""); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// TestWidth_fits: at widths 60/80/100 every line of the text report fits,
// but aligned rows (tables, ladder rows, sparklines: the documented
// exception, see aligned), and the words are those of the unlimited report
// in the same order: no word was cut.
func TestWidth_fits(t *testing.T) {
	for _, all := range []bool{false, true} {
		o := DefaultOptions()
		o.All, o.Color = all, true
		ref := words(string(render(t, textWith(o), scenarios(), scenarioCapture())))
		for _, w := range []int{60, 80, 100} {
			o.Width = w
			out := string(render(t, textWith(o), scenarios(), scenarioCapture()))
			for _, line := range strings.Split(out, "\n") {
				plain := ansiRE.ReplaceAllString(line, "")
				if visibleWidth([]byte(plain)) > w && !aligned([]byte(plain)) {
					t.Errorf("all=%v width %d: line of %d columns: %q", all, w, visibleWidth([]byte(plain)), plain)
				}
			}
			if got := words(out); strings.Join(got, " ") != strings.Join(ref, " ") {
				t.Errorf("all=%v width %d: words differ from the unlimited report:\n%s", all, w, out)
			}
		}
	}
}

// TestWidth_ladderExplanationMoves: at 80 columns no ladder row carries its
// explanation past the width: it is on its own line(s) under the row.
func TestWidth_ladderExplanationMoves(t *testing.T) {
	o := DefaultOptions()
	o.All, o.Width = true, 80
	out := render(t, textWith(o), scenarios(), scenarioCapture())
	for _, line := range bytes.Split(out, []byte("\n")) {
		if visibleWidth(line) > 80 && (bytes.Contains(line, []byte("tcp_")) || bytes.Contains(line, []byte("close()"))) {
			t.Errorf("explanation beyond 80 columns: %q", line)
		}
	}
}

func TestWidth_goldens(t *testing.T) {
	for _, w := range []int{60, 80} {
		o := DefaultOptions()
		o.All, o.Width = true, w
		checkGolden(t, "all.w"+map[int]string{60: "60", 80: "80"}[w]+".txt.golden", render(t, textWith(o), scenarios(), scenarioCapture()))
	}
	o := DefaultOptions()
	o.All, o.Time = true, TimeDate
	checkGolden(t, "all.timedate.txt.golden", render(t, textWith(o), scenarios(), scenarioCapture()))
	o.Time = TimeAbsolute
	checkGolden(t, "all.timeabs.txt.golden", render(t, textWith(o), scenarios(), scenarioCapture()))
}

// TestWidth_streamText: the live renderer fits its flows and summary too.
func TestWidth_streamText(t *testing.T) {
	o := DefaultOptions()
	o.All, o.Width = true, 60
	out := string(render(t, func(b *bytes.Buffer) Renderer { return NewStreamText(b, o) }, scenarios(), scenarioCapture()))
	for _, line := range strings.Split(out, "\n") {
		if visibleWidth([]byte(line)) > 60 && !aligned([]byte(line)) {
			t.Errorf("line of %d columns: %q", visibleWidth([]byte(line)), line)
		}
	}
}
