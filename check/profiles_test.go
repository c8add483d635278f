package check

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/pipeline"
)

// wireClaim finds, in a segment explanation or an anomaly's detail, a
// statement about what the capture shows, as opposed to how a kernel
// reads it: such statements must not depend on the profile.
type wireClaim struct {
	re    *regexp.Regexp
	fact  string // the claim, with %s for the frame when re captures one
	unfit string // the claim it contradicts
}

var wireClaims = []wireClaim{
	{regexp.MustCompile(`frame (\d+)\) was never\s+answered`), "frame %s unanswered", "frame %s answered"},
	{regexp.MustCompile(`frame (\d+), answered the`), "frame %s answered", "frame %s unanswered"},
	{regexp.MustCompile(`nothing it had received\s+appears unread`), "nothing unread", "data unread"},
	{regexp.MustCompile(`most likely still unread`), "data unread", "nothing unread"},
}

// claims returns the wire facts each flow's texts state, by stream.
func claims(t *testing.T, path string, p *analyzer.Profile) map[int64]map[string]string {
	t.Helper()
	src, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := map[int64]map[string]string{}
	cfg := analyzer.DefaultConfig()
	cfg.Profile = p
	cfg.MaxSegments = labelSegments
	add := func(stream int64, where, text string) {
		text = strings.Join(strings.Fields(text), " ")
		for _, c := range wireClaims {
			for _, m := range c.re.FindAllStringSubmatch(text, -1) {
				f := c.fact
				if len(m) > 1 {
					f = fmt.Sprintf(c.fact, m[1])
				}
				if out[stream] == nil {
					out[stream] = map[string]string{}
				}
				out[stream][f] = where + ": " + text
			}
		}
	}
	a := analyzer.New(cfg, func(td *analyzer.Teardown) {
		for _, sg := range td.Segments {
			add(td.Stream, fmt.Sprintf("frame %d", sg.Frame), sg.Explain)
		}
		for _, an := range td.Anomalies {
			add(td.Stream, an.Kind.String(), an.Detail)
		}
	})
	var st pipeline.Stats
	var r pipeline.Runner
	if err := r.Run(context.Background(), src, a, &st); err != nil {
		t.Fatal(err)
	}
	a.Close()
	return out
}

// TestProfilesAgreeOnTheWire: for every fixture, what the linux and
// rfc793 profiles say the capture shows (a segment answered or not, data
// left unread or not) is the same; only the kernel's reading may differ.
// On rst_unread_data the rfc793 profile said the client's last data
// "answered the server's request" where linux said it "was never
// answered".
func TestProfilesAgreeOnTheWire(t *testing.T) {
	matches, err := filepath.Glob(filepath.Join("..", "fixtures", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range matches {
		if !isCaptureName(filepath.Base(path)) {
			continue
		}
		n++
		lin := claims(t, path, &analyzer.Linux)
		rfc := claims(t, path, &analyzer.RFC793)
		var bad []string
		for stream, lc := range lin {
			for _, c := range wireClaims {
				for f, where := range lc {
					var frame string
					if strings.Contains(c.fact, "%s") {
						if _, err := fmt.Sscanf(f, c.fact, &frame); err != nil || fmt.Sprintf(c.fact, frame) != f {
							continue
						}
					} else if f != c.fact {
						continue
					}
					unfit := c.unfit
					if frame != "" {
						unfit = fmt.Sprintf(c.unfit, frame)
					}
					if other, ok := rfc[stream][unfit]; ok {
						bad = append(bad, fmt.Sprintf("stream %d: linux says %q (%s), rfc793 says %q (%s)", stream, f, where, unfit, other))
					}
				}
			}
		}
		sort.Strings(bad)
		for _, b := range bad {
			t.Errorf("%s: %s", filepath.Base(path), b)
		}
	}
	if n == 0 {
		t.Skip("no fixtures")
	}
}
