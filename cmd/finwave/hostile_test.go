package main

// Hostile and impossible values (issue 6): impossible flag combinations,
// broken header lengths, snaplen cuts, time going backwards, doubled
// capture, absurd file header fields. Each must be handled on purpose: an
// anomaly or a counted skip, never a panic, and the analysis goes on.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// hpkt is one frame of a hostile capture.
type hpkt struct {
	cport      uint16 // client port: one flow per port
	fromClient bool
	flags      string // S F R A P
	seq, ack   uint32
	payload    int
	at         time.Duration // timestamp from t0 (may go backwards)
	snap       int           // captured length, 0: whole frame
	mutate     func(b []byte)
}

var hostileT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// hostileFrame serialises p as Ethernet/IPv4/TCP between 10.0.0.1:cport
// and 10.0.0.2:80.
func hostileFrame(t testing.TB, p hpkt) []byte {
	t.Helper()
	b := ethTCPFrame(t, p.cport, p.fromClient, p.flags, p.seq, p.ack, p.payload)
	if p.mutate != nil {
		p.mutate(b)
	}
	return b
}

// hostilePcap writes the frames as an Ethernet pcap with snaplen 65535.
func hostilePcap(t testing.TB, ps []hpkt) []byte {
	t.Helper()
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		b := hostileFrame(t, p)
		at := p.at
		if at == 0 {
			at = time.Duration(i) * time.Millisecond
		}
		ci := gopacket.CaptureInfo{Timestamp: hostileT0.Add(at), CaptureLength: len(b), Length: len(b)}
		if p.snap > 0 && p.snap < len(b) {
			b = b[:p.snap]
			ci.CaptureLength = p.snap
		}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// handshake returns the three segments opening a flow from port cport with
// client ISN 1000 and server ISN 5000.
func handshake(cport uint16) []hpkt {
	return []hpkt{
		{cport: cport, fromClient: true, flags: "S", seq: 1000},
		{cport: cport, flags: "SA", seq: 5000, ack: 1001},
		{cport: cport, fromClient: true, flags: "A", seq: 1001, ack: 5001},
	}
}

// fourWay closes the flow opened by handshake after n client data bytes.
func fourWay(cport uint16, n uint32) []hpkt {
	c := 1001 + n
	return []hpkt{
		{cport: cport, fromClient: true, flags: "FA", seq: c, ack: 5001},
		{cport: cport, flags: "A", seq: 5001, ack: c + 1},
		{cport: cport, flags: "FA", seq: 5001, ack: c + 1},
		{cport: cport, fromClient: true, flags: "A", seq: c + 1, ack: 5002},
	}
}

// jsonDoc is the part of the JSON document these tests read.
type jsonDoc struct {
	File        string           `json:"file"`
	Frames      int64            `json:"frames"`
	TCPSegments int64            `json:"tcp_segments"`
	Skipped     map[string]int64 `json:"skipped"`
	ReadError   *string          `json:"read_error"`
	Flows       []struct {
		Client  string `json:"client"`
		Pattern string `json:"pattern"`
		Closer  string `json:"closer"`
		Bytes   struct {
			Client uint64 `json:"client"`
		} `json:"bytes"`
		Anomalies []struct {
			Kind   string  `json:"kind"`
			Frames []int64 `json:"frames"`
		} `json:"anomalies"`
	} `json:"flows"`
	Summary struct {
		Flows   int64 `json:"flows"`
		Evicted int64 `json:"evicted"`
	} `json:"summary"`
}

// runHostile writes the capture, runs finwave --json --all on it and
// decodes the document.
func runHostile(t *testing.T, name string, capture []byte, args ...string) (runOutcome, jsonDoc) {
	t.Helper()
	path := writeFile(t, t.TempDir(), name, capture)
	o := runSafe(context.Background(), append([]string{"--json", "--all"}, append(args, path)...)...)
	checkJSONRun(t, path, o, true)
	var d jsonDoc
	if o.stdout != "" {
		if err := json.Unmarshal([]byte(o.stdout), &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return o, d
}

// kindsOf returns the anomaly kinds, with their frames, of the flows from
// client port cport (a segment with SYN can start a new stream on the same
// ports, as in tshark's tcp.stream).
func kindsOf(d jsonDoc, cport string) (map[string][]int64, bool) {
	m := map[string][]int64{}
	found := false
	for _, f := range d.Flows {
		if strings.HasSuffix(f.Client, ":"+cport) {
			found = true
			for _, a := range f.Anomalies {
				m[a.Kind] = append(m[a.Kind], a.Frames...)
			}
		}
	}
	return m, found
}

// TestInvalidFlagsReported: RFC 9293 §3.10.7 has no state in which a
// segment may carry SYN with FIN or RST, or FIN with RST; no Linux path
// builds one (tcp_send_fin, tcp_send_active_reset, tcp_v4_send_reset each
// set one of them). A RST with data is legal on the wire (RFC 9293 §3.5.3,
// RFC 1122 §4.2.2.12: diagnostic text) but Linux never sends one. Each is
// reported as invalid-flags on the frame, and the analysis goes on: a clean
// flow after them is still reported whole.
func TestInvalidFlagsReported(t *testing.T) {
	var ps []hpkt
	bad := map[uint16]hpkt{
		40001: {cport: 40001, fromClient: true, flags: "SF", seq: 1001},
		40002: {cport: 40002, fromClient: true, flags: "SR", seq: 1001},
		40003: {cport: 40003, fromClient: true, flags: "FRA", seq: 1001, ack: 5001},
		40004: {cport: 40004, fromClient: true, flags: "RA", seq: 1001, ack: 5001, payload: 12},
	}
	frameOf := map[uint16]int64{}
	for _, port := range []uint16{40001, 40002, 40003, 40004} {
		ps = append(ps, handshake(port)...)
		ps = append(ps, bad[port])
		frameOf[port] = int64(len(ps))
	}

	// A scan's SYN+FIN opening a flow, as nmap -sS --scanflags SYNFIN sends.
	ps = append(ps, hpkt{cport: 40005, fromClient: true, flags: "SF", seq: 77})
	frameOf[40005] = int64(len(ps))
	bad[40005] = ps[len(ps)-1]
	ps = append(ps, handshake(40009)...)
	ps = append(ps, fourWay(40009, 0)...)

	o, d := runHostile(t, "flags.pcap", hostilePcap(t, ps))
	if o.code != exitOK {
		t.Fatalf("exit %d, stderr %q", o.code, o.stderr)
	}
	if d.TCPSegments != int64(len(ps)) {
		t.Fatalf("%d segments analysed, want %d", d.TCPSegments, len(ps))
	}
	for port, fr := range frameOf {
		ks, ok := kindsOf(d, itoa(port))
		if !ok {
			t.Errorf("flow from port %d missing", port)
			continue
		}
		if frames := ks["invalid-flags"]; len(frames) != 1 || frames[0] != fr {
			t.Errorf("port %d (%s): invalid-flags frames %v, want [%d]; anomalies %v", port, bad[port].flags, frames, fr, ks)
		}
	}
	ks, _ := kindsOf(d, "40009")
	if len(ks) != 0 {
		t.Errorf("the clean flow after the hostile ones has anomalies %v", ks)
	}
	if f := d.Flows[len(d.Flows)-1]; f.Pattern != "four-way" || f.Closer != "client" {
		t.Errorf("clean flow after hostile ones: pattern %s closer %s, want four-way by the client", f.Pattern, f.Closer)
	}
	// --fail-on sees them.
	path := writeFile(t, t.TempDir(), "flags.pcap", hostilePcap(t, ps))
	if o := runSafe(context.Background(), "-q", "--fail-on", "invalid-flags", path); o.code != exitFindings || o.panicked != nil {
		t.Errorf("--fail-on invalid-flags: exit %d, panic %v", o.code, o.panicked)
	}
}

func itoa(p uint16) string {
	b, _ := json.Marshal(p)
	return string(b)
}

// TestBrokenHeaderLengths: a TCP data offset beyond the IP payload, a TCP
// data offset below 5 words and an IPv4 IHL of 0 are malformed headers
// (RFC 9293 §3.1, RFC 791 §3.1): the frame is skipped and counted as
// malformed, and the flow's other segments are analysed.
func TestBrokenHeaderLengths(t *testing.T) {
	const eth, ipl = 14, 20
	mutations := []func(b []byte){
		func(b []byte) { b[eth+ipl+12] = 15 << 4 },      // data offset 60 > 20 octets of TCP
		func(b []byte) { b[eth+ipl+12] = 0 },            // data offset 0: zero-length TCP header
		func(b []byte) { b[eth+ipl+12] = 4 << 4 },       // data offset 16 < 20
		func(b []byte) { b[eth] = 0x40 },                // IHL 0: zero-length IP header
		func(b []byte) { b[eth+2], b[eth+3] = 0, 0x10 }, // IP total length 16 < header
	}
	ps := handshake(40001)
	for _, m := range mutations {
		ps = append(ps, hpkt{cport: 40001, fromClient: true, flags: "FA", seq: 1001, ack: 5001, mutate: m})
	}
	ps = append(ps, fourWay(40001, 0)...)
	o, d := runHostile(t, "headers.pcap", hostilePcap(t, ps))
	if o.code != exitOK {
		t.Fatalf("exit %d, stderr %q", o.code, o.stderr)
	}
	if d.Frames != int64(len(ps)) || d.Skipped["malformed"] != int64(len(mutations)) {
		t.Errorf("frames %d, skipped %v: want %d frames, %d malformed", d.Frames, d.Skipped, len(ps), len(mutations))
	}
	if len(d.Flows) != 1 || d.Flows[0].Pattern != "four-way" {
		t.Fatalf("flows %+v: want the one flow, closed four-way", d.Flows)
	}
	if len(d.Flows[0].Anomalies) != 0 {
		t.Errorf("skipped frames leaked into the analysis: %+v", d.Flows[0].Anomalies)
	}
}

// TestSnaplenTruncatedSegment: a data segment captured with snaplen 96
// still advances the sequence space by its IP length (RFC 9293 §3.4; as
// tshark's tcp.len), so the FIN after 1000 bytes is not data after FIN
// nor a gap, and the byte count is the real one.
func TestSnaplenTruncatedSegment(t *testing.T) {
	ps := handshake(40001)
	ps = append(ps, hpkt{cport: 40001, fromClient: true, flags: "PA", seq: 1001, ack: 5001, payload: 1000, snap: 96},
		hpkt{cport: 40001, flags: "A", seq: 5001, ack: 2001})
	ps = append(ps, fourWay(40001, 1000)...)
	o, d := runHostile(t, "snap.pcap", hostilePcap(t, ps))
	if o.code != exitOK {
		t.Fatalf("exit %d, stderr %q", o.code, o.stderr)
	}
	if len(d.Flows) != 1 {
		t.Fatalf("%d flows", len(d.Flows))
	}
	f := d.Flows[0]
	if f.Pattern != "four-way" || f.Closer != "client" || len(f.Anomalies) != 0 || f.Bytes.Client != 1000 {
		t.Errorf("pattern %s closer %s bytes %d anomalies %+v: want four-way by the client, 1000 bytes, no anomaly",
			f.Pattern, f.Closer, f.Bytes.Client, f.Anomalies)
	}
}

// TestTimestampsBackwards: a clock step backwards between frames (NTP, a
// merged capture) changes no verdict that depends on order only.
func TestTimestampsBackwards(t *testing.T) {
	ps := append(handshake(40001), fourWay(40001, 0)...)
	for i := range ps {
		ps[i].at = time.Duration(len(ps)-i) * time.Second // every frame earlier than the one before
	}
	o, d := runHostile(t, "backwards.pcap", hostilePcap(t, ps))
	if o.code != exitOK {
		t.Fatalf("exit %d, stderr %q", o.code, o.stderr)
	}
	if len(d.Flows) != 1 || d.Flows[0].Pattern != "four-way" || d.Flows[0].Closer != "client" {
		t.Fatalf("flows %+v: want one four-way close by the client", d.Flows)
	}
}

// TestDoubledCapture: on `-i any` each packet can be captured twice, the
// copies identical. The analysis must survive it and still see one flow
// closed four-way by the client, the copies counted as skipped.
func TestDoubledCapture(t *testing.T) {
	var ps []hpkt
	for i, p := range append(handshake(40001), fourWay(40001, 0)...) {
		p.at = time.Duration(i+1) * time.Millisecond
		q := p
		q.at += time.Microsecond
		ps = append(ps, p, q)
	}
	o, d := runHostile(t, "twice.pcap", hostilePcap(t, ps))
	if o.code != exitOK {
		t.Fatalf("exit %d, stderr %q", o.code, o.stderr)
	}
	if len(d.Flows) != 1 || d.Flows[0].Pattern != "four-way" || d.Flows[0].Closer != "client" {
		t.Fatalf("flows %+v: want one four-way close by the client", d.Flows)
	}
	for _, a := range d.Flows[0].Anomalies {
		if a.Kind == "invalid-flags" || strings.HasPrefix(a.Kind, "rst") || a.Kind == "data-after-fin" {
			t.Errorf("doubled frames produced %s at %v", a.Kind, a.Frames)
		}
	}
	// Each of the 7 segments appears twice, byte for byte, 1 µs apart.
	if d.Skipped["duplicate capture"] != 7 || len(d.Flows[0].Anomalies) != 0 {
		t.Errorf("skipped %v, anomalies %+v: want the 7 copies skipped as duplicate capture and no anomaly", d.Skipped, d.Flows[0].Anomalies)
	}
}

// pcapHeader is a classic little-endian microsecond pcap file header.
func pcapHeader(snaplen, link uint32) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(b[4:], 2)
	binary.LittleEndian.PutUint16(b[6:], 4)
	binary.LittleEndian.PutUint32(b[16:], snaplen)
	binary.LittleEndian.PutUint32(b[20:], link)
	return b
}

// pcapRecord is a classic pcap record header claiming incl/orig lengths,
// followed by data.
func pcapRecord(incl, orig uint32, data []byte) []byte {
	b := make([]byte, 16, 16+len(data))
	binary.LittleEndian.PutUint32(b[0:], 1772366400)
	binary.LittleEndian.PutUint32(b[8:], incl)
	binary.LittleEndian.PutUint32(b[12:], orig)
	return append(b, data...)
}

// pcapngBlock is a little-endian pcapng block with the given total length
// field (0: the true one).
func pcapngBlock(typ uint32, body []byte, total uint32) []byte {
	n := uint32(12 + len(body))
	if total == 0 {
		total = n
	}
	b := make([]byte, 8, n)
	binary.LittleEndian.PutUint32(b[0:], typ)
	binary.LittleEndian.PutUint32(b[4:], total)
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, total)
}

// TestAbsurdFileHeaders: header fields that claim gigabytes (snaplen, a
// record's captured length, a pcapng block length) are refused or
// tolerated, but never believed enough to allocate them.
func TestAbsurdFileHeaders(t *testing.T) {
	frame := hostileFrame(t, hpkt{cport: 40001, fromClient: true, flags: "S", seq: 1000})
	n := uint32(len(frame))
	shb := pcapngBlock(0x0A0D0D0A, []byte{0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0)
	idb := func(snap uint32) []byte {
		body := binary.LittleEndian.AppendUint16(nil, 1) // Ethernet
		body = binary.LittleEndian.AppendUint16(body, 0)
		body = binary.LittleEndian.AppendUint32(body, snap)
		return pcapngBlock(1, body, 0)
	}
	epb := func(capLen uint32, total uint32) []byte {
		body := make([]byte, 20)
		binary.LittleEndian.PutUint32(body[12:], capLen)
		binary.LittleEndian.PutUint32(body[16:], n)
		body = append(body, frame...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		return pcapngBlock(6, body, total)
	}
	cases := []struct {
		name   string
		data   []byte
		frames int64 // frames before the damage
	}{
		{"pcap snaplen 4G", cat(pcapHeader(0xffffffff, 1), pcapRecord(n, n, frame)), 1},
		{"pcap snaplen 0", cat(pcapHeader(0, 1), pcapRecord(n, n, frame)), 1},
		{"pcap record of 4G", cat(pcapHeader(65535, 1), pcapRecord(n, n, frame), pcapRecord(0xfffffff0, 0xfffffff0, frame)), 1},
		{"pcap incl beyond orig", cat(pcapHeader(65535, 1), pcapRecord(n, 10, frame)), 1},
		{"pcapng section length -1", cat(shb, idb(0), epb(n, 0)), 1},
		{"pcapng snaplen 4G", cat(shb, idb(0xffffffff), epb(n, 0)), 1},
		{"pcapng block of 4G", cat(shb, idb(65535), epb(n, 0), epb(n, 0xfffffff0)), 1},
		{"pcapng block length 0", cat(shb, idb(65535), epb(n, 0), pcapngBlock(6, nil, 4)), 1},
		{"pcapng captured length 4G", cat(shb, idb(65535), epb(n, 0), epb(0xfffffff0, 0)), 1},
		{"pcapng SHB of 4G", cat(pcapngBlock(0x0A0D0D0A, []byte{0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0}, 0xfffffffc)), 0},
	}
	for _, c := range cases {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		o, d := runHostile(t, strings.ReplaceAll(c.name, " ", "_")+".cap", c.data)
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("%s: allocated %d MiB: a header length was believed", c.name, grew>>20)
		}
		if o.code == exitOK && d.Frames < c.frames {
			t.Errorf("%s: exit 0 with %d frames, want at least %d", c.name, d.Frames, c.frames)
		}
		if o.code == exitUsage && o.stdout != "" && d.Frames < c.frames {
			t.Errorf("%s: reported %d frames before the damage, want %d (stderr %q)", c.name, d.Frames, c.frames, o.stderr)
		}
		t.Logf("%s: exit %d, %d frames, stderr %q", c.name, o.code, d.Frames, strings.TrimSpace(o.stderr))
	}
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
