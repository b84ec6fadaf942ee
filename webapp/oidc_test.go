package webapp_test

import (
	"net"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"callscribe/oauth"
)

// newMockOIDC starts an OpenID Connect provider in-process (mockoidc: it signs in
// whichever user is queued next, else its default user, without a login page) and
// returns it with an oauth.OIDC provider named "corp" configured against it by
// discovery.
func newMockOIDC(t *testing.T) (*mockoidc.MockOIDC, *oauth.OIDC) {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
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
	p, err := oauth.NewOIDC(oauth.OIDCConfig{Name: "corp", Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	return m, p
}

// oidcUser is a user mockoidc signs in.
func oidcUser(subject, email string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: subject, Email: email, EmailVerified: true, PreferredUsername: subject}
}
