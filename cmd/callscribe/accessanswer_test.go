package main

import (
	"context"
	"strings"
	"testing"

	"callscribe"
)

// TestOrgAccessAnswer: an organization answers access requests with the file by
// default; `org set --access-answer link` changes it (stored, shown by org show,
// audited), `file` changes it back, and anything else is refused naming the flag.
func TestOrgAccessAnswer(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	env, _, db := operatorCLI(t)
	if out := mustRun(t, env, "org", "show", "--org", "local"); !strings.Contains(out, "access answer file") {
		t.Errorf("org show of a new organization: %q, want access answer file", out)
	}
	if out := mustRun(t, env, "org", "set", "--org", "local", "--access-answer", "link"); !strings.Contains(out, "access answer link") {
		t.Errorf("org set --access-answer link: %q", out)
	}
	if out := mustRun(t, env, "org", "show"); !strings.Contains(out, "access answer link") {
		t.Errorf("org show after --access-answer link: %q", out)
	}
	if o, err := db.OrganizationByName(ctx, "local"); err != nil || o.AccessAnswer != callscribe.AccessAnswerLink {
		t.Errorf("stored access answer %q (%v), want link", o.AccessAnswer, err)
	}
	if r := runCLI(t, env, "org", "set", "--org", "local", "--access-answer", "fax"); r.code != exitBadInput || !strings.Contains(r.stderr, "--access-answer") {
		t.Errorf("org set --access-answer fax: exit %d %q, want %d naming the flag", r.code, r.stderr, exitBadInput)
	}
	if out := mustRun(t, env, "org", "set", "--org", "local", "--access-answer", "file"); !strings.Contains(out, "access answer file") {
		t.Errorf("org set --access-answer file: %q", out)
	}
	var details []string
	rows, err := db.Pool().Query(ctx, `SELECT detail::text FROM audit_log WHERE action = 'organization.set' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d string
		rows.Scan(&d)
		details = append(details, d)
	}
	if got := strings.Join(details, " "); len(details) != 2 || !strings.Contains(got, `"access_answer": "link"`) || !strings.Contains(got, `"access_answer": "file"`) {
		t.Errorf("audit of the two changes: %v", details)
	}
	// The database refuses any other value too.
	if _, err := db.Pool().Exec(ctx, `UPDATE organizations SET access_answer = 'fax'`); err == nil {
		t.Error("access_answer 'fax' stored, want the CHECK to refuse it")
	}
}
