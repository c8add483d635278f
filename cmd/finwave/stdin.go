package main

import (
	"context"
	"io"
)

// ctxReader lets a blocking reader give up when ctx ends. Reading stdin (a
// pipe or a terminal) blocks in the kernel where Go cannot interrupt it, so
// without this a SIGINT or SIGTERM while `tcpdump -w - | finwave -` waits
// for packets would be caught by main's NotifyContext and then never seen:
// the process would hang instead of flushing its report.
//
// Each Read runs the underlying Read in a helper goroutine into a private
// buffer and returns ctx's error as soon as ctx ends. The helper then stays
// blocked until input arrives or the process exits; nothing reads its
// buffer again. Reads are buffered upstream (capture's bufio.Reader), so
// this costs one goroutine per buffer fill, never one per frame.
type ctxReader struct {
	ctx  context.Context
	r    io.Reader
	buf  []byte
	res  chan ctxReadResult
	busy bool // a helper's Read is outstanding
}

type ctxReadResult struct {
	n   int
	err error
}

func newCtxReader(ctx context.Context, r io.Reader) *ctxReader {
	return &ctxReader{ctx: ctx, r: r, res: make(chan ctxReadResult, 1)}
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !c.busy {
		if cap(c.buf) < len(p) {
			c.buf = make([]byte, len(p))
		}
		buf := c.buf[:len(p)]
		c.busy = true
		go func() {
			n, err := c.r.Read(buf)
			c.res <- ctxReadResult{n, err}
		}()
	}
	select {
	case r := <-c.res:
		c.busy = false
		// The helper read at most len(p) when it started; a later, shorter
		// p (after a cancelled call) can only happen once ctx ended.
		n := copy(p, c.buf[:r.n])
		return n, r.err
	case <-c.ctx.Done():
		return 0, c.ctx.Err()
	}
}
