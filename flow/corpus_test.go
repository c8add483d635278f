package flow

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const corpusDir = "../../shared/captures/tcpdump-tests"

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// openCapture opens a pcap or pcapng file. Test helper only: the capture
// package owns real file handling.
func openCapture(path string) (packetSource, func(int) layers.LinkType, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	if len(magic) == 4 && magic[0] == 0x0a && magic[1] == 0x0d && magic[2] == 0x0d && magic[3] == 0x0a {
		r, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{})
		if err != nil {
			f.Close()
			return nil, nil, nil, err
		}
		link := func(ifc int) layers.LinkType {
			if i, err := r.Interface(ifc); err == nil {
				return i.LinkType
			}
			return r.LinkType()
		}
		return ngSource{r}, link, func() { f.Close() }, nil
	}
	r, err := pcapgo.NewReader(br)
	if err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	lt := r.LinkType()
	return r, func(int) layers.LinkType { return lt }, func() { f.Close() }, nil
}

type ngSource struct{ r *pcapgo.NgReader }

func (s ngSource) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) { return s.r.ReadPacketData() }

// TestCorpusNoPanic runs every frame of every public test capture through
// the decoder, the table and Half: nothing may panic, and every error is
// one of the sentinels.
func TestCorpusNoPanic(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*"))
	if len(files) == 0 {
		t.Skipf("no captures in %s", corpusDir)
	}
	d := NewDecoder()
	var frames, tcp, finished int
	errs := map[error]int{}
	for _, path := range files {
		if filepath.Ext(path) != ".pcap" && filepath.Ext(path) != ".pcapng" {
			continue
		}
		src, link, closeFn, err := openCapture(path)
		if err != nil {
			continue // not a capture pcapgo understands
		}
		tab := NewTable(TableConfig{IdleTimeout: time.Minute, MaxFlows: 64,
			OnFinish: func(*Conn, Finish, time.Time) { finished++ }})
		var seg Segment
		for n := int64(1); ; n++ {
			data, ci, err := src.ReadPacketData()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Logf("%s: frame %d: %v", filepath.Base(path), n, err)
				}
				break
			}
			frames++
			err = d.Decode(link(ci.InterfaceIndex), data, ci.Length, n, ci.Timestamp, &seg)
			if err != nil {
				switch err {
				case ErrNotTCP, ErrUnsupportedLink, ErrMalformed, ErrTruncated, ErrNotData80211:
					errs[err]++
				default:
					t.Fatalf("%s: frame %d: non-sentinel error %v", path, n, err)
				}
				continue
			}
			tcp++
			c, dir, _ := tab.Track(&seg)
			c.Half[dir].Observe(&seg, &c.Half[dir.Reverse()])
			if seg.Flags&FIN != 0 {
				tab.MarkDone(c, seg.Time.Add(time.Second))
			}
		}
		tab.Close()
		closeFn()
	}
	t.Logf("%d frames, %d TCP segments, %d conns finished, errors %v", frames, tcp, finished, errs)
	if tcp == 0 {
		t.Errorf("no TCP segment decoded from the corpus")
	}
}

// TestOffloadedCorpusLengths pins the segment length of the tcpdump
// corpus's offloaded frames, with and without tunnels: GSO super-segments
// (IP lengths set; tcpdump prints the same lengths), BIG TCP (IPv4 total
// length 0, IPv6 payload length 0 with or without the jumbo option, UDP
// length 0 around them: the frame's length counts, so the payload is the
// wire length less the headers, 80000 octets as netperf wrote them; the
// IPv6 frames without jumbo option carry less).
func TestOffloadedCorpusLengths(t *testing.T) {
	cases := []struct {
		file string
		len  uint32
		tun  TunnelType
	}{
		{"gso-ipv4.pcap", 7240, NoTunnel},
		{"gso-ipv6.pcap", 7140, NoTunnel},
		{"gso-ipv4-vxlan-ipv4.pcap", 6990, TunnelVXLAN},
		{"gso-ipv4-vxlan-ipv6.pcap", 4134, TunnelVXLAN},
		{"gso-ipv6-vxlan-ipv4.pcap", 6890, TunnelVXLAN},
		{"gso-ipv6-vxlan-ipv6.pcap", 4074, TunnelVXLAN},
		{"gso-ipv4-geneve-ipv4.pcap", 6990, TunnelGeneve},
		{"gso-ipv4-geneve-ipv6.pcap", 4134, TunnelGeneve},
		{"gso-ipv6-geneve-ipv4.pcap", 6890, TunnelGeneve},
		{"gso-ipv6-geneve-ipv6.pcap", 6790, TunnelGeneve},
		{"bigtcp-ipv4.pcap", 80000, NoTunnel},
		{"bigtcp-ipv6-hbh.pcap", 80000, NoTunnel}, // jumbo option 80040
		{"bigtcp-ipv6.pcap", 79968, NoTunnel},     // 80054 - 14 - 40 - 32
		{"bigtcp-ipv4-vxlan-ipv4.pcap", 80000, TunnelVXLAN},
		{"bigtcp-ipv4-vxlan-ipv6.pcap", 79924, TunnelVXLAN}, // 80060 - 14 - 20 - 8 - 8 - 14 - 40 - 32
		{"bigtcp-ipv6-vxlan-ipv4.pcap", 80000, TunnelVXLAN},
		{"bigtcp-ipv6-vxlan-ipv6.pcap", 80000, TunnelVXLAN},
		{"bigtcp-ipv4-geneve-ipv4.pcap", 80000, TunnelGeneve},
		{"bigtcp-ipv4-geneve-ipv6.pcap", 80000, TunnelGeneve},
		{"bigtcp-ipv6-geneve-ipv4.pcap", 80000, TunnelGeneve},
		{"bigtcp-ipv6-geneve-ipv6.pcap", 80000, TunnelGeneve},
	}
	for _, c := range cases {
		src, link, closeFn, err := openCapture(filepath.Join(corpusDir, c.file))
		if err != nil {
			t.Skipf("%s: %v", c.file, err)
		}
		data, ci, err := src.ReadPacketData()
		closeFn()
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		var seg Segment
		if err := NewDecoder().Decode(link(ci.InterfaceIndex), data, ci.Length, 1, ci.Timestamp, &seg); err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if seg.Len != c.len || seg.Truncated || seg.Tunnel.Type != c.tun {
			t.Errorf("%s: Len %d Truncated %v tunnel %v, want %d false %v", c.file, seg.Len, seg.Truncated, seg.Tunnel.Type, c.len, c.tun)
		}
	}
}
