package redact_test

import (
	"slices"
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
