package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"callscribe"
)

// OIDCConfig is one OpenID Connect provider.
type OIDCConfig struct {
	Name         string // [a-z][a-z0-9_]*: the provider's Name, and Identity.Provider "oidc:<Name>"
	Issuer       string // must equal the discovery document's issuer and every ID token's iss
	ClientID     string // the ID tokens' audience
	ClientSecret string // may be empty for a public client (PKCE alone)
	// DiscoveryURL, when set, is where the discovery document is read instead of
	// Issuer + "/.well-known/openid-configuration" (a deployment behind a proxy).
	DiscoveryURL string
	// Scopes asked for; default openid email profile.
	Scopes []string
}

// OIDC signs in with an OpenID Connect provider found by discovery (go-oidc): PKCE S256,
// state, and an ID token verified for signature, issuer, audience, expiry and nonce.
type OIDC struct {
	base
	cfg OIDCConfig

	mu       sync.Mutex
	provider *oidc.Provider // nil until discovery has succeeded once
	verifier *oidc.IDTokenVerifier
}

var _ Provider = (*OIDC)(nil)

// NewOIDC returns the provider. Discovery happens at the first Begin (and again after a
// failed one), so that a provider that is down does not stop the service from starting.
func NewOIDC(cfg OIDCConfig, opts ...Option) (*OIDC, error) {
	if !nameRE.MatchString(cfg.Name) {
		return nil, fmt.Errorf("oidc provider name %q: want [a-z][a-z0-9_]*, at most 32 characters", cfg.Name)
	}
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, fmt.Errorf("oidc provider %s: the issuer and the client id are required", cfg.Name)
	}
	for _, u := range []string{cfg.Issuer, cfg.DiscoveryURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("oidc provider %s: %q is not an absolute http(s) URL", cfg.Name, u)
		}
	}
	if cfg.DiscoveryURL == "" {
		cfg.DiscoveryURL = strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	return &OIDC{base: base{name: cfg.Name, options: buildOptions(opts)}, cfg: cfg}, nil
}

// Name is the configured name.
func (p *OIDC) Name() string { return p.cfg.Name }

// discovery is what we read of the discovery document.
type discovery struct {
	Issuer      string   `json:"issuer"`
	AuthURL     string   `json:"authorization_endpoint"`
	TokenURL    string   `json:"token_endpoint"`
	UserInfoURL string   `json:"userinfo_endpoint"`
	JWKSURL     string   `json:"jwks_uri"`
	Algorithms  []string `json:"id_token_signing_alg_values_supported"`
}

// discover reads the discovery document once it can, and keeps what it found.
func (p *OIDC) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, p.verifier, nil
	}
	req, err := http.NewRequest(http.MethodGet, p.cfg.DiscoveryURL, nil)
	if err != nil {
		return nil, nil, callscribe.Wrap(callscribe.EINTERNAL, err, "sign-in with %s: bad discovery URL", p.name)
	}
	req.Header.Set("Accept", "application/json")
	var d discovery
	if err := p.doJSON(ctx, req, &d); err != nil {
		return nil, nil, p.callError("discovery", err)
	}
	// OpenID Connect Discovery 1.0 §4.3: the issuer in the document must be the one we
	// were configured with, exactly, or ID tokens from someone else's issuer could pass.
	if d.Issuer != p.cfg.Issuer {
		return nil, nil, callscribe.Wrap(callscribe.EUNAVAILABLE,
			fmt.Errorf("discovery: issuer %q, configured %q", d.Issuer, p.cfg.Issuer),
			"sign-in with %s is misconfigured (issuer); tell the operator", p.name)
	}
	if d.AuthURL == "" || d.TokenURL == "" || d.JWKSURL == "" {
		return nil, nil, callscribe.Wrap(callscribe.EUNAVAILABLE,
			fmt.Errorf("discovery: an authorization, token or jwks endpoint is missing"),
			"sign-in with %s is misconfigured (discovery); tell the operator", p.name)
	}
	// The key set fetches keys later with this client; go-oidc ignores the context's
	// cancellation for it and bounds nothing itself, so the client must carry a timeout.
	kctx := oidc.ClientContext(context.Background(), p.clientWithTimeout())
	provider := (&oidc.ProviderConfig{
		IssuerURL:   d.Issuer,
		AuthURL:     d.AuthURL,
		TokenURL:    d.TokenURL,
		UserInfoURL: d.UserInfoURL,
		JWKSURL:     d.JWKSURL,
		Algorithms:  d.Algorithms,
	}).NewProvider(kctx)
	p.provider = provider
	p.verifier = provider.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: p.now})
	return p.provider, p.verifier, nil
}

// clientWithTimeout is the client with a timeout for calls made without our deadline.
func (p *OIDC) clientWithTimeout() *http.Client {
	if p.client.Timeout > 0 {
		return p.client
	}
	c := *p.client
	c.Timeout = p.timeout
	return &c
}

