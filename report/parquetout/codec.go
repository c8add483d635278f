package parquetout

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// zstdCodec is Parquet's ZSTD codec (any reader decodes it) tuned for a
// writer that must stay small and cheap: the fastest level and a window
// the size of a page (PageBytes; a page is compressed on its own, so a
// larger window finds nothing more), one encoder per table. parquet-go's
// own codec keeps a pool of encoders with the default 8 MiB window each:
// 32 MB of history buffers held for pages of 64 KiB.
type zstdCodec struct {
	mu  sync.Mutex
	enc *zstd.Encoder
}

func (c *zstdCodec) String() string { return "ZSTD" }

func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.enc == nil {
		e, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithEncoderConcurrency(1),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
			zstd.WithLowerEncoderMem(true),
		)
		if err != nil {
			return nil, err
		}
		c.enc = e
	}
	return c.enc.EncodeAll(src, dst[:0]), nil
}

// Decode is only for reading, which the writer never does.
func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) { return parquet.Zstd.Decode(dst, src) }

// zstdWindow is the least power of two holding a page.
const zstdWindow = 2 * PageBytes
