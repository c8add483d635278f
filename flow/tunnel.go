package flow

// TunnelType names an encapsulation the decoder removed to reach a TCP
// segment. String returns the stable JSON identifier.
type TunnelType uint8

const (
	NoTunnel       TunnelType = iota
	TunnelVXLAN               // RFC 7348, UDP 4789 (and 8472, Linux's historical default)
	TunnelVXLANGPE            // VXLAN Generic Protocol Extension, UDP 4790
	TunnelGeneve              // RFC 8926, UDP 6081
	TunnelGRE                 // RFC 2784/2890, IP protocol 47 (also transparent Ethernet bridging: gretap, NVGRE; WCCP redirects; PPTP)
	TunnelERSPAN              // ERSPAN types I, II and III (over GRE)
	TunnelIPinIP              // IPv4 or IPv6 in IPv4 or IPv6 (IPIP, 6in4/SIT, 4in6, 6in6)
	TunnelTeredo              // RFC 4380, UDP 3544
	TunnelAYIYA               // Anything In Anything, UDP 5072
	TunnelGTPU                // 3GPP TS 29.281, UDP 2152
	TunnelMPLS                // RFC 3032 label stack (EtherTypes 0x8847, 0x8848; in IP, GRE, VXLAN-GPE, UDP 6635)
	TunnelPPPoE               // RFC 2516 session stage (EtherType 0x8864)
	TunnelPBB                 // IEEE 802.1ah provider backbone bridging (EtherType 0x88E7)
	numTunnelTypes
)

// NumTunnelTypes is the number of TunnelType values, NoTunnel included
// (the length of a per-type counter array).
const NumTunnelTypes = int(numTunnelTypes)

var tunnelNames = [...]string{"none", "vxlan", "vxlan-gpe", "geneve", "gre", "erspan", "ip-in-ip",
	"teredo", "ayiya", "gtp-u", "mpls", "pppoe", "pbb"}

var _ [numTunnelTypes]string = tunnelNames // a name per type

func (t TunnelType) String() string {
	if t < numTunnelTypes {
		return tunnelNames[t]
	}
	return "invalid"
}

// TunnelTypes lists the encapsulations the decoder removes.
func TunnelTypes() []TunnelType {
	out := make([]TunnelType, 0, numTunnelTypes-1)
	for t := TunnelVXLAN; t < numTunnelTypes; t++ {
		out = append(out, t)
	}
	return out
}

// maxTunnelDepth bounds the encapsulations removed from one frame (a
// mirror's ERSPAN around a node's VXLAN around a pod's IPIP is three).
// Deeper nesting is reported as malformed: it is a loop, not a network.
const maxTunnelDepth = 4

// Tunnel is how a segment was encapsulated, as the decoder removed it.
// The fields describe the innermost tunnel, the one directly around the
// TCP segment's IP packet (it names the overlay the flow lives in); Path
// lists every tunnel removed, outermost first. The zero value is no
// tunnel. It holds no pointers beyond netip.Addr's and is copied into
// every Segment without allocation.
type Tunnel struct {
	Outer Key // the innermost tunnel's outer IP endpoints (UDP ports for UDP tunnels); zero for link-layer encapsulations (MPLS, PPPoE, PBB)
	// ID identifies the tunnel where its header carries an identifier:
	// VNI (VXLAN and VXLAN-GPE with the I flag, Geneve), GRE key (not
	// PPTP's call ID, which differs by direction), ERSPAN II/III session
	// ID, GTP-U TEID, the bottom MPLS label, PPPoE session ID, PBB I-SID.
	// HasID says whether it is set; ID is 0 when not.
	ID    uint32
	HasID bool
	Type  TunnelType
	Depth uint8
	Path  [maxTunnelDepth]TunnelType
}

// Overlay identifies the overlay network a flow lives in, for telling
// apart identical inner 4-tuples in different virtual networks (the same
// pod addresses in two VNIs): the VNI of VXLAN, VXLAN-GPE and Geneve, the
// key of GRE (NVGRE's virtual subnet). 0 for every other encapsulation and
// for none, whose flows are keyed by their 4-tuple alone: an MPLS label,
// a GTP TEID or a mirror session may differ between two copies of the
// same flow. The value may differ by direction of one flow (VNI 10 one
// way and 11 the other in the tcpdump corpus's geneve.pcap, a GRE ikey
// and okey): Table.Track copes.
func (t *Tunnel) Overlay() uint64 {
	if !t.HasID {
		return 0
	}
	switch t.Type {
	case TunnelVXLAN, TunnelVXLANGPE, TunnelGeneve, TunnelGRE:
		return uint64(t.Type)<<32 | uint64(t.ID)
	}
	return 0
}
