// Package openai is an asr.Transcriber for any server that speaks OpenAI's
// /v1/audio/transcriptions (faster-whisper/speaches, vLLM, LocalAI, OpenAI itself),
// through github.com/sashabaranov/go-openai.
//
// It owns turning a PCM stream into uploads: cutting it at pauses into WAV files no
// larger than the server accepts, and putting the per-upload timings back on the call's
// clock. It keeps at most one upload's audio in memory and must never write audio to
// disk, to a log or into an error, nor keep it past Transcribe.
package openai

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"callscribe"
	"callscribe/asr"
	"callscribe/audio"
	"callscribe/internal/openaihttp"

	openai "github.com/sashabaranov/go-openai"
)

// Defaults of Config's zero fields.
const (
	DefaultModel          = "whisper-1"
	DefaultMaxUploadBytes = 25 << 20 // OpenAI's limit on one audio file
	DefaultMaxRetries     = openaihttp.DefaultMaxRetries
)

const (
	bytesPerMS = asr.SampleRate * 2 / 1000 // s16le mono
	// blockBytes is the grain of cuts: 10 ms, so every chunk starts on a whole millisecond.
	blockBytes = 10 * bytesPerMS
	// windowBlocks is the length of the quiet stretch a cut looks for: 200 ms.
	windowBlocks = 20
	// maxLookback bounds how far before the upload limit a cut may fall.
	maxLookback = 5000 * bytesPerMS
	// minUploadAudio is the least audio an upload must be able to carry.
	minUploadAudio = 1000 * bytesPerMS
	// initialBuffer is where the chunk buffer starts; it grows to the limit only for
	// calls that long, so a short call does not cost a full upload's memory.
	initialBuffer = 1 << 20
	// maxTextBody bounds a plain-text answer read into memory.
	maxTextBody = 16 << 20
)

// Config configures a Transcriber. Only BaseURL is required.
type Config struct {
	BaseURL  string // CALLSCRIBE_OPENAI_BASE_URL, e.g. http://asr.local:8000/v1
	APIKey   string // CALLSCRIBE_OPENAI_API_KEY (may be empty for local servers)
	Model    string // CALLSCRIBE_ASR_MODEL, default DefaultModel
	Language string // ISO-639-1 code sent to the server; empty lets it detect

	// MaxUploadBytes bounds one uploaded WAV file, header included; longer audio is
	// split at pauses. Default DefaultMaxUploadBytes; at least 44 bytes + 1 s of audio.
	MaxUploadBytes int64
	// Timeout bounds one upload given the length of its audio; default DefaultTimeout.
	Timeout func(audio time.Duration) time.Duration
	// MaxRetries is how many times a failed upload is retried on 429, 5xx, timeouts
	// and network errors, with jittered backoff honouring Retry-After. 0 means
	// DefaultMaxRetries; a negative value turns retries off.
	MaxRetries int
	HTTPClient *http.Client // optional; http.DefaultClient when nil
}

// DefaultTimeout allows 30 s plus the length of the audio for one upload: a server on
// a CPU may run at about real time, and a queue in front of it adds a little.
func DefaultTimeout(audio time.Duration) time.Duration {
	return 30*time.Second + audio
}

// Transcriber sends audio to an OpenAI-compatible transcription endpoint. It is safe
// for concurrent use.
type Transcriber struct {
	client   *openai.Client
	model    string
	language string
	maxPCM   int // audio bytes per upload, a multiple of blockBytes
	timeout  func(time.Duration) time.Duration
	retry    openaihttp.Retry
}

var _ asr.Transcriber = (*Transcriber)(nil)

