// Package capture reads captured frames from pcap and pcapng files, gzip
// compressed or not, from a path or from any io.Reader (stdin streaming
// included: "tcpdump -w - | finwave -"), and writes frames as pcap.
//
// The format is detected from the first bytes, never from the file name:
//
//   - 1f 8b: gzip (RFC 1952), including concatenated members, wrapping one
//     of the formats below;
//   - a1 b2 c3 d4 / d4 c3 b2 a1: pcap with microsecond timestamps, either
//     byte order;
//   - a1 b2 3c 4d / 4d 3c b2 a1: pcap with nanosecond timestamps;
//   - 0a 0d 0d 0a: pcapng (draft-ietf-opsawg-pcapng), any number of
//     sections and interfaces, Enhanced, Simple and obsolete Packet Blocks;
//     other blocks are skipped.
//
// A Source hands out one Frame per call to Next. Next fills the caller's
// Frame and does not allocate in steady state: Frame.Data aliases an internal
// buffer and stays valid only until the next call to Next. Frames are
// numbered from 1 in file order, as Wireshark numbers them (in a pcapng, all
// interfaces and sections share one sequence).
//
// Errors. Next returns io.EOF when the input ends exactly at a record
// boundary. Anything else (a truncated record, a corrupt header, a bad gzip
// checksum, a read error) is a *ReadError carrying the file name, the number
// of the frame that could not be read and the byte offset of the record that
// failed; for gzip input the offset counts decompressed bytes. Every frame
// before the damage is returned normally. Errors are sticky: after one,
// Next keeps returning it.
//
// Hostile input. Sizes read from a file never drive an allocation by
// themselves: a record is accepted only up to MaxFrameLen bytes of captured
// data (libpcap's MAXIMUM_SNAPLEN, 262144), and buffers grow only as bytes
// actually arrive. The snaplen in a pcap file header is informative only.
//
// Writing. PcapWriter writes frames as a pcap file (nanosecond timestamps,
// little endian) that the reader gives back frame for frame; it refuses,
// rather than writes wrong, a frame pcap cannot hold. Tee wraps any Source
// and writes each frame it hands on to a pcap file (`finwave live -w`).
//
// Nothing in Source is specific to files: the live capture (capture/live,
// AF_PACKET) implements it too.
package capture
