package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"finwave/internal/toolverdict"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// seg describes one hand-made TCP segment: fromClient picks the direction.
type seg struct {
	fromClient bool
	flags      string // letters: S F R A P
	seq, ack   uint32
	payload    int
}

const (
	clientISN = 1000
	serverISN = 5000
)

// fourWayWithFINRetransmission is a connection with a handshake, one
// request, and a client close whose FIN is sent twice (same sequence
// number: a retransmission, RFC 9293 §3.10.7.4; tshark marks the second
// tcp.analysis.retransmission, TestFINRetransmissionTshark), then the
// server's FIN and the final ACK.
var fourWayWithFINRetransmission = []seg{
	{true, "S", clientISN, 0, 0},
	{false, "SA", serverISN, clientISN + 1, 0},
	{true, "A", clientISN + 1, serverISN + 1, 0},
	{true, "PA", clientISN + 1, serverISN + 1, 10},
	{false, "A", serverISN + 1, clientISN + 11, 0},
	{true, "FA", clientISN + 11, serverISN + 1, 0},
	{true, "FA", clientISN + 11, serverISN + 1, 0}, // frame 7: retransmitted FIN
	{false, "A", serverISN + 1, clientISN + 12, 0},
	{false, "FA", serverISN + 1, clientISN + 12, 0},
	{true, "A", clientISN + 12, serverISN + 2, 0},
}

// cleanFourWay is the same connection closed without any retransmission.
var cleanFourWay = []seg{
	{true, "S", clientISN, 0, 0},
	{false, "SA", serverISN, clientISN + 1, 0},
	{true, "A", clientISN + 1, serverISN + 1, 0},
	{true, "FA", clientISN + 1, serverISN + 1, 0},
	{false, "A", serverISN + 1, clientISN + 2, 0},
	{false, "FA", serverISN + 1, clientISN + 2, 0},
	{true, "A", clientISN + 2, serverISN + 2, 0},
}

// pcapBytes serialises segments between 10.0.0.1:40001 and 10.0.0.2:80 as
// an Ethernet pcap, one millisecond apart.
func pcapBytes(t testing.TB, segs []seg) []byte {
	t.Helper()
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, s := range segs {
		data := ethTCPFrame(t, 40001, s.fromClient, s.flags, s.seq, s.ack, s.payload)
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// ethTCPFrame serialises one Ethernet/IPv4/TCP frame between
// 10.0.0.1:cport (the client) and 10.0.0.2:80, with valid checksums.
// flags holds the letters S F R A P.
func ethTCPFrame(t testing.TB, cport uint16, fromClient bool, flags string, seq, ack uint32, payload int) []byte {
	t.Helper()
	cli, srv := net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 2)
	src, dst, sp, dp := cli, srv, layers.TCPPort(cport), layers.TCPPort(80)
	if !fromClient {
		src, dst, sp, dp = srv, cli, 80, layers.TCPPort(cport)
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
	tcp := &layers.TCP{SrcPort: sp, DstPort: dp, Seq: seq, Ack: ack, Window: 64240}
	for _, c := range flags {
		switch c {
		case 'S':
			tcp.SYN = true
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		case 'A':
			tcp.ACK = true
		case 'P':
			tcp.PSH = true
		}
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(make([]byte, payload))); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// writeFile writes b to name in a test directory and returns the path.
func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFINRetransmissionTshark checks the claim on
// fourWayWithFINRetransmission against tshark's verdict, stored in
// testdata/tshark-retransmissions.tshark: the frames tshark marks
// tcp.analysis.retransmission are the repeated sendings in finwave's
// fin-retransmission anomaly (frame 7; none in cleanFourWay).
func TestFINRetransmissionTshark(t *testing.T) {
	captures := []struct {
		name string
		segs []seg
	}{{"fourWayWithFINRetransmission", fourWayWithFINRetransmission}, {"cleanFourWay", cleanFourWay}}
	v := toolverdict.Load(t, "testdata/tshark-retransmissions.tshark", "tshark", func(bool) *toolverdict.File {
		f := &toolverdict.File{About: []string{"the frame numbers tshark marks tcp.analysis.retransmission in captures made by capture_test.go (pcapBytes)."}}
		for _, c := range captures {
			b := pcapBytes(t, c.segs)
			out, err := exec.Command("tshark", "-n", "-r", writeFile(t, t.TempDir(), "c.pcap", b),
				"-Y", "tcp.analysis.retransmission", "-T", "fields", "-e", "frame.number").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			f.Sections = append(f.Sections, toolverdict.Section{Name: c.name, Hash: toolverdict.Sum(b), Lines: strings.Fields(string(out))})
		}
		return f
	})
	for _, c := range captures {
		b := pcapBytes(t, c.segs)
		want, ok := v.Lines(t, c.name, toolverdict.Sum(b))
		if !ok {
			continue
		}
		_, d := runHostile(t, c.name+".pcap", b)
		kinds, _ := kindsOf(d, "40001")
		// The anomaly's frames are the FIN's every sending; tshark marks
		// the sendings after the first.
		var got []string
		if frames := kinds["fin-retransmission"]; len(frames) > 0 {
			for _, fr := range frames[1:] {
				got = append(got, strconv.FormatInt(fr, 10))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: finwave's FIN retransmissions at frames %v, tshark's %v", c.name, got, want)
		}
	}
}
