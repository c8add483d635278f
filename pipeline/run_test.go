package pipeline

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"finwave/capture"
	"finwave/flow"
)

// tcpFrame builds an Ethernet/IPv4/TCP frame.
func tcpFrame(t testing.TB, srcPort uint16, fin bool, payload int) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IPv4(10, 0, 0, 1), DstIP: net.IPv4(10, 0, 0, 2)}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(srcPort), DstPort: 80, Seq: 1000, Ack: 1, ACK: true, FIN: fin, Window: 512}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(make([]byte, payload)))
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// arpFrame builds an Ethernet/ARP frame (not TCP).
func arpFrame(t testing.TB) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: []byte{2, 0, 0, 0, 0, 1}, SourceProtAddress: []byte{10, 0, 0, 1},
		DstHwAddress: []byte{0, 0, 0, 0, 0, 0}, DstProtAddress: []byte{10, 0, 0, 2}}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, arp); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

type rec struct {
	link layers.LinkType
	data []byte
}

// fakeSource replays records, then ends with end (io.EOF when nil). It can
// loop the records n times without allocating.
type fakeSource struct {
	recs  []rec
	loops int
	end   error
	i     int
	num   int64
	t0    time.Time
}

func (s *fakeSource) Next(f *capture.Frame) error {
	if s.i == len(s.recs)*s.loops {
		if s.end != nil {
			return s.end
		}
		return io.EOF
	}
	r := s.recs[s.i%len(s.recs)]
	s.i++
	s.num++
	f.Number = s.num
	f.Time = s.t0.Add(time.Duration(s.num) * time.Millisecond)
	f.Data = r.data
	f.OrigLen = len(r.data)
	f.LinkType = r.link
	return nil
}

func (s *fakeSource) Close() error { return nil }

type countSink struct {
	n      int
	frames []int64
	keep   bool
}

func (c *countSink) Segment(seg *flow.Segment) {
	c.n++
	if c.keep {
		c.frames = append(c.frames, seg.Frame)
	}
}

