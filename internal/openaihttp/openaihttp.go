// Package openaihttp holds what every adapter of an OpenAI-compatible server shares: the
// go-openai client it talks through, retries with jittered exponential backoff on 429, 5xx
// and network failures (honouring Retry-After), and the mapping of failures to
// callscribe error codes: EUNAVAILABLE once retries run out, EINVALID at once on any other
// 4xx.
//
// It must never log, and never put a request or response body, audio, transcript text or
// the API key into an error: only the HTTP status and the server's own error message.
package openaihttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"callscribe"

	openai "github.com/sashabaranov/go-openai"
)

// Defaults of a Retry's zero fields.
const (
	DefaultMaxRetries = 4
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = 30 * time.Second
	// DefaultMaxRetryAfter is the longest Retry-After we wait out; a server that asks
	// for more is treated as down, and the job queue retries the call later.
	DefaultMaxRetryAfter = 2 * time.Minute
)

// maxMessage bounds how much of a server's error message goes into an error.
const maxMessage = 300

// NewClient returns a go-openai client for the server at baseURL (".../v1"). Requests
// go through doer (http.DefaultClient when nil), wrapped so that Retry.Do can see each
// response's status and Retry-After header, which go-openai does not expose on errors.
func NewClient(baseURL, apiKey string, doer openai.HTTPDoer) *openai.Client {
	if doer == nil {
		doer = http.DefaultClient
	}
	cfg := openai.DefaultConfig(apiKey)
	cfg.BaseURL = strings.TrimRight(baseURL, "/")
	cfg.HTTPClient = recorder{next: doer}
	return openai.NewClientWithConfig(cfg)
}

// attemptKey carries an *attempt in a request's context from Retry.Do to recorder.
type attemptKey struct{}

// attempt is what recorder saw of the last response of one try.
type attempt struct {
	status     int
	retryAfter time.Duration
	hasRetry   bool
}

type recorder struct{ next openai.HTTPDoer }

func (r recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.next.Do(req)
	if a, ok := req.Context().Value(attemptKey{}).(*attempt); ok && resp != nil {
		a.status = resp.StatusCode
		a.retryAfter, a.hasRetry = ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return resp, err
}

// ParseRetryAfter reads a Retry-After header value: delay-seconds or an HTTP date.
// ok is false when the header is absent or unreadable.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// Retry runs one request to the server with retries. The zero value uses the defaults.
type Retry struct {
	MaxRetries    int           // retries after the first try; 0 means DefaultMaxRetries, <0 none
	Backoff       time.Duration // first delay, doubled each retry; 0 means DefaultBackoff
	MaxBackoff    time.Duration // cap of the doubled delay; 0 means DefaultMaxBackoff
	MaxRetryAfter time.Duration // longest Retry-After honoured; 0 means DefaultMaxRetryAfter

	// Sleep waits d or until ctx ends; nil means a timer. Tests record the delays.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1); nil means math/rand/v2.
	Jitter func() float64
}

func (r Retry) maxRetries() int {
	switch {
	case r.MaxRetries < 0:
		return 0
	case r.MaxRetries == 0:
		return DefaultMaxRetries
	}
	return r.MaxRetries
}

// Delay is the wait before retry number n (0 for the first retry): Backoff·2ⁿ capped
// at MaxBackoff, of which the upper half is random so that workers that failed together
// do not come back together.
func (r Retry) Delay(n int) time.Duration {
	base, ceil := r.Backoff, r.MaxBackoff
	if base <= 0 {
		base = DefaultBackoff
	}
	if ceil <= 0 {
		ceil = DefaultMaxBackoff
	}
	d := base
	for i := 0; i < n && d < ceil; i++ {
		d *= 2
	}
	d = min(d, ceil)
	jitter := rand.Float64
	if r.Jitter != nil {
		jitter = r.Jitter
	}
	return d/2 + time.Duration(jitter()*float64(d/2))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Do calls try until it succeeds, fails for good or runs out of retries. what names the
// operation in error messages ("transcribe", "summarize"). Each try gets its own context,
// cut off after timeout when timeout > 0; the client given to try must come from
// NewClient for Retry-After to be seen.
//
// The error returned is a *callscribe.Error: EINVALID for a 4xx other than 408 and 429
// (not retried), EUNAVAILABLE when the server stayed unreachable, overloaded or failing,
// or when ctx ended. An application error returned by try is passed through untouched.
func (r Retry) Do(ctx context.Context, what string, timeout time.Duration, try func(ctx context.Context) error) error {
	retries := r.maxRetries()
	maxAfter := r.MaxRetryAfter
	if maxAfter <= 0 {
		maxAfter = DefaultMaxRetryAfter
	}
	wait := r.Sleep
	if wait == nil {
		wait = sleep
	}
	for n := 0; ; n++ {
		a := &attempt{}
		err := r.once(ctx, a, timeout, try)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return callscribe.Wrap(callscribe.EUNAVAILABLE, ctx.Err(), "%s: cancelled", what)
		}
		if _, ok := errors.AsType[*callscribe.Error](err); ok {
			return err
		}
		status, msg := statusOf(err, a)
		cause := sanitize(err, status, msg)
		if status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
			return callscribe.Wrap(callscribe.EINVALID, cause, "%s: server answered %s", what, describe(status, msg))
		}
		if n >= retries {
			return callscribe.Wrap(callscribe.EUNAVAILABLE, cause, "%s: server unavailable after %d attempts: %s", what, n+1, describe(status, msg))
		}
		d := r.Delay(n)
		if a.hasRetry {
			if a.retryAfter > maxAfter {
				return callscribe.Wrap(callscribe.EUNAVAILABLE, cause, "%s: server asks to retry after %s: %s", what, a.retryAfter, describe(status, msg))
			}
			d = a.retryAfter
		}
		if err := wait(ctx, d); err != nil {
			return callscribe.Wrap(callscribe.EUNAVAILABLE, err, "%s: cancelled", what)
		}
	}
}

