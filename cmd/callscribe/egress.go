package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"callscribe/fetch"
	"callscribe/internal/safehttp"
	"callscribe/privacy/residency"
)

// Egress is where personal data may leave the process: the declared country of every
// processor outside it, the allowed countries, and the rules for reaching addresses
// that callers choose (recording URLs, webhook targets).
type Egress struct {
	Allowed        residency.Allowed // CALLSCRIBE_ALLOWED_COUNTRIES
	ASRCountry     string            // CALLSCRIBE_ASR_COUNTRY: required with CALLSCRIBE_ASR=openai
	SummaryCountry string            // CALLSCRIBE_SUMMARY_COUNTRY: required with CALLSCRIBE_SUMMARY=openai
	S3Endpoint     string            // CALLSCRIBE_S3_ENDPOINT (read here for its declaration only)
	S3Country      string            // CALLSCRIBE_S3_COUNTRY: required with CALLSCRIBE_S3_ENDPOINT

	FetchHosts   []string        // CALLSCRIBE_FETCH_HOSTS: recording hosts pull mode may fetch from; empty: off
	FetchCountry string          // CALLSCRIBE_FETCH_COUNTRY: required with CALLSCRIBE_FETCH_HOSTS
	FetchAllow   safehttp.Policy // CALLSCRIBE_FETCH_ALLOW: inside addresses recordings may come from
	FetchTimeout time.Duration   // CALLSCRIBE_FETCH_TIMEOUT: a whole recording download
	// CALLSCRIBE_FETCH_BASIC_AUTH_FILE: "host user:password" lines, for recording hosts
	// that want basic authentication (Twilio).
	FetchBasicAuth map[string]fetch.Credentials

	WebhookAllow       safehttp.Policy // CALLSCRIBE_WEBHOOK_ALLOW: inside addresses webhooks may go to
	WebhookTimeout     time.Duration   // CALLSCRIBE_WEBHOOK_TIMEOUT: one delivery attempt
	WebhookMaxAttempts int             // CALLSCRIBE_WEBHOOK_MAX_ATTEMPTS
}

const (
	defaultFetchTimeout       = fetch.DefaultTimeout
	defaultWebhookTimeout     = 10 * time.Second
	defaultWebhookMaxAttempts = 12
)

// loadEgress reads the Egress settings into c.Egress and refuses a configuration that
// would send personal data to an undeclared processor or outside the allowed
// countries. It runs after the rest of c is read and checked.
func loadEgress(getenv func(string) string, c *Config) error {
	e := &c.Egress
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	allowed := env("CALLSCRIBE_ALLOWED_COUNTRIES")
	if allowed == "" {
		allowed = residency.DefaultAllowed
	}
	var err error
	if e.Allowed, err = residency.ParseAllowed("CALLSCRIBE_ALLOWED_COUNTRIES", allowed); err != nil {
		return err
	}
	e.ASRCountry, e.SummaryCountry = env("CALLSCRIBE_ASR_COUNTRY"), env("CALLSCRIBE_SUMMARY_COUNTRY")
	e.S3Endpoint, e.S3Country = env("CALLSCRIBE_S3_ENDPOINT"), env("CALLSCRIBE_S3_COUNTRY")
	e.FetchCountry = env("CALLSCRIBE_FETCH_COUNTRY")
	for _, h := range strings.Split(env("CALLSCRIBE_FETCH_HOSTS"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			e.FetchHosts = append(e.FetchHosts, h)
		}
	}
	if e.FetchAllow, err = safehttp.ParsePolicy("CALLSCRIBE_FETCH_ALLOW", env("CALLSCRIBE_FETCH_ALLOW")); err != nil {
		return err
	}
	if path := env("CALLSCRIBE_FETCH_BASIC_AUTH_FILE"); path != "" {
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			return fmt.Errorf("CALLSCRIBE_FETCH_BASIC_AUTH_FILE: %w", rerr)
		}
		if e.FetchBasicAuth, err = fetch.ParseBasicAuth(string(b)); err != nil {
			return fmt.Errorf("CALLSCRIBE_FETCH_BASIC_AUTH_FILE %s: %w", path, err)
		}
	}
	if e.WebhookAllow, err = safehttp.ParsePolicy("CALLSCRIBE_WEBHOOK_ALLOW", env("CALLSCRIBE_WEBHOOK_ALLOW")); err != nil {
		return err
	}
	e.FetchTimeout, e.WebhookTimeout, e.WebhookMaxAttempts = defaultFetchTimeout, defaultWebhookTimeout, defaultWebhookMaxAttempts
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"CALLSCRIBE_FETCH_TIMEOUT", &e.FetchTimeout}, {"CALLSCRIBE_WEBHOOK_TIMEOUT", &e.WebhookTimeout}} {
		if v := env(d.name); v != "" {
			if *d.dst, err = time.ParseDuration(v); err != nil || *d.dst <= 0 {
				return fmt.Errorf("%s: %q is not a positive duration such as 30s", d.name, v)
			}
		}
	}
	if v := env("CALLSCRIBE_WEBHOOK_MAX_ATTEMPTS"); v != "" {
		if e.WebhookMaxAttempts, err = strconv.Atoi(v); err != nil || e.WebhookMaxAttempts < 1 {
			return fmt.Errorf("CALLSCRIBE_WEBHOOK_MAX_ATTEMPTS: %q is not a positive number", v)
		}
	}
	return e.Allowed.CheckAll(processors(*c))
}

// processors lists every processor outside the process that the configuration sends
// personal data to. Webhook targets are checked when added and before each delivery.
func processors(c Config) []residency.Processor {
	var ps []residency.Processor
	if c.ASR == "openai" {
		ps = append(ps, residency.Processor{Name: "the ASR endpoint", Variable: "CALLSCRIBE_ASR_COUNTRY", URL: c.OpenAIBaseURL, Country: c.Egress.ASRCountry})
	}
	if c.Summary == "openai" {
		ps = append(ps, residency.Processor{Name: "the summary endpoint", Variable: "CALLSCRIBE_SUMMARY_COUNTRY", URL: c.OpenAIBaseURL, Country: c.Egress.SummaryCountry})
	}
	if c.Egress.S3Endpoint != "" {
		ps = append(ps, residency.Processor{Name: "the object store", Variable: "CALLSCRIBE_S3_COUNTRY", URL: c.Egress.S3Endpoint, Country: c.Egress.S3Country})
	}
	if len(c.Egress.FetchHosts) > 0 {
		ps = append(ps, residency.Processor{Name: "the recording hosts", Variable: "CALLSCRIBE_FETCH_COUNTRY", URL: strings.Join(c.Egress.FetchHosts, ","), Country: c.Egress.FetchCountry})
	}
	return ps
}

// fetcher returns the pull-mode fetcher the configuration describes.
func (c Config) fetcher() *fetch.Fetcher {
	return fetch.New(fetch.Config{
		Hosts:         c.Egress.FetchHosts,
		HostsVariable: "CALLSCRIBE_FETCH_HOSTS",
		Policy:        c.Egress.FetchAllow,
		MaxBytes:      c.MaxCallBytes,
		Timeout:       c.Egress.FetchTimeout,
		BasicAuth:     c.Egress.FetchBasicAuth,
	})
}
