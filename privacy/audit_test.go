package privacy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"callscribe"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
)

// TestAuditLogIsAppendOnly: the database itself refuses to change or remove entries.
func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	url := pgtest.DB(t)
	db := openDB(t, url)
	p := makePerson(t, db, "quokka", "alice@example.ru", "", 1)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var before int
	conn.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&before)
	if before == 0 {
		t.Fatal("no audit entries to tamper with")
	}
	for _, q := range []string{
		`UPDATE audit_log SET actor = 'someone-else'`,
		`UPDATE audit_log SET object_id = 'erased:x', subject_id = NULL`, // the erasure's change, without the erasure
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
	} {
		_, err := conn.Exec(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: error %v, want the append-only refusal", q, err)
		}
	}
	// Even inside an erasure of one subject, entries about another stay untouched.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.Exec(ctx, `SELECT set_config('callscribe.erasing', '00000000-0000-0000-0000-000000000001', true)`)
	if _, err := tx.Exec(ctx, `UPDATE audit_log SET object_id = 'erased:x', subject_id = NULL WHERE subject_id = $1`, p.user.ID); err == nil {
		t.Error("pseudonymizing another subject's entries during an erasure succeeded; want refused")
	}
	tx.Rollback(ctx)
	var after int
	conn.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&after)
	if after != before {
		t.Errorf("audit entries: %d before, %d after the attempts", before, after)
	}
}

// TestAuditEntriesCarryNoText: the stored rows for a transcript read, an edit of a
// segment and a profile edit hold no word of the transcript, no email and no phone.
func TestAuditEntriesCarryNoText(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	url := pgtest.DB(t)
	db := openDB(t, url)
	p := makePerson(t, db, "quokka", "alice@example.ru", "+79160001122", 1)
	newText := "platypusnewword"
	if _, err := db.EditSegmentRedacted(ctx, p.calls[0], 0, &newText, nil, "cli", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EditUser(ctx, p.user.ID, []callscribe.ProfileEdit{{Field: "phone", Value: "+79998887766"}}, "cli"); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT action, a::text FROM audit_log a`)
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var e [2]string
		return e, r.Scan(&e[0], &e[1])
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e[0]] = true
		for _, w := range append(p.words, newText, p.user.Email, "9160001122", "9998887766", p.user.Surname) {
			if strings.Contains(e[1], w) {
				t.Errorf("audit entry %s holds %q: %s", e[0], w, e[1])
			}
		}
	}
	for _, a := range []string{privacy.ActionTranscriptRead, privacy.ActionTranscriptEdit, privacy.ActionUserEdit,
		privacy.ActionConsentGrant, "audio.delete"} {
		if !seen[a] {
			t.Errorf("no %s entry in the audit log (have %v)", a, seen)
		}
	}
	// Record refuses what looks like text rather than an id.
	err = (&privacy.Audit{}).Record(ctx, db, callscribe.AuditEntry{Actor: "cli", Action: "transcript.read",
		ObjectType: "call", ObjectID: "alice@example.ru"})
	if callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("Record with an email as object id: %v, want %s", err, callscribe.EINVALID)
	}
}
