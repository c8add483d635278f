package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputsFixtures: finwave --tsv on every fixture against a golden
// (testdata/NAME.tsv.golden, -update rewrites it), and --tsv and --jsonl
// give the same bytes with -j 2 as with -j 1. The --jsonl lines are one
// object each, the flows in ascending stream order and the same flows as
// the --json document's, then the summary.
func TestOutputsFixtures(t *testing.T) {
	forEachFixture(t, func(t *testing.T, name, rel, testdata string) {
		outs := map[string]string{}
		for _, fl := range []string{"--tsv", "--jsonl"} {
			for _, j := range []string{"1", "2"} {
				code, out, errOut := runCLI(t, nil, "-j", j, fl, rel)
				if code != 0 || errOut != "" {
					t.Fatalf("finwave -j %s %s %s: exit %d, stderr %q", j, fl, rel, code, errOut)
				}
				if prev, ok := outs[fl]; ok && prev != out {
					t.Errorf("finwave -j 2 %s %s differs from -j 1", fl, rel)
				}
				outs[fl] = out
			}
		}
		fixtureGolden(t, filepath.Join(testdata, name+".tsv.golden"), []byte(outs["--tsv"]))
		checkTSV(t, outs["--tsv"])

		_, doc, _ := runCLI(t, nil, "-j", "1", "--json", rel)
		var d struct {
			Flows []json.RawMessage `json:"flows"`
		}
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(outs["--jsonl"], "\n"), "\n")
		if len(lines) != len(d.Flows)+1 {
			t.Fatalf("--jsonl: %d lines for %d flows", len(lines), len(d.Flows))
		}
		for i, l := range lines[:len(lines)-1] {
			want := append([]byte(`{"type":"flow",`), bytes.TrimPrefix(d.Flows[i], []byte("{"))...)
			if l != string(want) {
				t.Errorf("--jsonl line %d is not the document's flow %d:\n%s\n%s", i+1, i, l, want)
			}
		}
		if !strings.HasPrefix(lines[len(lines)-1], `{"type":"summary"`) {
			t.Errorf("--jsonl: last line %.40q is not the summary", lines[len(lines)-1])
		}
	})
}

// checkTSV: each row has as many columns as #fields, none empty.
func checkTSV(t *testing.T, out string) {
	t.Helper()
	var n int
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if f, ok := strings.CutPrefix(l, "#fields\t"); ok {
			n = len(strings.Split(f, "\t"))
			continue
		}
		if strings.HasPrefix(l, "#") {
			continue
		}
		cols := strings.Split(l, "\t")
		if n == 0 || len(cols) != n {
			t.Fatalf("row with %d columns, want %d: %q", len(cols), n, l)
		}
		for i, c := range cols {
			if c == "" {
				t.Errorf("row %q: column %d empty (want -)", l, i+1)
			}
		}
	}
}

func TestOutputsExclusive(t *testing.T) {
	for _, args := range [][]string{{"--json", "--tsv", "x.pcap"}, {"--jsonl", "--tsv", "x.pcap"}, {"--json", "--jsonl", "x.pcap"},
		{"hosts", "--tsv", "x.pcap"}, {"hosts", "--jsonl", "x.pcap"}} {
		if code, _, errOut := runCLI(t, nil, args...); code != 2 || !strings.Contains(errOut, "--tsv") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}
