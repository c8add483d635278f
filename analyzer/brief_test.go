package analyzer

import (
	"reflect"
	"testing"
	"time"
)

// briefRun analyses two flows (a reset with the client's data unread,
// then a clean close) under the default Config changed by set.
func briefRun(set func(*Config)) []*Teardown {
	var got []*Teardown
	cfg := DefaultConfig()
	set(&cfg)
	a := New(cfg, func(td *Teardown) { got = append(got, td) })
	w := &wire{now: time.Unix(1_700_000_000, 0)}
	resetUnread(a, w, 1)
	a.Advance(w.now.Add(10 * time.Second))
	fourWay(a, w, 2)
	a.Close()
	return got
}

// sameExported reports every exported field of Teardown in which f and b
// differ.
func sameExported(t *testing.T, flow int, option string, f, b Teardown) {
	t.Helper()
	fv, bv := reflect.ValueOf(f), reflect.ValueOf(b)
	for k := 0; k < fv.NumField(); k++ {
		if !fv.Type().Field(k).IsExported() {
			continue
		}
		if !reflect.DeepEqual(fv.Field(k).Interface(), bv.Field(k).Interface()) {
			t.Errorf("flow %d: %s differs with %s:\n%+v\n%+v", flow, fv.Type().Field(k).Name, option, fv.Field(k).Interface(), bv.Field(k).Interface())
		}
	}
}

// Config.Brief changes nothing but the prose and the ladder: the same
// flows give the same Teardowns, less Detail, Verdict and Evidence, and
// with Segments empty (not nil).
func TestBrief_onlyProseAndLadder(t *testing.T) {
	full, bare := briefRun(func(*Config) {}), briefRun(func(c *Config) { c.Brief = true })
	if len(full) != 2 || len(bare) != 2 {
		t.Fatalf("%d and %d teardowns, want 2 each", len(full), len(bare))
	}
	if len(full[0].Anomalies) == 0 || full[0].Anomalies[0].Detail == "" || full[0].Verdict == "" {
		t.Fatalf("flow 0 without Brief: %d anomalies, verdict %q: want prose to leave out", len(full[0].Anomalies), full[0].Verdict)
	}
	for i := range full {
		f, b := full[i], bare[i]
		if len(f.Segments) == 0 {
			t.Fatalf("flow %d without Brief: no segments, want a ladder to leave out", i)
		}
		if b.Verdict != "" || len(b.Vantage.Evidence) != 0 {
			t.Errorf("flow %d: verdict %q, evidence %q with Brief", i, b.Verdict, b.Vantage.Evidence)
		}
		for j := range b.Anomalies {
			if b.Anomalies[j].Detail != "" {
				t.Errorf("flow %d anomaly %d: detail %q with Brief", i, j, b.Anomalies[j].Detail)
			}
		}
		if b.Segments == nil || len(b.Segments) != 0 {
			t.Errorf("flow %d: %d segments (nil %v) with Brief, want an empty slice", i, len(b.Segments), b.Segments == nil)
		}
		// Everything else alike: blank the prose and the ladder of the
		// full one, and compare the exported fields.
		ff, bb := *f, *b
		ff.Verdict, ff.Vantage.Evidence, bb.Vantage.Evidence = "", nil, nil
		ff.Segments = bb.Segments
		ff.Anomalies = append([]Anomaly(nil), f.Anomalies...)
		for j := range ff.Anomalies {
			ff.Anomalies[j].Detail = ""
		}
		sameExported(t, i, "Brief", ff, bb)
	}
}
