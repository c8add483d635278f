package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"finwave/report/parquetout"
)

// duckDBScript reads each Parquet file named on its command line with
// DuckDB and prints, per file, one line {"file", "types"} (DuckDB's type
// of every column) and then one {"row"} per row in file order. Timestamps
// are printed as epoch_ns (DuckDB holds TIMESTAMPTZ in microseconds),
// everything else as DuckDB's to_json makes it (maps as objects, lists as
// arrays, structs as objects).
const duckDBScript = `
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  for (const f of process.argv.slice(2)) {
    const src = "read_parquet('" + f.replaceAll("'", "''") + "')";
    const desc = (await c.runAndReadAll('DESCRIBE SELECT * FROM ' + src)).getRowObjectsJson();
    const types = {};
    const cols = desc.map(d => {
      types[d.column_name] = d.column_type;
      const q = '"' + d.column_name + '"';
      if (d.column_type.startsWith('TIMESTAMP')) return 'epoch_ns(' + q + ') AS ' + q;
      if (/^MAP\(VARCHAR, TIMESTAMP/.test(d.column_type))
        return 'map_from_entries([{key: e.key, value: epoch_ns(e.value)} for e in map_entries(' + q + ')]) AS ' + q;
      return q;
    });
    console.log(JSON.stringify({ file: f, types }));
    const r = await c.runAndReadAll('SELECT to_json(t)::VARCHAR AS j FROM (SELECT ' + cols.join(', ') + ' FROM ' + src + ') t');
    for (const row of r.getRowObjectsJson()) console.log('{"row":' + row.j + '}');
  }
})().catch(e => { console.error(e.message); process.exit(1); });
`

// duckDBDir is where DuckDB's Node.js package is installed
// (node_modules/@duckdb/node-api under it): $FINWAVE_DUCKDB_NODE, else
// ~/.cache/finwave-duckdb, where .ci/run installs it with npm.
func duckDBDir() string {
	if d := os.Getenv("FINWAVE_DUCKDB_NODE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "finwave-duckdb")
}

// TestParquetSecondReader reads every table of every fixture with a
// second, independent Parquet implementation, DuckDB (its C++ reader,
// through the @duckdb/node-api npm package), and checks it against the
// JSON report as TestParquetMatchesJSON does with parquet-go: the same
// rows, the same values, and DuckDB's column types are the logical types
// SCHEMA.md promises (timestamps TIMESTAMP WITH TIME ZONE, ports INTEGER,
// counts BIGINT, lists, maps, structs). It skips, saying why, where node
// or the package is missing.
func TestParquetSecondReader(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("second Parquet reader: node not installed (DuckDB's npm package needs Node.js)")
	}
	mods := filepath.Join(duckDBDir(), "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "@duckdb", "node-api")); err != nil {
		t.Skipf("second Parquet reader: DuckDB's npm package not found in %s (.ci/run installs it: npm install --prefix %s @duckdb/node-api; or set FINWAVE_DUCKDB_NODE)", mods, duckDBDir())
	}
	script := filepath.Join(t.TempDir(), "read.cjs")
	if err := os.WriteFile(script, []byte(duckDBScript), 0o644); err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for table, row := range map[string]any{
		"flows": parquetout.FlowRow{}, "segments": parquetout.SegmentRow{}, "anomalies": parquetout.AnomalyRow{},
		"hosts": parquetout.HostRow{}, "services": parquetout.ServiceRow{}, "pairs": parquetout.PairRow{},
	} {
		for col, typ := range duckDBTypes(reflect.TypeOf(row)) {
			types[table+"."+col] = typ
		}
	}
	forEachFixture(t, func(t *testing.T, name, rel, testdata string) {
		dir, want := parquetAndWant(t, rel)
		tables := []string{"flows", "segments", "anomalies", "hosts", "services", "pairs"}
		var files []string
		for _, tb := range tables {
			files = append(files, filepath.Join(dir, tb+".parquet"))
		}
		cmd := exec.Command(node, append([]string{script}, files...)...)
		cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("duckdb: %v: %s", err, stderr.String())
		}
		got := map[string][]map[string]any{}
		timeCols := map[string]bool{}
		var table string
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber()
			var line struct {
				File  string            `json:"file"`
				Types map[string]string `json:"types"`
				Row   map[string]any    `json:"row"`
			}
			if err := dec.Decode(&line); err != nil {
				t.Fatalf("duckdb output %q: %v", sc.Text(), err)
			}
			if line.File != "" {
				table = strings.TrimSuffix(filepath.Base(line.File), ".parquet")
				for col, typ := range line.Types {
					if w := types[table+"."+col]; typ != w {
						t.Errorf("%s.%s: DuckDB reads %s, want %s", table, col, typ, w)
					}
					if strings.Contains(typ, "TIMESTAMP") {
						timeCols[table+"."+col] = true
					}
				}
				for col := range types {
					if c, ok := strings.CutPrefix(col, table+"."); ok && line.Types[c] == "" {
						t.Errorf("%s.%s: no such column in DuckDB's reading", table, c)
					}
				}
				got[table] = []map[string]any{}
				continue
			}
			got[table] = append(got[table], numbers(line.Row).(map[string]any))
		}
		for _, tb := range tables {
			// DuckDB's timestamps are microseconds: compare the JSON's
			// at that precision.
			for _, r := range want[tb] {
				for c := range r {
					if timeCols[tb+"."+c] {
						r[c] = truncMicros(r[c])
					}
				}
			}
			g := got[tb]
			if tb == "flows" || tb == "segments" || tb == "anomalies" {
				g = byKey(g)
			}
			compareRows(t, tb+" (DuckDB)", g, want[tb])
		}
	})
}

// numbers is a decoded JSON value with its numbers as canon makes them;
// DuckDB's timestamps are numbers already (epoch_ns).
func numbers(v any) any {
	var member func(k string, x any) any
	member = func(_ string, x any) any { return canonWith(x, member) }
	return canonWith(v, member)
}

// truncMicros floors Unix ns (or a map of them) to whole microseconds.
func truncMicros(v any) any {
	switch v := v.(type) {
	case int64:
		return v - v%1000
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = truncMicros(x)
		}
		return out
	}
	return v
}

// duckDBTypes is the DuckDB type each column of the row struct t must be
// read as: the logical types SCHEMA.md documents.
func duckDBTypes(t reflect.Type) map[string]string {
	out := map[string]string{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		out[name] = duckDBType(f.Type, strings.Contains(f.Tag.Get("parquet-value"), "timestamp"))
	}
	return out
}

func duckDBType(t reflect.Type, tsValue bool) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "VARCHAR"
	case reflect.Int64:
		if tsValue {
			return "TIMESTAMP WITH TIME ZONE"
		}
		return "BIGINT"
	case reflect.Int32:
		return "INTEGER"
	case reflect.Float64:
		return "DOUBLE"
	case reflect.Bool:
		return "BOOLEAN"
	case reflect.Slice:
		return duckDBType(t.Elem(), false) + "[]"
	case reflect.Map:
		return "MAP(VARCHAR, " + duckDBType(t.Elem(), tsValue) + ")"
	case reflect.Struct:
		if t.PkgPath() == "time" && t.Name() == "Time" {
			return "TIMESTAMP WITH TIME ZONE"
		}
		var fs []string
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("parquet"), ",")
			if name == "from" || name == "to" { // SQL keywords: DuckDB quotes them
				name = `"` + name + `"`
			}
			fs = append(fs, name+" "+duckDBType(t.Field(i).Type, false))
		}
		return "STRUCT(" + strings.Join(fs, ", ") + ")"
	}
	return "?" + t.String()
}
