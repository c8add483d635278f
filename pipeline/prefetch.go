package pipeline

import (
	"io"
	"sync"

	"finwave/capture"
)

// prefetchBatch is how many frames one hand-over between the reading
// goroutine and the consumer carries: enough to make the channel cost
// negligible per frame, small enough to stay in cache.
const prefetchBatch = 512

// batch is a run of frames read ahead; data of frame i is
// arena[ends[i-1]:ends[i]].
type batch struct {
	frames []capture.Frame
	arena  []byte
	offset int64 // source offset after the last frame, -1 when unknown
	err    error // the source's error after these frames (io.EOF at the end)
}

// Prefetch returns a Source that reads src in a goroutine, ahead of the
// caller, so that reading (system calls, decompression, record parsing)
// overlaps the analysis on another core. Frames come out in the same order
// with the same contents; frame data is copied once into reused batch
// buffers, so steady state allocates nothing. Close stops the goroutine
// and closes src.
func Prefetch(src capture.Source) capture.Source {
	p := &prefetch{
		src:  src,
		full: make(chan *batch, 4),
		free: make(chan *batch, 4),
		stop: make(chan struct{}),
	}
	for range 4 {
		p.free <- &batch{frames: make([]capture.Frame, 0, prefetchBatch), arena: make([]byte, 0, 1<<20)}
	}
	p.wg.Add(1)
	go p.read()
	return p
}

type prefetch struct {
	src  capture.Source
	full chan *batch
	free chan *batch
	stop chan struct{}
	wg   sync.WaitGroup

	cur    *batch
	i      int
	offset int64
	err    error
	closed bool
}

func (p *prefetch) read() {
	defer p.wg.Done()
	off, hasOff := p.src.(offsetter)
	var fr capture.Frame
	for {
		var b *batch
		select {
		case b = <-p.free:
		case <-p.stop:
			return
		}
		b.frames, b.arena, b.err, b.offset = b.frames[:0], b.arena[:0], nil, -1
		for len(b.frames) < prefetchBatch && len(b.arena) < cap(b.arena)-capture.MaxFrameLen {
			if err := p.src.Next(&fr); err != nil {
				b.err = err
				break
			}
			start := len(b.arena)
			b.arena = append(b.arena, fr.Data...)
			fr.Data = b.arena[start:len(b.arena):len(b.arena)]
			b.frames = append(b.frames, fr)
		}
		if hasOff {
			b.offset = off.Offset()
		}
		select {
		case p.full <- b:
		case <-p.stop:
			return
		}
		if b.err != nil {
			return
		}
	}
}

// Next returns the next frame read ahead. Frame data stays valid until the
// next call, as capture.Source requires.
func (p *prefetch) Next(f *capture.Frame) error {
	for p.cur == nil || p.i == len(p.cur.frames) {
		if p.cur != nil {
			if p.cur.err != nil {
				p.err = p.cur.err
			}
			p.free <- p.cur
			p.cur = nil
		}
		if p.err != nil {
			return p.err
		}
		b, ok := <-p.full
		if !ok {
			return io.EOF
		}
		p.cur, p.i = b, 0
		p.offset = b.offset
	}
	*f = p.cur.frames[p.i]
	p.i++
	return nil
}

// Offset is the source's offset at the end of the batch being consumed
// (progress only: ahead of the consumer by at most one batch).
func (p *prefetch) Offset() int64 { return p.offset }

// Close stops reading ahead and closes the underlying source.
func (p *prefetch) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	close(p.stop)
	p.wg.Wait()
	return p.src.Close()
}
