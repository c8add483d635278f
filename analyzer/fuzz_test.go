package analyzer

import (
	"encoding/binary"
	"testing"
	"time"

	"finwave/flow"
)

// segmentsFromBytes turns fuzz input into segments of one or two 4-tuples:
// 10 bytes a segment — direction and tuple, flags, sequence and ACK moves
// (small deltas, or big jumps for wrap-around and blind values), payload
// length and a time step that may go backwards.
func segmentsFromBytes(data []byte) []flow.Segment {
	var segs []flow.Segment
	next := [2]flow.Seq{0xfffff000, 0x7ffffff0} // both wrap within the run
	now := time.Unix(1_700_000_000, 0)
	for i := 0; i+10 <= len(data) && len(segs) < 512; i += 10 {
		b := data[i : i+10]
		dir := int(b[0] & 1)
		cli := clientN(int(b[0]>>1) & 1) // two 4-tuples: reuse and interleaving
		src, dst := cli, server80
		if dir == 1 {
			src, dst = server80, cli
		}
		seq := next[dir] + flow.Seq(int16(binary.BigEndian.Uint16(b[2:4])))
		if b[0]&0x80 != 0 {
			seq = flow.Seq(binary.BigEndian.Uint32(b[2:6])) // blind
		}
		ack := next[1-dir] + flow.Seq(int8(b[6]))
		n := uint32(b[7]) * 8
		step := time.Duration(int8(b[8])) * 37 * time.Millisecond
		if b[9]&1 != 0 {
			step *= 1000 // jumps past TIME_WAIT and idle timers
		}
		now = now.Add(step)
		seg := flow.Segment{Frame: int64(len(segs) + 1), Time: now, Src: src, Dst: dst, Seq: seq, Ack: ack,
			Flags: flow.Flags(b[1]), Len: n, Window: binary.BigEndian.Uint16(b[4:6]), WScale: flow.NoOption, MSS: flow.NoOption}
		if end := seg.End(); next[dir].Less(end) {
			next[dir] = end
		}
		segs = append(segs, seg)
	}
	return segs
}

// FuzzAnalyzer feeds arbitrary segment sequences (random flags, sequence
// numbers, wrap-around, duplicates, reordering, time going backwards) and
// checks the invariants every Teardown must keep.
func FuzzAnalyzer(f *testing.F) {
	// Seeds: a normal close, a lost final ACK, RST storms, SYN+FIN.
	f.Add([]byte{
		0, 0x02, 0, 0, 0, 0, 0, 0, 1, 0, // SYN
		1, 0x12, 0, 0, 0, 0, 1, 0, 1, 0, // SYN-ACK
		0, 0x10, 0, 0, 0xff, 0xff, 1, 0, 1, 0, // ACK
		0, 0x18, 0, 0, 0xff, 0xff, 0, 4, 1, 0, // data
		0, 0x11, 0, 0, 0xff, 0xff, 0, 0, 1, 0, // FIN
		1, 0x10, 0, 0, 0xff, 0xff, 0, 0, 1, 0, // ACK
		1, 0x11, 0, 0, 0xff, 0xff, 0, 0, 1, 0, // FIN
		0, 0x10, 0, 0, 0xff, 0xff, 0, 0, 1, 0, // ACK
		1, 0x11, 0xff, 0xff, 0xff, 0xff, 0, 0, 5, 0, // FIN again
		0, 0x10, 0, 0, 0xff, 0xff, 0, 0, 1, 0, // re-ACK
	})
	f.Add([]byte{0, 0x03, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0x14, 0, 0, 0, 0, 1, 0, 1, 0, 0x81, 0x04, 1, 2, 3, 4, 0, 0, 0xf0, 1})
	f.Add([]byte{2, 0x02, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 1, 0, 3, 0x12, 0, 0, 0, 0, 1, 0, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a bug too: panic so the fuzzer keeps the input.
		wd := time.AfterFunc(20*time.Second, func() { panic("analyzer hung on this input") })
		defer wd.Stop()
		segs := segmentsFromBytes(data)
		cfg := DefaultConfig()
		cfg.MaxFlows = 1 // exercise eviction: the inputs use two 4-tuples
		var tds []*Teardown
		a := New(cfg, func(td *Teardown) { tds = append(tds, td) })
		for i := range segs {
			a.Segment(&segs[i])
		}
		a.Close()
		// Every segment is counted in exactly one teardown (or ignored as
		// a duplicate capture), and every stream handed out is reported.
		flowsSeen := map[int64]bool{}
		var packets uint64
		for _, td := range tds {
			checkTeardown(t, td, int64(len(segs)))
			flowsSeen[td.Stream] = true
			packets += td.Sent[Client].Packets + td.Sent[Server].Packets
		}
		if len(segs) > 0 && len(tds) == 0 {
			t.Fatalf("%d segments, no teardown", len(segs))
		}
		st := a.Stats()
		if want := uint64(len(segs)) - uint64(st.Duplicates); packets != want {
			t.Fatalf("teardowns count %d packets, want %d (%d segments, %d duplicates)", packets, want, len(segs), st.Duplicates)
		}
		for id := range a.Streams() {
			if !flowsSeen[id] {
				t.Fatalf("stream %d was handed out but never reported (%d streams)", id, a.Streams())
			}
		}
		for id := range flowsSeen {
			if id < 0 || id >= a.Streams() {
				t.Fatalf("stream %d reported, outside the %d handed out", id, a.Streams())
			}
		}
	})
}

func checkTeardown(t *testing.T, td *Teardown, maxFrame int64) {
	t.Helper()
	for _, st := range []State{td.ClientEnd.State, td.ServerEnd.State} {
		if st.String() == "INVALID" {
			t.Fatalf("stream %d: invalid end state %d", td.Stream, st)
		}
	}
	if td.Pattern.String() == "" || td.Closer.String() == "" {
		t.Fatalf("stream %d: empty pattern or closer", td.Stream)
	}
	if td.FirstFrame < 1 || td.LastFrame > maxFrame || td.FirstFrame > td.LastFrame {
		t.Fatalf("stream %d: frames %d–%d outside 1–%d", td.Stream, td.FirstFrame, td.LastFrame, maxFrame)
	}
	prev := int64(0)
	for _, s := range td.Segments {
		if s.Frame < prev || s.Frame < 1 || s.Frame > maxFrame {
			t.Fatalf("stream %d: labelled frames out of order or range: %d after %d", td.Stream, s.Frame, prev)
		}
		prev = s.Frame
		if s.Label == NoLabel {
			t.Fatalf("stream %d: frame %d recorded without a label", td.Stream, s.Frame)
		}
		for _, ch := range s.Changes {
			if ch.From == ch.To {
				t.Fatalf("stream %d: frame %d: change %v→%v is no change", td.Stream, s.Frame, ch.From, ch.To)
			}
		}
	}
	if len(td.Segments) > DefaultConfig().MaxSegments+2 {
		t.Fatalf("stream %d: %d labelled segments beyond the cap", td.Stream, len(td.Segments))
	}
	for _, an := range td.Anomalies {
		if an.Detail == "" || an.Kind.String() == "invalid" {
			t.Fatalf("stream %d: anomaly %v without detail", td.Stream, an.Kind)
		}
		for _, f := range an.Frames {
			if f < 1 || f > maxFrame {
				t.Fatalf("stream %d: anomaly %v cites frame %d outside 1–%d", td.Stream, an.Kind, f, maxFrame)
			}
		}
	}
	if td.ZeekConnState == "" {
		t.Fatalf("stream %d: no Zeek conn_state", td.Stream)
	}
}
