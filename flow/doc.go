// Package flow turns captured frames into TCP segments and segments into
// connections.
//
// It decodes link, network and transport headers without allocating
// (gopacket's DecodingLayerParser over preallocated layers), classifies each
// TCP segment once into a small Segment value, keeps a table of connections
// keyed by their 4-tuple with both directions' sequence state (ISN, next
// sequence, highest ACK, FIN sequence, window scale, timestamps), and evicts
// connections as they finish or go idle, so memory follows open connections,
// not file size.
//
// Sequence numbers are compared only through Seq, which is wrap-safe.
//
// Data flows one way: capture → flow → analyzer → report. This package knows
// nothing of close states; the analyzer hangs its per-connection state on
// Conn.Data.
package flow
