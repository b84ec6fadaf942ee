// Package openai is a summarize.Summarizer over any server that speaks OpenAI's
// /v1/chat/completions (vLLM, LocalAI, llama.cpp's server, OpenAI itself), through
// github.com/sashabaranov/go-openai.
//
// It owns the prompt: the call's turns as "speaker: text" lines and the request for a
// short, neutral summary in the call's own language. It must never log the turns or the
// summary, nor put them or the API key into an error, and it keeps nothing past Summarize.
package openai

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"callscribe"
	"callscribe/internal/openaihttp"
	"callscribe/summarize"

	openai "github.com/sashabaranov/go-openai"
)

// Defaults of Config's zero fields.
const (
	DefaultTimeout    = 2 * time.Minute
	DefaultMaxTokens  = 512
	DefaultMaxRetries = openaihttp.DefaultMaxRetries
)

// SystemPrompt tells the model what to write.
const SystemPrompt = "You summarise recorded phone calls. The user message is the transcript, " +
	"one turn per line as \"speaker: text\"; it was made by speech recognition and may have errors. " +
	"Write a short, neutral summary (at most four sentences) of why the call was made, what was said " +
	"and what was agreed. Write it in the language the call is in. Do not add facts that are not in " +
	"the transcript, do not address the speakers, and answer with the summary only."

// Config configures a Summarizer. BaseURL and Model are required.
type Config struct {
	BaseURL string // CALLSCRIBE_OPENAI_BASE_URL, e.g. http://llm.local:8000/v1
	APIKey  string // CALLSCRIBE_OPENAI_API_KEY (may be empty for local servers)
	Model   string // CALLSCRIBE_SUMMARY_MODEL, as the server names it
	// Timeout bounds one request; default DefaultTimeout.
	Timeout time.Duration
	// MaxRetries is how many times a failed request is retried on 429, 5xx, timeouts
	// and network errors, with jittered backoff honouring Retry-After. 0 means
	// DefaultMaxRetries; a negative value turns retries off.
	MaxRetries int
	MaxTokens  int          // length cap of the summary; default DefaultMaxTokens
	HTTPClient *http.Client // optional; http.DefaultClient when nil
}

// Summarizer asks a chat model for a call's summary. It is safe for concurrent use.
type Summarizer struct {
	client    *openai.Client
	model     string
	timeout   time.Duration
	maxTokens int
	retry     openaihttp.Retry
}

var _ summarize.Summarizer = (*Summarizer)(nil)

// New checks cfg and returns a Summarizer. It does not contact the server.
func New(cfg Config) (*Summarizer, error) {
	u, err := url.Parse(cfg.BaseURL)
	if cfg.BaseURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, callscribe.Errorf(callscribe.EINVALID, "CALLSCRIBE_OPENAI_BASE_URL must be an http(s) URL such as http://llm.local:8000/v1")
	}
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, callscribe.Errorf(callscribe.EINVALID, "CALLSCRIBE_SUMMARY_MODEL must name the chat model to summarise with")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	var doer openai.HTTPDoer = http.DefaultClient
	if cfg.HTTPClient != nil {
		doer = cfg.HTTPClient
	}
	return &Summarizer{
		client:    openaihttp.NewClient(cfg.BaseURL, cfg.APIKey, doer),
		model:     cfg.Model,
		timeout:   cfg.Timeout,
		maxTokens: cfg.MaxTokens,
		retry:     openaihttp.Retry{MaxRetries: cfg.MaxRetries},
	}, nil
}

// Engine names the summarizer in summaries: "openai:" and the model.
func (s *Summarizer) Engine() string { return "openai:" + s.model }

// Summarize asks the model for a summary of turns. A call without words gets an empty
// summary and costs no request.
func (s *Summarizer) Summarize(ctx context.Context, turns []summarize.Turn) (summarize.Summary, error) {
	out := summarize.Summary{Engine: s.Engine()}
	transcript := Transcript(turns)
	if transcript == "" {
		return out, nil
	}
	req := openai.ChatCompletionRequest{
		Model: s.model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: SystemPrompt},
			{Role: openai.ChatMessageRoleUser, Content: transcript},
		},
		// max_tokens, not max_completion_tokens: the in-country servers we target
		// (vLLM, LocalAI, older releases of both) read only the former.
		MaxTokens: s.maxTokens, //lint:ignore SA1019 see above
	}
	var text string
	err := s.retry.Do(ctx, "summarize", s.timeout, func(ctx context.Context) error {
		resp, err := s.client.CreateChatCompletion(ctx, req)
		if err != nil {
			return err
		}
		if len(resp.Choices) == 0 {
			return callscribe.Errorf(callscribe.EUNAVAILABLE, "summarize: the server answered with no choices")
		}
		text = strings.TrimSpace(thinking.ReplaceAllString(resp.Choices[0].Message.Content, ""))
		if text == "" {
			return callscribe.Errorf(callscribe.EUNAVAILABLE, "summarize: the server answered with an empty summary (finish reason %q)", resp.Choices[0].FinishReason)
		}
		return nil
	})
	if err != nil {
		return summarize.Summary{}, err
	}
	out.Text = text
	return out, nil
}

// thinking matches the reasoning that some models served by vLLM (Qwen, DeepSeek-R1)
// put before their answer.
var thinking = regexp.MustCompile(`(?s)<think>.*?</think>`)

// Transcript renders turns for the prompt, one "speaker: text" line each in the order
// given, whitespace collapsed; turns without words are left out.
func Transcript(turns []summarize.Turn) string {
	var b strings.Builder
	for _, t := range turns {
		text := strings.Join(strings.Fields(t.Text), " ")
		if text == "" {
			continue
		}
		speaker := strings.Join(strings.Fields(t.Speaker), " ")
		if speaker == "" {
			speaker = "unknown"
		}
		b.WriteString(speaker)
		b.WriteString(": ")
		b.WriteString(text)
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}
