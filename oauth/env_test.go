package oauth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "yandex.secret")
	if err := os.WriteFile(secretFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    []string // provider names, in order
		wantErr string   // the variable the error must name
	}{
		{name: "nothing configured", env: map[string]string{}, want: nil},
		{name: "all of them", env: map[string]string{
			"CALLSCRIBE_OIDC_PROVIDERS":              "keycloak, Corp_SSO",
			"CALLSCRIBE_OIDC_KEYCLOAK_ISSUER":        "https://sso.example.ru/realms/main",
			"CALLSCRIBE_OIDC_KEYCLOAK_CLIENT_ID":     "callscribe",
			"CALLSCRIBE_OIDC_CORP_SSO_ISSUER":        "https://corp.example.ru",
			"CALLSCRIBE_OIDC_CORP_SSO_CLIENT_ID":     "cs",
			"CALLSCRIBE_OIDC_CORP_SSO_SCOPES":        "openid email",
			"CALLSCRIBE_YANDEX_CLIENT_ID":            "y",
			"CALLSCRIBE_YANDEX_CLIENT_SECRET_FILE":   secretFile,
			"CALLSCRIBE_VK_CLIENT_ID":                "51234567",
			"CALLSCRIBE_VK_TOKEN_URL":                "https://vk-proxy.internal/oauth2/auth",
			"CALLSCRIBE_OAUTH_TIMEOUT":               "3s",
			"CALLSCRIBE_OIDC_KEYCLOAK_DISCOVERY_URL": "http://keycloak.internal:8080/realms/main/.well-known/openid-configuration",
		}, want: []string{"yandex", "vk", "keycloak", "corp_sso"}},
		{name: "oidc issuer missing", env: map[string]string{"CALLSCRIBE_OIDC_PROVIDERS": "kc", "CALLSCRIBE_OIDC_KC_CLIENT_ID": "x"},
			wantErr: "CALLSCRIBE_OIDC_KC_ISSUER"},
		{name: "oidc client id missing", env: map[string]string{"CALLSCRIBE_OIDC_PROVIDERS": "kc", "CALLSCRIBE_OIDC_KC_ISSUER": "https://kc"},
			wantErr: "CALLSCRIBE_OIDC_KC_CLIENT_ID"},
		{name: "oidc issuer not a URL", env: map[string]string{"CALLSCRIBE_OIDC_PROVIDERS": "kc", "CALLSCRIBE_OIDC_KC_ISSUER": "kc.example.ru",
			"CALLSCRIBE_OIDC_KC_CLIENT_ID": "x"}, wantErr: "CALLSCRIBE_OIDC_KC_"},
		{name: "bad name", env: map[string]string{"CALLSCRIBE_OIDC_PROVIDERS": "key-cloak"}, wantErr: "CALLSCRIBE_OIDC_PROVIDERS"},
		{name: "built-in name", env: map[string]string{"CALLSCRIBE_OIDC_PROVIDERS": "vk"}, wantErr: "CALLSCRIBE_OIDC_PROVIDERS"},
		{name: "listed twice", env: map[string]string{"CALLSCRIBE_OIDC_PROVIDERS": "kc,KC", "CALLSCRIBE_OIDC_KC_ISSUER": "https://kc",
			"CALLSCRIBE_OIDC_KC_CLIENT_ID": "x"}, wantErr: "listed twice"},
		{name: "yandex without secret", env: map[string]string{"CALLSCRIBE_YANDEX_CLIENT_ID": "y"}, wantErr: "CALLSCRIBE_YANDEX_CLIENT_SECRET"},
		{name: "yandex secret file missing", env: map[string]string{"CALLSCRIBE_YANDEX_CLIENT_ID": "y",
			"CALLSCRIBE_YANDEX_CLIENT_SECRET_FILE": filepath.Join(dir, "nope")}, wantErr: "CALLSCRIBE_YANDEX_CLIENT_SECRET_FILE"},
		{name: "yandex secret file empty", env: map[string]string{"CALLSCRIBE_YANDEX_CLIENT_ID": "y",
			"CALLSCRIBE_YANDEX_CLIENT_SECRET_FILE": emptyFile}, wantErr: "CALLSCRIBE_YANDEX_CLIENT_SECRET_FILE"},
		{name: "yandex setting without client id", env: map[string]string{"CALLSCRIBE_YANDEX_CLIENT_SECRET": "s"},
			wantErr: "CALLSCRIBE_YANDEX_CLIENT_ID"},
		{name: "vk URL without client id", env: map[string]string{"CALLSCRIBE_VK_USERINFO_URL": "https://x"}, wantErr: "CALLSCRIBE_VK_CLIENT_ID"},
		{name: "vk URL not a URL", env: map[string]string{"CALLSCRIBE_VK_CLIENT_ID": "1", "CALLSCRIBE_VK_AUTH_URL": "id.vk.com/authorize"},
			wantErr: "CALLSCRIBE_VK_"},
		{name: "bad timeout", env: map[string]string{"CALLSCRIBE_OAUTH_TIMEOUT": "soon"}, wantErr: "CALLSCRIBE_OAUTH_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps, err := FromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range ps {
				names = append(names, p.Name())
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Errorf("providers %q, want %q", names, tt.want)
			}
		})
	}
}

