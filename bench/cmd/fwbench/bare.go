package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// flowKey is the bare loop's map key: both addresses as 16 bytes and ports.
type flowKey struct {
	a, b   [16]byte
	ap, bp uint16
}

// cmdBare is the floor finwave is measured against: pcapgo
// ZeroCopyReadPacketData, a DecodingLayerParser over Ethernet, IPv4, IPv6
// and TCP, and one map update per TCP packet (a packet counter per
// 4-tuple). It prints packets and flows so that the work cannot be skipped.
func cmdBare(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: fwbench bare FILE")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	pkts, flows, err := bareLoop(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d packets, %d tcp flows\n", pkts, flows)
	return nil
}

func bareLoop(r io.Reader) (pkts int64, flows int, err error) {
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		return 0, 0, err
	}
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		decoded []gopacket.LayerType
	)
	p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp)
	p.IgnoreUnsupported = true
	m := map[flowKey]uint32{}
	for {
		data, _, err := pr.ZeroCopyReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return pkts, len(m), err
		}
		pkts++
		if err := p.DecodeLayers(data, &decoded); err != nil {
			continue
		}
		var k flowKey
		isTCP := false
		for _, lt := range decoded {
			switch lt {
			case layers.LayerTypeIPv4:
				copy(k.a[:], ip4.SrcIP)
				copy(k.b[:], ip4.DstIP)
			case layers.LayerTypeIPv6:
				copy(k.a[:], ip6.SrcIP)
				copy(k.b[:], ip6.DstIP)
			case layers.LayerTypeTCP:
				isTCP = true
				k.ap, k.bp = uint16(tcp.SrcPort), uint16(tcp.DstPort)
			}
		}
		if isTCP {
			m[k]++
		}
	}
	return pkts, len(m), nil
}
