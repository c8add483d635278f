package bpf_test

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"finwave/capture"
	"finwave/capture/bpf"
)

// fileExprs are the expressions TestMatcherFilesAgreeWithTcpdump asks of
// real captures: the ones that tell flows and teardown packets apart.
var fileExprs = []string{
	"tcp", "port 80", "tcp port 443 or port 22", "not port 22", "ip6",
	"tcp[tcpflags] & (tcp-fin|tcp-rst) != 0", "tcp[tcpflags] & tcp-syn != 0",
	"host 10.0.0.1 or net 127.0.0.0/8", "src portrange 1-1024", "udp or icmp",
}

// frameKey identifies one frame by its bytes (not its time: tcpdump -w
// rewrites odd timestamps, such as a microsecond field of a million or a
// nanosecond pcapng's, and the order of the lists compares positions).
func frameKey(fr *capture.Frame) string {
	return string(fr.Data)
}

// readFrames returns the frames of path, each with its link type; ok is
// false for a file capture cannot read.
func readAll(t *testing.T, path string) ([]capture.Frame, bool) {
	t.Helper()
	src, err := capture.Open(path)
	if err != nil {
		return nil, false
	}
	defer src.Close()
	var out []capture.Frame
	for {
		var fr capture.Frame
		if err := src.Next(&fr); err != nil {
			return out, err == io.EOF
		}
		fr.Data = bytes.Clone(fr.Data)
		out = append(out, fr)
	}
}

// filesToCompare are the bundled fixtures and a deterministic sample of
// ../shared/captures (every 20th file by name) when it is there.
func filesToCompare(t *testing.T) []string {
	files, _ := filepath.Glob("../../fixtures/*.pcap*")
	shared, _ := filepath.Glob("../../../shared/captures/tcpdump-tests/*.pcap*")
	sort.Strings(shared)
	for i := 0; i < len(shared); i += 20 {
		files = append(files, shared[i])
	}
	if len(files) == 0 {
		t.Fatal("no fixtures found")
	}
	return files
}

// TestMatcherFilesAgreeWithTcpdump: over the bundled fixtures and a
// sample of ../shared/captures, the Matcher accepts exactly the frames
// `tcpdump -r FILE -w OUT EXPR` writes, in the same order. Files of a link
// type the compiler does not support must give an UnsupportedLinkError;
// files tcpdump or capture cannot read completely are left out.
func TestMatcherFilesAgreeWithTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed")
	}
	if testing.Short() {
		t.Skip("runs tcpdump hundreds of times")
	}
	dir := t.TempDir()
	compared := 0
	for _, path := range filesToCompare(t) {
		frames, ok := readAll(t, path)
		if !ok || len(frames) == 0 {
			continue
		}
		for _, expr := range fileExprs {
			m, err := bpf.NewMatcher(expr)
			if err != nil {
				t.Fatalf("NewMatcher(%q): %v", expr, err)
			}
			var got []string
			var unsupported error
			for i := range frames {
				ok, err := m.Match(frames[i].LinkType, frames[i].Data)
				if err != nil {
					unsupported = err
					break
				}
				if ok {
					got = append(got, frameKey(&frames[i]))
				}
			}
			out := filepath.Join(dir, "out.pcap")
			cmd := exec.Command("tcpdump", "-r", path, "-w", out, expr)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				if unsupported == nil && strings.Contains(stderr.String(), "expression rejects all packets") {
					if len(got) != 0 {
						t.Errorf("%s %q: tcpdump rejects all, finwave accepts %d frames", path, expr, len(got))
					}
				}
				continue // a file or link type tcpdump will not filter
			}
			if unsupported != nil {
				var ue *bpf.UnsupportedLinkError
				if !errors.As(unsupported, &ue) {
					t.Errorf("%s %q: error %v, want an UnsupportedLinkError", path, expr, unsupported)
				}
				continue
			}
			want, ok := readAll(t, out)
			if !ok {
				continue
			}
			wantKeys := make([]string, len(want))
			for i := range want {
				wantKeys[i] = frameKey(&want[i])
			}
			if len(got) != len(wantKeys) {
				t.Errorf("%s %q: finwave accepts %d frames, tcpdump %d", path, expr, len(got), len(wantKeys))
				continue
			}
			for i := range got {
				// libpcap cuts a record longer than the file's snaplen
				// to the snaplen (sf-pcap.c, pcap_next_packet); finwave
				// keeps the bytes: tcpdump's frame is then a prefix.
				if !strings.HasPrefix(got[i], wantKeys[i]) {
					t.Errorf("%s %q: accepted frame %d differs from tcpdump's", path, expr, i+1)
					break
				}
			}
			compared++
		}
	}
	if compared < 100 {
		t.Errorf("only %d file×expression comparisons ran; want 100 or more", compared)
	}
	t.Logf("%d file×expression comparisons", compared)
}

// TestMatcherUnsupportedLink: a link type the compiler does not know is an
// error naming it, for every frame, not a silent reject.
func TestMatcherUnsupportedLink(t *testing.T) {
	m, err := bpf.NewMatcher("tcp")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		_, err := m.Match(layers.LinkTypeIEEE80211Radio, []byte{0, 0, 8, 0})
		var ue *bpf.UnsupportedLinkError
		if !errors.As(err, &ue) || ue.LinkType != layers.LinkTypeIEEE80211Radio || !strings.Contains(err.Error(), "link type 127") {
			t.Fatalf("Match on radiotap: %v, want an UnsupportedLinkError naming link type 127", err)
		}
	}
	if _, err := bpf.NewMatcher("port"); err == nil {
		t.Error(`NewMatcher("port"): no error`)
	}
}

// BenchmarkMatch measures the filter on one TCP frame: it must not
// allocate (run with -benchmem).
func BenchmarkMatch(b *testing.B) {
	frames, _ := readAllB(b, "../../fixtures/close_by_client.pcap")
	if len(frames) == 0 {
		b.Skip("fixture missing")
	}
	m, err := bpf.NewMatcher("tcp and (port 80 or port 443 or portrange 8000-9000) and not host 10.9.9.9")
	if err != nil {
		b.Fatal(err)
	}
	fr := frames[len(frames)/2]
	m.Match(fr.LinkType, fr.Data)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Match(fr.LinkType, fr.Data)
	}
}

func readAllB(b *testing.B, path string) ([]capture.Frame, error) {
	src, err := capture.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var out []capture.Frame
	for {
		var fr capture.Frame
		if err := src.Next(&fr); err != nil {
			return out, nil
		}
		fr.Data = bytes.Clone(fr.Data)
		out = append(out, fr)
	}
}