func (r Retry) once(ctx context.Context, a *attempt, timeout time.Duration, try func(ctx context.Context) error) error {
	ctx = context.WithValue(ctx, attemptKey{}, a)
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("no answer within %s", timeout))
		defer cancel()
		err := try(ctx)
		if err != nil && ctx.Err() != nil {
			return &timeoutError{cause: context.Cause(ctx)}
		}
		return err
	}
	return try(ctx)
}

type timeoutError struct{ cause error }

func (e *timeoutError) Error() string { return e.cause.Error() }

// statusOf finds the HTTP status and the server's error message in a go-openai error,
// falling back to what recorder saw (a failure after the headers arrived).
func statusOf(err error, a *attempt) (int, string) {
	if e, ok := errors.AsType[*openai.APIError](err); ok && e.HTTPStatusCode > 0 {
		return e.HTTPStatusCode, e.Message
	}
	if e, ok := errors.AsType[*openai.RequestError](err); ok && e.HTTPStatusCode > 0 {
		return e.HTTPStatusCode, bodyMessage(e.Body)
	}
	return a.status, ""
}

// bodyMessage is the error message of a body that is not the OpenAI error JSON: the
// "detail" or "message" field some servers use, or else the body as text.
func bodyMessage(body []byte) string {
	var v struct {
		Detail  any    `json:"detail"`
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil {
		switch {
		case v.Message != "":
			return v.Message
		case v.Error != "":
			return v.Error
		case v.Detail != nil:
			if s, ok := v.Detail.(string); ok {
				return s
			}
			b, _ := json.Marshal(v.Detail)
			return string(b)
		}
	}
	return string(body)
}

// describe renders status and message for an error text: "400 Bad Request: message".
func describe(status int, msg string) string {
	switch {
	case status == 0:
		return "no answer"
	case status < 300:
		return fmt.Sprintf("%d %s with an unreadable body", status, http.StatusText(status))
	}
	s := fmt.Sprintf("%d %s", status, http.StatusText(status))
	if msg = clip(msg); msg != "" {
		s += ": " + msg
	}
	return s
}

// clip makes msg one short line of valid UTF-8.
func clip(msg string) string {
	msg = strings.Join(strings.Fields(strings.ToValidUTF8(msg, "")), " ")
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

// sanitize keeps, for the operator's log, what err says about the failure, never the
// body that go-openai's RequestError would print whole.
func sanitize(err error, status int, msg string) error {
	if status > 0 {
		return errors.New(describe(status, msg))
	}
	return err
}
