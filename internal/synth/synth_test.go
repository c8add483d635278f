package synth

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/flow"
	"finwave/internal/toolverdict"
	"finwave/pipeline"
)

// TestChecksums: every frame decodes with gopacket and its IPv4 and TCP
// checksums verify (gopacket recomputes them independently).
func TestChecksums(t *testing.T) {
	var buf bytes.Buffer
	st, err := Write(&buf, Config{Conns: 48, Concurrency: 7, Payload: 33})
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		n++
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			t.Fatalf("frame %d: not IPv4/TCP: %v", n, p)
		}
		want := ip.Checksum
		ip2 := *ip
		b := gopacket.NewSerializeBuffer()
		if err := ip2.SerializeTo(b, gopacket.SerializeOptions{ComputeChecksums: true}); err != nil {
			t.Fatal(err)
		}
		if ip2.Checksum != want {
			t.Fatalf("frame %d: IPv4 checksum %#x, want %#x", n, want, ip2.Checksum)
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		// ComputeChecksum sums the segment as it is, checksum included:
		// a correct checksum makes the folded sum zero (RFC 1071).
		if c, err := tcp.ComputeChecksum(); err != nil || c != 0 {
			t.Fatalf("frame %d: TCP checksum %#x does not verify (residue %#x, %v)", n, tcp.Checksum, c, err)
		}
	}
	if n != st.Frames {
		t.Errorf("read %d frames, Write says %d", n, st.Frames)
	}
}

// TestEndingsAnalysed: each ending is recognised by the analyzer as the
// teardown it imitates (the patterns and anomaly kinds named in doc.go).
func TestEndingsAnalysed(t *testing.T) {
	var buf bytes.Buffer
	const conns = 120 // ten rotations of mix
	st, err := Write(&buf, Config{Conns: conns, Concurrency: 9})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	kinds := map[string]int{}
	a := analyzer.New(analyzer.DefaultConfig(), func(td *analyzer.Teardown) {
		got[td.Pattern.String()]++
		for _, an := range td.Anomalies {
			kinds[an.Kind.String()]++
		}
	})
	src, err := capture.NewReader("synth", &buf)
	if err != nil {
		t.Fatal(err)
	}
	var ps pipeline.Stats
	if err := pipeline.Run(context.Background(), src, a, &ps); err != nil {
		t.Fatal(err)
	}
	a.Close()
	per := int(st.Endings[FourWay])
	if per != 60 || ps.TCPSegments != st.Frames {
		t.Fatalf("four-way %d, segments %d of %d", per, ps.TCPSegments, st.Frames)
	}
	want := map[string]int{
		"four-way":  int(st.Endings[FourWay] + st.Endings[LostFinalACK]),
		"three-way": int(st.Endings[ThreeWay]),
		"reset":     int(st.Endings[RSTUnread] + st.Endings[LingerZero]),
		"refused":   int(st.Endings[Refused]),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("pattern %s: %d flows, want %d (all: %v)", k, got[k], v, got)
		}
	}
	for k, v := range map[string]int{
		"rst-unread-data": int(st.Endings[RSTUnread]),
		"rst-linger-zero": int(st.Endings[LingerZero]),
		"lost-final-ack":  int(st.Endings[LostFinalACK]),
	} {
		if kinds[k] != v {
			t.Errorf("anomaly %s: %d, want %d (all: %v)", k, kinds[k], v, kinds)
		}
	}
}

