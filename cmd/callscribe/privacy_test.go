package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callscribe"
)

// TestPrivacyCommands drives the privacy commands as an operator does: show and correct
// a transcript, correct a profile, export, set a retention and run it, erase, and read
// the ledger; reads, edits and the export land in the audit log without any text.
func TestPrivacyCommands(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	env, data, db := operatorCLI(t, "CALLSCRIBE_LEDGER_KEY="+strings.Repeat("k", 40))
	mustRun(t, env, "consent", "grant", "--email", "ivanova@example.ru", "--purpose", "transcription,summarization")

	org, err := db.OrganizationID(ctx, "local")
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByEmail(ctx, org, "ivanova@example.ru")
	if err != nil {
		t.Fatal(err)
	}
	call, err := db.CreateCall(ctx, u.OrgID, u.ID, []string{"agent"})
	if err != nil {
		t.Fatal(err)
	}
	db.RecordStaging(ctx, call, callscribe.Staging{Stage: "memory", ObjectKey: "k", Bytes: 1, SHA256: strings.Repeat("a", 64), StagedAt: time.Now()})
	db.SetProcessing(ctx, call)
	if _, err := db.CompleteCall(ctx, u.ID, callscribe.Transcript{CallID: call, Engine: "test", Text: "flamingo meadow",
		Segments: []callscribe.Segment{{Speaker: "agent", Text: "flamingo"}, {Speaker: "agent", StartMS: 1000, EndMS: 1500, Text: "meadow"}},
		Summary:  &callscribe.Summary{Engine: "extractive", Text: "agent: flamingo meadow"}}); err != nil {
		t.Fatal(err)
	}

	if out := mustRun(t, env, "transcript", "show", call.String()); !strings.Contains(out, "  1 [00:00.00 agent] flamingo") {
		t.Errorf("transcript show:\n%s", out)
	}
	// The correction reaches the summary: written again by the configured summarizer
	// (the extractive one), as over the API.
	if out := mustRun(t, env, "transcript", "edit", call.String(), "--segment", "2", "--text", "pasture", "--speaker", "client"); !strings.Contains(out, "summary regenerated") {
		t.Errorf("transcript edit: %s; want the summary regenerated", out)
	}
	out := mustRun(t, env, "transcript", "show", call.String())
	if !strings.Contains(out, "  2 [00:01.00 client] pasture") {
		t.Errorf("transcript show after edit:\n%s", out)
	}
	if _, summary, _ := strings.Cut(out, "-- summary (extractive)"); !strings.Contains(summary, "pasture") || strings.Contains(summary, "meadow") {
		t.Errorf("summary after the correction:\n%s\nwant it written from the corrected words", out)
	}
	mustRun(t, env, "users", "edit", "ivanova@example.ru", "--phone", "+79990000000", "--patronymic", "Petrovna")
	exportFile := filepath.Join(t.TempDir(), "export.json")
	mustRun(t, env, "export", "--email", "ivanova@example.ru", "--out", exportFile)
	b, err := os.ReadFile(exportFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"flamingo", "pasture", "meadow", "+79990000000", "+79161234567", "Petrovna"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("export lacks %q (text, history or profile)", w)
		}
	}

	var actions []string
	rows, _ := db.Pool().Query(ctx, `SELECT action, a::text FROM audit_log a ORDER BY id`)
	for rows.Next() {
		var action, row string
		rows.Scan(&action, &row)
		actions = append(actions, action)
		for _, w := range []string{"flamingo", "pasture", "meadow", "ivanova", "7999000", "7916123"} {
			if strings.Contains(row, w) {
				t.Errorf("audit entry %s holds %q", action, w)
			}
		}
	}
	if got := strings.Join(actions, " "); !strings.Contains(got, "transcript.read transcript.edit transcript.read user.edit export") {
		t.Errorf("audit actions: %s", got)
	}

	if out := mustRun(t, env, "org", "set", "--org", "local", "--retention", "30d"); !strings.Contains(out, "retention 30d") {
		t.Errorf("org set: %s", out)
	}
	if r := runCLI(t, env, "org", "set", "--org", "local", "--retention", "soon"); r.code != exitBadInput {
		t.Errorf("org set --retention soon: exit %d, want %d", r.code, exitBadInput)
	}
	db.Pool().Exec(ctx, `UPDATE calls SET created_at = now() - interval '31 days' WHERE id = $1`, call)
	if out := mustRun(t, env, "retention", "run"); !strings.Contains(out, "1 transcripts, 2 segments") {
		t.Errorf("retention run: %s", out)
	}

	out = mustRun(t, env, "erasure", "run", "--email", "ivanova@example.ru", "--request", "req-5")
	var entry callscribe.ErasureEntry
	if err := json.Unmarshal([]byte(out), &entry); err != nil || entry.Counts["users"] != 1 || entry.Counts["calls"] != 1 {
		t.Errorf("erasure run printed %q (%v); want its ledger entry", out, err)
	}
	if r := runCLI(t, env, "export", "--email", "ivanova@example.ru"); r.code != exitNotFound {
		t.Errorf("export after erasure: exit %d, want %d", r.code, exitNotFound)
	}
	if lf, err := os.ReadFile(filepath.Join(data, "erasure-ledger.jsonl")); err != nil || !strings.Contains(string(lf), entry.ID.String()) {
		t.Errorf("ledger file: %v; want it to hold entry %s", err, entry.ID)
	}
	if out := mustRun(t, env, "erasure", "ledger"); !strings.Contains(out, entry.SubjectHash) || strings.Contains(out, "ivanova") {
		t.Errorf("erasure ledger: %s", out)
	}
	// With a production database and no key, erasure refuses and names the variable.
	noKey := []string{env[0] /* the database */, "CALLSCRIBE_DATA_DIR=" + t.TempDir()}
	if r := runCLI(t, noKey, "erasure", "reapply"); r.code == 0 || !strings.Contains(r.stderr, "CALLSCRIBE_LEDGER_KEY") {
		t.Errorf("erasure without a key: exit %d, %s", r.code, r.stderr)
	}
}
