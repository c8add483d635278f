package synth

import (
	"bytes"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestRate: in fixed-rate mode connection i's SYN is at Start + i/Rate
// exactly, from one client address on port 10000+i, every connection
// four-way (11 frames), the client's FIN first.
func TestRate(t *testing.T) {
	const conns, rate = 40, 50.0
	var buf bytes.Buffer
	st, err := Write(&buf, Config{Conns: conns, Rate: rate, Concurrency: 7})
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != conns*rateFrames || st.Endings[FourWay] != conns {
		t.Fatalf("frames %d, endings %v", st.Frames, st.Endings)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	syns, fins := 0, 0
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp.SYN && !tcp.ACK {
			want := start.Add(time.Duration(syns) * time.Second / rate)
			if !ci.Timestamp.Equal(want) || int(tcp.SrcPort) != 10000+syns || ip.SrcIP.String() != "10.1.0.0" {
				t.Fatalf("SYN %d at %v from %v:%d, want %v from 10.1.0.0:%d", syns, ci.Timestamp, ip.SrcIP, tcp.SrcPort, want, 10000+syns)
			}
			syns++
			fins = 0
		}
		if tcp.FIN {
			if fins == 0 && tcp.DstPort != 80 {
				t.Fatalf("connection %d: the server's FIN came first", syns-1)
			}
			fins++
		}
	}
	if syns != conns {
		t.Fatalf("%d SYNs, want %d", syns, conns)
	}
	if _, err := Write(&buf, Config{Conns: 10, Rate: 1e6}); err == nil {
		t.Error("a rate too high for the frames' gap is accepted")
	}
}
