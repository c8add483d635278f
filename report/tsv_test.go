package report

import (
	"bytes"
	"strings"
	"testing"

	"finwave/analyzer"
)

// TestTSVRow: the originator follows Zeek's (a flipped flow puts the
// server first), empty fields are "-", the verdict is escaped but keeps
// its commas, the anomaly set is comma separated.
func TestTSVRow(t *testing.T) {
	td := &analyzer.Teardown{
		Stream: 7, Client: ep("10.0.0.1:40000"), Server: ep("10.0.0.2:80"),
		FirstTime: at(0), LastTime: at(1.5),
		ZeekConnState: "RSTRH", ZeekHistory: "^hr", ZeekOrigIsClient: false,
		Sent:      [2]analyzer.DirStats{{Packets: 1, Bytes: 10}, {Packets: 2, Bytes: 20}},
		Verdict:   "a, b\tc\\",
		Anomalies: []analyzer.Anomaly{{Kind: analyzer.Kind(1)}, {Kind: analyzer.Kind(2)}},
	}
	cols := strings.Split(string(appendTSVRow(nil, td, nil)), "\t")
	want := map[int]string{3: "10.0.0.2", 4: "80", 5: "10.0.0.1", 6: "40000", 7: "tcp", 8: "1.500000",
		9: "20", 10: "10", 11: "RSTRH", 12: "^hr", 13: "2", 14: "1", 15: "7",
		18: analyzer.Kind(1).String() + "," + analyzer.Kind(2).String(), 19: `a, b\x09c\x5c`}
	if len(cols) != len(strings.Split(tsvFields, "\t")) {
		t.Fatalf("%d columns: %q", len(cols), cols)
	}
	for i, w := range want {
		if cols[i] != w {
			t.Errorf("column %d: got %q, want %q", i, cols[i], w)
		}
	}
	if !strings.HasPrefix(cols[1], "C") || !strings.HasPrefix(cols[2], "1:") {
		t.Errorf("uid %q, community_id %q", cols[1], cols[2])
	}

	td.ZeekOrigIsClient = true
	if c := strings.Split(string(appendTSVRow(nil, td, nil)), "\t"); c[3] != "10.0.0.1" || c[9] != "10" {
		t.Errorf("not flipped: %q", c)
	}
	// The zero Teardown: no empty column.
	for i, c := range strings.Split(string(appendTSVRow(nil, &analyzer.Teardown{}, nil)), "\t") {
		if c == "" {
			t.Errorf("zero Teardown: column %d empty", i)
		}
	}
}

// TestUIDDeterministic: the uid depends on the stream, the endpoints and
// the first time, and on nothing else.
func TestUIDDeterministic(t *testing.T) {
	a := &analyzer.Teardown{Stream: 1, Client: ep("10.0.0.1:1"), Server: ep("10.0.0.2:2"), FirstTime: at(0)}
	b := *a
	b.Verdict = "other"
	if !bytes.Equal(appendUID(nil, a), appendUID(nil, &b)) {
		t.Error("uid depends on the verdict")
	}
	b.Stream = 2
	if bytes.Equal(appendUID(nil, a), appendUID(nil, &b)) {
		t.Error("uid does not depend on the stream")
	}
	if n := testing.AllocsPerRun(100, func() {
		var buf [512]byte
		_ = appendTSVRow(buf[:0], a, nil)
	}); n != 0 {
		t.Errorf("appendTSVRow: %v allocations", n)
	}
}
