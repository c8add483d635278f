package capture

import (
	"time"

	"github.com/gopacket/gopacket/layers"
)

// MaxFrameLen is the largest captured length accepted for one frame:
// libpcap's MAXIMUM_SNAPLEN (pcap-int.h) and Wireshark's
// WTAP_MAX_PACKET_SIZE_STANDARD. A record claiming more is corrupt.
const MaxFrameLen = 262144

// Frame is one captured frame. Data is valid only until the next call to Next.
type Frame struct {
	Number   int64           // 1-based frame number, as Wireshark counts (across all interfaces of a pcapng)
	Time     time.Time       // capture time; the zero Time for pcapng Simple Packet Blocks, which carry none
	Data     []byte          // captured bytes
	OrigLen  int             // original length on the wire (may exceed len(Data): snaplen)
	LinkType layers.LinkType // per frame: pcapng interfaces may differ
}

// Source produces frames. Implementations are not safe for concurrent use.
type Source interface {
	// Next fills f with the next frame. It returns io.EOF at a clean end of
	// input; any other error is a *ReadError. Errors are sticky.
	Next(f *Frame) error
	// Close releases the source. It does not close a reader passed to
	// NewReader, nor os.Stdin.
	Close() error
}
