package flow

import (
	"errors"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// FuzzDecode feeds arbitrary frames of arbitrary link types to the
// decoder. It must not panic, must return only the sentinel errors, and a
// decoded segment must be self-consistent.
func FuzzDecode(f *testing.F) {
	for _, fr := range allocFrames(f) {
		f.Add(uint16(fr.link), fr.data)
	}
	// A frame of each encapsulation (tunnel_test.go).
	for _, fr := range tunnelFrames(f) {
		f.Add(uint16(fr.link), fr.data)
	}
	for _, l := range []layers.LinkType{linkNull, linkSLL, linkIPv4, linkIPv6} {
		p := basePkt(l == linkIPv6)
		f.Add(uint16(l), p.frame(f, l))
	}
	p := basePkt(false)
	p.vlans = []uint16{etherQinQ, etherVLAN}
	f.Add(uint16(linkEthernet), p.frame(f, linkEthernet))
	f.Add(uint16(linkLoop), basePkt(true).loopFrame(f))
	// A frame of each link type of link.go (link_test.go).
	for _, c := range linkCases() {
		ls, et := basePkt(false).ipLayers()
		f.Add(uint16(c.link), append(c.hdr(uint16(et)), serialize(f, ls...)...))
	}
	d := NewDecoder()
	tab := NewTable(TableConfig{MaxFlows: 4, IdleTimeout: time.Second})
	f.Fuzz(func(t *testing.T, link uint16, data []byte) {
		var seg Segment
		err := d.Decode(layers.LinkType(link), data, len(data), 1, time.Unix(int64(len(data)), 0), &seg)
		if err != nil {
			if !errors.Is(err, ErrNotTCP) && !errors.Is(err, ErrUnsupportedLink) &&
				!errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotData80211) {
				t.Fatalf("non-sentinel error %v", err)
			}
			return
		}
		if !seg.Src.Addr.IsValid() || !seg.Dst.Addr.IsValid() {
			t.Fatalf("decoded segment without addresses: %+v", seg)
		}
		// Every length is bounded by the wire length (origLen is
		// len(data)): BIG TCP and jumbograms by the frame itself.
		if seg.Len > uint32(len(data)) {
			t.Fatalf("Len %d beyond the frame's %d octets", seg.Len, len(data))
		}
		if int(seg.Tunnel.Depth) > maxTunnelDepth || (seg.Tunnel.Depth == 0) != (seg.Tunnel.Type == NoTunnel) ||
			(seg.Tunnel.Depth > 0 && seg.Tunnel.Path[seg.Tunnel.Depth-1] != seg.Tunnel.Type) {
			t.Fatalf("inconsistent Tunnel %+v", seg.Tunnel)
		}
		c, dir, _ := tab.Track(&seg)
		c.Half[dir].Observe(&seg, &c.Half[dir.Reverse()])
	})
}
