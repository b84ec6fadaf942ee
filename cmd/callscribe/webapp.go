package main

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"callscribe/accounts"
	"callscribe/oauth"
)

// webConfig is the web app's configuration.
type webConfig struct {
	publicURL string // where people reach it, no trailing slash
	// publicURLDefault: not set, so the address serve listens on (port 0 resolved)
	publicURLDefault bool
	insecure         bool // plain HTTP on loopback: cookies without Secure
	cookiePrefix     string
	sessionTTL       time.Duration
	idleTimeout      time.Duration
	partnerWindow    time.Duration
	throttleKey      []byte // empty: random per process
	argon2           struct {
		time, memoryKiB uint32
		threads         uint8
	}
	yandexClientID, yandexSecret, vkClientID, oidcProviders string // read again by oauth.FromEnv
	oauthTimeout                                            time.Duration
	providers                                               []oauth.Provider
}

// accountsConfig is the account service's configuration from the web app's options.
func (w webConfig) accountsConfig() accounts.Config {
	var c accounts.Config
	c.Argon2.Time, c.Argon2.MemoryKiB, c.Argon2.Threads = w.argon2.time, w.argon2.memoryKiB, w.argon2.threads
	c.SessionTTL, c.IdleTimeout, c.AttributionWindow = w.sessionTTL, w.idleTimeout, w.partnerWindow
	c.ThrottleKey = w.throttleKey
	return c
}

// publicURL admits https anywhere and plain http only to a loopback host: a session cookie
// must not cross a network in clear.
func publicURL(c *config, v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an http(s) address such as https://calls.example.ru", v)
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%q is plain HTTP to a host that is not loopback: session cookies would cross the network in clear; use https://", v)
		}
		c.web.insecure = true
	}
	c.web.publicURL = strings.TrimRight(v, "/")
	return nil
}

var cookiePrefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]{0,32}$`)

func cookiePrefix(c *config, v string) error {
	if !cookiePrefixRE.MatchString(v) {
		return fmt.Errorf("%q is not a cookie-name prefix (letters, digits, _ and -; at most 32)", v)
	}
	c.web.cookiePrefix = v
	return nil
}

// argon2Params reads "t=2,m=19456,p=1".
func argon2Params(c *config, v string) error {
	var t, m, p uint32
	if n, err := fmt.Sscanf(strings.ReplaceAll(v, " ", ""), "t=%d,m=%d,p=%d", &t, &m, &p); err != nil || n != 3 {
		return fmt.Errorf("%q is not argon2id parameters such as t=2,m=19456,p=1", v)
	}
	if t < 1 || m < 8*p || p < 1 || p > 255 {
		return fmt.Errorf("%q: need t ≥ 1, 1 ≤ p ≤ 255 and m ≥ 8·p KiB", v)
	}
	c.web.argon2.time, c.web.argon2.memoryKiB, c.web.argon2.threads = t, m, uint8(p)
	return nil
}
