// Package fetch pulls a call's recording from the URL a telephony system gave
// (Twilio-style RecordingUrl): pull mode. It reaches only the recording hosts the
// operator declared (they are processors, with a country: see privacy/residency),
// never an address inside our network unless allow-listed, follows at most a few
// redirects, and bounds the size, the connect time and the total time.
//
// It streams: the recording is never held whole in memory nor written anywhere. Its
// errors name the host and the status, never the URL's path or query (which may carry
// a token or a phone number).
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"callscribe"
	"callscribe/internal/safehttp"
)

// Defaults of Config's zero fields.
const (
	DefaultTimeout        = 5 * time.Minute
	DefaultConnectTimeout = 10 * time.Second
	DefaultMaxRedirects   = 3
)

// Config shapes a Fetcher.
type Config struct {
	// Hosts are the recording hosts that may be fetched from: exact names or
	// addresses, ".example.ru" for a domain and its subdomains, "*" for any host.
	// Empty: pull mode is off and every Fetch is refused.
	Hosts []string
	// Policy says which hosts and ranges inside our network may be reached all the same.
	Policy         safehttp.Policy
	MaxBytes       int64         // largest recording; <=0: no limit (do not)
	Timeout        time.Duration // whole fetch, body included; 0 means DefaultTimeout
	ConnectTimeout time.Duration // 0 means DefaultConnectTimeout
	MaxRedirects   int           // 0 means DefaultMaxRedirects, <0 none
	// HostsVariable names the setting Hosts came from, for error messages.
	HostsVariable string
	// BasicAuth holds credentials per host (exact name), sent to that host only (Twilio
	// protects recordings with the account SID and auth token). A redirect to another
	// host does not carry them.
	BasicAuth map[string]Credentials
}

// Credentials are a user name and password for HTTP basic authentication.
type Credentials struct{ User, Password string }

// ParseBasicAuth reads credentials, one host per line: "host user:password"; blank
// lines and lines starting with # are skipped. Errors name the line, never its secret.
func ParseBasicAuth(text string) (map[string]Credentials, error) {
	out := map[string]Credentials{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		host, cred, ok := strings.Cut(line, " ")
		user, pass, ok2 := strings.Cut(strings.TrimSpace(cred), ":")
		if !ok || !ok2 || host == "" || user == "" {
			return nil, fmt.Errorf("line %d: want \"host user:password\"", i+1)
		}
		out[strings.ToLower(host)] = Credentials{User: user, Password: pass}
	}
	return out, nil
}

// Fetcher fetches recordings. It is safe for concurrent use.
type Fetcher struct {
	cfg    Config
	client *http.Client
}

// New returns a Fetcher.
func New(cfg Config) *Fetcher {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.MaxRedirects == 0 {
		cfg.MaxRedirects = DefaultMaxRedirects
	}
	if cfg.HostsVariable == "" {
		cfg.HostsVariable = "the recording hosts"
	}
	f := &Fetcher{cfg: cfg}
	f.client = safehttp.NewClient(cfg.Policy, safehttp.Options{
		ConnectTimeout: cfg.ConnectTimeout,
		MaxRedirects:   cfg.MaxRedirects,
		// A redirect hands the recording to another host: it must be declared too.
		Redirect: func(u *url.URL) error {
			if !f.declared(u.Hostname()) {
				return fmt.Errorf("to %s, not a declared recording host (%s)", u.Hostname(), cfg.HostsVariable)
			}
			return nil
		},
	})
	return f
}

