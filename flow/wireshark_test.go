package flow

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"finwave/internal/toolverdict"
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
// (ack "-" when the ACK flag is clear), the format of tsharkView. The
// stream is the conn's latest id (Conn.Streams), the one Wireshark gives
// the frame when a Continues hook kept it in an older conn.
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
		ack := "-"
		if seg.Flags&ACK != 0 {
			ack = strconv.FormatUint(uint64(peer.RelSeq(seg.Ack)), 10)
		}
		out = append(out, fmt.Sprintf("%d %d %s", c.lastID(), h.RelSeq(seg.Seq), ack))
	}
	tab.Close()
	return out
}

// tsharkView returns tshark's "tcp.stream tcp.seq tcp.ack" of each frame
// of the capture at path (tcp.ack "-" when the ACK flag is clear).
func tsharkView(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, f := range tsharkFields(t, path, "-e", "tcp.stream", "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.flags.ack") {
		for len(f) < 4 {
			f = append(f, "")
		}
		ack := f[2]
		if f[3] != "1" && f[3] != "True" {
			ack = "-"
		}
		out = append(out, fmt.Sprintf("%s %s %s", f[0], f[1], ack))
	}
	return out
}

// tsharkFields runs tshark -r path -T fields with args (the -e options,
// and any other) and returns each output line's tab-separated fields.
func tsharkFields(t *testing.T, path string, args ...string) [][]string {
	t.Helper()
	cmd := exec.Command("tshark", append([]string{"-r", path, "-T", "fields"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, stderr.String())
	}
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(outb))
	for sc.Scan() {
		out = append(out, strings.Split(sc.Text(), "\t"))
	}
	return out
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

// scenario is a capture built from steps, tracked with cfg.
type scenario struct {
	name  string
	steps []step
	cfg   TableConfig
}

// capture builds the scenario's frames and writes them as a pcap at path;
// hash names its bytes (toolverdict.Sum). Building is deterministic (no
// clock, no randomness), which the stored verdicts rely on: the hash
// check fails loudly if that ever changes.
func (sc *scenario) capture(t *testing.T) (frames [][]byte, times []time.Time, path, hash string) {
	t.Helper()
	frames, times = buildScenario(t, sc.steps)
	path = writePcap(t, linkEthernet, frames, times)
	hash, err := toolverdict.SumFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return frames, times, path, hash
}

// checkScenarios compares finwave's view of each scenario, frame by
// frame, with tshark's, stored in file (see toolverdict.Load; -update
// rewrites it with tshark), and returns the stored verdicts.
func checkScenarios(t *testing.T, file string, scs []scenario) *toolverdict.File {
	t.Helper()
	v := toolverdict.Load(t, file, "tshark", func(bool) *toolverdict.File {
		f := &toolverdict.File{About: []string{
			"tshark's tcp.stream, tcp.seq and tcp.ack (relative; - without the ACK flag), one line a frame,",
			"of captures built by flow/wireshark_test.go: the capture's sha256 checks that they still are the same.",
		}}
		for _, sc := range scs {
			_, _, path, hash := sc.capture(t)
			f.Sections = append(f.Sections, toolverdict.Section{Name: sc.name, Hash: hash, Lines: tsharkView(t, path)})
		}
		return f
	})
	for _, sc := range scs {
		t.Run(sc.name, func(t *testing.T) {
			frames, times, _, hash := sc.capture(t)
			want, ok := v.Lines(t, sc.name, hash)
			if !ok {
				return
			}
			got := ourView(t, frames, times, sc.cfg)
			if len(want) != len(got) {
				t.Fatalf("tshark saw %d frames, we %d", len(want), len(got))
			}
			for i := range want {
				if want[i] != got[i] {
					s := sc.steps[i]
					t.Errorf("frame %d (tuple %d fromB=%v %v seq=%d ack=%d): tshark %q, finwave %q",
						i+1, s.tuple, s.fromB, s.flags, s.seq, s.ack, want[i], got[i])
				}
			}
		})
	}
	return v
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

// TestStreamIDsNamedTshark compares finwave with tshark on the named
// scenarios: ids, relative seqs and acks.
func TestStreamIDsNamedTshark(t *testing.T) {
	var scs []scenario
	for _, name := range slices.Sorted(maps.Keys(namedScenarios)) {
		scs = append(scs, scenario{name: name, steps: namedScenarios[name].steps})
	}
	checkScenarios(t, "testdata/named.tshark", scs)
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

// randomScenarios are count scenarios of 80 random steps on tuples
// 4-tuples, drawn with PCG(seed, stream) for seed 0..count-1.
func randomScenarios(count, stream uint64, tuples int, cfg TableConfig) []scenario {
	var scs []scenario
	for seed := range count {
		r := rand.New(rand.NewPCG(seed, stream))
		scs = append(scs, scenario{name: fmt.Sprint("seed ", seed), steps: randomSteps(r, 80, tuples), cfg: cfg})
	}
	return scs
}

func TestStreamIDsRandomTshark(t *testing.T) {
	checkScenarios(t, "testdata/random.tshark", randomScenarios(20, 7, 3, TableConfig{}))
}

// With a tiny idle timeout and flow cap the table finishes conns all the
// time; the finished streams it keeps must keep the ids equal to
// Wireshark's.
func TestStreamIDsEvictionTshark(t *testing.T) {
	checkScenarios(t, "testdata/eviction.tshark",
		randomScenarios(10, 11, 4, TableConfig{IdleTimeout: 2 * time.Millisecond, MaxFlows: 2}))
}

// ackBaseSteps exercise the ACK-based base of a direction that has not
// sent yet. In Wireshark 4.0 (packet-tcp.c, tcp_analyze_sequence_number)
// a segment with ACK sets the base_seq of the other direction to ack-1
// unless that direction already has one (TCP_S_BASE_SEQ_SET); a segment
// sets its own direction's base only if unset (SYN: seq, else seq-1).
// dissect_tcp starts a new conversation for a SYN without ACK whose
// direction has a base_seq other than its seq. Each 4-tuple (port
// 40000+tuple) is one case; ackBaseIDs are the tcp.stream values this
// logic gives, and testdata/ack-base.tshark is what tshark said.
var ackBaseSteps = []step{
	// B's base is 5000-1 from A's ACK: B's SYN with that seq continues.
	{0, false, ACK | PSH, 1000, 5000, 10}, {0, true, SYN, 4999, 0, 0},
	// Any other seq starts stream 2.
	{1, false, ACK, 1000, 5000, 0}, {1, true, SYN, 7000, 0, 0},
	// A's SYN has no ACK: B has no base, its SYN continues (simultaneous
	// open).
	{2, false, SYN, 1000, 0, 0}, {2, true, SYN, 7000, 0, 0},
	// A RST with ACK sets B's base as well.
	{3, false, RST | ACK, 1000, 5000, 0}, {3, true, SYN, 7000, 0, 0},
	// Only the first ACK counts: base 4999, not 5999.
	{4, false, ACK, 1000, 5000, 0}, {4, false, ACK, 1000, 6000, 0}, {4, true, SYN, 5999, 0, 0},
	// ack 0: the base wraps to 2^32-1, which B's SYN then has.
	{5, false, ACK, 1000, 0, 0}, {5, true, SYN, 4294967295, 0, 0},
	// B's own first segment does not re-base what A's ACK set: its SYN
	// with that segment's seq-1 (7999) still differs from 4999.
	{6, false, ACK, 1000, 5000, 0}, {6, true, ACK, 8000, 1000, 0}, {6, true, SYN, 7999, 0, 0},
}

var ackBaseIDs = []int64{0, 0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 8, 9, 9, 10}

// TestStreamIDsACKBase pins the ACK-based base rule (wsState.observe) with
// a crafted capture, testdata/ack-base.pcap (rewritten by -update from
// ackBaseSteps), and tshark's verdict on it.
func TestStreamIDsACKBase(t *testing.T) {
	const pcap = "testdata/ack-base.pcap"
	sc := scenario{name: "ack-base.pcap", steps: ackBaseSteps}
	_, _, built, hash := sc.capture(t)
	if toolverdict.Updating() {
		b, err := os.ReadFile(built)
		if err == nil {
			err = os.WriteFile(pcap, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if h, err := toolverdict.SumFile(pcap); err != nil || h != hash {
		t.Fatalf("%s (sha256 %s, %v) is not what ackBaseSteps build (%s): run go test ./flow -run '^TestStreamIDsACKBase$' -update", pcap, h, err, hash)
	}
	v := checkScenarios(t, "testdata/ack-base.tshark", []scenario{sc})
	// The verdict is Wireshark's logic as the comments above derive it.
	lines, _ := v.Lines(t, sc.name, hash)
	if len(lines) != len(ackBaseIDs) {
		t.Fatalf("tshark: %d frames, want %d", len(lines), len(ackBaseIDs))
	}
	for i, l := range lines {
		if id := strings.Fields(l)[0]; id != strconv.FormatInt(ackBaseIDs[i], 10) {
			t.Errorf("frame %d: tshark says stream %s, the logic derived from its source %d", i+1, id, ackBaseIDs[i])
		}
	}
}

// continuedIDs returns, per frame, the Wireshark stream id ourView gives
// it with cfg.
func continuedIDs(t *testing.T, frames [][]byte, times []time.Time, cfg TableConfig) []string {
	t.Helper()
	out := ourView(t, frames, times, cfg)
	for i, v := range out {
		out[i], _, _ = strings.Cut(v, " ")
	}
	return out
}

// TestStreamIDsContinuesTshark: a conn that TableConfig.Continues keeps
// across a new-stream SYN still hands out Wireshark's ids (its latest id
// is the frame's tcp.stream), whatever the hook decides: always, never,
// or every other time; with conns finished early too (eviction).
func TestStreamIDsContinuesTshark(t *testing.T) {
	hooks := map[string]func(n *int) func(*Conn, Dir, Segment) bool{
		"always": func(*int) func(*Conn, Dir, Segment) bool {
			return func(*Conn, Dir, Segment) bool { return true }
		},
		"alternate": func(n *int) func(*Conn, Dir, Segment) bool {
			return func(*Conn, Dir, Segment) bool { *n++; return *n%2 == 1 }
		},
	}
	sets := []struct {
		file string
		scs  []scenario
	}{
		{"testdata/random.tshark", randomScenarios(20, 7, 3, TableConfig{})},
		{"testdata/eviction.tshark", randomScenarios(10, 11, 4, TableConfig{IdleTimeout: 2 * time.Millisecond, MaxFlows: 2})},
	}
	for _, set := range sets {
		v := checkScenarios(t, set.file, set.scs)
		for _, hname := range slices.Sorted(maps.Keys(hooks)) {
			continued := 0
			for _, sc := range set.scs {
				t.Run(set.file+"/"+hname+"/"+sc.name, func(t *testing.T) {
					frames, times, _, hash := sc.capture(t)
					want, ok := v.Lines(t, sc.name, hash)
					if !ok {
						return
					}
					var n int
					cfg := sc.cfg
					cont := hooks[hname](&n)
					cfg.Continues = func(c *Conn, d Dir, s Segment) bool {
						if cont(c, d, s) {
							continued++
							return true
						}
						return false
					}
					got := continuedIDs(t, frames, times, cfg)
					for i := range want {
						if w := strings.Fields(want[i])[0]; w != got[i] {
							t.Errorf("frame %d: tshark's stream %s, the continued conn's %s", i+1, w, got[i])
						}
					}
				})
			}
			if continued == 0 {
				t.Errorf("%s/%s: the hook was never asked", set.file, hname)
			}
		}
	}
}

// TestContinues_forgetsEveryID: a conn kept across a new-stream SYN
// records the id it took with its frame; when it finishes, every id but
// the one a returning 4-tuple resumes (the latest) is forgotten.
func TestContinues_forgetsEveryID(t *testing.T) {
	steps := []step{
		{0, false, SYN, 100, 0, 0}, {0, true, SYN | ACK, 500, 101, 0}, {0, false, ACK, 101, 501, 0},
		{0, false, SYN, 150, 0, 0}, {0, true, ACK, 501, 101, 0},
		{1, false, SYN, 100, 0, 0},
	}
	frames, times := buildScenario(t, steps)
	var forgot []int64
	var streams []StreamStart
	var firstID int64 = -1
	cfg := TableConfig{
		Continues: func(c *Conn, d Dir, s Segment) bool { return true },
		OnForget:  func(id int64) { forgot = append(forgot, id) },
		OnFinish: func(c *Conn, _ Finish, _ time.Time) {
			if c.A.Port == 40000 {
				firstID, streams = c.ID, slices.Clone(c.Streams)
			}
		},
	}
	got := continuedIDs(t, frames, times, cfg)
	if want := []string{"0", "0", "0", "1", "1", "2"}; !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v", got, want)
	}
	if firstID != 0 || !slices.Equal(streams, []StreamStart{{1, 4}}) {
		t.Errorf("finished conn: ID %d, Streams %v; want 0, [{1 4}]", firstID, streams)
	}
	slices.Sort(forgot)
	if want := []int64{0, 1, 2}; !slices.Equal(forgot, want) { // end of capture: nothing kept
		t.Errorf("forgotten %v, want %v", forgot, want)
	}
}
