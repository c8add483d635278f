package report

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"net/netip"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/flow"
	"finwave/pipeline"
)

// encodingJSON is the reference: what the renderer wrote before
// appendJSONFlow, encoding/json with HTML escaping off.
func encodingJSON(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}

// TestAppendJSONFlowMatchesEncodingJSON: every flow of every fixture, in
// both profiles, with and without the JSON-lines type, encodes to the same
// bytes as encoding/json.
func TestAppendJSONFlowMatchesEncodingJSON(t *testing.T) {
	paths, _ := filepath.Glob("../fixtures/*.pcap*")
	if len(paths) == 0 {
		t.Fatal("no fixtures")
	}
	n := 0
	for _, p := range paths {
		for _, prof := range []string{"linux", "rfc793"} {
			cfg := analyzer.DefaultConfig()
			cfg.Profile, _ = analyzer.ProfileByName(prof)
			src, err := capture.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			a := analyzer.New(cfg, func(td *analyzer.Teardown) {
				f := toJSONFlow(td)
				for _, typ := range []string{"", "flow"} {
					f.Type = typ
					want := encodingJSON(t, f)
					got := appendJSONFlow(nil, td, typ)
					if !bytes.Equal(got, want) {
						t.Fatalf("%s stream %d:\n got %s\nwant %s", p, td.Stream, got, want)
					}
					n++
				}
			})
			var st pipeline.Stats
			_ = pipeline.Run(context.Background(), src, a, &st)
			a.Close()
			src.Close()
		}
	}
	if n == 0 {
		t.Fatal("no flows compared")
	}
}

// TestAppendJSONEdgeValues: zero times, empty slices, escapes, floats,
// addresses, against the encoding/json reference.
func TestAppendJSONEdgeValues(t *testing.T) {
	odd := "a\"b\\c\n\r\t\b\f\x00\x1f\x7f<>&é\u2028\u2029\xff\xfe"
	for i, td := range []*analyzer.Teardown{
		{},
		{Client: ep("[2001:db8::1]:443"), Server: ep("[::ffff:10.0.0.1]:80"), FirstTime: at(0), LastTime: at(1e-7),
			ZeekConnState: odd, Profile: odd},
		{Client: flow.Endpoint{Addr: netip.MustParseAddr("fe80::1%eth\"0"), Port: 1}, FirstTime: at(0), LastTime: at(123456.789),
			Segments: []analyzer.LabelledSegment{
				{Time: at(1e-7), Explain: odd, Changes: []analyzer.Change{{Reason: odd}}},
				{Time: at(9e9), Flags: 0xff},
				{Flags: flow.FIN},
			},
			Anomalies: []analyzer.Anomaly{{Frames: []int64{}, Detail: odd}, {Frames: []int64{1, 2}, Endpoint: analyzer.Server}}},
		{FirstTime: at(0), LastTime: at(0).Add(1)},
		{FirstTime: at(1), LastTime: at(0)},
	} {
		for _, typ := range []string{"", "flow"} {
			f := toJSONFlow(td)
			f.Type = typ
			want := encodingJSON(t, f)
			if got := appendJSONFlow(nil, td, typ); !bytes.Equal(got, want) {
				t.Errorf("%d:\n got %s\nwant %s", i, got, want)
			}
		}
	}
	// A byte needing escape at every position of the eight-byte scan.
	for _, special := range []string{"\x00", "\x1f", "\"", "\\", "\x7f", "\x80", "é", "\u2028", "\xff"} {
		for pos := range 18 {
			str := strings.Repeat("a", pos) + special + strings.Repeat("b", 17-pos)
			if got, want := appendJSONString(nil, str), encodingJSON(t, str); !bytes.Equal(got, want) {
				t.Errorf("%q: got %s, want %s", str, got, want)
			}
		}
	}
	for _, d := range []float64{0, 1e-7, 3.5e22, 123456.789, math.SmallestNonzeroFloat64, -2.5e-9, 1e21, 1e-6} {
		if got, want := appendJSONFloat(nil, d), encodingJSON(t, d); !bytes.Equal(got, want) {
			t.Errorf("float %g: got %s, want %s", d, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("plain", 1.5)
	f.Add("\x00\"\\\u2028\xff", 1e-9)
	f.Fuzz(func(t *testing.T, s string, d float64) {
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return
		}
		if got, want := appendJSONString(nil, s), encodingJSON(t, s); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
		if got, want := appendJSONFloat(nil, d), encodingJSON(t, d); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

// TestAppendTimeUTC: appendTimeUTC writes what time.RFC3339Nano does, for
// times around every edge (epochs, leap days, centuries, fractions with and
// without trailing zeros, other zones) and many random ones.
func TestAppendTimeUTC(t *testing.T) {
	check := func(tm time.Time) {
		t.Helper()
		if got, want := appendTimeUTC(nil, tm), tm.UTC().AppendFormat(nil, time.RFC3339Nano); !bytes.Equal(got, want) {
			t.Fatalf("%v: got %s, want %s", tm.UnixNano(), got, want)
		}
	}
	for _, y := range []int{-1, 0, 1, 4, 99, 100, 399, 400, 1582, 1600, 1900, 1969, 1970, 2000, 2024, 2026, 2100, 2400, 9999, 10000} {
		for _, md := range [][2]int{{1, 1}, {2, 28}, {2, 29}, {3, 1}, {12, 31}} {
			for _, ns := range []int{0, 1, 10, 100000, 123456789, 999999999, 500000000} {
				check(time.Date(y, time.Month(md[0]), md[1], 0, 0, 0, ns, time.UTC))
				check(time.Date(y, time.Month(md[0]), md[1], 23, 59, 59, ns, time.UTC))
			}
		}
	}
	check(time.Unix(0, 0))
	check(time.Unix(-1, 0))
	check(time.Unix(-86400, 1))
	check(time.Date(2026, 12, 6, 19, 55, 21, 87426000, time.FixedZone("x", -5*3600-1800)))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		check(time.Unix(rng.Int64N(1<<38)-1<<37, rng.Int64N(1e9)))
		check(time.Unix(rng.Int64N(1<<31), rng.Int64N(1e3)*1e6))
	}
}
