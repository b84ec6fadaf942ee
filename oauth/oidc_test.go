package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"callscribe"
)

// namedUser is mockoidc's user with the OIDC name claims, in the ID token or only in
// the user-info answer.
type namedUser struct {
	mockoidc.MockUser
	given, family  string
	namesInIDToken bool
}

func (u *namedUser) Claims(scopes []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	c, err := u.MockUser.Claims(scopes, base)
	if err != nil || !u.namesInIDToken {
		return c, err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	m := jwt.MapClaims{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["given_name"], m["family_name"] = u.given, u.family
	return m, nil
}

func (u *namedUser) Userinfo(scopes []string) ([]byte, error) {
	b, err := u.MockUser.Userinfo(scopes)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["given_name"], m["family_name"] = u.given, u.family
	return json.Marshal(m)
}

// oidcFixture is a mockoidc server in-process, every request to it recorded, and a
// provider configured against it. forge, when set, rewrites the ID token the token
// endpoint hands out (claims changed and re-signed with the server's key, or with
// resign false, the original signature kept).
type oidcFixture struct {
	m      *mockoidc.MockOIDC
	rec    *recorder
	p      *OIDC
	forge  func(claims map[string]any)
	resign bool
}

func newOIDCFixture(t *testing.T, f *oidcFixture, opts ...Option) *oidcFixture {
	t.Helper()
	if f == nil {
		f = &oidcFixture{}
	}
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.m, f.rec = m, &recorder{}
	if err := m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.rec.record(r)
			if r.URL.Path != mockoidc.TokenEndpoint || f.forge == nil {
				next.ServeHTTP(w, r)
				return
			}
			rr := httptest.NewRecorder()
			next.ServeHTTP(rr, r)
			var body map[string]any
			if err := json.Unmarshal(rr.Body.Bytes(), &body); err != nil || body["id_token"] == nil {
				w.WriteHeader(rr.Code)
				_, _ = w.Write(rr.Body.Bytes())
				return
			}
			body["id_token"] = f.forgeToken(t, body["id_token"].(string))
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(body)
		})
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	f.p, err = NewOIDC(OIDCConfig{Name: "corp", Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// forgeToken changes the token's claims with f.forge.
func (f *oidcFixture) forgeToken(t *testing.T, raw string) string {
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Errorf("decode the ID token: %v", err)
		return raw
	}
	claims := map[string]any{}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Errorf("decode the ID token's claims: %v", err)
		return raw
	}
	f.forge(claims)
	if !f.resign {
		b, _ := json.Marshal(claims)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}
	signed, err := f.m.Keypair.SignJWT(jwt.MapClaims(claims))
	if err != nil {
		t.Errorf("sign the forged ID token: %v", err)
		return raw
	}
	return signed
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	for _, namesInIDToken := range []bool{true, false} {
		name := "names in the ID token"
		if !namesInIDToken {
			name = "names only from user info"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newOIDCFixture(t, nil)
			user := &namedUser{MockUser: mockoidc.MockUser{Subject: "sub-7781", Email: "anna@example.org", EmailVerified: true},
				given: "Анна", family: "Сергеева", namesInIDToken: namesInIDToken}
			f.m.QueueUser(user)
			ctx := context.Background()

			authURL, st, err := f.p.Begin(ctx, callbackURL)
			if err != nil {
				t.Fatalf("Begin: %v", err)
			}
			for what, v := range map[string]string{"state": st.State, "nonce": st.Nonce, "verifier": st.Verifier} {
				if len(v) < 43 { // 256 bits in base64url; >= 128 bits is the promise
					t.Errorf("%s %q is shorter than 43 characters", what, v)
				}
			}
			q := authorize(t, authURL)

			auth := f.rec.get(mockoidc.AuthorizationEndpoint)
			if len(auth) != 1 {
				t.Fatalf("authorization endpoint got %d requests, want 1", len(auth))
			}
			aq := auth[0].query
			if aq.Get("code_challenge_method") != "S256" || aq.Get("code_challenge") != s256(st.Verifier) {
				t.Errorf("authorization request sent code_challenge %q method %q; want S256 of the verifier %q",
					aq.Get("code_challenge"), aq.Get("code_challenge_method"), s256(st.Verifier))
			}
			if aq.Get("code_verifier") != "" || strings.Contains(authURL, st.Verifier) {
				t.Errorf("the verifier left before the callback: %s", authURL)
			}
			if aq.Get("nonce") != st.Nonce || aq.Get("state") != st.State {
				t.Errorf("authorization request nonce %q state %q, want %q %q", aq.Get("nonce"), aq.Get("state"), st.Nonce, st.State)
			}
			if got := strings.Fields(aq.Get("scope")); strings.Join(got, " ") != "openid email profile" {
				t.Errorf("scopes %q, want openid email profile", got)
			}

			id, err := f.p.Finish(ctx, st, callbackURL, q)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			want := Identity{Provider: "oidc:corp", Subject: "sub-7781", Email: "anna@example.org", EmailVerified: true,
				Surname: "Сергеева", FirstName: "Анна"}
			if id != want {
				t.Errorf("identity %+v, want %+v", id, want)
			}
			tok := f.rec.get(mockoidc.TokenEndpoint)
			if len(tok) == 0 || tok[len(tok)-1].form.Get("code_verifier") != st.Verifier {
				t.Errorf("token request did not send the verifier")
			}
			if ui := len(f.rec.get(mockoidc.UserinfoEndpoint)); namesInIDToken && ui != 0 || !namesInIDToken && ui != 1 {
				t.Errorf("user info asked %d times (names in the ID token: %v)", ui, namesInIDToken)
			}
		})
	}
}

