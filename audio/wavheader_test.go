package audio

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

func TestWAVHeaderDecodes(t *testing.T) {
	t.Parallel()
	frames := []int16{1, -1, 300, -300, 32767, -32768}
	data := make([]byte, 2*len(frames))
	for i, v := range frames {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(v))
	}
	for _, tt := range []struct {
		name      string
		rate, ch  int
		dataBytes int64
	}{
		{"sized mono 16 kHz", 16000, 1, int64(len(data))},
		{"sized stereo 8 kHz", 8000, 2, int64(len(data))},
		{"streaming sizes", 8000, 2, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := WAVHeader(tt.rate, tt.ch, tt.dataBytes)
			if len(h) != WAVHeaderSize {
				t.Fatalf("header of %d bytes, want %d", len(h), WAVHeaderSize)
			}
			f, got, err := decodeAll(t, bytes.NewReader(append(h, data...)))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if f.Codec != "pcm_s16le" || f.SampleRate != tt.rate || f.Channels != tt.ch {
				t.Errorf("format %+v, want pcm_s16le at %d Hz, %d channels", f, tt.rate, tt.ch)
			}
			if !slices.Equal(got, frames) {
				t.Errorf("samples %v, want %v", got, frames)
			}
		})
	}
}
