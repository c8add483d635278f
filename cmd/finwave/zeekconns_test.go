package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// craftPcap returns a copy of the classic little-endian microsecond pcap
// src (a kernel-made fixture) edited by edit, which gets the records (each
// its 16-byte header and data) and returns the records to write. The
// result is a crafted capture, written to a temporary file.
func craftPcap(t *testing.T, src string, edit func(recs [][]byte) [][]byte) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", src))
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%s: not a little-endian microsecond pcap", src)
	}
	var recs [][]byte
	for p := 24; p+16 <= len(b); {
		n := 16 + int(binary.LittleEndian.Uint32(b[p+8:]))
		recs = append(recs, append([]byte(nil), b[p:p+n]...))
		p += n
	}
	out := append([]byte(nil), b[:24]...)
	for _, r := range edit(recs) {
		out = append(out, r...)
	}
	name := filepath.Join(t.TempDir(), "crafted.pcap")
	if err := os.WriteFile(name, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// shiftSeconds adds s seconds to the timestamp of rec.
func shiftSeconds(rec []byte, s uint32) {
	binary.LittleEndian.PutUint32(rec, binary.LittleEndian.Uint32(rec)+s)
}

// tsvRows runs finwave --tsv on name and returns its data rows, split into
// columns.
func tsvRows(t *testing.T, name string, flags ...string) [][]string {
	t.Helper()
	code, out, errOut := runCLI(t, nil, append(append([]string{"--tsv"}, flags...), name)...)
	if code != 0 || errOut != "" {
		t.Fatalf("finwave --tsv: exit %d, stderr %q", code, errOut)
	}
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(l, "#") {
			rows = append(rows, strings.Split(l, "\t"))
		}
	}
	return rows
}

// TestZeekConns_inactivity: close_by_client (a kernel-made close) with
// its teardown, frames 8 to 11, moved later: a gap of 301 s is past Zeek's
// tcp_inactivity_timeout (5 min), so Zeek logs two connections for the one
// stream, and --tsv writes two rows with their own uid, ts, history and
// counts, the JSON flow a zeek array of two; a gap of 299 s is not, and
// there is one row.
func TestZeekConns_inactivity(t *testing.T) {
	for _, tc := range []struct {
		gap  uint32
		rows int
	}{{301, 2}, {299, 1}} {
		name := craftPcap(t, "close_by_client.pcap", func(recs [][]byte) [][]byte {
			for _, r := range recs[7:] {
				shiftSeconds(r, tc.gap)
			}
			return recs
		})
		// finwave's own --idle-timeout (5 min by default) would finish
		// the flow at the gap too (a continued flow, same stream): at 10
		// min, one flow whose Zeek connections only the Zeek rule splits.
		rows := tsvRows(t, name, "--idle-timeout", "10m")
		if len(rows) != tc.rows {
			t.Fatalf("gap %d s: %d rows, want %d:\n%q", tc.gap, len(rows), tc.rows, rows)
		}
		if tc.rows == 1 {
			if rows[0][11] != "SF" {
				t.Errorf("gap %d s: conn_state %q, want SF", tc.gap, rows[0][11])
			}
			continue
		}
		// ts uid ... conn_state(11) history(12) orig_pkts(13) resp_pkts(14) stream(15)
		first, second := rows[0], rows[1]
		if first[15] != "0" || second[15] != "0" {
			t.Errorf("streams %q %q, want both 0", first[15], second[15])
		}
		if first[1] == second[1] || first[0] == second[0] {
			t.Errorf("rows share uid or ts: %q %q", first[:2], second[:2])
		}
		if first[11] != "S1" || first[12] != "ShADad" || first[13] != "4" || first[14] != "3" {
			t.Errorf("first Zeek connection %q, want S1 ShADad 4 3", first[11:15])
		}
		if second[13] != "2" || second[14] != "2" || !strings.Contains(second[12], "F") {
			t.Errorf("second Zeek connection %q, want a history with F and 2 2 packets", second[11:15])
		}
		code, out, _ := runCLI(t, nil, "--jsonl", "--idle-timeout", "10m", name)
		if code != 0 || strings.Count(out, `"conn_state":`) != 2 {
			t.Errorf("--jsonl: exit %d, want a zeek array of two:\n%s", code, out)
		}
	}
}

// TestZeekConns_reuse: refused (a kernel-made SYN answered by RST) with
// its SYN sent again, same ISN, a second later. finwave keeps one stream
// (the same ISN is no new connection for Wireshark either), but Zeek's
// IsReuse takes any SYN on a closed connection for a new one: two rows,
// REJ then S0.
func TestZeekConns_reuse(t *testing.T) {
	name := craftPcap(t, "refused.pcap", func(recs [][]byte) [][]byte {
		again := append([]byte(nil), recs[0]...)
		shiftSeconds(again, 1)
		return append(recs, again)
	})
	rows := tsvRows(t, name)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2:\n%q", len(rows), rows)
	}
	if rows[0][15] != rows[1][15] {
		t.Errorf("streams %q %q, want one", rows[0][15], rows[1][15])
	}
	if rows[0][11] != "REJ" || rows[1][11] != "S0" || rows[1][12] != "S" {
		t.Errorf("conn_state, history %q %q, want REJ, then S0 S", rows[0][11:13], rows[1][11:13])
	}
}
