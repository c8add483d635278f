package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"finwave/report/parquetout"
)

// TestParquetMatchesJSON runs --json and --parquet over every fixture and
// checks flows.parquet and anomalies.parquet, read back with parquet-go,
// against the JSON report flow for flow and field for field.
func TestParquetMatchesJSON(t *testing.T) {
	forEachFixture(t, func(t *testing.T, name, rel, testdata string) {
		code, out, errOut := runCLI(t, nil, "--json", rel)
		if code != 0 && code != 1 {
			t.Fatalf("--json: exit %d: %s", code, errOut)
		}
		var doc struct {
			File  string `json:"file"`
			Flows []struct {
				Stream          int64 `json:"stream"`
				Client, Server  string
				Roles           string  `json:"roles"`
				FirstFrame      int64   `json:"first_frame"`
				LastFrame       int64   `json:"last_frame"`
				FirstTime       *string `json:"first_time"`
				LastTime        *string `json:"last_time"`
				Duration        float64 `json:"duration"`
				Pattern         string  `json:"pattern"`
				Closer          string  `json:"closer"`
				Verdict         string  `json:"verdict"`
				ZeekConnState   string  `json:"zeek_conn_state"`
				ZeekHistory     string  `json:"zeek_history"`
				Continued       bool    `json:"continued"`
				Profile         string  `json:"profile"`
				Segments        []json.RawMessage
				SegmentsOmitted int64 `json:"segments_omitted"`
				Anomalies       []struct {
					Kind     string  `json:"kind"`
					Endpoint string  `json:"endpoint"`
					Severity string  `json:"severity"`
					Frames   []int64 `json:"frames"`
					Detail   string  `json:"detail"`
				}
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("json: %v", err)
		}
		dir := t.TempDir()
		if code, _, errOut := runCLI(t, nil, "-q", "--parquet", dir, rel); code != 0 && code != 1 {
			t.Fatalf("--parquet: exit %d: %s", code, errOut)
		}
		flows, err := parquet.ReadFile[parquetout.FlowRow](filepath.Join(dir, "flows.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		anoms, err := parquet.ReadFile[parquetout.AnomalyRow](filepath.Join(dir, "anomalies.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		if len(flows) != len(doc.Flows) {
			t.Fatalf("%d parquet flows, %d JSON flows", len(flows), len(doc.Flows))
		}
		byKey := map[string]parquetout.FlowRow{}
		for _, f := range flows {
			byKey[f.Key] = f
		}
		anomsByKey := map[string][]parquetout.AnomalyRow{}
		for _, a := range anoms {
			anomsByKey[a.Key] = append(anomsByKey[a.Key], a)
		}
		ts := func(s *string) (time.Time, int64) {
			if s == nil {
				return time.Time{}, 0
			}
			tm, err := time.Parse(time.RFC3339Nano, *s)
			if err != nil {
				t.Fatal(err)
			}
			return tm, tm.UnixNano()
		}
		nAnoms := 0
		for _, j := range doc.Flows {
			first, ns := ts(j.FirstTime)
			last, _ := ts(j.LastTime)
			key := doc.File + "/" + strconv.FormatInt(j.Stream, 10) + "/" + strconv.FormatInt(ns, 10)
			p, ok := byKey[key]
			if !ok {
				t.Fatalf("no parquet flow with key %q", key)
			}
			got := fmt.Sprintln(p.Stream, p.ClientAddr, p.ClientPort, p.ServerAddr, p.ServerPort, p.Roles, p.FirstFrame, p.LastFrame,
				p.FirstTime.UnixNano(), p.LastTime.UnixNano(), p.Duration, p.Pattern, p.Closer, p.Verdict,
				p.ZeekConnState, p.ZeekHistory, p.Continued, p.Profile, p.Segments, p.SegmentsOmitted, p.Anomalies, p.Capture)
			want := fmt.Sprintln(j.Stream, endpointParts(t, j.Client), endpointParts(t, j.Server), j.Roles, j.FirstFrame, j.LastFrame,
				first.UnixNano(), last.UnixNano(), j.Duration, j.Pattern, j.Closer, j.Verdict,
				j.ZeekConnState, j.ZeekHistory, j.Continued, j.Profile, len(j.Segments), j.SegmentsOmitted, len(j.Anomalies), doc.File)
			if j.FirstTime == nil {
				want = fmt.Sprintln(j.Stream, endpointParts(t, j.Client), endpointParts(t, j.Server), j.Roles, j.FirstFrame, j.LastFrame,
					p.FirstTime.UnixNano(), p.LastTime.UnixNano(), j.Duration, j.Pattern, j.Closer, j.Verdict,
					j.ZeekConnState, j.ZeekHistory, j.Continued, j.Profile, len(j.Segments), j.SegmentsOmitted, len(j.Anomalies), doc.File)
			}
			if got != want {
				t.Errorf("flow %s:\nparquet %s\njson    %s", key, got, want)
			}
			pa := anomsByKey[key]
			if len(pa) != len(j.Anomalies) {
				t.Fatalf("flow %s: %d parquet anomalies, %d JSON", key, len(pa), len(j.Anomalies))
			}
			for i, ja := range j.Anomalies {
				a := pa[i]
				if g, w := fmt.Sprintln(a.Kind, a.Endpoint, a.Severity, a.Frames, a.Detail), fmt.Sprintln(ja.Kind, ja.Endpoint, ja.Severity, ja.Frames, ja.Detail); g != w {
					t.Errorf("flow %s anomaly %d:\nparquet %s\njson    %s", key, i, g, w)
				}
			}
			nAnoms += len(j.Anomalies)
		}
		if len(anoms) != nAnoms {
			t.Errorf("%d parquet anomalies, %d JSON", len(anoms), nAnoms)
		}
	})
}

// endpointParts splits the JSON's ip:port ([v6]:port) as the Parquet
// columns hold it: address, port.
func endpointParts(t *testing.T, ep string) string {
	host, port, err := splitHostPort(ep)
	if err != nil {
		t.Fatalf("endpoint %q: %v", ep, err)
	}
	return host + " " + port
}

// TestParquetSecondReader reads the files with DuckDB's Python module
// when one is installed; it skips otherwise.
func TestParquetSecondReader(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("second reader: no python3")
	}
	if exec.Command(py, "-c", "import duckdb").Run() != nil {
		t.Skip("second reader: python3 has no duckdb module (pip install duckdb)")
	}
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, nil, "-q", "--parquet", dir, "../../fixtures/lost_final_ack.pcap"); code != 0 && code != 1 {
		t.Fatalf("--parquet: exit %d: %s", code, errOut)
	}
	q := fmt.Sprintf(`import duckdb; print(duckdb.sql("select count(*), min(stream), any_value(pattern), any_value(typeof(first_time)) from '%s/flows.parquet'").fetchall())`, dir)
	out, err := exec.Command(py, "-c", q).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v: %s", err, out)
	}
	if want := "[(1, 0, 'four-way', 'TIMESTAMP_NS')]\n"; string(out) != want {
		t.Errorf("duckdb read %q, want %q", out, want)
	}
}

func splitHostPort(ep string) (string, string, error) { return net.SplitHostPort(ep) }
