package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"finwave/internal/synth"
)

// cutPcap cuts a classic pcap the way tcpdump -C does: a new file once the
// current one has reached size bytes, each with the global header, so
// connections run across the cuts.
func cutPcap(t *testing.T, data []byte, size int) [][]byte {
	t.Helper()
	bo := pcapOrder(t, data)
	var out [][]byte
	cur := append([]byte(nil), data[:24]...)
	for off := 24; off < len(data); {
		n := 16 + int(bo.Uint32(data[off+8:]))
		cur = append(cur, data[off:off+n]...)
		off += n
		if len(cur) >= size || off == len(data) {
			out = append(out, cur)
			cur = append([]byte(nil), data[:24]...)
		}
	}
	return out
}

func pcapOrder(t *testing.T, data []byte) binary.ByteOrder {
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		return binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		return binary.BigEndian
	}
	t.Fatalf("not a classic pcap: % x", data[:4])
	return nil
}

// splitByFlow writes the frames of a classic Ethernet/IPv4/TCP pcap into two
// files by the parity of the port sum: each connection in one file, the two
// files' times interleaved (two captures of the same traffic, overlapping).
func splitByFlow(t *testing.T, data []byte) [2][]byte {
	t.Helper()
	bo := pcapOrder(t, data)
	out := [2][]byte{append([]byte(nil), data[:24]...), append([]byte(nil), data[:24]...)}
	for off := 24; off < len(data); {
		n := 16 + int(bo.Uint32(data[off+8:]))
		fr := data[off+16 : off+n]
		k := 0
		if len(fr) > 14+20+4 {
			ihl := int(fr[14]&0x0f) * 4
			tcp := fr[14+ihl:]
			k = int(binary.BigEndian.Uint16(tcp)+binary.BigEndian.Uint16(tcp[2:])) % 2
		}
		out[k] = append(out[k], data[off:off+n]...)
		off += n
	}
	return out
}

// writePieces writes the pieces under dir, named like tcpdump -C (cap.pcap,
// cap.pcap1, …), and returns their paths last piece first (the merge must
// order them by time, not by argument).
func writePieces(t *testing.T, dir string, pieces [][]byte) []string {
	t.Helper()
	var paths []string
	for i, p := range pieces {
		name := "cap.pcap"
		if i > 0 {
			name += fmt.Sprint(i)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, p, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append([]string{path}, paths...)
	}
	return paths
}

// analysis is a JSON report without the keys that name the input.
func analysis(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("json: %v", err)
	}
	for _, k := range []string{"file", "files", "set_notes"} {
		delete(m, k)
	}
	return m
}

func sameAnalysis(t *testing.T, what string, whole, merged map[string]any) {
	t.Helper()
	if reflect.DeepEqual(whole, merged) {
		return
	}
	wf, _ := whole["flows"].([]any)
	mf, _ := merged["flows"].([]any)
	for i := 0; i < len(wf) && i < len(mf); i++ {
		if !reflect.DeepEqual(wf[i], mf[i]) {
			a, _ := json.Marshal(wf[i])
			b, _ := json.Marshal(mf[i])
			t.Fatalf("%s: flow %d differs\nwhole:  %s\nmerged: %s", what, i, a, b)
		}
	}
	t.Fatalf("%s: analyses differ (%d flows whole, %d merged)", what, len(wf), len(mf))
}

