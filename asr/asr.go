// Package asr holds the speech-recognition contract: one channel of 16 kHz, 16-bit,
// little-endian mono PCM in, words with timings out. Adapters live in subpackages named
// after what they wrap (asr/sphinx, asr/openai). A Transcriber never keeps the audio it
// is given: no copy on disk, in a log or past the call of Transcribe.
package asr

import (
	"context"
	"io"
	"strings"
)

// SampleRate is the rate of the PCM every Transcriber takes, in Hz.
const SampleRate = 16000

// Word is one recognised word; times are from the start of the channel's audio.
type Word struct {
	Text       string  `json:"text"`
	StartMS    int64   `json:"start_ms"`
	EndMS      int64   `json:"end_ms"`
	Confidence float64 `json:"confidence"` // 0..1; 0 when the engine gives none
}

// Segment is one utterance (a stretch of speech between pauses).
type Segment struct {
	StartMS    int64   `json:"start_ms"`
	EndMS      int64   `json:"end_ms"`
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"`
	Words      []Word  `json:"words,omitempty"` // empty when the engine gives no word timings
}

// Result is what a Transcriber heard on one channel.
type Result struct {
	Engine   string    `json:"engine"` // e.g. "pocketsphinx", "openai:whisper-1"
	Segments []Segment `json:"segments"`
}

// Text is the result's words joined with single spaces.
func (r Result) Text() string {
	parts := make([]string, 0, len(r.Segments))
	for _, s := range r.Segments {
		if t := strings.TrimSpace(s.Text); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}

// Transcriber recognises speech in one channel of PCM (SampleRate Hz, s16le, mono),
// read as a stream until EOF. It is safe for concurrent use: a stereo call runs one
// Transcribe per channel at once. Errors that the caller must not retry (the audio or
// the request is bad) carry callscribe.EINVALID or EUNREADABLE; errors worth a retry
// carry EUNAVAILABLE.
type Transcriber interface {
	Transcribe(ctx context.Context, pcm io.Reader) (Result, error)
}

// Progress, when a Transcriber's caller wants it, receives the number of audio
// milliseconds consumed so far. Adapters call it from the goroutine reading pcm.
type Progress func(doneMS int64)
