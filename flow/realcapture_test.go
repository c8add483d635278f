package flow

import (
	"strings"
	"testing"
)

// testdata/reuse-sll2.pcap was captured with `tcpdump -i any` (Linux cooked
// v2) on a Linux 6.x kernel: three IPv6 connections from [::1]:47100 to
// [::1]:47001 closed with FIN, then three IPv4 connections from
// 127.0.0.1:47101 to 127.0.0.1:47002 reset by a SO_LINGER 0 close; each
// reuses the same 4-tuple with a new kernel-chosen ISN, so each is a new
// tcp.stream (0..5, 11, 11, 11, 6, 6, 6 frames each; checked with tshark).
func TestRealCaptureStreams(t *testing.T) {
	got := ourCorpusView("testdata/reuse-sll2.pcap")
	if len(got) != 51 {
		t.Fatalf("%d TCP segments, want 51", len(got))
	}
	sizes := []int64{11, 11, 11, 6, 6, 6}
	frame := int64(1)
	for id, n := range sizes {
		for range n {
			if s := strings.Fields(got[frame])[0]; s != itoa64(int64(id)) {
				t.Errorf("frame %d: stream %s, want %d", frame, s, id)
			}
			frame++
		}
	}
}

// TestRealCaptureMatchesTshark compares stream ids, relative seqs and
// lengths with tshark's, stored in testdata/reuse-sll2.tshark.
func TestRealCaptureMatchesTshark(t *testing.T) {
	const path = "testdata/reuse-sll2.pcap"
	v := loadCorpusVerdicts(t, "testdata/reuse-sll2.tshark", []string{path})
	if n, why := compareCorpusView(t, v, path, ourCorpusView(path)); n != 51 {
		t.Errorf("%d segments compared, want 51 %s", n, why)
	}
}

func itoa64(n int64) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa64(n/10) + string(rune('0'+n%10))
}