// Fetch starts downloading the recording at rawURL and returns its body, to be
// closed by the caller. The body fails with ETOOLARGE once it passes MaxBytes, and
// with EUNAVAILABLE when the time limit ends before it does. Fetch fails with
// EINVALID for a URL it may not fetch, EUNFETCHABLE for a 4xx answer, EUNAVAILABLE
// for a server that is down, overloaded or unreachable, ETOOLARGE for a declared
// length over the limit.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (io.ReadCloser, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, callscribe.Errorf(callscribe.EINVALID, "recording_url: not an http or https URL")
	}
	host := u.Hostname()
	if !f.declared(host) {
		if len(f.cfg.Hosts) == 0 {
			return nil, callscribe.Errorf(callscribe.EINVALID, "recording_url: pull mode is off: %s declares no recording host", f.cfg.HostsVariable)
		}
		return nil, callscribe.Errorf(callscribe.EINVALID, "recording_url: host %s is not a declared recording host (%s)", host, f.cfg.HostsVariable)
	}
	if err := f.cfg.Policy.CheckLiteral(host); err != nil {
		return nil, callscribe.Wrap(callscribe.EINVALID, err, "recording_url: %v", err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, f.cfg.Timeout, errTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, callscribe.Wrap(callscribe.EINVALID, err, "recording_url: not a valid URL")
	}
	req.Header.Set("User-Agent", "callscribe")
	if c, ok := f.cfg.BasicAuth[strings.ToLower(host)]; ok {
		// net/http drops the header on a redirect to another domain.
		req.SetBasicAuth(c.User, c.Password)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		cancel()
		return nil, f.failure(ctx, host, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		cancel()
		code := callscribe.EUNFETCHABLE
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests {
			code = callscribe.EUNAVAILABLE
		}
		return nil, callscribe.Errorf(code, "recording_url: %s answered %d %s", resp.Request.URL.Hostname(), resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if f.cfg.MaxBytes > 0 && resp.ContentLength > f.cfg.MaxBytes {
		resp.Body.Close()
		cancel()
		return nil, callscribe.Errorf(callscribe.ETOOLARGE, "recording_url: the recording is %d bytes, more than the limit of %d", resp.ContentLength, f.cfg.MaxBytes)
	}
	return &body{f: f, ctx: ctx, cancel: cancel, rc: resp.Body, host: host, left: f.cfg.MaxBytes}, nil
}

var errTimeout = errors.New("time limit")

// declared reports whether host is one of the declared recording hosts.
func (f *Fetcher) declared(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, h := range f.cfg.Hosts {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		switch {
		case h == "*", h == host:
			return true
		case strings.HasPrefix(h, ".") && (host == h[1:] || strings.HasSuffix(host, h)):
			return true
		}
	}
	return false
}

// failure classifies an error of the request: refused (EINVALID), out of time or
// unreachable (EUNAVAILABLE). Only the host is named.
func (f *Fetcher) failure(ctx context.Context, host string, err error) error {
	if r, ok := safehttp.Refused(err); ok {
		return callscribe.Wrap(callscribe.EINVALID, r, "recording_url: %v", r)
	}
	if errors.Is(context.Cause(ctx), errTimeout) {
		return callscribe.Wrap(callscribe.EUNAVAILABLE, errTimeout, "recording_url: %s did not send the recording within %s", host, f.cfg.Timeout)
	}
	if ctx.Err() != nil {
		return callscribe.Wrap(callscribe.EUNAVAILABLE, ctx.Err(), "recording_url: fetch cancelled")
	}
	// The url.Error would print the whole URL; keep only what failed.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return callscribe.Wrap(callscribe.EUNAVAILABLE, err, "recording_url: %s is unreachable", host)
}

// body is a recording being downloaded: it counts bytes against the limit and ends
// the request's time limit when closed.
type body struct {
	f      *Fetcher
	ctx    context.Context
	cancel context.CancelFunc
	rc     io.ReadCloser
	host   string
	left   int64 // bytes still allowed when the limit is on
	err    error
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.f.cfg.MaxBytes > 0 && int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte past the limit is enough to know it was crossed
	}
	n, err := b.rc.Read(p)
	if b.f.cfg.MaxBytes > 0 {
		if int64(n) > b.left {
			n = int(b.left)
			b.left = 0
			b.err = callscribe.Errorf(callscribe.ETOOLARGE, "recording_url: the recording is larger than the limit of %d bytes", b.f.cfg.MaxBytes)
			return n, b.err
		}
		b.left -= int64(n)
	}
	if err != nil && err != io.EOF {
		err = b.f.failure(b.ctx, b.host, err)
		b.err = err
	}
	return n, err
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}
