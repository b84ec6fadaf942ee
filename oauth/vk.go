package oauth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"callscribe"
)

// VK ID's documented endpoints (OAuth 2.1, "Справочник методов API VK ID":
// https://id.vk.com/about/business/go/docs/ru/vkid/latest/vk-id/connection/api-integration/api-description,
// and "Авторизация без SDK для Web" with the code exchanged on the back end).
const (
	VKAuthURL     = "https://id.vk.com/authorize"
	VKTokenURL    = "https://id.vk.com/oauth2/auth"
	VKUserInfoURL = "https://id.vk.com/oauth2/user_info"
)

// VK signs in with VK ID: PKCE S256 is required; the callback carries device_id, which
// the token call must send back together with state; user info is a form POST.
type VK struct {
	base
	cfg EndpointConfig
}

var _ Provider = (*VK)(nil)

// NewVK returns the provider. VK ID's code exchange authenticates the application by
// PKCE, not by a secret, so ClientSecret is not sent and may be empty. The default
// scopes are vkid.personal_info (names) and email.
func NewVK(cfg EndpointConfig, opts ...Option) (*VK, error) {
	cfg, err := cfg.withDefaults(VKAuthURL, VKTokenURL, VKUserInfoURL)
	if err != nil {
		return nil, fmt.Errorf("vk: %w", err)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"vkid.personal_info", "email"}
	}
	return &VK{base: base{name: "vk", options: buildOptions(opts)}, cfg: cfg}, nil
}

// Name is "vk".
func (p *VK) Name() string { return "vk" }

func (p *VK) oauth2Config(redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.cfg.ClientID,
		// No ClientSecret: the secret ("защищённый ключ") is for server-to-server calls,
		// the code exchange is the public-client one, bound by the verifier.
		Endpoint:    oauth2.Endpoint{AuthURL: p.cfg.AuthURL, TokenURL: p.cfg.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: redirectURL,
		Scopes:      p.cfg.Scopes,
	}
}

// Begin returns VK ID's authorization URL: response_type=code, client_id, redirect_uri,
// state, scope, code_challenge and code_challenge_method=S256.
func (p *VK) Begin(_ context.Context, redirectURL string) (string, Pending, error) {
	if err := checkRedirectURL(p.name, redirectURL); err != nil {
		return "", Pending{}, err
	}
	st := newPending()
	return p.oauth2Config(redirectURL).AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier)), st, nil
}

// vkUserInfo is what we read of POST /oauth2/user_info: {"user": {...}}; phone, avatar,
// sex and birthday are in the answer too and are not read.
type vkUserInfo struct {
	User *struct {
		UserID    vkID   `json:"user_id"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Email     string `json:"email"`
	} `json:"user"`
	Error string `json:"error"` // VK ID may answer an error with HTTP 200
}

// Finish checks state, exchanges the code at /oauth2/auth with grant_type,
// code_verifier, device_id (from the callback), state, redirect_uri and client_id,
// checks the state the token answer repeats, then asks /oauth2/user_info with
// access_token and client_id in the form body.
func (p *VK) Finish(ctx context.Context, st Pending, redirectURL string, q url.Values) (Identity, error) {
	code, err := p.checkCallback(st, q)
	if err != nil {
		return Identity{}, err
	}
	deviceID := q.Get("device_id")
	if deviceID == "" {
		return Identity{}, callscribe.Errorf(callscribe.EUNAUTHORIZED, "sign-in with vk came back without a device_id; start again")
	}
	cctx, cancel := p.call(ctx)
	defer cancel()
	tok, err := p.oauth2Config(redirectURL).Exchange(cctx, code,
		oauth2.VerifierOption(st.Verifier),
		oauth2.SetAuthURLParam("device_id", deviceID),
		oauth2.SetAuthURLParam("state", st.State))
	if err != nil {
		return Identity{}, p.exchangeError(err)
	}
	// The token answer repeats the state it was sent; one that differs answers another
	// exchange.
	if s, ok := tok.Extra("state").(string); ok && subtle.ConstantTimeCompare([]byte(s), []byte(st.State)) != 1 {
		return Identity{}, callscribe.Errorf(callscribe.EUNAUTHORIZED, "vk answered the code exchange for another sign-in (state); start again")
	}
	req, err := postForm(p.cfg.UserInfoURL, url.Values{"access_token": {tok.AccessToken}, "client_id": {p.cfg.ClientID}})
	if err != nil {
		return Identity{}, p.callError("user info", err)
	}
	var info vkUserInfo
	if err := p.doJSON(ctx, req, &info); err != nil {
		return Identity{}, p.userInfoError(err)
	}
	if info.Error != "" {
		return Identity{}, callscribe.Wrap(callscribe.EUNAUTHORIZED, fmt.Errorf("user info: error %q", safeCode(info.Error)),
			"vk refused to tell who signed in (%s); start again", safeCode(info.Error))
	}
	if info.User == nil || info.User.UserID == "" {
		return Identity{}, callscribe.Errorf(callscribe.EUNAVAILABLE, "vk did not say who signed in (no user_id); try again later")
	}
	// The token answer names the user too; the two must agree.
	if tid := tokenUserID(tok.Extra("user_id")); tid != "" && tid != string(info.User.UserID) {
		return Identity{}, callscribe.Errorf(callscribe.EUNAUTHORIZED, "vk named two different users for one sign-in; sign-in refused")
	}
	// VK's "verified" is the profile's verification mark, not the email's: not claimed.
	return Identity{
		Provider:  "vk",
		Subject:   string(info.User.UserID),
		Email:     info.User.Email,
		Surname:   info.User.LastName,
		FirstName: info.User.FirstName,
	}, nil
}

// vkID is a VK user id, sent as a string by user_info and as a number by the token
// endpoint; it is kept as the decimal string.
type vkID string

func (v *vkID) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		*v = ""
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*v = vkID(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(data, &n); err != nil {
		return err
	}
	if _, err := n.Int64(); err != nil {
		return fmt.Errorf("user_id %s is not an integer", n)
	}
	*v = vkID(n.String())
	return nil
}

// tokenUserID is the token answer's user_id as a decimal string, "" when absent.
func tokenUserID(v any) string {
	switch v := v.(type) {
	case float64:
		return fmt.Sprintf("%.0f", v)
	case string:
		return strings.TrimSpace(v)
	default:
		return ""
	}
}
