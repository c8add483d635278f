package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// needTools skips when the Wireshark command-line tools are missing.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install tshark)", tool)
		}
	}
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// mergedLines reads paths with OpenMerged: one "number time len" line a frame.
func mergedLines(t *testing.T, paths []string) []string {
	t.Helper()
	m, err := OpenMerged(paths)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var out []string
	var f Frame
	for {
		err := m.Next(&f)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %d %d", f.Number, f.Time.UnixNano(), f.OrigLen))
	}
	return out
}

// drained opens paths with OpenMerged and reads every frame (the pieces'
// figures and Notes are complete then); the set is closed when the test
// ends.
func drained(t *testing.T, paths ...string) *Merged {
	t.Helper()
	m, err := OpenMerged(paths)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	var f Frame
	for m.Next(&f) == nil {
	}
	return m
}

// mergecapLines lists mergecap's merge of paths as tshark numbers it.
func mergecapLines(t *testing.T, paths []string) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "merged.pcapng")
	runTool(t, "mergecap", append([]string{"-w", out}, paths...)...)
	cmd := exec.Command("tshark", "-r", out, "-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch", "-e", "frame.len")
	so, err := cmd.Output() // stdout only: tshark warns on stderr when run as root
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	s := string(so)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		var n int64
		var sec, frac string
		var ln int
		fs := strings.Fields(l)
		fmt.Sscan(fs[0], &n)
		sec, frac, _ = strings.Cut(fs[1], ".")
		frac = (frac + "000000000")[:9]
		fmt.Sscan(fs[2], &ln)
		lines = append(lines, fmt.Sprintf("%d %s%s %d", n, strings.TrimLeft(sec, "0"), frac, ln))
	}
	return lines
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d frames, mergecap+tshark %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("frame %d: got %q, mergecap+tshark %q", i+1, got[i], want[i])
		}
	}
}

// TestMergeRotatedMatchesMergecap cuts a fixture into pieces mid-connection
// (editcap -c, as tcpdump -C cuts by size) and reads them, given out of
// order, as one capture: the frames, their numbers and times are those
// tshark shows for mergecap's merge, and the pieces' frame ranges tile 1..N.
func TestMergeRotatedMatchesMergecap(t *testing.T) {
	needTools(t, "editcap", "mergecap", "tshark")
	dir := t.TempDir()
	runTool(t, "editcap", "-c", "7", "../fixtures/many_flows.pcap", filepath.Join(dir, "piece.pcap"))
	paths, _ := filepath.Glob(filepath.Join(dir, "piece*.pcap"))
	if len(paths) < 3 {
		t.Fatalf("editcap made %d pieces", len(paths))
	}
	sort.Sort(sort.Reverse(sort.StringSlice(paths))) // given last piece first
	got := mergedLines(t, paths)
	sameLines(t, got, mergecapLines(t, paths))
	whole := mergedLines(t, []string{"../fixtures/many_flows.pcap"})
	sameLines(t, got, whole)

	m := drained(t, paths...)
	pcs := append([]Piece(nil), m.Pieces()...)
	sort.Slice(pcs, func(i, j int) bool { return pcs[i].First < pcs[j].First })
	next := int64(1)
	for _, p := range pcs {
		if p.First != next || p.Frames != p.Last-p.First+1 {
			t.Fatalf("piece %s: frames %d..%d (%d), want from %d contiguous", p.Name, p.First, p.Last, p.Frames, next)
		}
		next = p.Last + 1
	}
	if n := m.Notes(time.Hour); len(n) != 0 {
		t.Fatalf("rotated pieces: notes %q, want none", n)
	}
	if next != int64(len(got))+1 {
		t.Fatalf("pieces cover %d frames of %d", next-1, len(got))
	}
}

// TestMergeOverlappingByTime splits a capture by direction into two files
// whose times interleave: the merge is packet by packet by time, as mergecap.
func TestMergeOverlappingByTime(t *testing.T) {
	needTools(t, "tcpdump", "mergecap", "tshark")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	in := "../fixtures/many_flows.pcap"
	runTool(t, "tcpdump", "-r", in, "-w", a, "tcp[tcpflags] & tcp-syn != 0 or src portrange 0-1023")
	runTool(t, "tcpdump", "-r", in, "-w", b, "not (tcp[tcpflags] & tcp-syn != 0 or src portrange 0-1023)")
	got := mergedLines(t, []string{a, b})
	sameLines(t, got, mergecapLines(t, []string{a, b}))
	sameLines(t, got, mergedLines(t, []string{in}))
	m := drained(t, a, b)
	if n := m.Notes(time.Hour); len(n) != 1 || !strings.Contains(n[0], "b.pcap overlaps") {
		t.Fatalf("notes %q, want b.pcap overlapping", n)
	}
}

// TestMergeBadSet: a missing file and a file that is not a capture are named.
func TestMergeBadSet(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "notes.txt")
	os.WriteFile(junk, []byte("hello, not a capture"), 0o644)
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.pcap"), "missing.pcap"},
		{junk, "notes.txt"},
	} {
		_, err := OpenMerged([]string{"../fixtures/many_flows.pcap", c.path})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("OpenMerged(%s) = %v, want an error naming %s", c.path, err, c.want)
		}
	}
	if _, err := OpenMerged([]string{filepath.Join(dir, "missing.pcap")}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v, want os.ErrNotExist", err)
	}
}

// writePcap writes frames of link type lt at the given times (seconds
// after t0) into dir/name: none makes a file with only a header.
func writePcap(t *testing.T, dir, name string, lt layers.LinkType, t0 time.Time, secs ...float64) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 60)
	for _, s := range secs {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(s * float64(time.Second))), CaptureLength: len(frame), Length: len(frame)}
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestMergeNotes: a set that is not a clean sequence says so, each way it
// departs from one: a file with no frame, a silence between two files
// longer than the gap threshold (a piece may be missing), a file with
// another link type; a clean sequence has no note.
func TestMergeNotes(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a := writePcap(t, dir, "a.pcap", layers.LinkTypeEthernet, t0, 0, 1, 2)
	b := writePcap(t, dir, "b.pcap", layers.LinkTypeEthernet, t0, 2.5, 3)
	c := writePcap(t, dir, "c.pcap", layers.LinkTypeEthernet, t0)
	d := writePcap(t, dir, "d.pcap", layers.LinkTypeEthernet, t0, 3+90, 3+91)
	e := writePcap(t, dir, "e.pcap", layers.LinkTypeLinuxSLL, t0, 95)
	notes := func(paths ...string) []string {
		var out []string
		for _, n := range drained(t, paths...).Notes(time.Minute) {
			out = append(out, strings.ReplaceAll(n, dir+string(filepath.Separator), ""))
		}
		return out
	}
	if n := notes(b, a); len(n) != 0 {
		t.Errorf("a.pcap then b.pcap (given out of order): notes %q, want none", n)
	}
	want := []string{
		"c.pcap holds no frame",
		"gap of 1m30s between b.pcap and d.pcap",
		"e.pcap has link type Linux SLL, a.pcap has Ethernet (each frame decoded by its own)",
	}
	got := notes(a, b, c, d, e)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("notes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