// New checks cfg and returns a Transcriber. It does not contact the server.
func New(cfg Config) (*Transcriber, error) {
	u, err := url.Parse(cfg.BaseURL)
	if cfg.BaseURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, callscribe.Errorf(callscribe.EINVALID, "CALLSCRIBE_OPENAI_BASE_URL must be an http(s) URL such as http://asr.local:8000/v1")
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.MaxUploadBytes < audio.WAVHeaderSize+minUploadAudio {
		return nil, callscribe.Errorf(callscribe.EINVALID, "asr upload limit %d bytes is too small: want at least %d (1 s of audio)", cfg.MaxUploadBytes, audio.WAVHeaderSize+minUploadAudio)
	}
	if cfg.Timeout == nil {
		cfg.Timeout = DefaultTimeout
	}
	maxPCM := min(cfg.MaxUploadBytes-audio.WAVHeaderSize, math.MaxUint32-36, math.MaxInt32)
	var doer openai.HTTPDoer = http.DefaultClient
	if cfg.HTTPClient != nil {
		doer = cfg.HTTPClient
	}
	return &Transcriber{
		client:   openaihttp.NewClient(cfg.BaseURL, cfg.APIKey, textDoer{next: doer}),
		model:    cfg.Model,
		language: cfg.Language,
		maxPCM:   int(maxPCM) / blockBytes * blockBytes,
		timeout:  cfg.Timeout,
		retry:    openaihttp.Retry{MaxRetries: cfg.MaxRetries},
	}, nil
}

// Engine names the transcriber in results: "openai:" and the model.
func (t *Transcriber) Engine() string { return "openai:" + t.model }

// Transcribe reads pcm to EOF, uploading it one chunk at a time, and returns the
// segments of all chunks on one clock from the start of pcm.
func (t *Transcriber) Transcribe(ctx context.Context, pcm io.Reader) (asr.Result, error) {
	res := asr.Result{Engine: t.Engine(), Segments: []asr.Segment{}}
	sp := newSplitter(pcm, t.maxPCM)
	var offsetMS int64
	for {
		chunk, err := sp.next(ctx)
		if err == io.EOF {
			return res, nil
		}
		if ctx.Err() != nil {
			return asr.Result{}, callscribe.Wrap(callscribe.EUNAVAILABLE, ctx.Err(), "transcribe: cancelled")
		}
		if err != nil {
			if _, ok := errors.AsType[*callscribe.Error](err); ok {
				return asr.Result{}, err
			}
			return asr.Result{}, callscribe.Wrap(callscribe.EUNREADABLE, err, "transcribe: read audio")
		}
		durMS := int64(len(chunk) / bytesPerMS)
		segs, err := t.upload(ctx, chunk, durMS)
		if err != nil {
			return asr.Result{}, err
		}
		for _, s := range segs {
			s.StartMS += offsetMS
			s.EndMS += offsetMS
			for i := range s.Words {
				s.Words[i].StartMS += offsetMS
				s.Words[i].EndMS += offsetMS
			}
			res.Segments = append(res.Segments, s)
		}
		offsetMS += durMS
	}
}

