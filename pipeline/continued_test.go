package pipeline

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"finwave/analyzer"
	"finwave/capture"
)

// timedFrame is one frame of a scripted capture.
type timedFrame struct {
	at   time.Duration
	data []byte
}

// scriptSource replays timed frames.
type scriptSource struct {
	frames []timedFrame
	i      int
	t0     time.Time
}

func (s *scriptSource) Next(f *capture.Frame) error {
	if s.i == len(s.frames) {
		return io.EOF
	}
	fr := s.frames[s.i]
	s.i++
	*f = capture.Frame{Number: int64(s.i), Time: s.t0.Add(fr.at), Data: fr.data, OrigLen: len(fr.data), LinkType: layers.LinkTypeEthernet}
	return nil
}

func (s *scriptSource) Close() error { return nil }

// segFrame builds an Ethernet/IPv4/TCP frame between 10.0.0.1:cport (the
// client) and 10.0.0.2:80; toServer gives the direction.
func segFrame(t *testing.T, cport uint16, toServer bool, syn, fin bool, seq, ack uint32) []byte {
	t.Helper()
	c, s := net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 2)
	sp, dp := layers.TCPPort(cport), layers.TCPPort(80)
	if !toServer {
		c, s, sp, dp = s, c, dp, sp
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: c, DstIP: s}
	tcp := &layers.TCP{SrcPort: sp, DstPort: dp, Seq: seq, Ack: ack, SYN: syn, FIN: fin, ACK: ack != 0, Window: 512}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// TestShardedContinuedStreams: connections that close, are finished after
// the grace, and whose 4-tuples come back without a SYN later continue
// their streams (same id, continued) — with any number of workers, the
// merger still knows the ids of finished streams that can come back.
func TestShardedContinuedStreams(t *testing.T) {
	var frames []timedFrame
	at := time.Duration(0)
	add := func(d time.Duration, b []byte) {
		at += d
		frames = append(frames, timedFrame{at, b})
	}
	const n = 8
	for i := range uint16(n) { // eight clean closes, interleaved workers
		p := 40000 + i
		add(time.Millisecond, segFrame(t, p, true, true, false, 100, 0))
		add(time.Millisecond, segFrame(t, p, false, true, false, 900, 101))
		add(time.Millisecond, segFrame(t, p, true, false, false, 101, 901))
		add(time.Millisecond, segFrame(t, p, true, false, true, 101, 901))
		add(time.Millisecond, segFrame(t, p, false, false, true, 901, 102))
		add(time.Millisecond, segFrame(t, p, true, false, false, 102, 902))
	}
	for i := range uint16(n) { // 5 s later, past the grace: a late ACK each
		d := time.Millisecond
		if i == 0 {
			d = 5 * time.Second
		}
		add(d, segFrame(t, 40000+i, true, false, false, 102, 902))
	}
	type got struct {
		stream    int64
		first     int64
		continued bool
	}
	run := func(jobs int) []got {
		var out []got
		emit := func(td *analyzer.Teardown) {
			out = append(out, got{td.Stream, td.FirstFrame, td.Continued})
		}
		analyse(t, &scriptSource{frames: frames, t0: time.Unix(1_700_000_000, 0)}, jobs, emit)
		return out
	}
	want := run(1)
	continued := 0
	for _, g := range want {
		if g.continued {
			continued++
		}
	}
	if len(want) != 2*n || continued != n {
		t.Fatalf("one analyzer: %d flows, %d continued; want %d and %d (the script is wrong)", len(want), continued, 2*n, n)
	}
	byFirst := map[int64]got{}
	for _, g := range want {
		byFirst[g.first] = g
	}
	for _, jobs := range []int{2, 3} {
		out := run(jobs)
		if len(out) != len(want) {
			t.Fatalf("-j %d: %d flows, want %d", jobs, len(out), len(want))
		}
		for _, g := range out {
			if w := byFirst[g.first]; g != w {
				t.Errorf("-j %d: flow from frame %d: stream %d continued %v, want stream %d continued %v",
					jobs, g.first, g.stream, g.continued, w.stream, w.continued)
			}
		}
	}
}
