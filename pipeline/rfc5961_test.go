package pipeline

import (
	"strings"
	"testing"
)

// TestShardedSynInWindow: a flow that spans two Wireshark streams (an
// in-window SYN, RFC 5961 §4; fixtures/syn_in_window) among flows that
// start before and after that SYN (testdata/syn_in_window_mixed.pcap:
// the fixture merged with challenge_ack, shifted before it, and
// close_by_client, shifted to start just after the SYN; tshark 4.0 gives
// them streams 0, 1 then 2 from frame 17, and 3). With 2, 3 and 7
// workers the flows, their further stream ids included, are one
// analyzer's, which are Wireshark's.
func TestShardedSynInWindow(t *testing.T) {
	const p = "testdata/syn_in_window_mixed.pcap"
	want, _, _ := flowsOf(t, p, 1)
	if len(want) != 3 || !strings.Contains(want[1], `"Stream":1,"Streams":[{"ID":2,"Frame":17}]`) || !strings.Contains(want[2], `"Stream":3,`) {
		t.Fatalf("one analyzer: want streams 0, 1 (and 2 from frame 17), 3; got\n%s", strings.Join(want, "\n"))
	}
	for _, n := range []int{2, 3, 7} {
		got, _, _ := flowsOf(t, p, n)
		if len(got) != len(want) {
			t.Fatalf("-j %d: %d flows, want %d", n, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("-j %d: flow %d differs:\n got %.300s\nwant %.300s", n, i, got[i], want[i])
			}
		}
	}
}
