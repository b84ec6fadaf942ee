package redact_test

import (
	"slices"
	"strings"
	"testing"

	"callscribe"
	"callscribe/redact"
)

// TestPolicyWithout: an organization's stored list of types turned off becomes the default
// policy without them; an unknown name is refused, not ignored.
func TestOrganizationPolicy(t *testing.T) {
	t.Parallel()
	p, err := redact.OrganizationPolicy([]string{"card", "phone"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(p.Types, redact.Card) || slices.Contains(p.Types, redact.Phone) || len(p.Types) != len(redact.Types)-2 {
		t.Errorf("OrganizationPolicy(card, phone).Types = %v", p.Types)
	}
	if p, _ := redact.OrganizationPolicy(nil, ""); len(p.Types) != len(redact.Types) {
		t.Errorf("OrganizationPolicy(nil).Types = %v, want every type", p.Types)
	}
	if _, err := redact.OrganizationPolicy([]string{"cards"}, ""); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("OrganizationPolicy(cards): %v, want invalid", err)
	}
	const text = "card 4556 7375 8689 9855"
	if out, counts := redact.New().Text(text, redact.Subject{}, p); out != text || len(redact.Counts(counts)) != 0 {
		t.Errorf("card off: Text = %q, Counts = %v; want it unchanged, no counts", out, redact.Counts(counts))
	}
	all, _ := redact.OrganizationPolicy(nil, "")
	out, counts := redact.New().Text(text, redact.Subject{}, all)
	if got := redact.Counts(counts); len(got) != 1 || got["card"] != 1 || out != "card [CARD]" {
		t.Errorf("Text = %q, Counts = %v; want card [CARD], {card: 1}", out, got)
	}
	masked, _ := redact.OrganizationPolicy(nil, "***")
	if out, _ := redact.New().Text(text, redact.Subject{}, masked); out != "card ***" {
		t.Errorf("masked: Text = %q, want card ***", out)
	}
}

// TestCheckMask: a mask the CLI and the organization page accept stands in for an entity
// as text; one that reads as a number, splits a line or says nothing is refused.
func TestCheckMask(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "***", "[скрыто]", "█", strings.Repeat("я", redact.MaxMask)} {
		if err := redact.CheckMask(ok); err != nil {
			t.Errorf("CheckMask(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"1234", "x1", "٣", strings.Repeat("я", redact.MaxMask+1), "  ", "\t", "a\nb", "a\x00b", "\xff"} {
		if err := redact.CheckMask(bad); callscribe.ErrorCode(err) != callscribe.EINVALID {
			t.Errorf("CheckMask(%q) = %v, want an EINVALID error", bad, err)
		}
	}
}
