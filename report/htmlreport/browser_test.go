package htmlreport

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"finwave/report"
)

// chromium finds a Chromium or Chrome binary; the browser tests skip,
// saying so, without one (.ci/run installs Debian's chromium when it can).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium here (apt-get install chromium): the report is not opened in a browser")
	return ""
}

// headless runs the browser on page with args, as the machine allows it
// (root: no sandbox; no background networking, which this network refuses).
func headless(t *testing.T, bin, page string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--hide-scrollbars"}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+page)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, stderr.String())
	}
	return out
}

// errorCatcher, put first in the page's head, records any script error on
// the root element, where the dumped DOM shows it.
const errorCatcher = `<script>window.addEventListener('error',function(e){document.documentElement.setAttribute('data-js-error',String(e.message))});</script>`

// TestInBrowser opens the report of several fixtures in headless Chromium:
// the page's script runs without error, and the DOM the browser built has
// every ladder arrow, state and anomaly badge the flows call for (counted
// from the analyzer's teardowns, not from the page), the overview, the
// flows table's rows. Screenshots, light and dark, go to
// $FINWAVE_SCREENSHOTS (a temporary directory otherwise) for review.
func TestInBrowser(t *testing.T) {
	bin := chromium(t)
	shots := os.Getenv("FINWAVE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fin_retransmission.pcap", "rst_unread_data.pcap", "lost_final_ack.pcap",
		"time_wait_assassination.pcap", "simultaneous_close.pcap", "close_wait_leak.pcap"} {
		t.Run(name, func(t *testing.T) {
			page := renderFixtures(t, Options{Report: report.DefaultOptions()}, name)
			page = bytes.Replace(page, []byte("<head>"), []byte("<head>"+errorCatcher), 1)
			path := filepath.Join(t.TempDir(), strings.TrimSuffix(name, ".pcap")+".html")
			if err := os.WriteFile(path, page, 0o644); err != nil {
				t.Fatal(err)
			}
			dom := string(headless(t, bin, path, "--dump-dom"))
			if m := regexp.MustCompile(`data-js-error="([^"]*)"`).FindStringSubmatch(dom); m != nil {
				t.Fatalf("script error in the browser: %s", m[1])
			}
			// Each flow of these fixtures is drawn once (its group's
			// exemplar, or a listed flow).
			var w svgStats
			tds := fixtureTeardowns(t, filepath.Join("..", "..", "fixtures", name))
			for _, td := range tds {
				x := want(td)
				w.arrows += x.arrows
				w.states += x.states
				w.anomalies += x.anomalies
			}
			count := func(re string) int { return len(regexp.MustCompile(re).FindAllStringIndex(dom, -1)) }
			got := svgStats{
				arrows:    count(`<g class="seg[ "]`),
				states:    count(`<g class="st[ "]`),
				anomalies: count(`<g class="anom[ "]`),
			}
			if got.arrows != w.arrows || got.states != w.states || got.anomalies != w.anomalies {
				t.Errorf("the browser's DOM has %d arrows, %d states, %d anomaly badges; the flows call for %d, %d, %d",
					got.arrows, got.states, got.anomalies, w.arrows, w.states, w.anomalies)
			}
			if !strings.Contains(dom, `id="overview"`) || count(`<tr[ >][^<]*<td`) < len(tds) {
				t.Errorf("the overview or the flows table's %d rows are missing from the DOM", len(tds))
			}
			base := filepath.Join(shots, strings.TrimSuffix(name, ".pcap"))
			headless(t, bin, path, "--window-size=1280,2200", "--screenshot="+base+".png")
			headless(t, bin, path, "--window-size=1280,2200", "--blink-settings=preferredColorScheme=0", "--screenshot="+base+"-dark.png")
			for _, p := range []string{base + ".png", base + "-dark.png"} {
				if st, err := os.Stat(p); err != nil || st.Size() < 10_000 {
					t.Errorf("screenshot %s: %v (want a picture of the page)", p, err)
				}
			}
		})
	}
}
