package flow

import (
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestChecksumsMatchTshark: the frames whose TCP or IPv4 header checksum
// finwave finds wrong are those tshark finds wrong (tcp.checksum.status
// and ip.checksum.status "Bad", with checksum validation on), over the
// fixtures and the public captures, for segments finwave decodes whole
// and not inside a tunnel (tshark validates the outer headers' too).
// Skipped without tshark.
func TestChecksumsMatchTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: cannot compare checksum verdicts")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	files, _ := filepath.Glob("../fixtures/*.pcap")
	pub, _ := filepath.Glob(filepath.Join(corpusDir, "*"))
	files = append(files, pub...)
	var compared, bad int
	for _, path := range files {
		ours, ok := ourChecksums(path)
		if !ok || len(ours) == 0 {
			continue
		}
		out, err := exec.Command("tshark", "-n", "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
			"-Y", "tcp", "-T", "fields", "-e", "frame.number", "-e", "tcp.checksum.status", "-e", "ip.checksum.status").Output()
		if err != nil && len(out) == 0 {
			continue
		}
		theirs := map[int64]bool{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Split(l, "\t")
			if len(f) < 3 {
				continue
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				continue
			}
			// status 0 is "Bad" (epan/proto.h PROTO_CHECKSUM_E_BAD); a
			// frame with several IP layers lists several.
			theirs[n] = strings.Contains(f[1], "0") || strings.Contains(f[2], "0")
		}
		var differ []int64
		for n, ourBad := range ours {
			tb, seen := theirs[n]
			if !seen {
				continue
			}
			compared++
			if ourBad {
				bad++
			}
			if tb != ourBad {
				differ = append(differ, n)
			}
		}
		if len(differ) > 0 {
			sort.Slice(differ, func(i, j int) bool { return differ[i] < differ[j] })
			t.Errorf("%s: frames %v: finwave and tshark disagree on the checksum", filepath.Base(path), differ[:min(len(differ), 10)])
		}
	}
	t.Logf("%d segments compared, %d with a bad checksum", compared, bad)
	if compared < 1000 {
		t.Errorf("only %d segments compared", compared)
	}
}

// ourChecksums decodes the capture at path: frame → whether finwave
// found a checksum wrong, for plain (untunnelled) segments it checked.
func ourChecksums(path string) (map[int64]bool, bool) {
	src, link, closeFn, err := openCapture(path)
	if err != nil {
		return nil, false
	}
	defer closeFn()
	d := NewDecoder()
	out := map[int64]bool{}
	var seg Segment
	for n := int64(1); ; n++ {
		data, ci, err := src.ReadPacketData()
		if err != nil {
			break
		}
		if d.Decode(link(ci.InterfaceIndex), data, ci.Length, n, ci.Timestamp, &seg) != nil ||
			seg.Tunnel.Type != NoTunnel || seg.Checksum == ChecksumUnchecked {
			continue
		}
		out[n] = seg.Checksum != ChecksumGood
	}
	return out, true
}