func (p *OIDC) oauth2Config(provider *oidc.Provider, redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		Endpoint:     provider.Endpoint(), // auth style detected: providers differ (basic or post)
		RedirectURL:  redirectURL,
		Scopes:       p.cfg.Scopes,
	}
}

// Begin discovers the provider if it has not yet, and returns its authorization URL.
func (p *OIDC) Begin(ctx context.Context, redirectURL string) (string, Pending, error) {
	if err := checkRedirectURL(p.name, redirectURL); err != nil {
		return "", Pending{}, err
	}
	provider, _, err := p.discover(ctx)
	if err != nil {
		return "", Pending{}, err
	}
	st := newPending()
	u := p.oauth2Config(provider, redirectURL).AuthCodeURL(st.State,
		oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	return u, st, nil
}

// oidcClaims are the claims read from an ID token or the user-info answer.
type oidcClaims struct {
	Subject       string   `json:"sub"`
	Email         string   `json:"email"`
	EmailVerified flexBool `json:"email_verified"`
	GivenName     string   `json:"given_name"`
	FamilyName    string   `json:"family_name"`
	Nonce         *string  `json:"nonce"`
}

// Finish checks state, exchanges the code (with the PKCE verifier), verifies the ID token
// and its nonce, and reads the identity from it; the user-info endpoint is asked only for
// what the ID token left out.
func (p *OIDC) Finish(ctx context.Context, st Pending, redirectURL string, q url.Values) (Identity, error) {
	code, err := p.checkCallback(st, q)
	if err != nil {
		return Identity{}, err
	}
	provider, verifier, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	cctx, cancel := p.call(ctx)
	defer cancel()
	tok, err := p.oauth2Config(provider, redirectURL).Exchange(cctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return Identity{}, p.exchangeError(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, callscribe.Errorf(callscribe.EUNAUTHORIZED, "%s gave no ID token; sign-in refused", p.name)
	}
	idt, err := verifier.Verify(cctx, raw)
	if err != nil {
		return Identity{}, callscribe.Wrap(callscribe.EUNAUTHORIZED, fmt.Errorf("id token: %w", err),
			"%s gave an ID token that does not verify; sign-in refused", p.name)
	}
	var c oidcClaims
	if err := idt.Claims(&c); err != nil {
		return Identity{}, callscribe.Wrap(callscribe.EUNAUTHORIZED, fmt.Errorf("id token claims: %w", err),
			"%s gave an ID token we cannot read; sign-in refused", p.name)
	}
	// OpenID Connect Core §3.1.3.7 (11): the nonce must be the one we sent; without it a
	// token stolen from another sign-in could be replayed into this one.
	if c.Nonce == nil || subtle.ConstantTimeCompare([]byte(*c.Nonce), []byte(st.Nonce)) != 1 {
		return Identity{}, callscribe.Errorf(callscribe.EUNAUTHORIZED,
			"%s gave an ID token for another sign-in (nonce); start again", p.name)
	}
	if c.Subject == "" {
		return Identity{}, callscribe.Errorf(callscribe.EUNAUTHORIZED, "%s gave an ID token without a subject; sign-in refused", p.name)
	}
	id := Identity{
		Provider:      "oidc:" + p.cfg.Name,
		Subject:       c.Subject,
		Email:         c.Email,
		EmailVerified: c.Email != "" && bool(c.EmailVerified),
		Surname:       c.FamilyName,
		FirstName:     c.GivenName,
	}
	if (id.Email == "" || id.Surname == "" || id.FirstName == "") && provider.UserInfoEndpoint() != "" {
		if err := p.fillFromUserInfo(ctx, provider.UserInfoEndpoint(), tok.AccessToken, &id); err != nil {
			return Identity{}, err
		}
	}
	return id, nil
}

// fillFromUserInfo adds what the ID token left out from the user-info endpoint, whose
// subject must be the ID token's (OpenID Connect Core §5.3.2).
func (p *OIDC) fillFromUserInfo(ctx context.Context, endpoint, accessToken string, id *Identity) error {
	req, err := http.NewRequest(http.MethodGet, endpoint, nil)
	if err != nil {
		return p.callError("user info", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	var c oidcClaims
	if err := p.doJSON(ctx, req, &c); err != nil {
		return p.userInfoError(err)
	}
	if c.Subject != id.Subject {
		return callscribe.Errorf(callscribe.EUNAUTHORIZED, "%s described another user than the ID token did; sign-in refused", p.name)
	}
	if id.Email == "" && c.Email != "" {
		id.Email, id.EmailVerified = c.Email, bool(c.EmailVerified)
	}
	if id.Surname == "" {
		id.Surname = c.FamilyName
	}
	if id.FirstName == "" {
		id.FirstName = c.GivenName
	}
	return nil
}

// flexBool is a JSON boolean some providers send as the string "true" (email_verified).
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*b = flexBool(v)
	case string:
		*b = flexBool(v == "true")
	default:
		*b = false
	}
	return nil
}
