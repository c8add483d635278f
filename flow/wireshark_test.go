package flow

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// step is one segment of a scenario: on 4-tuple tuple, sent by A (fromB
// false) or B.
type step struct {
	tuple    int
	fromB    bool
	flags    Flags
	seq, ack uint32
	payload  int
}

func (s step) pkt() pkt {
	a, b := ip4a, ip4b
	ap, bp := uint16(40000+s.tuple), uint16(80)
	p := pkt{src: a, dst: b, sport: ap, dport: bp, seq: s.seq, ack: s.ack, flags: s.flags, win: 1000, payload: s.payload}
	if s.fromB {
		p.src, p.dst, p.sport, p.dport = b, a, bp, ap
	}
	return p
}

// ourView runs frames through Decoder, Table and Half the way the analyzer
// does and returns, per frame, "stream seq ack" with seq/ack relative
// (ack empty when the ACK flag is clear), the format of tsharkView.
func ourView(t *testing.T, frames [][]byte, times []time.Time, cfg TableConfig) []string {
	t.Helper()
	d := NewDecoder()
	tab := NewTable(cfg)
	var out []string
	var seg Segment
	for i, fr := range frames {
		if err := d.Decode(linkEthernet, fr, len(fr), int64(i+1), times[i], &seg); err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		c, dir, _ := tab.Track(&seg)
		h, peer := &c.Half[dir], &c.Half[dir.Reverse()]
		h.Observe(&seg, peer)
		ack := ""
		if seg.Flags&ACK != 0 {
			ack = strconv.FormatUint(uint64(peer.RelSeq(seg.Ack)), 10)
		}
		out = append(out, fmt.Sprintf("%d %d %s", c.ID, h.RelSeq(seg.Seq), ack))
	}
	tab.Close()
	return out
}

func tsharkView(t *testing.T, path string) []string {
	t.Helper()
	cmd := exec.Command("tshark", "-r", path, "-T", "fields", "-e", "tcp.stream", "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.flags.ack")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, stderr.String())
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(outb))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		for len(f) < 4 {
			f = append(f, "")
		}
		ack := f[2]
		if f[3] != "1" && f[3] != "True" {
			ack = ""
		}
		out = append(out, fmt.Sprintf("%s %s %s", f[0], f[1], ack))
	}
	return out
}

func needTshark(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: cannot compare stream ids with Wireshark")
	}
}

func buildScenario(t *testing.T, steps []step) ([][]byte, []time.Time) {
	base := time.Unix(1_700_000_000, 0)
	var frames [][]byte
	var times []time.Time
	for i, s := range steps {
		frames = append(frames, s.pkt().frame(t, linkEthernet))
		times = append(times, base.Add(time.Duration(i)*time.Millisecond))
	}
	return frames, times
}

func compareWithTshark(t *testing.T, steps []step, cfg TableConfig) {
	t.Helper()
	frames, times := buildScenario(t, steps)
	path := writePcap(t, linkEthernet, frames, times)
	want := tsharkView(t, path)
	got := ourView(t, frames, times, cfg)
	if len(want) != len(got) {
		t.Fatalf("tshark saw %d frames, we %d", len(want), len(got))
	}
	for i := range want {
		if want[i] != got[i] {
			s := steps[i]
			t.Errorf("frame %d (tuple %d fromB=%v %v seq=%d ack=%d): tshark %q, finwave %q",
				i+1, s.tuple, s.fromB, s.flags, s.seq, s.ack, want[i], got[i])
		}
	}
}

