package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"callscribe"
	"callscribe/summarize"
)

// chatRequest is the part of a /v1/chat/completions body the fake server reads.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	MaxTokens int `json:"max_tokens"`
}

type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []chatRequest
	auth []string
}

// newFake answers each request with the next of script (the last one repeats).
func newFake(t *testing.T, script ...http.HandlerFunc) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req chatRequest
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, req)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		script[min(n, len(script)-1)](w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) requests() []chatRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chatRequest(nil), f.reqs...)
}

func reply(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func completion(content string) http.HandlerFunc {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "qwen2.5-7b-instruct",
		"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content}}},
		"usage": map[string]int{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
	})
	return reply(200, string(b))
}

var call = []summarize.Turn{
	{Speaker: "agent", StartMS: 0, EndMS: 2000, Text: "good morning how can i help you"},
	{Speaker: "client", StartMS: 2100, EndMS: 5000, Text: "my order  four five six\tseven has not arrived"},
	{Speaker: "client", StartMS: 5000, EndMS: 5100, Text: "   "},
	{Speaker: "agent", StartMS: 5200, EndMS: 8000, Text: "it will arrive on monday"},
}

const wantTranscript = "agent: good morning how can i help you\n" +
	"client: my order four five six seven has not arrived\n" +
	"agent: it will arrive on monday"

func newTest(t *testing.T, srv string, cfg Config) (*Summarizer, *[]time.Duration) {
	t.Helper()
	cfg.BaseURL = srv + "/v1"
	if cfg.Model == "" {
		cfg.Model = "qwen2.5-7b-instruct"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	slept := &[]time.Duration{}
	s.retry.Sleep = func(ctx context.Context, d time.Duration) error {
		*slept = append(*slept, d)
		return ctx.Err()
	}
	s.retry.Jitter = func() float64 { return 0 }
	return s, slept
}

func TestRequestAndAnswer(t *testing.T) {
	t.Parallel()
	srv := newFake(t, completion("\n The client's order 4567 is late; the agent says it arrives on Monday. \n"))
	s, _ := newTest(t, srv.URL, Config{APIKey: "sk-test-secret"})
	got, err := s.Summarize(context.Background(), call)
	if err != nil {
		t.Fatalf("Summarize: %v", err)
	}
	want := summarize.Summary{Engine: "openai:qwen2.5-7b-instruct", Text: "The client's order 4567 is late; the agent says it arrives on Monday."}
	if got != want {
		t.Errorf("summary = %+v, want %+v", got, want)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Model != "qwen2.5-7b-instruct" {
		t.Errorf("model = %q, want %q", r.Model, "qwen2.5-7b-instruct")
	}
	if r.MaxTokens != DefaultMaxTokens {
		t.Errorf("max_tokens = %d, want %d", r.MaxTokens, DefaultMaxTokens)
	}
	if len(r.Messages) != 2 {
		t.Fatalf("messages = %d, want 2 (system, user)", len(r.Messages))
	}
	if r.Messages[0].Role != "system" || !strings.Contains(r.Messages[0].Content, "language the call is in") || !strings.Contains(r.Messages[0].Content, "neutral") {
		t.Errorf("system message = %+v, want the instructions (neutral, in the call's language)", r.Messages[0])
	}
	if r.Messages[1].Role != "user" || r.Messages[1].Content != wantTranscript {
		t.Errorf("user message = %q (%s), want %q (user)", r.Messages[1].Content, r.Messages[1].Role, wantTranscript)
	}
	if auth := srv.auth[0]; auth != "Bearer sk-test-secret" {
		t.Errorf("Authorization = %q, want %q", auth, "Bearer sk-test-secret")
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	ok := completion("A summary.")
	tests := []struct {
		name       string
		script     []http.HandlerFunc
		maxRetries int
		wantCode   string
		wantReqs   int
		wantSleeps []time.Duration
		wantInErr  []string
	}{
		{
			name:       "5xx is retried",
			script:     []http.HandlerFunc{reply(502, `bad gateway`), reply(500, `{"error":{"message":"CUDA out of memory","type":"server_error"}}`), ok},
			wantReqs:   3,
			wantSleeps: []time.Duration{500 * time.Millisecond, time.Second},
		},
		{
			name:       "429 honours Retry-After",
			script:     []http.HandlerFunc{reply(429, `{"error":{"message":"rate limited"}}`, "Retry-After", "3"), ok},
			wantReqs:   2,
			wantSleeps: []time.Duration{3 * time.Second},
		},
		{
			name:       "always 503 is unavailable",
			script:     []http.HandlerFunc{reply(503, `{"error":{"message":"model is loading"}}`)},
			maxRetries: 1,
			wantCode:   callscribe.EUNAVAILABLE,
			wantReqs:   2,
			wantSleeps: []time.Duration{500 * time.Millisecond},
			wantInErr:  []string{"503", "model is loading", "2 attempts"},
		},
		{
			name:      "4xx is invalid, not retried, and named",
			script:    []http.HandlerFunc{reply(400, `{"object":"error","message":"This model's maximum context length is 4096 tokens.","type":"BadRequestError","param":null,"code":400}`)},
			wantCode:  callscribe.EINVALID,
			wantReqs:  1,
			wantInErr: []string{"400", "maximum context length is 4096 tokens"},
		},
		{
			name:      "404 model not found",
			script:    []http.HandlerFunc{reply(404, `{"error":{"message":"The model 'qwen2.5-7b-instruct' does not exist.","type":"invalid_request_error","code":"model_not_found"}}`)},
			wantCode:  callscribe.EINVALID,
			wantReqs:  1,
			wantInErr: []string{"404", "does not exist"},
		},
		{
			name:       "no choices is unavailable",
			script:     []http.HandlerFunc{reply(200, `{"id":"x","object":"chat.completion","choices":[]}`)},
			wantCode:   callscribe.EUNAVAILABLE,
			wantReqs:   1,
			wantInErr:  []string{"no choices"},
			wantSleeps: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, tt.script...)
			s, slept := newTest(t, srv.URL, Config{APIKey: "sk-test-secret", MaxRetries: tt.maxRetries})
			got, err := s.Summarize(context.Background(), call)
			if code := callscribe.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", code, err, tt.wantCode)
			}
			if err == nil && got.Text != "A summary." {
				t.Errorf("summary = %q, want %q", got.Text, "A summary.")
			}
			if n := len(srv.requests()); n != tt.wantReqs {
				t.Errorf("requests = %d, want %d", n, tt.wantReqs)
			}
			if len(*slept)+len(tt.wantSleeps) > 0 && !reflect.DeepEqual(*slept, tt.wantSleeps) {
				t.Errorf("slept %v, want %v", *slept, tt.wantSleeps)
			}
			for _, want := range tt.wantInErr {
				if !strings.Contains(callscribe.ErrorMessage(err), want) {
					t.Errorf("error message %q does not contain %q", callscribe.ErrorMessage(err), want)
				}
			}
			if err != nil && (strings.Contains(err.Error(), "sk-test-secret") || strings.Contains(err.Error(), "arrive on monday")) {
				t.Errorf("error %q carries the API key or the transcript", err)
			}
		})
	}
}

