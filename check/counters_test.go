package check

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/pipeline"
)

// fixtureTruth is what a fixture's .truth says about counters: each
// namespace's nstat deltas, which namespace holds each endpoint, and the
// addresses a crafted segment claimed to come from.
type fixtureTruth struct {
	delta   map[string]map[string]int64 // namespace → counter → delta
	hostOf  map[string]string           // "ip:port" → namespace
	crafted map[string]bool             // "ip:port" some crafted segment claimed as its source
	offWire map[string]bool             // namespaces that dropped some of their own segments (iptables OUTPUT)
	path    string                      // the .truth file
}

var (
	flowLine    = regexp.MustCompile(`^\s+flow \S+: (\S+) > (\S+) \(client in (\S+), server in (\S+)\)`)
	nstatHeader = regexp.MustCompile(`^== nstat delta (\S+) `)
	nstatLine   = regexp.MustCompile(`^\s+(\w+)\s+([+-]\d+)\s*$`)
	craftedLine = regexp.MustCompile(`crafted \[\S*\] (\S+) > `)
	outDropLine = regexp.MustCompile(`^\s+\S+s script\s+(\S+): iptables -A OUTPUT .* -j DROP`)
)

func readTruth(t *testing.T, path string) fixtureTruth {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := fixtureTruth{delta: map[string]map[string]int64{}, hostOf: map[string]string{}, crafted: map[string]bool{}, offWire: map[string]bool{}}
	ns := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if m := flowLine.FindStringSubmatch(l); m != nil {
			tr.hostOf[m[1]], tr.hostOf[m[2]] = m[3], m[4]
		}
		if m := craftedLine.FindStringSubmatch(l); m != nil {
			tr.crafted[m[1]] = true
		}
		if m := outDropLine.FindStringSubmatch(l); m != nil {
			tr.offWire[m[1]] = true
		}
		if strings.HasPrefix(l, "== ") {
			ns = ""
			if m := nstatHeader.FindStringSubmatch(l); m != nil {
				ns = m[1]
				tr.delta[ns] = map[string]int64{}
			}
			continue
		}
		if m := nstatLine.FindStringSubmatch(l); ns != "" && m != nil {
			v, _ := strconv.ParseInt(m[2], 10, 64)
			tr.delta[ns][m[1]] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestCountersAgainstTruth: every nstat counter finwave says an anomaly
// incremented (Anomaly.Counters) moved, by at least one, in the namespace
// of that anomaly's endpoint when the fixture was recorded. Anomalies of
// an endpoint whose address a crafted segment used are left out: no
// kernel counted what the injector sent.
func TestCountersAgainstTruth(t *testing.T) {
	checked := 0
	forEachTruth(t, func(t *testing.T, tr fixtureTruth, tds []*analyzer.Teardown) {
		for _, td := range tds {
			for _, an := range td.Anomalies {
				addr := td.Endpoint(an.Endpoint).String()
				if tr.crafted[addr] || len(an.Counters) == 0 {
					continue
				}
				ns, ok := tr.hostOf[addr]
				if !ok {
					t.Errorf("stream %d: %v at %s: the truth names no namespace for it", td.Stream, an.Kind, addr)
					continue
				}
				for _, c := range an.Counters {
					checked++
					if d, ok := tr.delta[ns][c]; !ok || d < 1 {
						t.Errorf("stream %d: %v at %s says %s moved; nstat delta of %s: %d (recorded: %v)", td.Stream, an.Kind, addr, c, ns, d, ok)
					}
				}
			}
		}
	})
	if checked == 0 {
		t.Error("no counter checked: the test checks nothing")
	}
}

// forEachTruth runs f, as a subtest named after the fixture, on every
// fixture with a truth and a capture: the truth, and the teardowns of the
// capture analysed with the options the fixture was recorded with.
func forEachTruth(t *testing.T, f func(t *testing.T, tr fixtureTruth, tds []*analyzer.Teardown)) {
	t.Helper()
	truths, err := filepath.Glob(filepath.Join("..", "fixtures", "*.truth"))
	if err != nil || len(truths) == 0 {
		t.Fatalf("no fixtures/*.truth (%v)", err)
	}
	for _, truth := range truths {
		stem := strings.TrimSuffix(truth, ".truth")
		capPath := ""
		for _, ext := range []string{".pcap", ".pcapng", ".pcap.gz"} {
			if _, err := os.Stat(stem + ext); err == nil {
				capPath = stem + ext
			}
		}
		if capPath == "" {
			continue
		}
		t.Run(filepath.Base(stem), func(t *testing.T) {
			tr := readTruth(t, truth)
			tr.path = truth
			cfg := analyzer.DefaultConfig()
			if e, err := ParseFile(stem + ".expect"); err == nil {
				e.Apply(&cfg) // the options the fixture was recorded with
			}
			src, err := capture.Open(capPath)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var tds []*analyzer.Teardown
			a := analyzer.New(cfg, func(td *analyzer.Teardown) { tds = append(tds, td) })
			var st pipeline.Stats
			if err := pipeline.Run(context.Background(), src, a, &st); err != nil {
				t.Fatal(err)
			}
			a.Close()
			f(t, tr, tds)
		})
	}
}
