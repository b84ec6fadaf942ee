package openai

import (
	"context"
	"io"
)

// splitter cuts a PCM stream into chunks of at most max bytes, each ending in the
// quietest 200 ms of its last few seconds, so that a cut falls in a pause between words
// whenever there is one. It holds one chunk's worth of audio and reuses it.
type splitter struct {
	r        io.Reader
	max      int    // bytes per chunk, a multiple of blockBytes
	lookback int    // how far back from max a cut may fall, a multiple of blockBytes
	buf      []byte // buf[:n] is audio read and not yet handed out
	n        int
	cut      int // bytes of buf handed out by the last next
	eof      bool
}

func newSplitter(r io.Reader, max int) *splitter {
	return &splitter{
		r:        r,
		max:      max,
		lookback: min(maxLookback, max/2/blockBytes*blockBytes),
		buf:      make([]byte, min(max, initialBuffer)),
	}
}

// next returns the next chunk, valid until the following call, or io.EOF after the last.
// A trailing odd byte (half a sample) is dropped. It stops reading when ctx ends.
func (s *splitter) next(ctx context.Context) ([]byte, error) {
	s.n = copy(s.buf, s.buf[s.cut:s.n])
	s.cut = 0
	for s.n < s.max && !s.eof {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.n == len(s.buf) {
			grown := make([]byte, min(2*len(s.buf), s.max))
			copy(grown, s.buf[:s.n])
			s.buf = grown
		}
		m, err := s.r.Read(s.buf[s.n:])
		s.n += m
		switch {
		case err == io.EOF:
			s.eof = true
		case err != nil:
			return nil, err
		}
	}
	if s.n < s.max {
		s.cut = s.n &^ 1
		if s.cut == 0 {
			return nil, io.EOF
		}
		return s.buf[:s.cut], nil
	}
	if s.eof && s.n == s.max {
		s.cut = s.n
		return s.buf[:s.cut], nil
	}
	s.cut = quietCut(s.buf[:s.max], s.lookback)
	return s.buf[:s.cut], nil
}

// quietCut returns where to end a full chunk b: the middle of the 200 ms window of least
// energy that starts no earlier than lookback before the end, the latest one on a tie.
// It is always a multiple of blockBytes.
func quietCut(b []byte, lookback int) int {
	from := len(b) - lookback
	blocks := make([]int64, lookback/blockBytes)
	for i := range blocks {
		var e int64
		blk := b[from+i*blockBytes : from+(i+1)*blockBytes]
		for j := 0; j+1 < len(blk); j += 2 {
			v := int64(int16(uint16(blk[j]) | uint16(blk[j+1])<<8))
			e += v * v
		}
		blocks[i] = e
	}
	var window int64
	for i := range windowBlocks {
		window += blocks[i]
	}
	best, bestAt := window, 0
	for i := 1; i+windowBlocks <= len(blocks); i++ {
		window += blocks[i+windowBlocks-1] - blocks[i-1]
		if window <= best {
			best, bestAt = window, i
		}
	}
	return from + (bestAt+windowBlocks/2)*blockBytes
}
