package report

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"finwave/analyzer"
	"finwave/capture"
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
					got := appendJSONFlow(nil, f)
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

// TestAppendJSONEdgeValues: nulls, empty slices, escapes, floats.
func TestAppendJSONEdgeValues(t *testing.T) {
	tiny, big := 1e-7, 3.5e22
	for _, f := range []*jsonFlow{
		{},
		{Segments: []jsonSegment{}, Anomalies: []jsonAnomaly{}, Duration: 1e-7},
		{Client: "a\"b\\c\n\r\t\b\f\x00\x1f\x7f<>&é\u2028\u2029\xff\xfe", Duration: 123456.789,
			Segments:  []jsonSegment{{Time: &tiny, Changes: []jsonChange{{}}}, {Time: &big}},
			Anomalies: []jsonAnomaly{{Frames: []int64{}}, {Frames: []int64{1, 2}}}},
		{Duration: math.SmallestNonzeroFloat64},
		{Duration: -2.5e-9},
	} {
		want := encodingJSON(t, f)
		if got := appendJSONFlow(nil, f); !bytes.Equal(got, want) {
			t.Errorf("\n got %s\nwant %s", got, want)
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
		jf := &jsonFlow{Client: s, Duration: d}
		want := encodingJSON(t, jf)
		if got := appendJSONFlow(nil, jf); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}
