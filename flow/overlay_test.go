package flow

import (
	"testing"
	"time"
)

// Overlay keying (Table.Track): conns are keyed by 4-tuple and overlay.

// inOverlay returns s encapsulated in VXLAN with vni.
func inOverlay(s *Segment, vni uint32) *Segment {
	s.Tunnel = tun(okey(out4a, out4b, 50000, 4789), vni, true, TunnelVXLAN)
	return s
}

func TestTableOverlaysApart(t *testing.T) {
	tab, _ := newTestTable(TableConfig{})
	// The same pod addresses and ports in VNI 1 and VNI 2: two flows.
	c1, _, _ := track(tab, inOverlay(tseg(epA, epB, SYN, 100, 0, 0), 1))
	c2, _, created := track(tab, inOverlay(tseg(epA, epB, SYN, 900, 0, 1), 2))
	if !created || c2 == c1 || c1.ID != 0 || c2.ID != 1 {
		t.Fatalf("VNI 2 SYN: created %v, ids %d %d", created, c1.ID, c2.ID)
	}
	if r, _, _ := track(tab, inOverlay(tseg(epB, epA, SYN|ACK, 5000, 901, 2), 2)); r != c2 {
		t.Errorf("VNI 2 SYN-ACK went to conn %d", r.ID)
	}
	if r, _, _ := track(tab, inOverlay(tseg(epB, epA, SYN|ACK, 7000, 101, 3), 1)); r != c1 {
		t.Errorf("VNI 1 SYN-ACK went to conn %d", r.ID)
	}
	if c1.key.ovl != uint64(TunnelVXLAN)<<32|1 || c2.key.ovl != uint64(TunnelVXLAN)<<32|2 {
		t.Errorf("overlay keys: %#x, %#x", c1.key.ovl, c2.key.ovl)
	}
	// A plain copy of the 4-tuple could be either: a third flow.
	c3, _, created := track(tab, tseg(epA, epB, ACK, 101, 7001, 4))
	if !created || c3 == c1 || c3 == c2 || tab.Len() != 3 {
		t.Errorf("plain segment of a 4-tuple in two overlays: created %v, Len %d", created, tab.Len())
	}
	if c3.key.ovl != 0 || c3.ovl != [2]uint64{} {
		t.Errorf("plain conn's overlays: key %#x, by direction %#x", c3.key.ovl, c3.ovl)
	}
}

// tcpdump -i any on a node sees each segment on the overlay device and
// encapsulated on the underlay: one flow, whichever copy comes first.
func TestTableOverlayAndPlainCopies(t *testing.T) {
	for _, encapFirst := range []bool{false, true} {
		tab, _ := newTestTable(TableConfig{})
		steps := []*Segment{
			tseg(epA, epB, SYN, 100, 0, 0), tseg(epB, epA, SYN|ACK, 500, 101, 1), tseg(epA, epB, ACK, 101, 501, 2),
			tseg(epA, epB, ACK|PSH, 101, 501, 3), tseg(epB, epA, FIN|ACK, 501, 111, 4),
		}
		var first *Conn
		for i, s := range steps {
			plain, encap := *s, *s
			copies := []*Segment{&plain, inOverlay(&encap, 5)}
			if encapFirst {
				copies[0], copies[1] = copies[1], copies[0]
			}
			for _, cp := range copies {
				c, _, _ := track(tab, cp)
				if first == nil {
					first = c
				}
				if c != first {
					t.Fatalf("encapFirst=%v step %d: conn %d, want %d", encapFirst, i, c.ID, first.ID)
				}
			}
		}
		if want := uint64(TunnelVXLAN)<<32 | 5; tab.Len() != 1 || first.ovl != [2]uint64{want, want} {
			t.Errorf("encapFirst=%v: Len %d, overlays by direction %#x", encapFirst, tab.Len(), first.ovl)
		}
	}
}

// One flow may have a different overlay ID each way (the tcpdump corpus's
// geneve.pcap: VNI 10 one way, 11 the other).
func TestTableOverlayPerDirection(t *testing.T) {
	tab, _ := newTestTable(TableConfig{})
	c, _, _ := track(tab, inOverlay(tseg(epA, epB, SYN, 100, 0, 0), 11))
	for i, s := range []*Segment{
		inOverlay(tseg(epB, epA, SYN|ACK, 500, 101, 1), 10), inOverlay(tseg(epA, epB, ACK, 101, 501, 2), 11),
		inOverlay(tseg(epB, epA, ACK|PSH, 501, 101, 3), 10), inOverlay(tseg(epB, epA, ACK|PSH, 511, 101, 4), 10),
		tseg(epA, epB, ACK, 101, 521, 5), // and a plain copy
	} {
		if r, _, _ := track(tab, s); r != c {
			t.Errorf("step %d: conn %d, want %d", i, r.ID, c.ID)
		}
	}
	// Another flow of the 4-tuple in VNI 12 the way VNI 11 went is apart.
	if r, _, created := track(tab, inOverlay(tseg(epA, epB, SYN, 900, 0, 6), 12)); r == c || !created {
		t.Errorf("VNI 12 joined the VNI 11/10 flow")
	}
}

// Tunnels that name no overlay (MPLS labels, GTP TEIDs, mirrors) key by
// 4-tuple: two copies of a flow with different labels are one flow.
func TestTableNonOverlayTunnels(t *testing.T) {
	tab, _ := newTestTable(TableConfig{})
	a := tseg(epA, epB, SYN, 100, 0, 0)
	a.Tunnel = tun(Key{}, 16, true, TunnelMPLS)
	b := tseg(epB, epA, SYN|ACK, 500, 101, 1)
	b.Tunnel = tun(okey(out4a, out4b, 2152, 2152), 77, true, TunnelGTPU)
	c1, _, _ := track(tab, a)
	c2, _, _ := track(tab, b)
	if c1 != c2 || c1.key.ovl != 0 {
		t.Errorf("conns %d %d, overlay key %#x", c1.ID, c2.ID, c1.key.ovl)
	}
}

// A flow finished in an overlay resumes its stream when its 4-tuple comes
// back outside it (the fallbacks look at ended streams too).
func TestTableOverlayResume(t *testing.T) {
	tab, recs := newTestTable(TableConfig{IdleTimeout: time.Second})
	c, _, _ := track(tab, inOverlay(tseg(epA, epB, SYN, 100, 0, 0), 3))
	track(tab, inOverlay(tseg(epB, epA, SYN|ACK, 500, 101, time.Millisecond), 4))
	id := c.ID
	track(tab, tseg(epC, epB, SYN, 1, 0, 3*time.Second)) // finishes the first, idle
	if len(*recs) != 1 || (*recs)[0].id != id {
		t.Fatalf("finished %+v", *recs)
	}
	for i, s := range []*Segment{tseg(epA, epB, ACK, 101, 501, 4*time.Second), inOverlay(tseg(epB, epA, ACK, 501, 101, 5*time.Second), 4)} {
		r, _, _ := track(tab, s)
		if r.ID != id || !r.Resumed {
			t.Errorf("step %d: conn %d resumed %v, want %d resumed", i, r.ID, r.Resumed, id)
		}
	}
}
