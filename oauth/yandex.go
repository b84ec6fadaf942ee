package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"

	"callscribe"
)

// Yandex ID's documented endpoints (https://yandex.ru/dev/id/doc/ru/codes/code-url,
// https://yandex.ru/dev/id/doc/ru/user-information).
const (
	YandexAuthURL     = "https://oauth.yandex.ru/authorize"
	YandexTokenURL    = "https://oauth.yandex.ru/token"
	YandexUserInfoURL = "https://login.yandex.ru/info?format=json"
)

// EndpointConfig is a plain OAuth 2.0 provider's client and endpoints; an empty URL is
// the provider's documented one (override for tests, or a deployment behind a proxy).
type EndpointConfig struct {
	ClientID     string
	ClientSecret string
	AuthURL      string
	TokenURL     string
	UserInfoURL  string
	Scopes       []string // empty: the provider's default (see each constructor)
}

func (c EndpointConfig) withDefaults(auth, token, userInfo string) (EndpointConfig, error) {
	if c.AuthURL == "" {
		c.AuthURL = auth
	}
	if c.TokenURL == "" {
		c.TokenURL = token
	}
	if c.UserInfoURL == "" {
		c.UserInfoURL = userInfo
	}
	for _, u := range []string{c.AuthURL, c.TokenURL, c.UserInfoURL} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return c, fmt.Errorf("%q is not an absolute http(s) URL", u)
		}
	}
	if c.ClientID == "" {
		return c, fmt.Errorf("the client id is required")
	}
	return c, nil
}

// Yandex signs in with Yandex ID: OAuth 2.0 with PKCE S256, then the user-info call.
type Yandex struct {
	base
	cfg EndpointConfig
}

var _ Provider = (*Yandex)(nil)

// NewYandex returns the provider. ClientSecret is required (Yandex's token endpoint
// authenticates the application with it). No scope is asked for unless cfg.Scopes says
// so: Yandex then grants what the application was registered with (login:info and
// login:email are the ones we read).
func NewYandex(cfg EndpointConfig, opts ...Option) (*Yandex, error) {
	cfg, err := cfg.withDefaults(YandexAuthURL, YandexTokenURL, YandexUserInfoURL)
	if err != nil {
		return nil, fmt.Errorf("yandex: %w", err)
	}
	if cfg.ClientSecret == "" {
		return nil, fmt.Errorf("yandex: the client secret is required")
	}
	return &Yandex{base: base{name: "yandex", options: buildOptions(opts)}, cfg: cfg}, nil
}

// Name is "yandex".
func (p *Yandex) Name() string { return "yandex" }

func (p *Yandex) oauth2Config(redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: p.cfg.AuthURL, TokenURL: p.cfg.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL:  redirectURL,
		Scopes:       p.cfg.Scopes,
	}
}

// Begin returns Yandex's authorization URL with state and the PKCE challenge
// (code_challenge_method=S256, which Yandex ID supports).
func (p *Yandex) Begin(_ context.Context, redirectURL string) (string, Pending, error) {
	if err := checkRedirectURL(p.name, redirectURL); err != nil {
		return "", Pending{}, err
	}
	st := newPending()
	return p.oauth2Config(redirectURL).AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier)), st, nil
}

// yandexInfo is what we read of login.yandex.ru/info (format=json): the id, the default
// email and the names; nothing else the answer holds (login, phone, birthday, avatar).
type yandexInfo struct {
	ID           string `json:"id"`
	ClientID     string `json:"client_id"`
	DefaultEmail string `json:"default_email"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
}

// Finish checks state, exchanges the code with the verifier, and asks who signed in
// with the header "Authorization: OAuth <token>" (the documented, safe form; the token is
// never put in a URL).
func (p *Yandex) Finish(ctx context.Context, st Pending, redirectURL string, q url.Values) (Identity, error) {
	code, err := p.checkCallback(st, q)
	if err != nil {
		return Identity{}, err
	}
	cctx, cancel := p.call(ctx)
	defer cancel()
	tok, err := p.oauth2Config(redirectURL).Exchange(cctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return Identity{}, p.exchangeError(err)
	}
	req, err := http.NewRequest(http.MethodGet, p.cfg.UserInfoURL, nil)
	if err != nil {
		return Identity{}, p.callError("user info", err)
	}
	req.Header.Set("Authorization", "OAuth "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	var info yandexInfo
	if err := p.doJSON(ctx, req, &info); err != nil {
		return Identity{}, p.userInfoError(err)
	}
	if info.ID == "" {
		return Identity{}, callscribe.Errorf(callscribe.EUNAVAILABLE, "yandex did not say who signed in (no id); try again later")
	}
	// The answer names the application the token was issued to: a token for another
	// application must not sign anyone in here.
	if info.ClientID != "" && info.ClientID != p.cfg.ClientID {
		return Identity{}, callscribe.Errorf(callscribe.EUNAUTHORIZED, "yandex issued the token to another application; sign-in refused")
	}
	// Yandex does not say whether default_email was verified, so it is not claimed.
	return Identity{
		Provider:  "yandex",
		Subject:   info.ID,
		Email:     info.DefaultEmail,
		Surname:   info.LastName,
		FirstName: info.FirstName,
	}, nil
}