func TestThinkingIsDropped(t *testing.T) {
	t.Parallel()
	srv := newFake(t, completion("<think>\nThe client wants the order.\n</think>\n\nOrder 4567 arrives Monday."))
	s, _ := newTest(t, srv.URL, Config{})
	got, err := s.Summarize(context.Background(), call)
	if err != nil {
		t.Fatalf("Summarize: %v", err)
	}
	if want := "Order 4567 arrives Monday."; got.Text != want {
		t.Errorf("summary = %q, want %q", got.Text, want)
	}
}

func TestNoWordsNoRequest(t *testing.T) {
	t.Parallel()
	srv := newFake(t, completion("should not be asked"))
	s, _ := newTest(t, srv.URL, Config{})
	for _, turns := range [][]summarize.Turn{nil, {{Speaker: "agent", Text: " \n "}}} {
		got, err := s.Summarize(context.Background(), turns)
		if err != nil || got.Text != "" || got.Engine != "openai:qwen2.5-7b-instruct" {
			t.Errorf("Summarize(%v) = %+v, %v; want an empty summary by openai:qwen2.5-7b-instruct", turns, got, err)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}

func TestHangingServerIsCutOff(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	s, _ := newTest(t, srv.URL, Config{Timeout: 100 * time.Millisecond, MaxRetries: -1})
	start := time.Now()
	_, err := s.Summarize(context.Background(), call)
	if code := callscribe.ErrorCode(err); code != callscribe.EUNAVAILABLE {
		t.Errorf("error code = %q (%v), want %q", code, err, callscribe.EUNAVAILABLE)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("Summarize took %v against a hanging server with a 100ms timeout", elapsed)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("requests = %d, want 1 (retries off)", n)
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	srv := newFake(t, completion("x"))
	s, _ := newTest(t, srv.URL, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Summarize(ctx, call); !errors.Is(err, context.Canceled) {
		t.Errorf("Summarize(cancelled) error = %v, want one wrapping context.Canceled", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no base url", Config{Model: "m"}, "CALLSCRIBE_OPENAI_BASE_URL"},
		{"no model", Config{BaseURL: "http://llm.local/v1"}, "CALLSCRIBE_SUMMARY_MODEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if callscribe.ErrorCode(err) != callscribe.EINVALID || !strings.Contains(callscribe.ErrorMessage(err), tt.want) {
				t.Errorf("New error = %v, want EINVALID naming %q", err, tt.want)
			}
		})
	}
}

func TestTranscript(t *testing.T) {
	t.Parallel()
	if got := Transcript(call); got != wantTranscript {
		t.Errorf("Transcript = %q, want %q", got, wantTranscript)
	}
	if got, want := Transcript([]summarize.Turn{{Text: "hi"}}), "unknown: hi"; got != want {
		t.Errorf("Transcript(no speaker) = %q, want %q", got, want)
	}
}
