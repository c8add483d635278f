package capture

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Files written by gopacket's pcapgo writers, an independent implementation
// of both formats, read back.

func TestReadsPcapgoWriter(t *testing.T) {
	for _, nano := range []bool{false, true} {
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		if nano {
			w = pcapgo.NewWriterNanos(&buf)
		}
		if err := w.WriteFileHeader(65535, layers.LinkTypeLinuxSLL2); err != nil {
			t.Fatal(err)
		}
		ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
		data := []byte("0123456789abcdef")
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: 16, Length: 1000}, data); err != nil {
			t.Fatal(err)
		}
		fr := mustReadAll(t, buf.Bytes())
		want := ts.Truncate(time.Microsecond)
		if nano {
			want = ts
		}
		if len(fr) != 1 || !fr[0].Time.Equal(want) || fr[0].OrigLen != 1000 || !bytes.Equal(fr[0].Data, data) || fr[0].LinkType != layers.LinkTypeLinuxSLL2 {
			t.Errorf("nano=%v: %+v, want time %v", nano, fr, want)
		}
	}
}

func TestReadsPcapgoNgWriterTwoInterfaces(t *testing.T) {
	var buf bytes.Buffer
	eth := pcapgo.NgInterface{Name: "eth0", Comment: "a comment to pad options", LinkType: layers.LinkTypeEthernet, TimestampResolution: 9, SnapLength: 262144}
	w, err := pcapgo.NewNgWriterInterface(&buf, eth, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	any, err := w.AddInterface(pcapgo.NgInterface{Name: "any", LinkType: layers.LinkTypeLinuxSLL2, TimestampResolution: 6, SnapLength: 262144})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 678901234, time.UTC)
	type pkt struct {
		iface int
		ts    time.Time
		data  []byte
	}
	pkts := []pkt{
		{0, t0, bytes.Repeat([]byte{1}, 60)},
		{any, t0.Add(time.Millisecond), bytes.Repeat([]byte{2}, 77)},
		{0, t0.Add(2 * time.Millisecond), bytes.Repeat([]byte{3}, 1514)},
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: len(p.data), InterfaceIndex: p.iface}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteInterfaceStats(0, pcapgo.NgInterfaceStatistics{PacketsReceived: 3}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if dump := os.Getenv("CAPTURE_DUMP"); dump != "" {
		os.WriteFile(dump, buf.Bytes(), 0o644)
	}
	fr := mustReadAll(t, buf.Bytes())
	if len(fr) != len(pkts) {
		t.Fatalf("%d frames, want %d", len(fr), len(pkts))
	}
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, layers.LinkTypeEthernet}
	for i, p := range pkts {
		want := p.ts // NgWriter always writes if_tsresol 9
		if !fr[i].Time.Equal(want) || !bytes.Equal(fr[i].Data, p.data) || fr[i].LinkType != links[i] {
			t.Errorf("frame %d: time %v link %d len %d; want %v %d %d", i+1, fr[i].Time, fr[i].LinkType, len(fr[i].Data), want, links[i], len(p.data))
		}
	}

	// And the same frames come out of pcapgo's own reader (which by
	// default silently drops frames whose link type differs from the first
	// interface's, hence WantMixedLinkType).
	ng, err := pcapgo.NewNgReader(bytes.NewReader(buf.Bytes()), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		data, ci, err := ng.ReadPacketData()
		if err == io.EOF {
			if i != len(fr) {
				t.Errorf("pcapgo read %d frames, we read %d", i, len(fr))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, fr[i].Data) || !ci.Timestamp.Equal(fr[i].Time) {
			t.Errorf("frame %d differs from pcapgo's reading", i+1)
		}
	}
}