// namedScenarios are the port-reuse cases the assignment lists; their
// expected stream ids (first field) are Wireshark 4.0's, and
// TestStreamIDsNamed checks them without tshark.
var namedScenarios = map[string]struct {
	steps []step
	ids   []int64
}{
	"reuse after full close, new ISN": {[]step{
		{0, false, SYN, 100, 0, 0}, {0, true, SYN | ACK, 500, 101, 0}, {0, false, ACK, 101, 501, 0},
		{0, false, FIN | ACK, 101, 501, 0}, {0, true, FIN | ACK, 501, 102, 0}, {0, false, ACK, 102, 502, 0},
		{0, false, SYN, 9000, 0, 0}, {0, true, SYN | ACK, 7000, 9001, 0},
	}, []int64{0, 0, 0, 0, 0, 0, 1, 1}},
	"reuse after full close, same ISN": {[]step{
		{0, false, SYN, 100, 0, 0}, {0, true, SYN | ACK, 500, 101, 0}, {0, false, ACK, 101, 501, 0},
		{0, false, FIN | ACK, 101, 501, 0}, {0, true, FIN | ACK, 501, 102, 0}, {0, false, ACK, 102, 502, 0},
		{0, false, SYN, 100, 0, 0},
	}, []int64{0, 0, 0, 0, 0, 0, 0}},
	"reuse after RST, same ISN": {[]step{
		{0, false, SYN, 100, 0, 0}, {0, true, RST | ACK, 0, 101, 0}, {0, false, SYN, 100, 0, 0},
	}, []int64{0, 0, 0}},
	"SYN retransmission": {[]step{
		{0, false, SYN, 100, 0, 0}, {0, false, SYN, 100, 0, 0}, {0, true, SYN | ACK, 500, 101, 0}, {0, false, ACK, 101, 501, 0},
	}, []int64{0, 0, 0, 0}},
	"SYN from the other side": {[]step{
		{0, false, SYN, 100, 0, 0}, {0, true, SYN | ACK, 500, 101, 0}, {0, false, ACK, 101, 501, 0},
		{0, true, SYN, 800, 0, 0},
	}, []int64{0, 0, 0, 1}},
	"mid-stream start then SYN": {[]step{
		{0, false, ACK | PSH, 5000, 7000, 10}, {0, true, ACK, 7000, 5010, 0},
		{0, false, SYN, 5000, 0, 0}, {0, false, SYN, 4999, 0, 0},
	}, []int64{0, 0, 1, 2}},
	"new SYN-ACK ISN": {[]step{
		{0, false, SYN, 100, 0, 0}, {0, true, SYN | ACK, 500, 101, 0}, {0, true, SYN | ACK, 600, 101, 0},
	}, []int64{0, 0, 0}},
	"interleaved tuples": {[]step{
		{0, false, SYN, 100, 0, 0}, {1, false, SYN, 100, 0, 0}, {0, true, SYN | ACK, 500, 101, 0},
		{2, true, ACK, 1, 1, 0}, {1, false, SYN, 200, 0, 0}, {0, false, SYN, 300, 0, 0}, {2, false, ACK, 1, 1, 0},
	}, []int64{0, 1, 0, 2, 3, 4, 2}},
}

func TestStreamIDsNamed(t *testing.T) {
	for name, sc := range namedScenarios {
		t.Run(name, func(t *testing.T) {
			frames, times := buildScenario(t, sc.steps)
			got := ourView(t, frames, times, TableConfig{})
			for i, g := range got {
				id, _ := strconv.ParseInt(strings.Fields(g)[0], 10, 64)
				if id != sc.ids[i] {
					t.Errorf("frame %d: stream %d, want %d", i+1, id, sc.ids[i])
				}
			}
		})
	}
}

func TestStreamIDsNamedTshark(t *testing.T) {
	needTshark(t)
	for name, sc := range namedScenarios {
		t.Run(name, func(t *testing.T) { compareWithTshark(t, sc.steps, TableConfig{}) })
	}
}

// randomSteps draws segments from a small value space so that seq/base
// coincidences (retransmitted SYNs, seq == base) happen often.
func randomSteps(r *rand.Rand, n, tuples int) []step {
	flagSets := []Flags{SYN, SYN, SYN | ACK, ACK, ACK | PSH, FIN | ACK, RST, RST | ACK, ACK, ACK | PSH}
	seqs := []uint32{100, 101, 500, 501, 1000, 4294967295, 0}
	var out []step
	for range n {
		s := step{tuple: r.IntN(tuples), fromB: r.IntN(2) == 1, flags: flagSets[r.IntN(len(flagSets))],
			seq: seqs[r.IntN(len(seqs))], ack: seqs[r.IntN(len(seqs))]}
		if s.flags&PSH != 0 {
			s.payload = 1 + r.IntN(20)
		}
		if s.flags&ACK == 0 {
			s.ack = 0
		}
		out = append(out, s)
	}
	return out
}

func TestStreamIDsRandomTshark(t *testing.T) {
	needTshark(t)
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			compareWithTshark(t, randomSteps(r, 80, 3), TableConfig{})
		})
	}
}

// With a tiny idle timeout and flow cap the table finishes conns all the
// time; tombstones must keep the ids equal to Wireshark's.
func TestStreamIDsEvictionTshark(t *testing.T) {
	needTshark(t)
	for seed := range uint64(10) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 11))
			compareWithTshark(t, randomSteps(r, 80, 4), TableConfig{IdleTimeout: 2 * time.Millisecond, MaxFlows: 2})
		})
	}
}

var _ = layers.LinkTypeEthernet
