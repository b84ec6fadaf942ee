package oauth

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// nameRE is what an OIDC provider's name may be: it is a URL path segment and, upper-cased,
// part of environment variable names.
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// reserved names are the built-in providers'.
var reserved = map[string]bool{"yandex": true, "vk": true}

// Variables FromEnv reads. NAME is an entry of CALLSCRIBE_OIDC_PROVIDERS, upper-cased.
// Every _CLIENT_SECRET also accepts _CLIENT_SECRET_FILE (a path to a file holding it),
// which wins when both are set.
const (
	EnvTimeout       = "CALLSCRIBE_OAUTH_TIMEOUT"  // one HTTP call to a provider; default 10s
	EnvOIDCProviders = "CALLSCRIBE_OIDC_PROVIDERS" // comma-separated names of OIDC providers
	// CALLSCRIBE_OIDC_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET[_FILE], _DISCOVERY_URL, _SCOPES
	// CALLSCRIBE_YANDEX_CLIENT_ID, _CLIENT_SECRET[_FILE], _AUTH_URL, _TOKEN_URL, _USERINFO_URL, _SCOPES
	// CALLSCRIBE_VK_CLIENT_ID, _AUTH_URL, _TOKEN_URL, _USERINFO_URL, _SCOPES
)

// FromEnv builds the providers the environment configures, in the order Yandex ID,
// VK ID, then the OIDC providers as CALLSCRIBE_OIDC_PROVIDERS lists them. A provider is
// configured when its client id is set (Yandex, VK) or it is listed (OIDC); a setting
// for a provider that is not configured, or a configured provider missing what it
// needs, is an error naming the variable. No provider configured: an empty list.
// Nothing is fetched: OIDC discovery happens at the first sign-in.
func FromEnv(getenv func(string) string, opts ...Option) ([]Provider, error) {
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	if v := env(EnvTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive duration (like 10s)", EnvTimeout, v)
		}
		opts = append([]Option{WithTimeout(d)}, opts...)
	}
	var out []Provider

	yandex, err := endpointFromEnv(getenv, "CALLSCRIBE_YANDEX", true)
	if err != nil {
		return nil, err
	}
	if yandex != nil {
		p, err := NewYandex(*yandex, opts...)
		if err != nil {
			return nil, fmt.Errorf("CALLSCRIBE_YANDEX_*: %w", err)
		}
		out = append(out, p)
	}
	vk, err := endpointFromEnv(getenv, "CALLSCRIBE_VK", false)
	if err != nil {
		return nil, err
	}
	if vk != nil {
		p, err := NewVK(*vk, opts...)
		if err != nil {
			return nil, fmt.Errorf("CALLSCRIBE_VK_*: %w", err)
		}
		out = append(out, p)
	}

	seen := map[string]bool{}
	for _, name := range strings.Split(env(EnvOIDCProviders), ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		if !nameRE.MatchString(name) {
			return nil, fmt.Errorf("%s: %q is not a provider name (a letter, then letters, digits or _; at most 32)", EnvOIDCProviders, name)
		}
		if reserved[name] {
			return nil, fmt.Errorf("%s: %q is a built-in provider's name; pick another", EnvOIDCProviders, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%s: %q is listed twice", EnvOIDCProviders, name)
		}
		seen[name] = true
		prefix := "CALLSCRIBE_OIDC_" + strings.ToUpper(name)
		cfg := OIDCConfig{
			Name:         name,
			Issuer:       env(prefix + "_ISSUER"),
			ClientID:     env(prefix + "_CLIENT_ID"),
			DiscoveryURL: env(prefix + "_DISCOVERY_URL"),
			Scopes:       scopes(env(prefix + "_SCOPES")),
		}
		if cfg.Issuer == "" {
			return nil, fmt.Errorf("%s_ISSUER is required: %s lists %q", prefix, EnvOIDCProviders, name)
		}
		if cfg.ClientID == "" {
			return nil, fmt.Errorf("%s_CLIENT_ID is required: %s lists %q", prefix, EnvOIDCProviders, name)
		}
		if cfg.ClientSecret, err = secret(getenv, prefix+"_CLIENT_SECRET"); err != nil {
			return nil, err
		}
		p, err := NewOIDC(cfg, opts...)
		if err != nil {
			return nil, fmt.Errorf("%s_*: %w", prefix, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// endpointFromEnv reads a plain OAuth 2.0 provider's variables under prefix; nil when its
// client id is unset and nothing else of it is set.
func endpointFromEnv(getenv func(string) string, prefix string, withSecret bool) (*EndpointConfig, error) {
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	cfg := EndpointConfig{
		ClientID:    env(prefix + "_CLIENT_ID"),
		AuthURL:     env(prefix + "_AUTH_URL"),
		TokenURL:    env(prefix + "_TOKEN_URL"),
		UserInfoURL: env(prefix + "_USERINFO_URL"),
		Scopes:      scopes(env(prefix + "_SCOPES")),
	}
	names := []string{"_AUTH_URL", "_TOKEN_URL", "_USERINFO_URL", "_SCOPES"}
	if withSecret {
		s, err := secret(getenv, prefix+"_CLIENT_SECRET")
		if err != nil {
			return nil, err
		}
		cfg.ClientSecret = s
		names = append(names, "_CLIENT_SECRET", "_CLIENT_SECRET_FILE")
	}
	if cfg.ClientID == "" {
		for _, n := range names {
			if env(prefix+n) != "" {
				return nil, fmt.Errorf("%s%s is set but %s_CLIENT_ID is not", prefix, n, prefix)
			}
		}
		return nil, nil
	}
	if withSecret && cfg.ClientSecret == "" {
		return nil, fmt.Errorf("%s_CLIENT_SECRET (or _FILE) is required with %s_CLIENT_ID", prefix, prefix)
	}
	return &cfg, nil
}

// secret reads name_FILE (a path; the file's content, trimmed) or else name.
func secret(getenv func(string) string, name string) (string, error) {
	if path := strings.TrimSpace(getenv(name + "_FILE")); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("%s_FILE: %s is empty", name, path)
		}
		return s, nil
	}
	return strings.TrimSpace(getenv(name)), nil
}

// scopes splits a list separated by spaces or commas.
func scopes(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
}
