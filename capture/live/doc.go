// Package live captures frames from a Linux interface through an AF_PACKET
// socket with a TPACKET_V3 memory-mapped ring (gopacket's afpacket, pure
// Go: the build needs no cgo), and hands them out as a capture.Source, so
// live capture runs through the same pipeline as files.
//
// Kernel filtering. The socket carries a classic BPF program, attached
// with SO_ATTACH_FILTER: TCP and what may carry it in a tunnel (TunnelExpr),
// and the user's tcpdump expression on the outer packet, compiled by
// capture/bpf. Frames the filter rejects never
// reach user space. Frames queued before the filter was attached are
// discarded (their kernel timestamp precedes the attach), so the capture
// begins with the filter in place, as libpcap's does.
//
// Link types. An Ethernet or loopback interface is read with SOCK_RAW and
// its frames are Ethernet (DLT_EN10MB). "any" and every other interface are
// read with SOCK_DGRAM, which starts each frame at the network header:
// those frames are raw IP (LINKTYPE_RAW). On "lo" and "any" the kernel
// shows each loopback packet twice (leaving and arriving); as libpcap
// does, the outgoing copy is dropped, in the kernel filter (SKF_AD_PKTTYPE
// and SKF_AD_IFINDEX).
//
// Idle ticks. Next blocks in poll(2) for at most Config.Tick; when nothing
// arrived it calls Config.OnTick from the caller's goroutine (the analyzer
// may then finish flows on the clock) and checks the context. When the
// context is done, or Config.Count frames were returned, Next returns
// io.EOF: a live capture ends cleanly.
//
// Kernel drops. Stats reads PACKET_STATISTICS: packets the filter passed
// and packets the ring had no room for. Drops mean the analysis missed
// segments and its conclusions may be wrong; callers must show them.
package live
