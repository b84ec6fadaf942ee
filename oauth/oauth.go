// Package oauth signs people in with an outside identity provider: any OpenID Connect
// provider found by discovery, Yandex ID and VK ID. It runs the authorization-code flow
// with PKCE (S256), checks state (and the nonce in an OIDC ID token) and returns the
// Identity the user agreement lets us keep: the provider's subject, and the name and email
// it gives. Nothing else is read from the provider's answers.
//
// It knows nothing of sessions, cookies or storage: the caller keeps the Pending secrets
// server-side between Begin and Finish. It must never return a token, a code or an email
// in an error message, and never keep a provider's access token beyond Finish.
package oauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"callscribe"
)

// Identity is what the agreement lets us keep from a provider, and nothing else.
type Identity struct {
	Provider      string // "oidc:<name>", "yandex" or "vk": with Subject, the identity's key
	Subject       string // the provider's stable user id
	Email         string // may be ""
	EmailVerified bool   // true only when the provider says the address was verified
	Surname       string // as the provider gives it, may be ""
	FirstName     string // as the provider gives it, may be ""
}

// Provider is one configured identity provider.
type Provider interface {
	// Name is "yandex", "vk" or the configured OIDC provider's name; it is fit for a URL
	// path segment ([a-z0-9_]).
	Name() string
	// Begin returns the URL to send the browser to and the secrets the caller must keep
	// server-side (never in a cookie value readable as data) until the callback.
	// redirectURL is the callback's absolute URL, registered with the provider.
	Begin(ctx context.Context, redirectURL string) (authURL string, st Pending, err error)
	// Finish checks the callback's state (and the ID token's nonce for OIDC), exchanges
	// the code with the PKCE verifier and returns the identity. q is the callback's
	// query (code, state, error; device_id for VK ID); redirectURL is the one Begin had.
	Finish(ctx context.Context, st Pending, redirectURL string, q url.Values) (Identity, error)
}

// Pending is what Begin hands out and Finish needs back: each one random, 256 bits,
// single-use. The caller keeps it server-side and drops it at the callback whatever
// Finish answers.
type Pending struct {
	State    string // sent to the provider, must come back in the callback
	Nonce    string // OIDC: must come back inside the signed ID token
	Verifier string // PKCE code_verifier; only its S256 hash leaves before the callback
}

// ErrCancelled is in the chain of Finish's error when the user (or the provider) turned
// the sign-in down at the provider (error=access_denied): a page may say so kindly.
var ErrCancelled = errors.New("sign-in cancelled at the provider")

// Defaults.
const (
	DefaultTimeout = 10 * time.Second // one HTTP call to a provider
	maxBody        = 1 << 20          // the most read of a provider's answer (discovery, user info)
)

// Option changes how FromEnv and the constructors build providers.
type Option func(*options)

type options struct {
	client  *http.Client
	timeout time.Duration
	now     func() time.Time
}

// WithHTTPClient makes providers call out with client (its transport, proxy and TLS
// settings); a per-call deadline is added on top of whatever client.Timeout says.
func WithHTTPClient(client *http.Client) Option { return func(o *options) { o.client = client } }

// WithTimeout bounds each HTTP call to a provider (DefaultTimeout when unset).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithClock makes ID-token expiry checks use now instead of time.Now (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

func buildOptions(opts []Option) options {
	o := options{timeout: DefaultTimeout, now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	if o.client == nil {
		o.client = &http.Client{Timeout: o.timeout}
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o
}

// base is what every provider shares: its name for messages and how it calls out.
type base struct {
	name string // for messages: "yandex", "vk", the OIDC name
	options
}

// call gives ctx the per-call deadline and the HTTP client oauth2 and go-oidc use.
func (b *base) call(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	return context.WithValue(ctx, oauth2.HTTPClient, b.client), cancel
}

// newPending draws fresh state, nonce and PKCE verifier.
func newPending() Pending {
	return Pending{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
}

// random returns 256 random bits, base64url without padding (43 characters).
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkCallback refuses a callback that does not belong to the sign-in st started, or
// that carries the provider's refusal, and returns the authorization code.
func (b *base) checkCallback(st Pending, q url.Values) (string, error) {
	// The state is compared before anything else is believed: a callback with another
	// sign-in's state (a forged link) says nothing we may act on, not even an error code.
	if st.State == "" || st.Verifier == "" {
		return "", callscribe.Errorf(callscribe.EUNAUTHORIZED, "sign-in with %s was not started here or has expired; start again", b.name)
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return "", callscribe.Errorf(callscribe.EUNAUTHORIZED, "sign-in with %s does not match the one started here (state); start again", b.name)
	}
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			return "", callscribe.Wrap(callscribe.EUNAUTHORIZED, ErrCancelled, "sign-in with %s was cancelled", b.name)
		}
		return "", callscribe.Wrap(callscribe.EUNAUTHORIZED, fmt.Errorf("callback error %s", safeCode(e)),
			"%s refused the sign-in (%s)", b.name, safeCode(e))
	}
	code := q.Get("code")
	if code == "" {
		return "", callscribe.Errorf(callscribe.EUNAUTHORIZED, "sign-in with %s came back without a code; start again", b.name)
	}
	return code, nil
}

// safeCodeRE is what an OAuth error code looks like (RFC 6749 §5.2 allows less, but a
// provider's codes are short snake_case words); anything else is not repeated.
var safeCodeRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)

