package audio

import (
	"encoding/binary"
	"math"
	"time"
)

// Duration estimates how long the stream lasts when the whole input is size bytes, from
// what Open has read of it and the input's size (not a length a header declares), so
// that a caller can refuse a call too long to take before reading it all. It knows every WAV and raw encoding exactly (PCM of 8 to 32 bits, float,
// G.711, GSM: bytes per block and samples per block are fixed), and MP3 when its start
// tells: the average byte rate of a Xing, Info or VBRI header (its frame and byte
// counts), or a bitrate every frame read so far shares (constant bitrate). ok is false when the start does not tell: an MP3 whose
// bitrate varies and that has no such header.
func (d *Decoder) Duration(size int64) (time.Duration, bool) {
	e, ok := d.c.(interface {
		duration(size int64) (secs float64, ok bool)
	})
	if !ok {
		return 0, false
	}
	secs, ok := e.duration(size)
	if !ok {
		return 0, false
	}
	return time.Duration(min(secs, math.MaxInt64/float64(time.Second)) * float64(time.Second)), true
}

// duration is the length of the data of a stream size bytes long, from dataAt to the
// end of the input: what would be staged, whatever size the data chunk declares.
func (s *blockStream) duration(size int64) (float64, bool) {
	data := size - s.dataAt
	if data < 0 || s.blockBytes <= 0 || s.f.Channels <= 0 || s.f.SampleRate <= 0 {
		return 0, false
	}
	frames := float64(data/int64(s.blockBytes)) * float64(s.blockSamples/s.f.Channels)
	return frames / float64(s.f.SampleRate), true
}

// mp3Length is what the start of an MP3 stream says of its length.
type mp3Length struct {
	start   int64 // input offset of the first frame
	frames  int64 // audio frames in the stream, from a Xing, Info or VBRI header; 0: none
	bytes   int64 // bytes of the stream, from the same header; 0: not given
	bitrate int   // bits per second every audio frame read shares; 0: it varies
	samples int   // per channel per frame
	rate    int
}

// measureMP3 reads the length of a stream from its first frames, batch (whole frames,
// the first at input offset start).
func measureMP3(batch []byte, start int64, first mpegHeader) mp3Length {
	l := mp3Length{start: start, samples: first.samples(), rate: first.rate}
	size := first.frameSize()
	if len(batch) < size {
		return l
	}
	frame := batch[:size]
	audioAt := 0 // where the audio frames start: after a tag frame
	if at := 4 + sideInfoBytes(first); len(frame) >= at+8 && (string(frame[at:at+4]) == "Xing" || string(frame[at:at+4]) == "Info") {
		flags := binary.BigEndian.Uint32(frame[at+4:])
		p := at + 8
		if flags&1 != 0 && len(frame) >= p+4 {
			l.frames = int64(binary.BigEndian.Uint32(frame[p:]))
			p += 4
		}
		if flags&2 != 0 && len(frame) >= p+4 {
			l.bytes = int64(binary.BigEndian.Uint32(frame[p:]))
		}
		audioAt = size
	} else if isVBRI(frame) && len(frame) >= 36+18 {
		l.bytes = int64(binary.BigEndian.Uint32(frame[36+10:]))
		l.frames = int64(binary.BigEndian.Uint32(frame[36+14:]))
		audioAt = size
	}
	for at := audioAt; at+4 <= len(batch); {
		h, ok := parseMPEGHeader(batch[at:])
		if !ok || h.bitrate <= 0 {
			break
		}
		if l.bitrate == 0 {
			l.bitrate = h.bitrate
		} else if h.bitrate != l.bitrate {
			l.bitrate = -1
			break
		}
		at += h.frameSize()
	}
	l.bitrate = max(l.bitrate, 0)
	return l
}

// sideInfoBytes is the size of a Layer III frame's side information, which a Xing or
// Info header follows.
func sideInfoBytes(h mpegHeader) int {
	switch {
	case h.version == 1 && h.mono:
		return 17
	case h.version == 1:
		return 32
	case h.mono:
		return 9
	}
	return 17
}

func (m *mp3Decoder) duration(size int64) (float64, bool) {
	l := m.length
	data := size - l.start
	switch {
	case data <= 0 || l.rate <= 0:
		return 0, false
	case l.frames > 0:
		secs := float64(l.frames) * float64(l.samples) / float64(l.rate)
		if l.bytes > 0 {
			// At the header's average byte rate: an input longer (or shorter) than the
			// header says lasts that much longer (or shorter).
			secs *= float64(data) / float64(l.bytes)
		}
		return secs, true
	case l.bitrate > 0:
		return float64(data) * 8 / float64(l.bitrate), true
	}
	return 0, false
}
