package main

import (
	"strings"
	"time"

	"callscribe/fetch"
	"callscribe/internal/safehttp"
	"callscribe/privacy/residency"
)

// egressConfig is where personal data may leave the process: the declared country of
// every processor outside it, the allowed countries, and the rules for reaching addresses
// that callers choose (recording URLs, webhook targets). Its options are in config.go.
type egressConfig struct {
	allowed        residency.Allowed // CALLSCRIBE_ALLOWED_COUNTRIES
	asrCountry     string            // required with CALLSCRIBE_ASR=openai
	summaryCountry string            // required with CALLSCRIBE_SUMMARY=openai
	s3Country      string            // required with CALLSCRIBE_S3_ENDPOINT

	fetchHosts   []string        // recording hosts pull mode may fetch from; empty: off
	fetchCountry string          // required with CALLSCRIBE_FETCH_HOSTS
	fetchAllow   safehttp.Policy // inside addresses recordings may come from
	fetchTimeout time.Duration   // a whole recording download
	// "host user:password" lines, for recording hosts that want basic authentication
	// (Twilio).
	fetchBasicAuth map[string]fetch.Credentials

	webhookAllow       safehttp.Policy // inside addresses webhooks may go to
	webhookTimeout     time.Duration   // one delivery attempt
	webhookMaxAttempts int
}

// processors lists every processor outside the process that the configuration sends
// personal data to. Webhook targets are checked when added and before each delivery.
func processors(c config) []residency.Processor {
	var ps []residency.Processor
	if c.asr == "openai" {
		ps = append(ps, residency.Processor{Name: "the ASR endpoint", Variable: "CALLSCRIBE_ASR_COUNTRY", URL: c.openAIBaseURL, Country: c.egress.asrCountry})
	}
	if c.summary == "openai" {
		ps = append(ps, residency.Processor{Name: "the summary endpoint", Variable: "CALLSCRIBE_SUMMARY_COUNTRY", URL: c.openAIBaseURL, Country: c.egress.summaryCountry})
	}
	if c.s3.endpoint != "" {
		ps = append(ps, residency.Processor{Name: "the object store", Variable: "CALLSCRIBE_S3_COUNTRY", URL: c.s3.endpoint, Country: c.egress.s3Country})
	}
	if len(c.egress.fetchHosts) > 0 {
		ps = append(ps, residency.Processor{Name: "the recording hosts", Variable: "CALLSCRIBE_FETCH_COUNTRY", URL: strings.Join(c.egress.fetchHosts, ","), Country: c.egress.fetchCountry})
	}
	if c.notices.smtpAddr != "" {
		ps = append(ps, residency.Processor{Name: "the SMTP server", Variable: "CALLSCRIBE_SMTP_COUNTRY", URL: c.notices.smtpAddr, Country: c.notices.smtpCountry})
	}
	return ps
}

// fetcher returns the pull-mode fetcher the configuration describes.
func (c config) fetcher() *fetch.Fetcher {
	return fetch.New(fetch.Config{
		Hosts:         c.egress.fetchHosts,
		HostsVariable: "CALLSCRIBE_FETCH_HOSTS",
		Policy:        c.egress.fetchAllow,
		MaxBytes:      c.maxCallBytes,
		Timeout:       c.egress.fetchTimeout,
		BasicAuth:     c.egress.fetchBasicAuth,
	})
}
