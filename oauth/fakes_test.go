package oauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeProvider is a local Yandex ID or VK ID serving their documented wire format and
// checking what they check: the PKCE S256 challenge against the verifier, the client,
// the single use of a code, the redirect URI; for Yandex the "OAuth <token>" header of
// the user-info call; for VK the device_id and state passed back to the token call.
//
// Yandex ID: GET /authorize → redirect_uri?code&state; POST /token (grant_type, code,
// client_id, client_secret, code_verifier) → {"token_type","access_token","expires_in",
// "refresh_token"}, errors 400 {"error","error_description"}; GET /info?format=json with
// Authorization: OAuth <token> → {"id","login","client_id","default_email","first_name",
// "last_name",...}, 401 for a bad token
// (https://yandex.ru/dev/id/doc/ru/codes/code-url, https://yandex.ru/dev/id/doc/ru/user-information).
//
// VK ID: GET /authorize → redirect_uri?code&state&device_id&expires_in&type=code_v2;
// POST /oauth2/auth (grant_type, code, code_verifier, device_id, state, redirect_uri,
// client_id) → {"access_token","refresh_token","id_token","token_type","expires_in",
// "user_id","state","scope"}; POST /oauth2/user_info (access_token, client_id) →
// {"user":{"user_id","first_name","last_name","phone","avatar","email","sex","verified",
// "birthday"}} (VK ID API reference, id.vk.com ... /api-integration/api-description).
type fakeProvider struct {
	flavor         string // "yandex" or "vk"
	srv            *httptest.Server
	rec            recorder
	clientID, sec  string
	userID         string
	email          string
	first, last    string
	deny           bool // the user presses "cancel" at the provider
	mu             sync.Mutex
	codes          map[string]*fakeCode
	tokens         map[string]bool
	issued         int
	override       map[string]http.HandlerFunc // by path: replaces the documented answer
	tokenUserIDOff string                      // VK: a user_id in the token answer other than the user's
	tokenStateOff  string                      // VK: a state in the token answer other than the one sent
}

type fakeCode struct {
	challenge, redirect, state, deviceID string
	used                                 bool
}