// mockoidc checks the code_verifier against the challenge it was given (handlers.go,
// validateCodeChallenge): a wrong verifier is refused by the server, not by us.
func TestOIDCVerifierCheckedByServer(t *testing.T) {
	t.Parallel()
	f := newOIDCFixture(t, nil)
	ctx := context.Background()
	authURL, st, err := f.p.Begin(ctx, callbackURL)
	if err != nil {
		t.Fatal(err)
	}
	q := authorize(t, authURL)
	wrong := st
	wrong.Verifier = newPending().Verifier
	_, err = f.p.Finish(ctx, wrong, callbackURL, q)
	wantErr(t, err, callscribe.EUNAUTHORIZED, []string{"corp refused the sign-in code", "invalid_grant"}, q.Get("code"), wrong.Verifier)
	tok := f.rec.get(mockoidc.TokenEndpoint)
	if len(tok) == 0 || tok[len(tok)-1].form.Get("code_verifier") != wrong.Verifier {
		t.Fatalf("the token endpoint was not sent the (wrong) verifier; requests %+v", tok)
	}
}

func TestOIDCWrongStateRefusedBeforeExchange(t *testing.T) {
	t.Parallel()
	f := newOIDCFixture(t, nil)
	ctx := context.Background()
	authURL, st, err := f.p.Begin(ctx, callbackURL)
	if err != nil {
		t.Fatal(err)
	}
	q := authorize(t, authURL)
	_, other, _ := f.p.Begin(ctx, callbackURL) // another sign-in in flight
	for name, st := range map[string]Pending{"another sign-in's": other, "empty": {}} {
		_, err = f.p.Finish(ctx, st, callbackURL, q)
		wantErr(t, err, callscribe.EUNAUTHORIZED, []string{"corp"})
		if n := len(f.rec.get(mockoidc.TokenEndpoint)); n != 0 {
			t.Errorf("%s state: the code was exchanged (%d token requests) though the state did not match", name, n)
		}
	}
	// The same callback still completes the sign-in it belongs to.
	if _, err := f.p.Finish(ctx, st, callbackURL, q); err != nil {
		t.Errorf("the right state was refused: %v", err)
	}
}

// A nonce other than the one Begin drew (in the pending sign-in, or forged into the ID
// token) is refused, and so is a token without one.
func TestOIDCNonce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		forge func(map[string]any)
		swap  bool // the pending sign-in has another nonce than the one sent
	}{
		{name: "pending sign-in has another nonce", swap: true},
		{name: "ID token forged with another nonce", forge: func(c map[string]any) { c["nonce"] = "forged-nonce" }},
		{name: "ID token without a nonce", forge: func(c map[string]any) { delete(c, "nonce") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newOIDCFixture(t, &oidcFixture{forge: tt.forge, resign: true})
			ctx := context.Background()
			authURL, st, err := f.p.Begin(ctx, callbackURL)
			if err != nil {
				t.Fatal(err)
			}
			q := authorize(t, authURL)
			if tt.swap {
				st.Nonce = newPending().Nonce
			}
			_, err = f.p.Finish(ctx, st, callbackURL, q)
			wantErr(t, err, callscribe.EUNAUTHORIZED, []string{"nonce"})
		})
	}
}

