package main

import (
	"context"
	"io"

	"callscribe"
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
func newTranscriber(cfg config) (asr.Transcriber, func(), error) {
	switch cfg.asr {
	case "openai":
		t, err := asropenai.New(asropenai.Config{BaseURL: cfg.openAIBaseURL, APIKey: cfg.openAIAPIKey, Model: cfg.asrModel})
		return t, func() {}, err
	default:
		scfg := sphinx.Config{}
		if cfg.sphinxModel != "" {
			scfg.ModelDir = cfg.sphinxModel
		}
		r, err := sphinx.New(scfg)
		if err != nil {
			return nil, nil, err
		}
		return r, func() { r.Close() }, nil
	}
}

// newSummarizer builds the summarizer CALLSCRIBE_SUMMARY names; nil when it is off.
func newSummarizer(cfg config) (summarize.Summarizer, error) {
	switch cfg.summary {
	case "off":
		return nil, nil
	case "openai":
		return sumopenai.New(sumopenai.Config{BaseURL: cfg.openAIBaseURL, APIKey: cfg.openAIAPIKey, Model: cfg.summaryModel})
	default:
		return extractive.New(extractive.Config{}), nil
	}
}

// decoder returns the pipeline's decoder: it sniffs the staged audio's format, or reads it
// as the headerless raw format given, and returns its channel count and channel ch as the
// recogniser's 16 kHz PCM. Every decoder reads within lim: no header can make it read,
// decode or allocate past the call's limits.
func decoder(raw *audio.RawFormat, lim audio.Limits) pipeline.Decoder {
	return func(ctx context.Context, r io.Reader, ch int) (int, io.ReadCloser, error) {
		d, err := openDecoder(r, raw, lim)
		if err != nil {
			return 0, nil, err
		}
		return d.Format().Channels, audio.Channel(ctx, d, ch, asr.SampleRate), nil
	}
}

// rawDecoder is the decoder of uploads whose headerless format the uploader named.
func rawDecoder(lim audio.Limits) pipeline.RawDecoder {
	return func(ctx context.Context, r io.Reader, f callscribe.RawFormat, ch int) (int, io.ReadCloser, error) {
		return decoder(&audio.RawFormat{Encoding: f.Encoding, SampleRate: f.SampleRate, Channels: f.Channels}, lim)(ctx, r, ch)
	}
}