func newFakeProvider(t *testing.T, flavor string) *fakeProvider {
	t.Helper()
	f := &fakeProvider{flavor: flavor, clientID: "app-" + flavor, sec: "secret-" + flavor,
		userID: "1130000012345678", email: "ivan.petrov@example.ru", first: "Иван", last: "Петров",
		codes: map[string]*fakeCode{}, tokens: map[string]bool{}, override: map[string]http.HandlerFunc{}}
	if flavor == "vk" {
		f.userID = "1234567890"
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.rec.record(r)
		f.mu.Lock()
		h := f.override[r.URL.Path]
		f.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		switch r.URL.Path {
		case "/authorize":
			f.authorize(w, r)
		case f.tokenPath():
			f.token(w, r)
		case f.infoPath():
			f.info(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) tokenPath() string {
	if f.flavor == "vk" {
		return "/oauth2/auth"
	}
	return "/token"
}

func (f *fakeProvider) infoPath() string {
	if f.flavor == "vk" {
		return "/oauth2/user_info"
	}
	return "/info"
}

// config points a provider at the fake.
func (f *fakeProvider) config() EndpointConfig {
	c := EndpointConfig{ClientID: f.clientID, AuthURL: f.srv.URL + "/authorize", TokenURL: f.srv.URL + f.tokenPath()}
	if f.flavor == "vk" {
		c.UserInfoURL = f.srv.URL + f.infoPath()
	} else {
		c.ClientSecret = f.sec
		c.UserInfoURL = f.srv.URL + f.infoPath() + "?format=json"
	}
	return c
}

// provider returns the Provider under test, configured against the fake.
func (f *fakeProvider) provider(t *testing.T, opts ...Option) Provider {
	t.Helper()
	var p Provider
	var err error
	if f.flavor == "vk" {
		p, err = NewVK(f.config(), opts...)
	} else {
		p, err = NewYandex(f.config(), opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fakeProvider) set(path string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.override[path] = h
}

// accessToken is the token the fake issues n-th, so that tests can look for it.
func accessToken(flavor string, n int) string {
	return fmt.Sprintf("%s-access-token-%d-y0_AgAAAAB", flavor, n)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (f *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") != "code" || q.Get("client_id") != f.clientID || q.Get("state") == "" || q.Get("redirect_uri") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	// Yandex: PKCE is optional but we always send it; VK ID: required, S256 only.
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		http.Error(w, "PKCE S256 required", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := url.Values{"state": {q.Get("state")}}
	if f.deny {
		v.Set("error", "access_denied")
		v.Set("error_description", "User denied access")
	} else {
		f.mu.Lock()
		f.issued++
		code := fmt.Sprintf("%s-code-%d", f.flavor, f.issued)
		fc := &fakeCode{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), state: q.Get("state")}
		if f.flavor == "vk" {
			fc.deviceID = fmt.Sprintf("device-%d-7f3a", f.issued)
			v.Set("device_id", fc.deviceID)
			v.Set("expires_in", "600")
			v.Set("type", "code_v2")
		}
		f.codes[code] = fc
		f.mu.Unlock()
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (f *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "POST a form")
		return
	}
	form := r.PostForm
	if form.Get("grant_type") != "authorization_code" || form.Get("client_id") != f.clientID {
		oauthError(w, http.StatusBadRequest, "invalid_client", "unknown client")
		return
	}
	if f.flavor == "yandex" && form.Get("client_secret") != f.sec {
		oauthError(w, http.StatusBadRequest, "invalid_client", "Client secret mismatch")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fc := f.codes[form.Get("code")]
	if fc == nil || fc.used {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Code has expired: "+form.Get("code"))
		return
	}
	fc.used = true
	if s256(form.Get("code_verifier")) != fc.challenge {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid code_verifier")
		return
	}
	f.issued++
	tok := accessToken(f.flavor, f.issued)
	f.tokens[tok] = true
	answer := map[string]any{"access_token": tok, "refresh_token": "refresh-" + tok, "expires_in": 3600}
	if f.flavor == "vk" {
		if form.Get("device_id") != fc.deviceID || form.Get("state") != fc.state || form.Get("redirect_uri") != fc.redirect {
			oauthError(w, http.StatusBadRequest, "invalid_request", "device_id, state or redirect_uri mismatch")
			return
		}
		uid := f.userID
		if f.tokenUserIDOff != "" {
			uid = f.tokenUserIDOff
		}
		var n json.Number = json.Number(uid)
		state := fc.state
		if f.tokenStateOff != "" {
			state = f.tokenStateOff
		}
		answer["token_type"], answer["id_token"], answer["user_id"], answer["state"], answer["scope"] =
			"Bearer", "eyJhbGciOiJSUzI1NiJ9.e30.sig", n, state, "vkid.personal_info email"
	} else {
		answer["token_type"] = "bearer"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
}

func (f *fakeProvider) info(w http.ResponseWriter, r *http.Request) {
	var tok string
	if f.flavor == "vk" {
		if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("client_id") != f.clientID {
			oauthError(w, http.StatusBadRequest, "invalid_request", "POST access_token and client_id")
			return
		}
		tok = r.PostForm.Get("access_token")
	} else {
		if r.URL.Query().Get("format") != "json" {
			http.Error(w, "format=json expected", http.StatusBadRequest)
			return
		}
		h := r.Header.Get("Authorization")
		if !strings.HasPrefix(h, "OAuth ") {
			http.Error(w, "no OAuth header", http.StatusUnauthorized)
			return
		}
		tok = strings.TrimPrefix(h, "OAuth ")
	}
	f.mu.Lock()
	ok := f.tokens[tok]
	f.mu.Unlock()
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_token", "bad token")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if f.flavor == "vk" {
		_ = json.NewEncoder(w).Encode(map[string]any{"user": map[string]any{
			"user_id": f.userID, "first_name": f.first, "last_name": f.last, "phone": "79991234567",
			"avatar": "https://pp.userapi.com/x.jpg", "email": f.email, "sex": 2, "verified": false, "birthday": "01.01.1990"}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": f.userID, "login": "ivan.petrov", "client_id": f.clientID, "display_name": "ivan",
		"real_name": f.first + " " + f.last, "first_name": f.first, "last_name": f.last, "sex": "male",
		"default_email": f.email, "emails": []string{f.email}, "birthday": "1990-01-01",
		"default_phone": map[string]any{"id": 1, "number": "+79991234567"}, "psuid": "1.AAA"})
}