// TestMergeRotatedSameAnalysis: a fixture and a synthetic 10 k-connection
// capture cut into rotated pieces mid-connection read with --merge give the
// JSON of the whole file, with one goroutine and sharded (-j 4), and the
// report lists the pieces with frame ranges that tile the capture.
func TestMergeRotatedSameAnalysis(t *testing.T) {
	fixture, err := os.ReadFile("../../fixtures/many_flows.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var syn bytes.Buffer
	if _, err := synth.Write(&syn, synth.Config{Conns: 10000}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		size int
	}{
		{"many_flows", fixture, 20000},
		{"synth10k", syn.Bytes(), 1 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			whole := filepath.Join(dir, "whole.pcap")
			os.WriteFile(whole, c.data, 0o644)
			pdir := filepath.Join(dir, "pieces")
			os.Mkdir(pdir, 0o755)
			pieces := writePieces(t, pdir, cutPcap(t, c.data, c.size))
			if len(pieces) < 3 {
				t.Fatalf("%d pieces", len(pieces))
			}
			code, out, errs := runCLI(t, nil, "--json", "--all", "-j", "1", whole)
			if code != 0 && code != 1 {
				t.Fatalf("whole: exit %d: %s", code, errs)
			}
			want := analysis(t, out)
			for _, args := range [][]string{
				append([]string{"-j", "1"}, pieces...),
				{"-j", "4", pdir},
				{"-j", "2", filepath.Join(pdir, "cap.pcap*")},
			} {
				code, out, errs := runCLI(t, nil, append([]string{"--json", "--all", "--merge"}, args...)...)
				if code != 0 && code != 1 {
					t.Fatalf("--merge %q: exit %d: %s", args, code, errs)
				}
				if errs != "" {
					t.Fatalf("--merge %q: stderr %q for a clean sequence", args, errs)
				}
				sameAnalysis(t, fmt.Sprint(args), want, analysis(t, out))
				var doc struct {
					Files []struct {
						Name       string `json:"name"`
						FirstFrame int64  `json:"first_frame"`
						LastFrame  int64  `json:"last_frame"`
					} `json:"files"`
					Frames int64 `json:"frames"`
				}
				json.Unmarshal([]byte(out), &doc)
				next := int64(1)
				for _, f := range doc.Files {
					if f.FirstFrame != next {
						t.Fatalf("files %+v: want contiguous from frame 1", doc.Files)
					}
					next = f.LastFrame + 1
				}
				if next != doc.Frames+1 || len(doc.Files) != len(pieces) {
					t.Fatalf("files %+v do not cover %d frames", doc.Files, doc.Frames)
				}
			}
		})
	}
}

// TestMergeOverlapping: two captures of the same traffic split by flow,
// times interleaved, merge frame by frame by time into the whole capture's
// analysis, and the overlap is said on stderr and in the JSON.
func TestMergeOverlapping(t *testing.T) {
	data, err := os.ReadFile("../../fixtures/many_flows.pcap")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	halves := splitByFlow(t, data)
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	os.WriteFile(a, halves[0], 0o644)
	os.WriteFile(b, halves[1], 0o644)
	_, out, _ := runCLI(t, nil, "--json", "--all", "-j", "1", "../../fixtures/many_flows.pcap")
	want := analysis(t, out)
	_, out, errs := runCLI(t, nil, "--json", "--all", "--merge", a, b)
	sameAnalysis(t, "overlapping", want, analysis(t, out))
	if !strings.Contains(errs, "b.pcap overlaps") || !strings.Contains(out, "overlaps") {
		t.Fatalf("overlap not said: stderr %q", errs)
	}
}

// TestMergeBadSet: a missing file, a non-capture file, stdin and an empty
// glob are refused, naming the culprit.
func TestMergeBadSet(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "notes.txt")
	os.WriteFile(junk, []byte("not a capture at all"), 0o644)
	fx := "../../fixtures/many_flows.pcap"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{fx, filepath.Join(dir, "gone.pcap")}, "gone.pcap: no such file"},
		{[]string{fx, junk}, "notes.txt"},
		{[]string{fx, "-"}, "stdin (-) cannot be part of a set"},
		{[]string{filepath.Join(dir, "*.pcapng")}, "matches no file"},
	} {
		code, _, errs := runCLI(t, nil, append([]string{"--merge"}, c.args...)...)
		if code < 2 || !strings.Contains(errs, c.want) {
			t.Errorf("--merge %q: exit %d, stderr %q; want an error with %q", c.args, code, errs, c.want)
		}
	}
}
