// Package residency keeps personal data in the allowed countries (152-FZ: no
// cross-border transfer): every processor outside the process that receives personal
// data — the ASR and summary endpoints, the object store, recording hosts, webhook
// targets — is declared with its country, and a configuration that would send data
// to an undeclared processor, or to one outside the allowed countries, is refused.
//
// In-process processors (PocketSphinx, the extractive summarizer, the memory stage,
// the embedded PostgreSQL) run where callscribe runs and need no declaration.
//
// The check is pure: it reads no environment and makes no request. It trusts the
// declaration; it cannot locate a server.
package residency

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// DefaultAllowed is the allowed country when none is configured.
const DefaultAllowed = "RU"

// Processor is one recipient of personal data and where it is declared to be.
type Processor struct {
	Name     string // "the ASR endpoint"
	Variable string // where its country is declared: "CALLSCRIBE_ASR_COUNTRY"
	URL      string // where it is reached; shown without credentials
	Country  string // ISO 3166-1 alpha-2; "" when undeclared
}

// Allowed is the set of countries data may go to, as ISO 3166-1 alpha-2 codes.
type Allowed struct {
	Variable  string // the setting it came from, for messages
	Countries []string
}

// ParseAllowed reads a comma-separated list of country codes ("RU,BY").
func ParseAllowed(variable, list string) (Allowed, error) {
	a := Allowed{Variable: variable}
	for _, c := range strings.Split(list, ",") {
		if strings.TrimSpace(c) == "" {
			continue
		}
		code, err := ParseCountry(c)
		if err != nil {
			return Allowed{}, fmt.Errorf("%s: %w", variable, err)
		}
		if !slices.Contains(a.Countries, code) {
			a.Countries = append(a.Countries, code)
		}
	}
	if len(a.Countries) == 0 {
		return Allowed{}, fmt.Errorf("%s: no country given (want ISO 3166-1 alpha-2 codes such as %s)", variable, DefaultAllowed)
	}
	return a, nil
}

// ParseCountry checks that s looks like an ISO 3166-1 alpha-2 code and returns it in
// upper case. It checks the form only ("XX" passes): the code is the operator's word.
func ParseCountry(s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return "", fmt.Errorf("%q is not an ISO 3166-1 alpha-2 country code such as RU", s)
	}
	return c, nil
}

func (a Allowed) String() string { return strings.Join(a.Countries, ",") }

// Contains reports whether country is allowed.
func (a Allowed) Contains(country string) bool {
	return slices.Contains(a.Countries, strings.ToUpper(strings.TrimSpace(country)))
}

// Check refuses a processor that is undeclared or outside the allowed countries,
// naming it, where it is reached and the setting to change.
func (a Allowed) Check(p Processor) error {
	where := Redact(p.URL)
	if where != "" {
		where = " " + where
	}
	if strings.TrimSpace(p.Country) == "" {
		return fmt.Errorf("%s is unset: declare the country of %s%s (ISO 3166-1 alpha-2, one of %s)", p.Variable, p.Name, where, a)
	}
	c, err := ParseCountry(p.Country)
	if err != nil {
		return fmt.Errorf("%s: %w", p.Variable, err)
	}
	if !a.Contains(c) {
		return fmt.Errorf("%s=%s: %s%s is outside %s (%s)", p.Variable, c, p.Name, where, a.Variable, a)
	}
	return nil
}

// CheckAll checks every processor and returns all the refusals, one per line.
func (a Allowed) CheckAll(ps []Processor) error {
	var errs []error
	for _, p := range ps {
		if err := a.Check(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Redact returns raw without user info, query and fragment, which may carry
// credentials; a string that is not a URL is returned as is.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
