package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"finwave/internal/synth"
	"finwave/report/parquetout"
)

// parquetOnly are the columns with no JSON field to check them against:
// the flow key and where the capture came from, and figures the JSON flow
// does not carry (they feed the services' idle statistics).
var parquetOnly = map[string]bool{
	"idle_before_close_ns": true, "reuse_idle_ns": true,
}

// TestParquetMatchesJSON runs --json and --parquet over every fixture and
// checks every table read back with parquet-go against the JSON report,
// row for row and column for column: each column is derived here from the
// JSON by the mapping report/SCHEMA.md documents (nested keys joined by
// "_", counts of lists, timestamps parsed), and a column the mapping does
// not name fails the test, as does a JSON field that has no column.
func TestParquetMatchesJSON(t *testing.T) {
	forEachFixture(t, func(t *testing.T, name, rel, testdata string) {
		dir, want := parquetAndWant(t, rel)
		compareRows(t, "flows", byKey(readRows[parquetout.FlowRow](t, dir, "flows.parquet")), want["flows"])
		compareRows(t, "segments", byKey(readRows[parquetout.SegmentRow](t, dir, "segments.parquet")), want["segments"])
		compareRows(t, "anomalies", byKey(readRows[parquetout.AnomalyRow](t, dir, "anomalies.parquet")), want["anomalies"])
		compareRows(t, "hosts", readRows[parquetout.HostRow](t, dir, "hosts.parquet"), want["hosts"])
		compareRows(t, "services", readRows[parquetout.ServiceRow](t, dir, "services.parquet"), want["services"])
		compareRows(t, "pairs", readRows[parquetout.PairRow](t, dir, "pairs.parquet"), want["pairs"])
	})
}

// parquetAndWant runs --json and then -q --parquet (with --capture-host
// probe-1) over the capture rel, and returns the Parquet directory and,
// by table name, the rows the JSON says each table must hold, derived by
// the mapping report/SCHEMA.md documents. Flows, segments and anomalies
// are in flow key order (Parquet has them in finish order, the JSON in
// the report's order; a flow's own rows keep their order), the roll-ups
// in the JSON's order.
func parquetAndWant(t *testing.T, rel string) (string, map[string][]map[string]any) {
	t.Helper()
	code, out, errOut := runCLI(t, nil, "--json", rel)
	if code != 0 && code != 1 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("json: %v", err)
	}
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, nil, "-q", "--capture-host", "probe-1", "--parquet", dir, rel); code != 0 && code != 1 {
		t.Fatalf("--parquet: exit %d: %s", code, errOut)
	}
	file := doc["file"].(string)
	var flows, segs, anoms []map[string]any
	for _, f := range doc["flows"].([]any) {
		f := f.(map[string]any)
		key := fmt.Sprintf("%s/%s/%d", file, f["stream"], jsonNS(t, f["first_time"]))
		common := map[string]any{"capture": file, "host": "probe-1", "key": key, "stream": num(f["stream"])}
		flows = append(flows, merge(common, wantFlow(t, f)))
		for _, s := range f["segments"].([]any) {
			segs = append(segs, merge(common, wantSegment(t, s.(map[string]any))))
		}
		for _, a := range f["anomalies"].([]any) {
			anoms = append(anoms, merge(common, canon(t, a).(map[string]any)))
		}
	}
	roll := func(k string, conv func(map[string]any) map[string]any) []map[string]any {
		var rows []map[string]any
		for _, e := range doc[k].([]any) {
			rows = append(rows, merge(map[string]any{"capture": file, "host": "probe-1"}, conv(e.(map[string]any))))
		}
		return rows
	}
	return dir, map[string][]map[string]any{
		"flows":     byKey(flows),
		"segments":  byKey(segs),
		"anomalies": byKey(anoms),
		"hosts":     roll("hosts", func(h map[string]any) map[string]any { return wantHost(t, h) }),
		"services":  roll("services", func(s map[string]any) map[string]any { return wantService(t, s) }),
		"pairs":     roll("pairs", func(p map[string]any) map[string]any { return canon(t, p).(map[string]any) }),
	}
}

