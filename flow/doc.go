// Package flow turns captured frames into TCP segments and segments into
// connections.
//
// It decodes link, tunnel, network and transport headers without
// allocating (by hand: see Decoder for why not gopacket's
// DecodingLayerParser; tests cross-check against gopacket-serialized
// frames and tshark), removing encapsulations (VXLAN, Geneve, GRE,
// ERSPAN, IP in IP, MPLS, PPPoE, ...: Segment.Tunnel says which),
// classifies each TCP segment once into a small Segment value, keeps a
// table of connections keyed by their 4-tuple (and overlay: VNI, GRE
// key) with both directions' sequence state (ISN, next
// sequence, highest ACK, FIN sequence, window scale, timestamps), and evicts
// connections as they finish or go idle, so memory follows open connections,
// not file size. Connection ids equal Wireshark's tcp.stream, including
// across port reuse and for connections finished early (see wireshark.go).
//
// Sequence numbers are compared only through Seq, which is wrap-safe.
//
// Data flows one way: capture → flow → analyzer → report. This package knows
// nothing of close states; the analyzer hangs its per-connection state on
// Conn.Data.
package flow