// What FromEnv reads reaches the providers: the secret from its file, the endpoint
// overrides, the timeout, the discovery URL.
func TestFromEnvSettingsReachTheProviders(t *testing.T) {
	t.Parallel()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("  from-file \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"CALLSCRIBE_YANDEX_CLIENT_ID":          "y",
		"CALLSCRIBE_YANDEX_CLIENT_SECRET":      "from-env",
		"CALLSCRIBE_YANDEX_CLIENT_SECRET_FILE": secretFile,
		"CALLSCRIBE_VK_CLIENT_ID":              "51234567",
		"CALLSCRIBE_VK_AUTH_URL":               "https://vk-proxy.internal/authorize",
		"CALLSCRIBE_VK_SCOPES":                 "vkid.personal_info",
		"CALLSCRIBE_OAUTH_TIMEOUT":             "3s",
		"CALLSCRIBE_OIDC_PROVIDERS":            "kc",
		"CALLSCRIBE_OIDC_KC_ISSUER":            "https://sso.example.ru/realms/main",
		"CALLSCRIBE_OIDC_KC_CLIENT_ID":         "callscribe",
		"CALLSCRIBE_OIDC_KC_CLIENT_SECRET":     "kc-secret",
		"CALLSCRIBE_OIDC_KC_DISPLAY_NAME":      "Корпоративный вход",
	}
	ps, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	y, vk, kc := ps[0].(*Yandex), ps[1].(*VK), ps[2].(*OIDC)
	if y.cfg.ClientSecret != "from-file" {
		t.Errorf("yandex secret %q, want the file's (it wins over the variable)", y.cfg.ClientSecret)
	}
	if y.cfg.TokenURL != YandexTokenURL || y.cfg.UserInfoURL != YandexUserInfoURL {
		t.Errorf("yandex endpoints %q %q, want the documented ones", y.cfg.TokenURL, y.cfg.UserInfoURL)
	}
	if y.timeout != 3*time.Second || kc.timeout != 3*time.Second {
		t.Errorf("timeouts %s %s, want 3s", y.timeout, kc.timeout)
	}
	u, _, err := vk.Begin(context.Background(), callbackURL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "https://vk-proxy.internal/authorize?") || !strings.Contains(u, "scope=vkid.personal_info&") {
		t.Errorf("vk authorization URL %q does not use the configured URL and scope", u)
	}
	var shown []string
	for _, p := range ps {
		shown = append(shown, DisplayName(p))
	}
	if got := strings.Join(shown, ","); got != "Yandex ID,VK ID,Корпоративный вход" {
		t.Errorf("display names %q", got)
	}
	if kc.cfg.ClientSecret != "kc-secret" || kc.cfg.DiscoveryURL != "https://sso.example.ru/realms/main/.well-known/openid-configuration" {
		t.Errorf("oidc config %+v", kc.cfg)
	}
}