// wantFlow is the flows.parquet row of one JSON flow.
func wantFlow(t *testing.T, f map[string]any) map[string]any {
	w := map[string]any{}
	for k, v := range f {
		switch k {
		case "stream", "segments", "anomalies", "zeek", "kernel":
		case "wireshark_streams":
			ids := []any{}
			for _, s := range v.([]any) {
				ids = append(ids, num(s.(map[string]any)["stream"]))
			}
			w[k] = ids
		case "client", "server":
			host, port, err := net.SplitHostPort(v.(string))
			if err != nil {
				t.Fatal(err)
			}
			p, _ := strconv.ParseInt(port, 10, 64)
			w[k+"_addr"], w[k+"_port"] = host, p
		case "tunnel":
			w["tunnel_type"], w["tunnel_id"], w["tunnel_outer_src"], w["tunnel_outer_dst"], w["tunnel_path"] = nil, nil, nil, nil, []any{}
			if v != nil {
				for tk, tv := range canon(t, v).(map[string]any) {
					w["tunnel_"+tk] = tv
				}
			}
		case "vantage":
			w["vantage_at"] = v.(map[string]any)["at"]
			w["vantage_evidence"] = canon(t, v.(map[string]any)["evidence"])
		case "packets", "bytes", "checksums", "offload":
			flatten(t, w, k, v)
		default:
			w[k] = canonKey(t, k, v)
		}
	}
	w["segments"] = int64(len(f["segments"].([]any)))
	w["anomalies"] = int64(len(f["anomalies"].([]any)))
	w["zeek_conns"] = int64(len(f["zeek"].([]any)))
	kinds := []any{}
	for _, a := range f["anomalies"].([]any) {
		kinds = append(kinds, a.(map[string]any)["kind"])
	}
	w["anomaly_kinds"] = kinds
	return w
}

// wantSegment is the segments.parquet row of one JSON segment.
func wantSegment(t *testing.T, s map[string]any) map[string]any {
	return canon(t, s).(map[string]any)
}

// wantHost is the hosts.parquet row of one JSON host: closed_first and
// population flattened, predicted_nstat split into min and max maps, the
// population's series (a list per state) left out, peak_at without nulls.
func wantHost(t *testing.T, h map[string]any) map[string]any {
	w := map[string]any{}
	for k, v := range h {
		switch k {
		case "closed_first":
			flatten(t, w, k, v)
		case "predicted_nstat":
			lo, hi := map[string]any{}, map[string]any{}
			for c, b := range v.(map[string]any) {
				lo[c], hi[c] = num(b.(map[string]any)["min"]), num(b.(map[string]any)["max"])
			}
			w[k+"_min"], w[k+"_max"] = lo, hi
		case "population":
			for pk, pv := range v.(map[string]any) {
				switch pk {
				case "series":
				case "peak_at":
					m := map[string]any{}
					for s, at := range pv.(map[string]any) {
						if at != nil {
							m[s] = jsonNS(t, at)
						}
					}
					w["population_peak_at"] = m
				default:
					w["population_"+pk] = canonKey(t, pk, pv)
				}
			}
		default:
			w[k] = canonKey(t, k, v)
		}
	}
	return w
}

// wantService is the services.parquet row of one JSON service.
func wantService(t *testing.T, s map[string]any) map[string]any {
	w := map[string]any{}
	for k, v := range s {
		switch k {
		case "closed_first", "close_wait_at_end":
			flatten(t, w, k, v)
		default:
			w[k] = canonKey(t, k, v)
		}
	}
	return w
}

// flatten puts the scalars of the JSON object v into w under their key
// paths joined by "_" (packets.client → packets_client).
func flatten(t *testing.T, w map[string]any, prefix string, v any) {
	for k, x := range v.(map[string]any) {
		if m, ok := x.(map[string]any); ok {
			flatten(t, w, prefix+"_"+k, m)
			continue
		}
		w[prefix+"_"+k] = canonKey(t, k, x)
	}
}

// isTimeKey says which JSON keys hold timestamps (RFC 3339 strings or
// null), as SCHEMA.md lists them.
func isTimeKey(k string) bool {
	return strings.HasSuffix(k, "_time") || strings.HasSuffix(k, "_since") || strings.HasSuffix(k, "_until") ||
		k == "timestamp" || k == "start" || k == "first" || k == "last" || k == "peak_at"
}

// canonKey is canon, with the strings of timestamp keys as Unix ns.
func canonKey(t *testing.T, k string, v any) any {
	if isTimeKey(k) {
		if v == nil {
			return nil
		}
		return jsonNS(t, v)
	}
	return canon(t, v)
}

// canon makes a decoded JSON value comparable with a Parquet one:
// integers int64, other numbers float64, timestamps by key.
func canon(t *testing.T, v any) any {
	return canonWith(v, func(k string, x any) any { return canonKey(t, k, x) })
}

// canonWith is canon with key deciding each object member's value (a
// timestamp key's string parsed, or not).
func canonWith(v any, key func(k string, v any) any) any {
	switch v := v.(type) {
	case json.Number:
		return num(v)
	case []any:
		out := []any{}
		for _, x := range v {
			out = append(out, canonWith(x, key))
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = key(k, x)
		}
		return out
	}
	return v
}

func num(v any) any {
	n := v.(json.Number)
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i
	}
	f, _ := strconv.ParseFloat(string(n), 64)
	return f
}

