package oauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"callscribe"
)

// callbackURL is where providers send the browser back in tests; nothing listens there:
// the test reads the redirect's Location as a browser would follow it.
const callbackURL = "http://127.0.0.1:9/auth/callback"

// authorize plays the browser: it opens the authorization URL, expects a redirect to
// the callback URL and returns the callback's query.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("open the authorization URL: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("authorization endpoint answered %s, want a redirect: %s", resp.Status, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, callbackURL+"?") {
		t.Fatalf("authorization endpoint redirected to %q, want the callback %s", loc, callbackURL)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("parse the redirect %q: %v", loc, err)
	}
	return u.Query()
}

// s256 is RFC 7636's S256 code challenge of verifier.
func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// wantErr checks err is an application error with code whose message contains each of
// want, and that neither the message nor the whole error text (what the operator's log
// gets) carries any of secrets.
func wantErr(t *testing.T, err error, code string, want []string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var e *callscribe.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want a *callscribe.Error", err, err)
	}
	if e.Code != code {
		t.Errorf("code %q (%v), want %q", e.Code, err, code)
	}
	for _, w := range want {
		if !strings.Contains(e.Message, w) {
			t.Errorf("message %q does not say %q", e.Message, w)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q carries the secret %q", err.Error(), s)
		}
	}
}

// recorder keeps what a fake provider was sent, for the test to check.
type recorder struct {
	mu   sync.Mutex
	reqs map[string][]recorded // by path
}

type recorded struct {
	method string
	header http.Header
	query  url.Values
	form   url.Values // the urlencoded body, if any
}

// record reads r's query and form body (leaving the body readable again) and keeps them.
func (rec *recorder) record(r *http.Request) recorded {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	form, _ := url.ParseQuery(string(body))
	got := recorded{method: r.Method, header: r.Header.Clone(), query: r.URL.Query(), form: form}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.reqs == nil {
		rec.reqs = map[string][]recorded{}
	}
	rec.reqs[r.URL.Path] = append(rec.reqs[r.URL.Path], got)
	return got
}

// get returns the requests made to path.
func (rec *recorder) get(path string) []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.reqs[path]...)
}
