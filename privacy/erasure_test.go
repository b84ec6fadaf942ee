package privacy_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

// person is a user with stored calls, and everything that would identify them.
type person struct {
	user  callscribe.User
	calls []uuid.UUID
	words []string // distinctive words spoken in their calls
}

func openDB(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(callscribe.AsSystem(context.Background()), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// storeCall stores a completed call of u's whose segments say words, with its receipt,
// as the pipeline does.
func storeCall(t *testing.T, db *postgres.DB, u callscribe.User, words []string) uuid.UUID {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	id, err := db.CreateCall(ctx, u.OrgID, u.ID, []string{"agent", "client"})
	if err != nil {
		t.Fatal(err)
	}
	staged := time.Now()
	if err := db.RecordStaging(ctx, id, callscribe.Staging{Stage: "memory", ObjectKey: "calls/" + id.String(),
		Bytes: 1000, SHA256: strings.Repeat("cd", 32), StagedAt: staged}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetProcessing(ctx, id); err != nil {
		t.Fatal(err)
	}
	tr := callscribe.Transcript{CallID: id, Engine: "test", Text: strings.Join(words, " "), DurationMS: 5000,
		Summary: &callscribe.Summary{Engine: "test", Text: "summary " + words[0]}, Redactions: map[string]int{"card": 1}}
	for i, w := range words {
		tr.Segments = append(tr.Segments, callscribe.Segment{Channel: i % 2, Speaker: []string{"agent", "client"}[i%2],
			StartMS: int64(i * 1000), EndMS: int64(i*1000 + 900), Text: w, Confidence: 0.9})
	}
	done, err := db.CompleteCall(ctx, u.ID, tr)
	if err != nil || !done.Stored || !done.SummaryStored {
		t.Fatalf("store call: %+v, %v", done, err)
	}
	if _, err := db.ConfirmDeletion(ctx, id, staged, staged); err != nil {
		t.Fatal(err)
	}
	return id
}

// makePerson creates a consenting user with n calls, each with its own distinctive words,
// a transcript read and a rectified segment in the audit log and history.
func makePerson(t *testing.T, db *postgres.DB, tag, email, phone string, n int) person {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	org, err := db.EnsureOrganization(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(ctx, callscribe.User{OrgID: org, Email: email, Surname: tag + "ova", FirstName: "Anna", Phone: phone})
	if err != nil {
		t.Fatal(err)
	}
	c := &privacy.Consents{Store: db, PolicyVersion: "1", Audit: &privacy.Audit{}, AuditLog: db, Actor: "cli"}
	if _, err := c.Grant(ctx, u.ID, []callscribe.Purpose{callscribe.PurposeTranscription, callscribe.PurposeSummarization}, callscribe.ConsentViaCLI); err != nil {
		t.Fatal(err)
	}
	p := person{user: u}
	for i := range n {
		words := []string{fmt.Sprintf("%sword%da", tag, i), fmt.Sprintf("%sword%db", tag, i), fmt.Sprintf("%sword%dc", tag, i)}
		id := storeCall(t, db, u, words)
		p.calls = append(p.calls, id)
		p.words = append(p.words, words...)
		audit := &privacy.Audit{}
		if err := audit.Record(ctx, db, callscribe.AuditEntry{Actor: "cli", Action: privacy.ActionTranscriptRead,
			ObjectType: "call", ObjectID: id.String(), OrgID: org, SubjectID: u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	// A corrected segment leaves its before and after in the rectification history.
	if n > 0 {
		fixed := tag + "fixedword"
		if _, err := db.EditSegmentRedacted(ctx, p.calls[0], 1, &fixed, nil, "cli", nil); err != nil {
			t.Fatal(err)
		}
		p.words = append(p.words, fixed)
	}
	return p
}

func newEraser(t *testing.T, db *postgres.DB, ledger string) *privacy.Eraser {
	t.Helper()
	h, err := privacy.NewSubjectHasher([]byte("test key, 32 bytes or longer....."))
	if err != nil {
		t.Fatal(err)
	}
	return &privacy.Eraser{Store: db, Hasher: h, Ledger: &privacy.LedgerFile{Path: ledger}, Batch: 2}
}

// scanDatabase looks for each needle in every row of every table (pgtest.Scan).
func scanDatabase(t *testing.T, url string, needles []string) []string {
	t.Helper()
	return pgtest.Scan(t, url, needles)
}

func (p person) needles() []string {
	n := []string{p.user.ID.String(), p.user.Email, p.user.Surname}
	if d := privacy.NormalizePhone(p.user.Phone); d != "" {
		n = append(n, p.user.Phone, d[1:]) // without the country code, as any format would show it
	}
	for _, c := range p.calls {
		n = append(n, c.String())
	}
	return append(n, p.words...)
}

// TestErasureLeavesNothing is the required check: erasure of a user with many calls
// leaves zero rows about them in every table (checked by scanning the whole database for
// their ids, email, phone and transcript words); other users are intact.
func TestErasureLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	url := pgtest.DB(t)
	db := openDB(t, url)
	alice := makePerson(t, db, "quokka", "alice.quokka@example.ru", "+7 (916) 555-01-23", 5)
	bob := makePerson(t, db, "wombat", "bob.wombat@example.ru", "+7 (903) 777-44-55", 3)
	// Every ended call has told the organization's webhook: one delivery each, whose
	// payload names the call.
	var endpoint uuid.UUID
	if err := db.Pool().QueryRow(ctx, `
		INSERT INTO webhook_endpoints (organization_id, url, secret, events, country)
		VALUES ($1, 'https://crm.example.ru/hook', repeat('s', 32), ARRAY['call.completed'], 'RU') RETURNING id`,
		alice.user.OrgID).Scan(&endpoint); err != nil {
		t.Fatal(err)
	}
	for _, c := range append(slices.Clone(alice.calls), bob.calls...) {
		if _, err := db.Pool().Exec(ctx, `
			INSERT INTO webhook_deliveries (id, endpoint_id, event, call_id, payload)
			VALUES (gen_random_uuid(), $1, 'call.completed', $2::uuid, jsonb_build_object('data', jsonb_build_object('call_id', $2::uuid::text)))`,
			endpoint, c); err != nil {
			t.Fatal(err)
		}
	}
	if hits := scanDatabase(t, url, alice.needles()); len(hits) == 0 {
		t.Fatal("before erasure the scan finds nothing of alice: the scan is blind")
	}
	bobBefore := scanDatabase(t, url, bob.needles())
	// A call of alice's still in flight: staged, with a staging key, not yet confirmed
	// deleted. Its record and key go too; the ledger counts it.
	inFlight, err := db.CreateCall(ctx, alice.user.OrgID, alice.user.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RecordStaging(ctx, inFlight, callscribe.Staging{Stage: "s3", ObjectKey: "calls/" + inFlight.String(),
		Key: []byte("0123456789abcdef0123456789abcdef"), Bytes: 10, SHA256: strings.Repeat("ef", 32), StagedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	alice.calls = append(alice.calls, inFlight)

	e := newEraser(t, db, filepath.Join(t.TempDir(), "ledger.jsonl"))
	er, err := e.Erase(ctx, alice.user.ID, "req-17")
	if err != nil {
		t.Fatal(err)
	}
	if hits := scanDatabase(t, url, alice.needles()); len(hits) != 0 {
		t.Errorf("after erasure the database still holds alice's data:\n%s", strings.Join(hits, "\n"))
	}
	rep, err := e.VerifyErased(ctx, privacy.Subject{UserID: alice.user.ID, CallIDs: er.CallIDs})
	if err != nil || !rep.Clean() {
		t.Errorf("VerifyErased = %v, %v; want every count 0", rep.Remaining, err)
	}
	for table, want := range map[string]int64{"calls": 6, "transcripts": 5, "segments": 15, "summaries": 5, "rectifications": 1,
		"audio_deletion_receipts": 5, "call_stages": 6, "staged_audio_unconfirmed": 1, "consents": 2, "users": 1,
		"webhook_deliveries": 5} {
		if got := er.Entry.Counts[table]; got != want {
			t.Errorf("ledger count %s = %d, want %d", table, got, want)
		}
	}
	if er.Entry.SubjectHash == "" || er.Entry.EmailHash == "" || er.Entry.PhoneHash == "" {
		t.Errorf("ledger entry lacks a keyed hash: %+v", er.Entry)
	}

	// Bob is intact: every row of his found before is found after, and he reads back.
	if bobAfter := scanDatabase(t, url, bob.needles()); len(bobAfter) < len(bobBefore) {
		t.Errorf("bob lost rows in alice's erasure: %d hits before, %d after", len(bobBefore), len(bobAfter))
	}
	for i, c := range bob.calls {
		tr, err := db.Transcript(ctx, c)
		if err != nil || !strings.Contains(tr.Text, bob.words[3*i+2]) || len(tr.Segments) != 3 || tr.Summary == nil {
			t.Errorf("bob's call %d after alice's erasure: %+v, %v", i, tr, err)
		}
	}
	if _, err := db.UserByEmail(ctx, alice.user.OrgID, alice.user.Email); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("alice still found by email: %v", err)
	}
}

// TestErasureReappliedAfterRestore: a backup taken before an erasure, restored after it,
// brings the subject back; Reapply, reading the ledger file kept outside the database,
// purges them again.
func TestErasureReappliedAfterRestore(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	url := pgtest.DB(t)
	db := openDB(t, url)
	alice := makePerson(t, db, "quokka", "alice.quokka@example.ru", "+79165550123", 3)
	bob := makePerson(t, db, "wombat", "bob.wombat@example.ru", "", 2)

	dump := filepath.Join(t.TempDir(), "backup.dump")
	pgTool(t, "pg_dump", "--format=custom", "--file="+dump, "--dbname="+url)

	ledger := filepath.Join(t.TempDir(), "ledger.jsonl")
	if _, err := newEraser(t, db, ledger).Erase(ctx, alice.user.ID, "req-1"); err != nil {
		t.Fatal(err)
	}

	restored := pgtest.DB(t) // migrated: --clean replaces its schema by the dump's
	pgTool(t, "pg_restore", "--clean", "--if-exists", "--no-owner", "--dbname="+restored, dump)
	if hits := scanDatabase(t, restored, alice.needles()); len(hits) == 0 {
		t.Fatal("the restored backup does not hold alice: the test proves nothing")
	}
	rdb := openDB(t, restored)
	e := newEraser(t, rdb, ledger)
	done, err := e.Reapply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || !done[0].Entry.Reapplied {
		t.Fatalf("Reapply made %d erasures (%+v), want alice's one, marked reapplied", len(done), done)
	}
	if hits := scanDatabase(t, restored, alice.needles()); len(hits) != 0 {
		t.Errorf("after Reapply the restored database still holds alice:\n%s", strings.Join(hits, "\n"))
	}
	if _, err := rdb.UserByEmail(ctx, bob.user.OrgID, bob.user.Email); err != nil {
		t.Errorf("bob after Reapply: %v", err)
	}
	ledgerRows, err := rdb.ErasureLedger(ctx)
	if err != nil || len(ledgerRows) != 2 {
		t.Errorf("restored ledger has %d entries (%v), want the imported one and the reapplied one", len(ledgerRows), err)
	}
	again, err := e.Reapply(ctx)
	if err != nil || len(again) != 0 {
		t.Errorf("second Reapply: %d erasures, %v; want none", len(again), err)
	}
}

// TestInterruptedErasureIsFinished: a user marked erased whose purge did not finish is
// invisible at once and finished by Reapply.
func TestInterruptedErasureIsFinished(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	url := pgtest.DB(t)
	db := openDB(t, url)
	alice := makePerson(t, db, "quokka", "alice.quokka@example.ru", "", 2)
	if _, err := db.MarkErased(ctx, alice.user.ID, "req-9", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UserByEmail(ctx, alice.user.OrgID, alice.user.Email); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("user marked erased still found by email: %v", err)
	}
	if _, err := db.Transcript(ctx, alice.calls[0]); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("transcript of a user marked erased still readable: %v", err)
	}
	done, err := newEraser(t, db, filepath.Join(t.TempDir(), "l")).Reapply(ctx)
	if err != nil || len(done) != 1 || done[0].Entry.RequestID != "req-9" {
		t.Fatalf("Reapply = %+v, %v; want the erasure of req-9 finished", done, err)
	}
	if hits := scanDatabase(t, url, alice.needles()); len(hits) != 0 {
		t.Errorf("after finishing, still:\n%s", strings.Join(hits, "\n"))
	}
}

func pgTool(t *testing.T, name string, args ...string) {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(bins) == 0 {
		t.Fatalf("%s not found in /usr/lib/postgresql/*/bin: install the Debian package postgresql", name)
	}
	cmd := exec.Command(bins[len(bins)-1], args...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

// TestFailedPurgeKeepsItsBatchWhole: the statements of a purge batch travel in one
// pipeline; when one fails, the error names its table and the batch's transaction rolls
// back whole, the deletes before the failing one included.
func TestFailedPurgeKeepsItsBatchWhole(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	url := pgtest.DB(t)
	db := openDB(t, url)
	alice := makePerson(t, db, "quokka", "alice.quokka@example.ru", "", 3)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `
		CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
		CREATE TRIGGER refuse BEFORE DELETE ON summaries FOR EACH ROW EXECUTE FUNCTION refuse()`); err != nil {
		t.Fatal(err)
	}
	_, err = newEraser(t, db, filepath.Join(t.TempDir(), "ledger.jsonl")).Erase(ctx, alice.user.ID, "req-3")
	if err == nil || !strings.Contains(err.Error(), "summaries:") || !strings.Contains(err.Error(), "refused by the test") {
		t.Fatalf("Erase with deletes from summaries refused = %v; want an error naming summaries", err)
	}
	var segments, transcripts int
	if err := conn.QueryRow(ctx, `
		SELECT count(*), count(DISTINCT t.id) FROM segments s JOIN transcripts t ON t.id = s.transcript_id
		WHERE t.call_id = ANY($1)`, alice.calls).Scan(&segments, &transcripts); err != nil {
		t.Fatal(err)
	}
	if segments != 9 || transcripts != 3 {
		t.Errorf("after the failed purge alice has %d segments in %d transcripts, want 9 in 3: a batch committed in part", segments, transcripts)
	}
}
