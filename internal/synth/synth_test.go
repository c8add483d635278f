package synth

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"finwave/analyzer"
	"finwave/capture"
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

// TestTshark: tshark sees one tcp.stream per connection and no bad
// checksum or malformed frame. Skipped when tshark is not installed.
func TestTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	path := filepath.Join(t.TempDir(), "s.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(f, Config{Conns: 36, Concurrency: 5}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command("tshark", "-n", "-r", path, "-o", "tcp.check_checksum:TRUE",
		"-T", "fields", "-e", "tcp.stream", "-e", "tcp.checksum.status", "-e", "_ws.malformed").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	streams := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "\t")
		streams[f[0]] = true
		if len(f) > 1 && f[1] != "1" { // PROTO_CHECKSUM_E_GOOD
			t.Fatalf("tshark checksum status %q: %s", f[1], l)
		}
		if len(f) > 2 && f[2] != "" {
			t.Fatalf("tshark: malformed: %s", l)
		}
	}
	if len(streams) != 36 {
		t.Errorf("tshark counts %d streams, want 36", len(streams))
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
