package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/storage/pgtest"
)

// TestCallsList: `calls list` finds a call by a Russian word in another inflection, by
// an English phrase, by the phone written another way, not by an excluded word nor in
// another organization; text output marks the words found, --json carries the hit's
// segment; bad flags are refused before the database is opened.
func TestCallsList(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	env := []string{"CALLSCRIBE_DATABASE_URL=" + pgtest.DB(t), "TMPDIR=" + t.TempDir(), "CALLSCRIBE_DATA_DIR=" + t.TempDir()}
	mustRun(t, env, "users", "add", "--email", "ivanova@example.ru", "--name", "Ivanova Anna")
	mustRun(t, env, "consent", "grant", "--email", "ivanova@example.ru", "--purpose", "transcription")
	mustRun(t, env, "users", "add", "--email", "other@example.ru", "--name", "Other Oleg", "--org", "globex")
	mustRun(t, env, "consent", "grant", "--email", "other@example.ru", "--org", "globex", "--purpose", "transcription")
	db := openDB(t, env)
	store := func(org, email, phone string, texts ...string) uuid.UUID {
		t.Helper()
		o, err := db.OrganizationID(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		u, err := db.UserByEmail(ctx, o, email)
		if err != nil {
			t.Fatal(err)
		}
		id, err := db.CreateCall(ctx, o, u.ID, []string{"agent", "client"})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.RecordStaging(ctx, id, callscribe.Staging{Stage: "memory", ObjectKey: "k" + id.String(), Bytes: 1, SHA256: strings.Repeat("a", 64), StagedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		tr := callscribe.Transcript{CallID: id, Engine: "test", Text: strings.Join(texts, " ")}
		for i, text := range texts {
			tr.Segments = append(tr.Segments, callscribe.Segment{Speaker: []string{"agent", "client"}[i%2], StartMS: int64(i) * 3000, EndMS: int64(i)*3000 + 2000, Text: text})
		}
		if _, err := db.CompleteCall(ctx, u.ID, tr); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool().Exec(ctx, `UPDATE calls SET phone = $2 WHERE id = $1`, id, phone); err != nil {
			t.Fatal(err)
		}
		return id
	}
	ru := store("local", "ivanova@example.ru", "+79161357968", "Здравствуйте", "Мы обсуждали поставку оборудования", "Спасибо")
	en := store("local", "ivanova@example.ru", "+74951234567", "hello there", "your refund request was approved yesterday")
	other := store("globex", "other@example.ru", "+79161357968", "поставки оборудования задерживаются")

	out := mustRun(t, env, "calls", "list", "--org", "local", "--q", "поставки")
	if !strings.Contains(out, ru.String()) || strings.Contains(out, other.String()) || strings.Contains(out, en.String()) {
		t.Errorf("calls list --org local --q поставки:\n%s\nwant %s only", out, ru)
	}
	if !strings.Contains(out, "  2 [00:03.00 client] Мы обсуждали [поставку] оборудования") {
		t.Errorf("calls list --q: the hit's line is missing or unmarked:\n%s", out)
	}
	if out := mustRun(t, env, "calls", "list", "--q", "поставки"); !strings.Contains(out, ru.String()) || !strings.Contains(out, other.String()) {
		t.Errorf("calls list without --org: want both organizations' calls:\n%s", out)
	}
	if out := mustRun(t, env, "calls", "list", "--org", "local", "--q", `"refund request" -cancelled`); !strings.Contains(out, en.String()) || strings.Contains(out, ru.String()) {
		t.Errorf("calls list --q phrase:\n%s\nwant %s only", out, en)
	}
	if out := mustRun(t, env, "calls", "list", "--org", "local", "--q", "refund -approved"); strings.TrimSpace(out) != "no calls" {
		t.Errorf("calls list --q 'refund -approved': %s; want no calls", out)
	}
	out = mustRun(t, env, "calls", "list", "--org", "local", "--phone", "8 (916) 135-79-68", "--json", "--q", "оборудование")
	var got jsonListedCall
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.ID != ru || got.Phone != "+79161357968" || len(got.Hits) != 1 || got.Hits[0].Segment != 2 || got.Hits[0].StartMS != 3000 {
		t.Errorf("calls list --phone --json: %s (%v); want %s, segment 2 at 3000 ms", out, err, ru)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if out := mustRun(t, env, "calls", "list", "--org", "local", "--from", today, "--to", today, "--status", "completed"); strings.Count(out, "completed") != 2 {
		t.Errorf("calls list of today's completed calls:\n%s\nwant two", out)
	}
	for _, bad := range [][]string{{"--from", "yesterday"}, {"--phone", "12ab"}, {"--status", "lost"}, {"--limit", "0"}, {"extra"}} {
		r := runCLI(t, env, append([]string{"calls", "list"}, bad...)...)
		if r.code != exitBadInput || !strings.Contains(r.stderr, strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("calls list %v: exit %d, %q; want %d naming %s", bad, r.code, r.stderr, exitBadInput, bad[0])
		}
	}
}