// jsonNS is a JSON timestamp as Unix ns, 0 for null (the flow key's).
func jsonNS(t *testing.T, v any) int64 {
	if v == nil {
		return 0
	}
	tm, err := time.Parse(time.RFC3339Nano, v.(string))
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixNano()
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// readRows reads a table with parquet-go into rows of canonical values by
// column name (the struct's parquet tags).
func readRows[T any](t *testing.T, dir, name string) []map[string]any {
	rows, err := parquet.ReadFile[T](filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := make([]map[string]any, len(rows))
	for i := range rows {
		out[i] = structMap(reflect.ValueOf(rows[i]))
	}
	return out
}

// structMap is a row struct by column name.
func structMap(v reflect.Value) map[string]any {
	m := map[string]any{}
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("parquet"), ",")
		m[name] = canonValue(v.Field(i))
	}
	return m
}

// canonValue is a Parquet row's value as canon makes JSON's: nil for a
// null, int64, float64, Unix ns for a time, []any, map[string]any.
func canonValue(v reflect.Value) any {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if tm, ok := v.Interface().(time.Time); ok {
		return tm.UnixNano()
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Float64:
		return v.Float()
	case reflect.Slice:
		out := []any{}
		for i := range v.Len() {
			out = append(out, canonValue(v.Index(i)))
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			out[k.String()] = canonValue(v.MapIndex(k))
		}
		return out
	case reflect.Struct:
		return structMap(v)
	}
	return v.Interface()
}

// compareRows checks got (read back) against want (from the JSON) row by
// row: the same column names, the same values; the host column is null
// when no --capture-host was given, so "" is never written.
func compareRows(t *testing.T, table string, got, want []map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows in Parquet, %d from the JSON", table, len(got), len(want))
		return
	}
	for i := range got {
		var cols []string
		for k := range got[i] {
			cols = append(cols, k)
		}
		for k := range want[i] {
			if _, ok := got[i][k]; !ok {
				cols = append(cols, k)
			}
		}
		sort.Strings(cols)
		var diffs []string
		for _, c := range slices.Compact(cols) {
			g, inG := got[i][c]
			w, inW := want[i][c]
			switch {
			case !inW && parquetOnly[c]:
			case !inW:
				diffs = append(diffs, fmt.Sprintf("column %s (%v) has no JSON field", c, g))
			case !inG:
				diffs = append(diffs, fmt.Sprintf("JSON field %s (%v) has no column", c, w))
			case !equal(g, w):
				diffs = append(diffs, fmt.Sprintf("%s: parquet %s, json %s", c, show(g), show(w)))
			}
		}
		if len(diffs) > 0 {
			t.Errorf("%s row %d (%v):\n  %s", table, i, got[i]["key"], strings.Join(diffs, "\n  "))
			return
		}
	}
}

// byKey orders rows by their flow key, keeping the order of one key's
// rows.
func byKey(rows []map[string]any) []map[string]any {
	slices.SortStableFunc(rows, func(a, b map[string]any) int {
		return strings.Compare(a["key"].(string), b["key"].(string))
	})
	return rows
}

// equal is reflect.DeepEqual but for numbers, equal by value whatever
// their type: the JSON writes 60.0 as 60.
func equal(a, b any) bool {
	switch a := a.(type) {
	case int64:
		if f, ok := b.(float64); ok {
			return float64(a) == f
		}
	case float64:
		if i, ok := b.(int64); ok {
			return a == float64(i)
		}
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if w, ok := b[k]; !ok || !equal(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func show(v any) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%#v", v)
	return b.String()
}

// TestParquetSameOnOneCPU checks that the encoder goroutine changes
// nothing: the tables written for a synthetic capture of 3,000
// connections (a dozen batches) are byte for byte the same with one CPU
// (GOMAXPROCS=1: batches written in Flow) as with several (batches
// encoded on their own goroutine).
func TestParquetSameOnOneCPU(t *testing.T) {
	if runtime.GOMAXPROCS(0) == 1 {
		runtime.GOMAXPROCS(2)
		defer runtime.GOMAXPROCS(1)
	}
	capFile := filepath.Join(t.TempDir(), "synth.pcap")
	var syn bytes.Buffer
	if _, err := synth.Write(&syn, synth.Config{Conns: 3000}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(capFile, syn.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func() string {
		dir := t.TempDir()
		if code, _, errOut := runCLI(t, nil, "-q", "--parquet", dir, capFile); code != 0 && code != 1 {
			t.Fatalf("--parquet: exit %d: %s", code, errOut)
		}
		return dir
	}
	async := write()
	prev := runtime.GOMAXPROCS(1)
	sync := write()
	runtime.GOMAXPROCS(prev)
	for _, name := range parquetout.Tables {
		a, err := os.ReadFile(filepath.Join(async, name))
		if err != nil {
			t.Fatal(err)
		}
		s, err := os.ReadFile(filepath.Join(sync, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, s) {
			t.Errorf("%s: %d bytes written by the encoder goroutine, %d with one CPU, not the same", name, len(a), len(s))
		}
	}
	if n := len(readRows[parquetout.FlowRow](t, async, "flows.parquet")); n != 3000 {
		t.Errorf("flows.parquet: %d rows, want 3000", n)
	}
}
