package check

import (
	"context"
	"path/filepath"
	"testing"

	"finwave/analyzer"
	"finwave/capture"
	"finwave/flow"
	"finwave/pipeline"
)

// TestIdenticalKernelRSTsKept: testdata/lo_identical_rsts.pcap is a real
// tcpdump -i lo capture (a network namespace's loopback): the server
// aborted (its RST dropped by iptables OUTPUT, so the client never knew),
// then the client's two data segments each got a RST from the server's
// kernel with no socket (tcp_v4_send_reset): frames 7 and 9, byte for byte
// the same (seq = the segments' ack, no ACK bit, window 0, no options, IP
// ID 0), 91 µs apart. Both are real; neither is a duplicate capture.
func TestIdenticalKernelRSTsKept(t *testing.T) {
	src, err := capture.Open(filepath.Join("testdata", "lo_identical_rsts.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var rsts []int64
	a := analyzer.New(analyzer.DefaultConfig(), func(td *analyzer.Teardown) {
		for _, sg := range td.Segments {
			if sg.Flags&flow.RST != 0 {
				rsts = append(rsts, sg.Frame)
			}
		}
	})
	var st pipeline.Stats
	var r pipeline.Runner
	if err := r.Run(context.Background(), src, a, &st); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if n := a.Stats().Duplicates; n != 0 {
		t.Errorf("%d duplicate captures, want 0: two RSTs answering two segments", n)
	}
	if len(rsts) != 2 || rsts[0] != 7 || rsts[1] != 9 {
		t.Errorf("RSTs in the teardown: frames %v, want [7 9]", rsts)
	}
}