// safeCode returns an error code fit for a message: the code itself when it looks like
// one, "unknown error" otherwise (it came through the browser and may be anything).
func safeCode(c string) string {
	if safeCodeRE.MatchString(c) {
		return c
	}
	return "unknown error"
}

// exchangeError turns a failed code exchange into an application error whose message
// and cause carry no token, code or response body: a provider's error_description may
// repeat what it was sent.
func (b *base) exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		cause := fmt.Errorf("token endpoint: HTTP %d, error %q", status, safeCode(re.ErrorCode))
		if status >= 500 || (status == 0 && re.ErrorCode == "") {
			return callscribe.Wrap(callscribe.EUNAVAILABLE, cause, "%s is not answering sign-ins now; try again later", b.name)
		}
		if re.ErrorCode == "" {
			return callscribe.Wrap(callscribe.EUNAUTHORIZED, cause, "%s refused the sign-in code (HTTP %d); start again", b.name, status)
		}
		return callscribe.Wrap(callscribe.EUNAUTHORIZED, cause, "%s refused the sign-in code (%s); start again", b.name, safeCode(re.ErrorCode))
	}
	return b.callError("token endpoint", err)
}

// callError is a failed call that got no usable answer: the provider is down, slow, or
// answered something that is not what it documents.
func (b *base) callError(what string, err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return callscribe.Wrap(callscribe.EUNAVAILABLE, fmt.Errorf("%s: %w", what, err), "%s did not answer in time; try again later", b.name)
	}
	return callscribe.Wrap(callscribe.EUNAVAILABLE, fmt.Errorf("%s: %w", what, err), "%s gave no usable answer; try again later", b.name)
}

// errTooLarge is a provider's answer longer than maxBody.
var errTooLarge = fmt.Errorf("answer larger than %d bytes", maxBody)

// doJSON sends req with the per-call deadline and decodes a 200 JSON answer of at most
// maxBody bytes into v. A non-200 answer is an *httpStatusError (the body is not kept:
// it may repeat the token).
func (b *base) doJSON(ctx context.Context, req *http.Request, v any) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	resp, err := b.client.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return &httpStatusError{status: resp.StatusCode, code: safeCodeOrEmpty(e.Error)}
	}
	if len(body) > maxBody {
		return errTooLarge
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return fmt.Errorf("answer is %s, not JSON", mt)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	return nil
}

func safeCodeOrEmpty(c string) string {
	if c == "" {
		return ""
	}
	return safeCode(c)
}

// httpStatusError is a non-200 answer to one of our calls.
type httpStatusError struct {
	status int
	code   string // the answer's "error" field, if it had a safe one
}

func (e *httpStatusError) Error() string {
	if e.code != "" {
		return fmt.Sprintf("HTTP %d, error %q", e.status, e.code)
	}
	return fmt.Sprintf("HTTP %d", e.status)
}

// userInfoError turns a failed user-info call into an application error: a 4xx means the
// provider does not accept the token it just issued (a refusal); anything else is the
// provider failing.
func (b *base) userInfoError(err error) error {
	var se *httpStatusError
	if errors.As(err, &se) && se.status >= 400 && se.status < 500 {
		return callscribe.Wrap(callscribe.EUNAUTHORIZED, fmt.Errorf("user info: %w", err),
			"%s refused to tell who signed in (HTTP %d); start again", b.name, se.status)
	}
	return b.callError("user info", err)
}

// postForm builds a form POST.
func postForm(u string, form url.Values) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// checkRedirectURL refuses a callback URL that is not absolute http(s): the provider
// would refuse it anyway, with a page the user cannot act on.
func checkRedirectURL(name, redirectURL string) error {
	u, err := url.Parse(redirectURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return callscribe.Errorf(callscribe.EINTERNAL, "sign-in with %s: the callback URL is not an absolute http(s) URL", name)
	}
	return nil
}
