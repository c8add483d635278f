package pipeline

import (
	"time"

	"github.com/gopacket/gopacket/layers"

	"finwave/capture"
	"finwave/flow"
)

// Skip reasons, the keys of Stats.Skipped and report.Capture.Skipped.
const (
	ReasonNotTCP    = "not tcp"
	ReasonMalformed = "malformed"
	ReasonTruncated = "truncated"
	// ReasonUnsupportedLink is the reason when the link type is not
	// known; otherwise it is flow.UnsupportedLinkReason's "unsupported
	// link type 13 (ATM RFC 1483)".
	ReasonUnsupportedLink = "unsupported link type"
	ReasonFragment        = "ip fragment"
	ReasonNotData80211    = "802.11 non-data"
	// ReasonUndecapsulated prefixes a tunnel type: "undecapsulated vxlan".
	ReasonUndecapsulated = "undecapsulated "
)

// Stats counts what Run read. The zero value is ready to use; Run adds to
// it, so one Stats may span several runs (it never resets).
type Stats struct {
	Frames      int64 // frames read
	TCPSegments int64 // frames decoded as TCP and given to the sink
	Bytes       int64 // captured bytes read (frame data, without record headers)
	// FilteredOut counts the frames Runner.Filter rejected: read (in
	// Frames and Bytes, and in First and Last only if they passed) but
	// neither decoded nor skipped.
	FilteredOut int64

	NotTCP          int64 // well-formed frames without TCP (ARP, UDP, ICMP, ...)
	Malformed       int64 // headers that contradict themselves
	Truncated       int64 // captured too short to hold the IP and TCP headers
	UnsupportedLink int64 // link types the decoder does not know
	// UnsupportedLinks splits UnsupportedLink by link type (nil: none).
	UnsupportedLinks map[layers.LinkType]int64
	Fragments        int64 // IP fragments: not reassembled, never taken for segments
	NotData80211     int64 // 802.11 management, control and null frames
	// Undecapsulated counts, by tunnel type, frames whose tunnel the
	// decoder recognised but whose content it could not decode.
	Undecapsulated [flow.NumTunnelTypes]int64

	// What the decoder had counted after the last refused frame: a
	// change tells which counter the frame belongs to.
	undecap   [flow.NumTunnelTypes]uint64
	fragments uint64

	First, Last time.Time // earliest and latest frame timestamps (zero: none)

	// ReadErr is the first error of the source other than io.EOF, usually
	// a *capture.ReadError naming file, frame and offset.
	ReadErr error
}

// Skipped returns the skipped frames by reason, only reasons with a count.
func (s *Stats) Skipped() map[string]int64 {
	m := map[string]int64{}
	for _, r := range [...]struct {
		k string
		n int64
	}{{ReasonNotTCP, s.NotTCP}, {ReasonMalformed, s.Malformed}, {ReasonTruncated, s.Truncated},
		{ReasonUnsupportedLink, s.UnsupportedLink - s.unsupportedNamed()}, {ReasonFragment, s.Fragments},
		{ReasonNotData80211, s.NotData80211}} {
		if r.n > 0 {
			m[r.k] = r.n
		}
	}
	for lt, n := range s.UnsupportedLinks {
		if n > 0 {
			m[flow.UnsupportedLinkReason(lt)] += n
		}
	}
	for t, n := range s.Undecapsulated {
		if n > 0 {
			m[ReasonUndecapsulated+flow.TunnelType(t).String()] = n
		}
	}
	return m
}

// ReadError returns ReadErr as a *capture.ReadError when it is one.
func (s *Stats) ReadError() (*capture.ReadError, bool) {
	re, ok := s.ReadErr.(*capture.ReadError)
	return re, ok
}

// unsupportedLink files a frame of an unsupported link type under it (the
// total, UnsupportedLink, is counted by count).
func (s *Stats) unsupportedLink(lt layers.LinkType) {
	if s.UnsupportedLinks == nil {
		s.UnsupportedLinks = map[layers.LinkType]int64{}
	}
	s.UnsupportedLinks[lt]++
}

// unsupportedNamed is the sum of UnsupportedLinks.
func (s *Stats) unsupportedNamed() int64 {
	var n int64
	for _, c := range s.UnsupportedLinks {
		n += c
	}
	return n
}
