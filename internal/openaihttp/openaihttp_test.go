package openaihttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"callscribe"

	openai "github.com/sashabaranov/go-openai"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	r := Retry{Backoff: time.Second, MaxBackoff: 5 * time.Second}
	tests := []struct {
		n        int
		jitter   float64
		want     time.Duration
		whatJust string
	}{
		{0, 0, 500 * time.Millisecond, "first retry, no jitter: half the base"},
		{0, 0.999999, time.Second, "first retry, most jitter: about the base"},
		{1, 0, time.Second, "doubles"},
		{2, 0.5, 3 * time.Second, "4 s with half jitter"},
		{10, 0, 2500 * time.Millisecond, "capped at MaxBackoff"},
	}
	for _, tt := range tests {
		r.Jitter = func() float64 { return tt.jitter }
		got := r.Delay(tt.n)
		if d := got - tt.want; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("Delay(%d) with jitter %v = %v, want %v (%s)", tt.n, tt.jitter, got, tt.want, tt.whatJust)
		}
	}
}

func TestRetryAfterTooLongGivesUp(t *testing.T) {
	t.Parallel()
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Retry-After", "3600")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":{"message":"quota exceeded"}}`))
	}))
	defer srv.Close()
	client := NewClient(srv.URL+"/v1", "", nil)
	r := Retry{Sleep: func(context.Context, time.Duration) error { t.Error("slept, want to give up at once"); return nil }}
	err := r.Do(context.Background(), "summarize", time.Second, func(ctx context.Context) error {
		_, err := client.ListModels(ctx)
		return err
	})
	if code := callscribe.ErrorCode(err); code != callscribe.EUNAVAILABLE {
		t.Errorf("error code = %q (%v), want %q", code, err, callscribe.EUNAVAILABLE)
	}
	if msg := callscribe.ErrorMessage(err); !strings.Contains(msg, "1h0m0s") || !strings.Contains(msg, "quota exceeded") {
		t.Errorf("error message = %q, want the wait asked for and the server's message", msg)
	}
	if calls != 1 {
		t.Errorf("requests = %d, want 1", calls)
	}
}

func TestApplicationErrorsPassThrough(t *testing.T) {
	t.Parallel()
	want := callscribe.Errorf(callscribe.EUNREADABLE, "bad audio")
	tries := 0
	err := Retry{}.Do(context.Background(), "transcribe", 0, func(context.Context) error { tries++; return want })
	if err != want || tries != 1 {
		t.Errorf("Do = %v after %d tries, want %v after 1", err, tries, want)
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("я", 400) // 800 bytes of two-byte runes
	got := clip(long)
	if len(got) > maxMessage+len("…") || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "яя") {
		t.Errorf("clip(800 bytes) = %d bytes %q…, want at most %d bytes ending in …", len(got), got[:10], maxMessage)
	}
	if got := clip("line one\n\tline two "); got != "line one line two" {
		t.Errorf("clip = %q, want %q", got, "line one line two")
	}
}

var _ openai.HTTPDoer = recorder{}
