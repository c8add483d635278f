package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"finwave/capture"
	"finwave/capture/bpf"
	"finwave/flow"
)

// Sink receives decoded segments in capture order. *analyzer.Analyzer is a
// Sink. The segment is reused for the next frame: a Sink must copy what it
// keeps.
type Sink interface {
	Segment(seg *flow.Segment)
}

// Progress is a snapshot handed to a progress hook.
type Progress struct {
	Stats   *Stats        // counters so far (read only)
	Offset  int64         // bytes consumed from the input when the source knows it, else -1
	Elapsed time.Duration // wall time since Run started
}

// Runner holds the optional hooks of a run. The zero Runner is valid.
type Runner struct {
	// OnProgress, when set, is called about every Interval of wall time
	// (checked every 1024 frames, never per frame) and once at the end.
	OnProgress func(p Progress)
	Interval   time.Duration // default 200ms

	// VXLANPorts and GenevePorts are UDP ports decoded as VXLAN and
	// Geneve besides the defaults (flow.Decoder; --vxlan-port,
	// --geneve-port).
	VXLANPorts, GenevePorts []uint16

	// Filter, when set, is a tcpdump filter evaluated on each frame
	// before decoding (finwave FILE EXPR, as tcpdump -r FILE EXPR):
	// frames it rejects are counted in Stats.FilteredOut and go no
	// further. Frames keep their numbers in the file, so a flow's frames
	// are the ones Wireshark shows under those numbers.
	Filter *bpf.Matcher
}

// checkEvery is how many frames pass between looks at the context and the
// clock: often enough to react to SIGINT within microseconds of CPU time,
// rare enough to cost nothing per frame.
const checkEvery = 1024

// offsetter is implemented by sources that know how far into their input
// they are (bytes of the decompressed stream).
type offsetter interface{ Offset() int64 }

// Run is (&Runner{}).Run.
func Run(ctx context.Context, src capture.Source, sink Sink, st *Stats) error {
	var r Runner
	return r.Run(ctx, src, sink, st)
}

// Run reads src to its end, feeding every TCP segment to sink and counting
// into st. It returns nil at the end of input, ctx.Err() when the context was
// cancelled, or the source's first read error (also kept in st.ReadErr). In
// every case all frames read so far have been given to sink; the caller
// closes the analyzer to flush open flows.
func (r *Runner) Run(ctx context.Context, src capture.Source, sink Sink, st *Stats) error {
	var (
		fr    capture.Frame
		seg   flow.Segment
		dec   = &flow.Decoder{VXLANPorts: r.VXLANPorts, GenevePorts: r.GenevePorts}
		done  = ctx.Done()
		start time.Time
		last  time.Time
		every = r.Interval
	)
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	// The shadows of the decoder's counters follow this run's decoder.
	st.undecap, st.fragments = [flow.NumTunnelTypes]uint64{}, 0
	if r.OnProgress != nil {
		start = time.Now()
		last = start
	}
	var err error
loop:
	for n := checkEvery; ; n++ { // look at ctx before the first frame too
		if n == checkEvery {
			n = 0
			if done != nil {
				select {
				case <-done:
					err = ctx.Err()
				default:
				}
				if err != nil {
					break loop
				}
			}
			if r.OnProgress != nil {
				if now := time.Now(); now.Sub(last) >= every {
					last = now
					r.OnProgress(r.progress(src, st, now.Sub(start)))
				}
			}
		}
		if e := src.Next(&fr); e != nil {
			if e != io.EOF {
				err = e
				if st.ReadErr == nil {
					st.ReadErr = e
				}
			}
			break loop
		}
		st.Frames++
		st.Bytes += int64(len(fr.Data))
		if r.Filter != nil {
			ok, e := r.Filter.Match(fr.LinkType, fr.Data)
			if e != nil {
				// A link type the compiler does not know: stop rather
				// than silently drop or pass its frames.
				err = fmt.Errorf("frame %d: %w", fr.Number, e)
				break loop
			}
			if !ok {
				st.FilteredOut++
				continue
			}
		}
		if !fr.Time.IsZero() {
			if st.First.IsZero() || fr.Time.Before(st.First) {
				st.First = fr.Time
			}
			if fr.Time.After(st.Last) {
				st.Last = fr.Time
			}
		}
		if e := dec.Decode(fr.LinkType, fr.Data, fr.OrigLen, fr.Number, fr.Time, &seg); e != nil {
			st.skip(dec, e)
			if e == flow.ErrUnsupportedLink {
				st.unsupportedLink(fr.LinkType)
			}
			continue
		}
		st.TCPSegments++
		sink.Segment(&seg)
	}
	if r.OnProgress != nil {
		r.OnProgress(r.progress(src, st, time.Since(start)))
	}
	return err
}

func (r *Runner) progress(src capture.Source, st *Stats, elapsed time.Duration) Progress {
	p := Progress{Stats: st, Offset: -1, Elapsed: elapsed}
	if o, ok := src.(offsetter); ok {
		p.Offset = o.Offset()
	}
	return p
}

// skip files a frame the decoder refused: under the tunnel it could not
// decapsulate, as an IP fragment, or under the error's reason. Only the
// error path looks at the decoder's counters.
func (s *Stats) skip(dec *flow.Decoder, err error) {
	for t := range dec.Undecapsulated {
		if dec.Undecapsulated[t] != s.undecap[t] {
			s.undecap = dec.Undecapsulated
			s.Undecapsulated[t]++
			return
		}
	}
	if dec.Fragments != s.fragments {
		s.fragments = dec.Fragments
		s.Fragments++
		return
	}
	s.count(err)
}

// count files a decode error under its reason. The decoder returns its
// sentinels unwrapped (comparing is free); errors.Is covers wrapping.
func (s *Stats) count(err error) {
	switch err {
	case flow.ErrNotTCP:
		s.NotTCP++
		return
	case flow.ErrTruncated:
		s.Truncated++
		return
	case flow.ErrMalformed:
		s.Malformed++
		return
	case flow.ErrUnsupportedLink:
		s.UnsupportedLink++
		return
	case flow.ErrNotData80211:
		s.NotData80211++
		return
	}
	switch {
	case errors.Is(err, flow.ErrNotTCP):
		s.NotTCP++
	case errors.Is(err, flow.ErrTruncated):
		s.Truncated++
	case errors.Is(err, flow.ErrUnsupportedLink):
		s.UnsupportedLink++
	case errors.Is(err, flow.ErrNotData80211):
		s.NotData80211++
	default:
		s.Malformed++
	}
}