// The ID token is verified: signature, issuer, audience, expiry, subject.
func TestOIDCIDTokenVerified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		forge  func(map[string]any)
		resign bool
		clock  time.Duration // our clock ahead of the server's
		want   string
	}{
		{name: "claims changed under the signature", forge: func(c map[string]any) { c["sub"] = "someone-else" }, want: "does not verify"},
		{name: "another audience", resign: true, forge: func(c map[string]any) { c["aud"] = []string{"another-client"} }, want: "does not verify"},
		{name: "another issuer", resign: true, forge: func(c map[string]any) { c["iss"] = "http://127.0.0.1:1/oidc" }, want: "does not verify"},
		{name: "expired", clock: 2 * time.Hour, want: "does not verify"},
		{name: "no subject", resign: true, forge: func(c map[string]any) { delete(c, "sub") }, want: "without a subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := func() time.Time { return time.Now().Add(tt.clock) }
			f := newOIDCFixture(t, &oidcFixture{forge: tt.forge, resign: tt.resign}, WithClock(clock))
			ctx := context.Background()
			authURL, st, err := f.p.Begin(ctx, callbackURL)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.p.Finish(ctx, st, callbackURL, authorize(t, authURL))
			wantErr(t, err, callscribe.EUNAUTHORIZED, []string{tt.want})
		})
	}
}

func TestOIDCDiscovery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("down at start-up, up later, behind a proxy", func(t *testing.T) {
		t.Parallel()
		f := newOIDCFixture(t, nil)
		target, _ := url.Parse(f.m.Addr())
		forward := httputil.NewSingleHostReverseProxy(target)
		var up atomic.Bool
		var proxied atomic.Int32
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/internal/discovery" {
				http.NotFound(w, r)
				return
			}
			if !up.Load() {
				http.Error(w, "starting", http.StatusServiceUnavailable)
				return
			}
			proxied.Add(1)
			r.URL.Path = mockoidc.DiscoveryEndpoint
			forward.ServeHTTP(w, r)
		}))
		t.Cleanup(proxy.Close)
		p, err := NewOIDC(OIDCConfig{Name: "proxied", Issuer: f.m.Issuer(), ClientID: f.m.ClientID, ClientSecret: f.m.ClientSecret,
			DiscoveryURL: proxy.URL + "/internal/discovery"})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = p.Begin(ctx, callbackURL)
		wantErr(t, err, callscribe.EUNAVAILABLE, []string{"proxied", "try again later"})

		up.Store(true)
		for range 2 {
			authURL, st, err := p.Begin(ctx, callbackURL)
			if err != nil {
				t.Fatalf("Begin once the provider is up: %v", err)
			}
			id, err := p.Finish(ctx, st, callbackURL, authorize(t, authURL))
			if err != nil || id.Subject != mockoidc.DefaultUser().Subject || id.Email != mockoidc.DefaultUser().Email {
				t.Fatalf("Finish: %+v, %v; want the default user", id, err)
			}
		}
		if n := proxied.Load(); n != 1 {
			t.Errorf("discovery read %d times through the configured URL, want once (it is kept)", n)
		}
		if n := len(f.rec.get(mockoidc.DiscoveryEndpoint)); n != 1 {
			t.Errorf("the provider's own discovery endpoint was asked %d times, want once", n)
		}
	})

	t.Run("issuer differs from the configured one", func(t *testing.T) {
		t.Parallel()
		f := newOIDCFixture(t, nil)
		p, err := NewOIDC(OIDCConfig{Name: "slash", Issuer: f.m.Issuer() + "/", ClientID: f.m.ClientID,
			DiscoveryURL: f.m.DiscoveryEndpoint()})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = p.Begin(ctx, callbackURL)
		wantErr(t, err, callscribe.EUNAVAILABLE, []string{"misconfigured (issuer)"})
	})

	t.Run("oversized discovery document", func(t *testing.T) {
		t.Parallel()
		big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"issuer":"` + strings.Repeat("a", 2<<20) + `"}`))
		}))
		t.Cleanup(big.Close)
		p, err := NewOIDC(OIDCConfig{Name: "big", Issuer: big.URL, ClientID: "c"})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = p.Begin(ctx, callbackURL)
		wantErr(t, err, callscribe.EUNAVAILABLE, []string{"no usable answer"})
		if !errors.Is(err, errTooLarge) {
			t.Errorf("error %v, want the answer-too-large cause", err)
		}
	})
}
