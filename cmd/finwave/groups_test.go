package main

import (
	"path/filepath"
	"testing"
)

// TestGroupedReportJobs: the default text report (groups, one exemplar
// each) is the same with one goroutine and with several, whose flows
// finish in another order, and pinned in a golden file for the fixture
// with the most flows. The same -j identity for the JSON document and its
// groups (pinned with every fixture's by TestFixtureGoldens).
func TestGroupedReportJobs(t *testing.T) {
	const fixture = "fixtures/many_flows.pcap"
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join("..", ".."))
	for _, f := range []struct{ ext, flag string }{{"txt", "--no-color"}, {"json", "--json"}} {
		code, one, errOut := runCLI(t, nil, "-j", "1", f.flag, fixture)
		if code != 0 || errOut != "" {
			t.Fatalf("finwave -j 1 %s %s: exit %d, stderr %q", f.flag, fixture, code, errOut)
		}
		if f.ext == "txt" {
			fixtureGolden(t, filepath.Join(testdata, "many_flows.grouped.txt.golden"), []byte(one))
		}
		for _, j := range []string{"2", "4"} {
			code, out, _ := runCLI(t, nil, "-j", j, f.flag, fixture)
			if code != 0 || out != one {
				t.Errorf("finwave -j %s %s %s: exit %d, output differs from -j 1", j, f.flag, fixture, code)
			}
		}
	}
}