func TestRunCounts(t *testing.T) {
	full := tcpFrame(t, 40000, true, 10)
	recs := []rec{
		{layers.LinkTypeEthernet, tcpFrame(t, 40000, false, 0)},
		{layers.LinkTypeEthernet, arpFrame(t)},
		{layers.LinkTypeEthernet, full},
		{layers.LinkTypeEthernet, full[:20]}, // cut inside the IPv4 header
		{layers.LinkType(147), full},         // DLT_USER0: unknown
		{layers.LinkTypeEthernet, tcpFrame(t, 40001, true, 0)},
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	src := &fakeSource{recs: recs, loops: 1, t0: t0}
	sink := &countSink{keep: true}
	var st Stats
	if err := Run(context.Background(), src, sink, &st); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st.Frames != 6 || st.TCPSegments != 3 || sink.n != 3 {
		t.Errorf("frames %d tcp %d sink %d; want 6 3 3", st.Frames, st.TCPSegments, sink.n)
	}
	if st.NotTCP != 1 || st.Truncated != 1 || st.UnsupportedLink != 1 || st.Malformed != 0 {
		t.Errorf("skipped %+v", st.Skipped())
	}
	if want := []int64{1, 3, 6}; len(sink.frames) != 3 || sink.frames[0] != want[0] || sink.frames[1] != want[1] || sink.frames[2] != want[2] {
		t.Errorf("segments carry frames %v, want %v", sink.frames, want)
	}
	if !st.First.Equal(t0.Add(time.Millisecond)) || !st.Last.Equal(t0.Add(6*time.Millisecond)) {
		t.Errorf("span %v..%v", st.First, st.Last)
	}
	if got := st.Skipped(); len(got) != 3 || got[ReasonNotTCP] != 1 || got[ReasonTruncated] != 1 || got["unsupported link type 147 (user 0)"] != 1 {
		t.Errorf("Skipped() = %v", got)
	}
}

func TestRunKeepsReadError(t *testing.T) {
	re := &capture.ReadError{File: "x.pcap", Frame: 3, Offset: 99, Err: capture.ErrTruncated}
	src := &fakeSource{recs: []rec{{layers.LinkTypeEthernet, tcpFrame(t, 40000, false, 0)}}, loops: 2, end: re}
	sink := &countSink{}
	var st Stats
	err := Run(context.Background(), src, sink, &st)
	if err != re || st.ReadErr != re {
		t.Fatalf("Run = %v, ReadErr = %v; want the read error", err, st.ReadErr)
	}
	if sink.n != 2 {
		t.Errorf("frames before the error analysed: %d, want 2", sink.n)
	}
	if got, ok := st.ReadError(); !ok || got.Frame != 3 {
		t.Errorf("ReadError() = %v, %v", got, ok)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := &fakeSource{recs: []rec{{layers.LinkTypeEthernet, tcpFrame(t, 40000, false, 0)}}, loops: 1 << 20}
	sink := &countSink{}
	var st Stats
	err := Run(ctx, src, sink, &st)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if st.Frames >= 1<<20 || st.Frames != int64(sink.n) {
		t.Errorf("read %d frames after cancel (sink %d): must stop early and analyse what it read", st.Frames, sink.n)
	}
	if st.ReadErr != nil {
		t.Errorf("cancel recorded as read error: %v", st.ReadErr)
	}
}

func TestRunProgress(t *testing.T) {
	src := &fakeSource{recs: []rec{{layers.LinkTypeEthernet, tcpFrame(t, 40000, false, 0)}}, loops: 5000}
	var calls int
	var lastFrames int64
	r := Runner{Interval: time.Nanosecond, OnProgress: func(p Progress) {
		calls++
		lastFrames = p.Stats.Frames
		if p.Offset != -1 {
			t.Errorf("Offset = %d for a source that does not know it", p.Offset)
		}
	}}
	var st Stats
	if err := r.Run(context.Background(), src, &countSink{}, &st); err != nil {
		t.Fatal(err)
	}
	// 5000 frames: checks at 1024, 2048, 3072, 4096, then the final call.
	if calls < 2 || lastFrames != 5000 {
		t.Errorf("progress called %d times, last with %d frames", calls, lastFrames)
	}
}

// TestRunNoAllocPerFrame: the whole run over 4096 frames allocates no more
// than a fixed set-up cost, so nothing is allocated per frame.
func TestRunNoAllocPerFrame(t *testing.T) {
	recs := []rec{
		{layers.LinkTypeEthernet, tcpFrame(t, 40000, false, 100)},
		{layers.LinkTypeEthernet, tcpFrame(t, 40000, true, 0)},
		{layers.LinkTypeEthernet, arpFrame(t)},
	}
	src := &fakeSource{recs: recs}
	sink := &countSink{}
	var st Stats
	ctx := context.Background()
	var r Runner
	run := func(loops int) float64 {
		return testing.AllocsPerRun(20, func() {
			src.i, src.loops = 0, loops
			if err := r.Run(ctx, src, sink, &st); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := run(1), run(4096)
	if large > small {
		t.Errorf("allocations grow with frames: %v for 3 frames, %v for 12288", small, large)
	}
	if small > 4 {
		t.Errorf("%v allocations of set-up per run, want at most 4", small)
	}
}

func BenchmarkRun(b *testing.B) {
	recs := []rec{
		{layers.LinkTypeEthernet, tcpFrame(b, 40000, false, 100)},
		{layers.LinkTypeEthernet, tcpFrame(b, 40000, true, 0)},
	}
	src := &fakeSource{recs: recs, loops: 1}
	var st Stats
	sink := &countSink{}
	b.ReportAllocs()
	for b.Loop() {
		src.i = 0
		_ = Run(context.Background(), src, sink, &st)
	}
}