// TestTshark: tshark (its verdict stored in testdata/conns36.tshark) sees
// one tcp.stream per connection and no bad checksum or malformed frame,
// and finwave's stream ids are tshark's, frame by frame. Write is
// deterministic (no clock, no randomness: two runs give the same bytes),
// and the stored verdict names the capture by its hash: a change to the
// generator fails here until the verdict is made again (-update).
func TestTshark(t *testing.T) {
	const name = "Config{Conns: 36, Concurrency: 5}"
	var buf, again bytes.Buffer
	for _, b := range []*bytes.Buffer{&buf, &again} {
		if _, err := Write(b, Config{Conns: 36, Concurrency: 5}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("Write is not deterministic: a stored verdict cannot describe its output")
	}
	v := toolverdict.Load(t, "testdata/conns36.tshark", "tshark", func(bool) *toolverdict.File {
		path := filepath.Join(t.TempDir(), "s.pcap")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("tshark", "-n", "-r", path, "-o", "tcp.check_checksum:TRUE",
			"-T", "fields", "-e", "tcp.stream", "-e", "tcp.checksum.status", "-e", "_ws.malformed").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Split(l, "\t")
			for len(f) < 3 {
				f = append(f, "")
			}
			for i := range f {
				if f[i] == "" {
					f[i] = "-"
				}
			}
			lines = append(lines, strings.Join(f, " "))
		}
		return &toolverdict.File{
			About: []string{"tshark's tcp.stream, tcp.checksum.status (1: good) and _ws.malformed (- when absent)",
				"of each frame of the capture synth.Write makes of " + name + "."},
			Sections: []toolverdict.Section{{Name: name, Hash: toolverdict.Sum(buf.Bytes()), Lines: lines}},
		}
	})
	lines, ok := v.Lines(t, name, toolverdict.Sum(buf.Bytes()))
	if !ok {
		return
	}
	ours := streamIDs(t, buf.Bytes())
	if len(ours) != len(lines) {
		t.Fatalf("tshark saw %d frames, finwave %d", len(lines), len(ours))
	}
	streams := map[string]bool{}
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Fatalf("stored frame %d: %q", i+1, l)
		}
		streams[f[0]] = true
		if f[1] != "1" { // PROTO_CHECKSUM_E_GOOD
			t.Errorf("frame %d: tshark checksum status %s", i+1, f[1])
		}
		if f[2] != "-" {
			t.Errorf("frame %d: tshark: malformed", i+1)
		}
		if id := strconv.FormatInt(ours[i], 10); id != f[0] {
			t.Errorf("frame %d: tshark tcp.stream %s, finwave %s", i+1, f[0], id)
		}
	}
	if len(streams) != 36 {
		t.Errorf("tshark counts %d streams, want 36", len(streams))
	}
}

// streamIDs returns finwave's stream id of each frame of a synthetic
// capture (every frame is a TCP segment).
func streamIDs(t *testing.T, pcap []byte) []int64 {
	t.Helper()
	src, err := capture.NewReader("synth", bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	d, tab := flow.NewDecoder(), flow.NewTable(flow.TableConfig{})
	defer tab.Close()
	var ids []int64
	var fr capture.Frame
	var seg flow.Segment
	for {
		if err := src.Next(&fr); err == io.EOF {
			return ids
		} else if err != nil {
			t.Fatal(err)
		}
		if err := d.Decode(fr.LinkType, fr.Data, fr.OrigLen, fr.Number, fr.Time, &seg); err != nil {
			t.Fatalf("frame %d: %v", fr.Number, err)
		}
		c, _, _ := tab.Track(&seg)
		ids = append(ids, c.ID)
	}
}

// TestFlood: one SYN per flow.
func TestFlood(t *testing.T) {
	var buf bytes.Buffer
	st, err := Write(&buf, Config{Conns: 1000, Flood: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != 1000 {
		t.Fatalf("%d frames", st.Frames)
	}
}

func TestNoAllocPerFrame(t *testing.T) {
	run := func(n int) float64 {
		return testing.AllocsPerRun(5, func() {
			if _, err := Write(discard{}, Config{Conns: n, Concurrency: 10}); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := run(10), run(2000)
	if large > small {
		t.Errorf("allocations grow with connections: %v for 10, %v for 2000", small, large)
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

func BenchmarkWrite(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		st, err := Write(discard{}, Config{Conns: 1000, Concurrency: 100})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(st.Bytes)
	}
}
