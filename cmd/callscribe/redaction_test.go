package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/redact"
)

// TestOrgRedactionPolicy: redaction is on for every organization by default; `org set
// --redact-off` turns types off and `--redact-on all` back on, each change audited with
// the type names only; `org show` says what is redacted; an unknown type is refused.
func TestOrgRedactionPolicy(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	env, _, db := operatorCLI(t)
	if out := mustRun(t, env, "org", "show", "--org", "local"); !strings.Contains(out, "redaction all") {
		t.Errorf("org show of a new organization: %q, want redaction all", out)
	}
	if out := mustRun(t, env, "org", "set", "--org", "local", "--redact-off", "card,phone"); !strings.Contains(out, "redaction all but card,phone") {
		t.Errorf("org set --redact-off card,phone: %q", out)
	}
	if out := mustRun(t, env, "org", "show"); !strings.Contains(out, "redaction all but card,phone") {
		t.Errorf("org show after --redact-off: %q", out)
	}
	o, err := db.OrganizationByName(ctx, "local")
	if err != nil {
		t.Fatal(err)
	}
	if got, mask, err := db.RedactionPolicy(ctx, o.ID); err != nil || strings.Join(got, ",") != "card,phone" || mask != "" {
		t.Errorf("stored redaction_off = %v, mask %q (%v), want card,phone and no mask", got, mask, err)
	}
	// A typo is refused naming the flag and the known types, which --help lists too.
	for _, typo := range [][]string{{"--redact-off", "cards"}, {"--redact-on", "card,,phone"}, {"--redact-off", "birth-date"}} {
		r := runCLI(t, env, "org", "set", "--org", "local", typo[0], typo[1])
		if r.code != exitBadInput || !strings.Contains(r.stderr, typo[0]+":") || !strings.Contains(r.stderr, "birth_date") {
			t.Errorf("org set %s %s: exit %d %q, want %d naming the flag and the types", typo[0], typo[1], r.code, r.stderr, exitBadInput)
		}
	}
	help := runCLI(t, env, "org", "set", "--help")
	for _, typ := range redact.Types {
		if !strings.Contains(help.stdout, string(typ)) {
			t.Errorf("org set --help does not name the redaction type %s:\n%s", typ, help.stdout)
		}
	}
	if got, _, err := db.RedactionPolicy(ctx, o.ID); err != nil || strings.Join(got, ",") != "card,phone" {
		t.Errorf("after the refused typos redaction_off = %v (%v), want card,phone unchanged", got, err)
	}
	if out := mustRun(t, env, "org", "set", "--org", "local", "--redact-on", "all"); !strings.Contains(out, "redaction all") || strings.Contains(out, "but") {
		t.Errorf("org set --redact-on all: %q", out)
	}
	// The replacement: a fixed mask instead of the tags, and back; a mask of digits or
	// too long is refused.
	if out := mustRun(t, env, "org", "set", "--org", "local", "--redact-mask", "***"); !strings.Contains(out, `redaction all, masked "***"`) {
		t.Errorf("org set --redact-mask ***: %q", out)
	}
	if _, mask, err := db.RedactionPolicy(ctx, o.ID); err != nil || mask != "***" {
		t.Errorf("stored mask %q (%v), want ***", mask, err)
	}
	for _, bad := range []string{"1234", strings.Repeat("x", 33), "  "} {
		if r := runCLI(t, env, "org", "set", "--org", "local", "--redact-mask", bad); r.code != exitBadInput || !strings.Contains(r.stderr, "--redact-mask") {
			t.Errorf("org set --redact-mask %q: exit %d %q, want %d naming the flag", bad, r.code, r.stderr, exitBadInput)
		}
	}
	if out := mustRun(t, env, "org", "set", "--org", "local", "--redact-mask", "tags"); !strings.Contains(out, "redaction all, tagged") {
		t.Errorf("org set --redact-mask tags: %q", out)
	}
	rows, err := db.Pool().Query(ctx, `SELECT detail::text FROM audit_log WHERE action = 'organization.set' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for rows.Next() {
		var d string
		rows.Scan(&d)
		details = append(details, d)
	}
	if got := strings.Join(details, " "); len(details) != 4 || !strings.Contains(got, `"redaction_mask": true`) || strings.Contains(got, "***") || !strings.Contains(got, `"redaction_off": ["card", "phone"]`) || !strings.Contains(got, `"redaction_off": []`) {
		t.Errorf("audit of the two changes: %v", details)
	}
}

// TestCorrectionIsRedacted: a correction that types a card number (CLI `transcript edit`,
// the path the API's PATCH shares) stores it redacted, adds it to the transcript's
// redaction counts, and the summary written again from it holds none of its digits; a
// phone typed into a speaker label is redacted as well.
func TestCorrectionIsRedacted(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	env, _, db := operatorCLI(t)
	mustRun(t, env, "consent", "grant", "--email", "ivanova@example.ru", "--purpose", "transcription,summarization")
	org, err := db.OrganizationID(ctx, "local")
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByEmail(ctx, org, "ivanova@example.ru")
	if err != nil {
		t.Fatal(err)
	}
	call, err := db.CreateCall(ctx, u.OrgID, u.ID, []string{"client"})
	if err != nil {
		t.Fatal(err)
	}
	db.RecordStaging(ctx, call, callscribe.Staging{Stage: "memory", ObjectKey: "k", Bytes: 1, SHA256: strings.Repeat("a", 64), StagedAt: time.Now()})
	db.SetProcessing(ctx, call)
	if _, err := db.CompleteCall(ctx, u.ID, callscribe.Transcript{CallID: call, Engine: "test", Text: "my card is [CARD] thanks",
		Segments:   []callscribe.Segment{{Speaker: "client", Text: "my card is [CARD]"}, {Speaker: "client", StartMS: 5000, EndMS: 6000, Text: "thanks"}},
		Redactions: map[string]int{"card": 1},
		Summary:    &callscribe.Summary{Engine: "extractive", Text: "client: my card is [CARD]"}}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "transcript", "edit", call.String(), "--segment", "2", "--text", "sorry it is 4556 7375 8689 9855 thanks")
	var got callscribe.Transcript
	if err := json.Unmarshal([]byte(mustRun(t, env, "transcript", "show", call.String(), "--json")), &got); err != nil {
		t.Fatal(err)
	}
	var kept []string
	kept = append(kept, got.Text)
	for _, s := range got.Segments {
		kept = append(kept, s.Text)
	}
	if got.Summary != nil {
		kept = append(kept, got.Summary.Text)
	}
	var rect string
	db.Pool().QueryRow(ctx, `SELECT string_agg(before || ' ' || after, ' ') FROM rectifications`).Scan(&rect)
	kept = append(kept, rect)
	for _, text := range kept {
		for _, group := range []string{"4556", "7375", "8689", "9855"} {
			if strings.Contains(text, group) {
				t.Errorf("the corrected card's %s is stored: %q", group, text)
			}
		}
	}
	if want := "sorry it is [CARD] thanks"; len(got.Segments) != 2 || got.Segments[1].Text != want {
		t.Errorf("corrected segment = %+v, want %q", got.Segments, want)
	}
	if got.Redactions["card"] != 2 {
		t.Errorf("redactions = %v, want card 2 (1 at transcription + 1 in the correction)", got.Redactions)
	}

	// A speaker label is typed as freely, and goes to the summarizer with its turn: a
	// phone typed into it is redacted and counted too.
	mustRun(t, env, "transcript", "edit", call.String(), "--segment", "1", "--speaker", "client +7 916 123-45-67")
	got = callscribe.Transcript{}
	if err := json.Unmarshal([]byte(mustRun(t, env, "transcript", "show", call.String(), "--json")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Segments) != 2 || got.Segments[0].Speaker != "client [PHONE]" || got.Redactions["phone"] != 1 {
		t.Errorf("after a phone typed as a speaker label: segments %+v, redactions %v; want the label client [PHONE], phone 1", got.Segments, got.Redactions)
	}
	db.Pool().QueryRow(ctx, `SELECT string_agg(before || ' ' || after, ' ') FROM rectifications`).Scan(&rect)
	if got.Summary != nil {
		rect += " " + got.Summary.Text
	}
	if strings.Contains(rect, "916") || strings.Contains(rect, "123-45") {
		t.Errorf("the phone typed as a speaker label is stored (rectifications or summary): %q", rect)
	}
}
