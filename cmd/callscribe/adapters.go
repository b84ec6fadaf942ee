package main

import (
	"context"
	"io"

	"callscribe/asr"
	asropenai "callscribe/asr/openai"
	"callscribe/asr/sphinx"
	"callscribe/audio"
	"callscribe/pipeline"
	"callscribe/summarize"
	"callscribe/summarize/extractive"
	sumopenai "callscribe/summarize/openai"
)

// newTranscriber builds the recogniser CALLSCRIBE_ASR names.
func newTranscriber(cfg Config) (asr.Transcriber, func(), error) {
	switch cfg.ASR {
	case "openai":
		t, err := asropenai.New(asropenai.Config{BaseURL: cfg.OpenAIBaseURL, APIKey: cfg.OpenAIAPIKey, Model: cfg.ASRModel})
		return t, func() {}, err
	default:
		scfg := sphinx.Config{}
		if cfg.SphinxModel != "" {
			scfg.ModelDir = cfg.SphinxModel
		}
		r, err := sphinx.New(scfg)
		if err != nil {
			return nil, nil, err
		}
		return r, func() { r.Close() }, nil
	}
}

// newSummarizer builds the summarizer CALLSCRIBE_SUMMARY names; nil when it is off.
func newSummarizer(cfg Config) (summarize.Summarizer, error) {
	switch cfg.Summary {
	case "off":
		return nil, nil
	case "openai":
		return sumopenai.New(sumopenai.Config{BaseURL: cfg.OpenAIBaseURL, APIKey: cfg.OpenAIAPIKey, Model: cfg.SummaryModel})
	default:
		return extractive.New(extractive.Config{}), nil
	}
}

// decoder returns the pipeline's decoder: it sniffs the staged audio's format, or reads it
// as the headerless raw format given, and returns its channel count and channel ch as the
// recogniser's 16 kHz PCM.
func decoder(raw *audio.RawFormat) pipeline.Decoder {
	return func(ctx context.Context, r io.Reader, ch int) (int, io.ReadCloser, error) {
		d, err := openDecoder(r, raw)
		if err != nil {
			return 0, nil, err
		}
		return d.Format().Channels, audio.Channel(ctx, d, ch, asr.SampleRate), nil
	}
}

// decodeChannel is the decoder of audio whose format is sniffed: uploads to serve and the
// worker's jobs, which carry no raw format.
var decodeChannel = decoder(nil)
