// Package synth writes synthetic TCP captures without root, for benchmarks
// and scale tests: many short connections over Ethernet/IPv4 with a mix of
// endings, interleaved so that a chosen number are open at once, written as
// a classic pcap through gopacket's pcapgo writer.
//
// The connections follow what the Linux kernel puts on the wire for each
// ending (sequence and acknowledgment numbers consistent, IPv4 and TCP
// checksums valid), but they are made up: the real-kernel capture for the
// same purpose is made by bench/cmd/fwbench's kernel mode. Endings, in
// rotation (Ending):
//
//   - four-way: FIN, ACK, FIN, ACK (RFC 9293 §3.6 case 1)
//   - three-way: FIN, FIN+ACK, ACK (the peer's ACK and FIN in one segment)
//   - rst-unread: the server resets with the client's request unread
//     (Linux tcp_close, TCPAbortOnClose; RFC 2525 §2.17)
//   - linger-0: the client aborts with RST after the reply, nothing pending
//     (SO_LINGER {1,0})
//   - refused: SYN answered by RST+ACK (no listener; tcp_v4_send_reset)
//   - lost-final-ack: the final ACK is lost, the server retransmits its FIN
//     and the client (TIME_WAIT) acknowledges it again
//
// Flood mode writes one SYN per flow, every flow on its own 4-tuple: the
// worst case for flow state (millions of open, never-answered flows).
//
// Every connection has its own 4-tuple (client addresses 10.1.0.0/16 and up,
// 50 000 ports each), so no port is reused and stream ids are the order of
// the connections' first SYN. Memory is proportional to Concurrency, not to
// the number of connections; nothing is allocated per frame.
package synth