// upload sends one chunk as a WAV file, with retries, and returns its segments with
// times from the start of the chunk.
func (t *Transcriber) upload(ctx context.Context, chunk []byte, durMS int64) ([]asr.Segment, error) {
	header := audio.WAVHeader(asr.SampleRate, 1, int64(len(chunk)))
	var resp openai.AudioResponse
	err := t.retry.Do(ctx, "transcribe", t.timeout(time.Duration(durMS)*time.Millisecond), func(ctx context.Context) error {
		var err error
		resp, err = t.client.CreateTranscription(ctx, openai.AudioRequest{
			Model:    t.model,
			FilePath: "audio.wav",
			Reader:   io.MultiReader(bytes.NewReader(header), bytes.NewReader(chunk)),
			Language: t.language,
			Format:   openai.AudioResponseFormatVerboseJSON,
			TimestampGranularities: []openai.TranscriptionTimestampGranularity{
				openai.TranscriptionTimestampGranularityWord,
				openai.TranscriptionTimestampGranularitySegment,
			},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return tidy(segments(resp, durMS), durMS), nil
}

// segments turns one upload's answer into segments timed from the chunk's start, never
// past its end. An answer without segments (a json or text answer, or a server that
// ignores timestamp_granularities) becomes one segment spanning the chunk.
func segments(resp openai.AudioResponse, durMS int64) []asr.Segment {
	ms := func(sec float64) int64 {
		return min(max(int64(math.Round(sec*1000)), 0), durMS)
	}
	var words []asr.Word
	for _, w := range resp.Words {
		if text := strings.TrimSpace(w.Word); text != "" {
			words = append(words, asr.Word{Text: text, StartMS: ms(w.Start), EndMS: ms(w.End)})
		}
	}
	var segs []asr.Segment
	for _, s := range resp.Segments {
		text := strings.TrimSpace(s.Text)
		if text == "" {
			continue
		}
		segs = append(segs, asr.Segment{
			StartMS:    ms(s.Start),
			EndMS:      ms(s.End),
			Text:       text,
			Confidence: confidence(s.AvgLogprob),
		})
	}
	if len(segs) == 0 {
		text := strings.TrimSpace(resp.Text)
		if text == "" && len(words) > 0 {
			parts := make([]string, len(words))
			for i, w := range words {
				parts[i] = w.Text
			}
			text = strings.Join(parts, " ")
		}
		if text == "" {
			return nil
		}
		return []asr.Segment{{StartMS: 0, EndMS: durMS, Text: text, Words: words}}
	}
	// Word timings come as one list beside the segments; each word goes to the last
	// segment that starts at or before the word's middle.
	i := 0
	for _, w := range words {
		mid := (w.StartMS + w.EndMS) / 2
		for i+1 < len(segs) && segs[i+1].StartMS <= mid {
			i++
		}
		segs[i].Words = append(segs[i].Words, w)
	}
	return segs
}

// tidy puts the server's timings into the shape asr.Result promises, whatever the
// server did: segments in order, not overlapping, each at least 1 ms long and inside
// the chunk; words in order inside their segment. Whisper's word times often stray a
// little past their segment's, and some are zero-length.
func tidy(segs []asr.Segment, durMS int64) []asr.Segment {
	if durMS == 0 {
		return nil
	}
	slices.SortStableFunc(segs, func(a, b asr.Segment) int { return cmp.Compare(a.StartMS, b.StartMS) })
	out := segs[:0]
	var prevEnd int64
	for _, s := range segs {
		s.StartMS = max(s.StartMS, prevEnd)
		s.EndMS = max(s.EndMS, s.StartMS+1)
		if s.EndMS > durMS {
			// Only a segment squeezed against the end of the chunk gets here.
			if prevEnd >= durMS {
				if len(out) > 0 {
					last := &out[len(out)-1]
					last.Text += " " + s.Text
					last.Words = append(last.Words, s.Words...)
					last.Words = tidyWords(last.Words, last.StartMS, last.EndMS)
				}
				continue
			}
			s.EndMS, s.StartMS = durMS, min(s.StartMS, durMS-1)
		}
		s.Words = tidyWords(s.Words, s.StartMS, s.EndMS)
		out = append(out, s)
		prevEnd = s.EndMS
	}
	return out
}

// tidyWords clamps words into [start, end] in order, each at least 1 ms long where
// there is room; a word with no room left is dropped from the timings (its text stays
// in the segment's).
func tidyWords(words []asr.Word, start, end int64) []asr.Word {
	out := words[:0]
	prev := start
	for _, w := range words {
		w.StartMS = min(max(w.StartMS, prev), end)
		w.EndMS = min(max(w.EndMS, w.StartMS+1), end)
		if w.EndMS <= w.StartMS {
			continue
		}
		out = append(out, w)
		prev = w.EndMS
	}
	return out
}

// confidence maps Whisper's average token log-probability to 0..1; 0 when absent.
func confidence(avgLogprob float64) float64 {
	if avgLogprob == 0 || math.IsNaN(avgLogprob) {
		return 0
	}
	return min(math.Exp(avgLogprob), 1)
}

// textDoer lets a server that answers in plain text (response_format=text, or one that
// ignores verbose_json) be read like a {"text": ...} JSON answer.
type textDoer struct{ next openai.HTTPDoer }

func (d textDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.next.Do(req)
	if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 || strings.Contains(resp.Header.Get("Content-Type"), "json") {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTextBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if len(body) > maxTextBody {
		return nil, fmt.Errorf("answer larger than %d bytes", maxTextBody)
	}
	if trimmed := bytes.TrimSpace(body); len(trimmed) == 0 || trimmed[0] != '{' {
		body, _ = json.Marshal(struct {
			Text string `json:"text"`
		}{strings.ToValidUTF8(string(trimmed), "")})
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header = resp.Header.Clone()
	resp.Header.Set("Content-Type", "application/json")
	return resp, nil
}
