package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"callscribe"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

// fillOrganization writes, as the system, one row of an organization's data into every
// table that holds any, and returns the organization's id.
func fillOrganization(t *testing.T, db *postgres.DB, name string) uuid.UUID {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	var org uuid.UUID
	err := pgx.BeginFunc(ctx, db.Pool(), func(tx pgx.Tx) error {
		hash := strings.Repeat("ab", 32)
		for _, q := range []string{
			`INSERT INTO organizations (name) SELECT $1 WHERE $2::uuid IS NOT NULL RETURNING id`,
			`INSERT INTO users (organization_id, email) VALUES ($2, $1 || '@example.ru') RETURNING id`,
			`INSERT INTO api_keys (organization_id, hash, prefix) VALUES ($2, sha256($1::bytea), 'csk_') RETURNING id`,
			`INSERT INTO consents (user_id, purpose, policy_version, granted_at)
			 SELECT id, 'transcription', '1', now() FROM users WHERE organization_id = $2 AND $1::text <> '' RETURNING id::text`,
			`INSERT INTO consent_events (user_id, purpose, action, policy_version, channel, at)
			 SELECT id, 'transcription', 'grant', '1', 'api', now() FROM users WHERE organization_id = $2 AND $1::text <> '' RETURNING id::text`,
			`INSERT INTO calls (organization_id, owner_id, status)
			 SELECT $2, id, 'completed' FROM users WHERE organization_id = $2 AND $1::text <> '' RETURNING id`,
			`INSERT INTO call_stages (call_id, stage, object_key, bytes, sha256, staged_at)
			 SELECT id, 'memory', 'calls/' || id, 1, '` + hash + `', now() FROM calls WHERE organization_id = $2 AND $1::text <> '' RETURNING call_id`,
			`INSERT INTO transcripts (call_id, engine, text)
			 SELECT id, 'test', 'words of ' || $1 FROM calls WHERE organization_id = $2 RETURNING id`,
			`INSERT INTO segments (transcript_id, ord, channel, speaker, start_ms, end_ms, text)
			 SELECT id, 0, 0, 'agent', 0, 10, 'words of ' || $1 FROM transcripts WHERE organization_id = $2 RETURNING id::text`,
			`INSERT INTO summaries (call_id, engine, text)
			 SELECT id, 'test', 'summary of ' || $1 FROM calls WHERE organization_id = $2 RETURNING call_id`,
			`INSERT INTO audio_deletion_receipts (call_id, stage, bytes, sha256, staged_at, deleted_at, confirmed_at)
			 SELECT id, 'memory', 1, '` + hash + `', now(), now(), now() FROM calls WHERE organization_id = $2 AND $1::text <> '' RETURNING call_id`,
			`INSERT INTO privacy_requests (organization_id, user_id, kind, status, received_at, due_at)
			 SELECT $2, id, 'access', 'received', now(), current_date + 14 FROM users WHERE organization_id = $2 AND $1::text <> '' RETURNING id`,
			`INSERT INTO privacy_request_events (request_id, action, status, actor, at)
			 SELECT id, 'received', 'received', 'test', now() FROM privacy_requests WHERE organization_id = $2 AND $1::text <> '' RETURNING id::text`,
			`INSERT INTO webhook_endpoints (organization_id, url, secret, events, country)
			 VALUES ($2, 'https://crm.example.ru/' || $1, repeat('s', 32), ARRAY['call.completed'], 'RU') RETURNING id`,
			`INSERT INTO webhook_deliveries (id, endpoint_id, event, call_id, payload)
			 SELECT gen_random_uuid(), e.id, 'call.completed', c.id, '{}'
			 FROM webhook_endpoints e JOIN calls c USING (organization_id) WHERE e.organization_id = $2 AND $1::text <> '' RETURNING id`,
			`INSERT INTO rectifications (actor, subject_id, object_type, object_id, field, before, after)
			 SELECT 'test', id, 'user', id::text, 'surname', 'old ' || $1, 'new' FROM users WHERE organization_id = $2 RETURNING id::text`,
			`INSERT INTO audit_log (actor, action, object_type, object_id, organization_id)
			 VALUES ('test', 'read', 'organization', $1, $2) RETURNING id::text`,
			`INSERT INTO telegram_links (user_id, telegram_user_id, username, linked_at)
			 SELECT id, abs(hashtext($1))::bigint + 1, $1, now() FROM users WHERE organization_id = $2 RETURNING user_id`,
			`INSERT INTO telegram_link_tokens (hash, user_id, expires_at)
			 SELECT sha256($1::bytea), id, now() FROM users WHERE organization_id = $2 RETURNING user_id`,
			`INSERT INTO telegram_drafts (user_id, text, created_at)
			 SELECT id, 'draft of ' || $1, now() FROM users WHERE organization_id = $2 RETURNING id`,
			`INSERT INTO notice_preferences (user_id, event, channel, enabled)
			 SELECT id, 'breach', 'telegram', false FROM users WHERE organization_id = $2 AND $1::text <> '' RETURNING user_id`,
			`INSERT INTO breach_incidents (organization_id, description, detected_at, opened_by)
			 VALUES ($2, 'breach of ' || $1, now(), 'test') RETURNING id`,
			`INSERT INTO breach_affected (incident_id, user_id)
			 SELECT b.id, u.id FROM breach_incidents b JOIN users u USING (organization_id) WHERE b.organization_id = $2 AND $1::text <> '' RETURNING user_id`,
			`INSERT INTO notice_deliveries (id, notice_id, user_id, event, channel, created_at)
			 SELECT gen_random_uuid(), gen_random_uuid(), id, 'breach', 'email', now() FROM users WHERE organization_id = $2 AND $1::text <> '' RETURNING id`,
			`INSERT INTO erasure_ledger (id, request_id, subject_hash, email_hash, phone_hash, counts, erased_at, organization_id)
			 VALUES (gen_random_uuid(), $1, '` + hash + `', '` + hash + `', '', '{}', now(), $2) RETURNING id`,
			// The accounts on the web (00012).
			`INSERT INTO accounts (user_id, role) SELECT id, 'admin' FROM users WHERE organization_id = $2 AND $1::text <> '' RETURNING user_id`,
			`INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at)
			 SELECT sha256(($1 || 'session')::bytea), id, now(), now(), now() + interval '1 day' FROM users WHERE organization_id = $2 RETURNING user_id`,
			`INSERT INTO identities (provider, subject, user_id, linked_at)
			 SELECT 'yandex', $1, id, now() FROM users WHERE organization_id = $2 RETURNING user_id`,
			`INSERT INTO account_tokens (hash, kind, user_id, organization_id, created_at, expires_at)
			 SELECT sha256(($1 || 'verify')::bytea), 'verify', id, $2, now(), now() + interval '1 day' FROM users WHERE organization_id = $2 RETURNING user_id`,
			`INSERT INTO agreements (version, text, published_at, published_by) SELECT $1, 'text', now(), 'test' WHERE $2::uuid IS NOT NULL RETURNING version`,
			`INSERT INTO agreement_answers (user_id, version, action, channel, at)
			 SELECT id, $1, 'accept', 'web', now() FROM users WHERE organization_id = $2 RETURNING id::text`,
		} {
			var id string
			if err := tx.QueryRow(ctx, q, name, org).Scan(&id); err != nil {
				return fmt.Errorf("%s: %w", strings.Fields(q)[2], err)
			}
			if org == uuid.Nil {
				org = uuid.MustParse(id)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return org
}

// rlsTables lists every table under row-level security, with the column naming its
// organization.
func rlsTables(t *testing.T, db *postgres.DB) map[string]string {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), `
		SELECT tablename, CASE WHEN tablename = 'organizations' THEN 'id' ELSE 'organization_id' END
		FROM pg_tables WHERE schemaname = 'public' AND rowsecurity ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{}
	for rows.Next() {
		var name, col string
		if err := rows.Scan(&name, &col); err != nil {
			t.Fatal(err)
		}
		tables[name] = col
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return tables
}

// count counts the rows of table whose organization column is org (or is not, with not).
func count(ctx context.Context, t *testing.T, db *postgres.DB, table, col string, org uuid.UUID, not bool) int {
	t.Helper()
	op := "="
	if not {
		op = "<>"
	}
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE `+col+` `+op+` $1`, org).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestOrganizationsIsolatedByRowLevelSecurity checks the wall in PostgreSQL itself: in
// every table under row-level security, a session scoped to organization A sees A's rows
// and none of B's; a session with no scope sees nothing at all.
func TestOrganizationsIsolatedByRowLevelSecurity(t *testing.T) {
	t.Parallel()
	db, err := postgres.Open(context.Background(), pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	a, b := fillOrganization(t, db, "alpha"), fillOrganization(t, db, "beta")

	var role string
	var super, bypass bool
	if err := db.Pool().QueryRow(context.Background(), `
		SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&role, &super, &bypass); err != nil {
		t.Fatal(err)
	}
	if role != postgres.AppRole || super || bypass {
		t.Fatalf("queries run as %s (superuser %v, bypassrls %v); want %s, neither", role, super, bypass, postgres.AppRole)
	}

	tables := rlsTables(t, db)
	for _, want := range []string{"organizations", "users", "api_keys", "consents", "consent_events", "calls",
		"call_stages", "transcripts", "segments", "summaries", "audio_deletion_receipts", "privacy_requests",
		"privacy_request_events", "webhook_endpoints", "webhook_deliveries", "rectifications", "audit_log", "erasure_ledger",
		"accounts", "sessions", "identities", "account_tokens", "agreement_answers"} {
		if _, ok := tables[want]; !ok {
			t.Errorf("table %s is not under row-level security", want)
		}
	}
	sys, inA := callscribe.AsSystem(context.Background()), callscribe.WithOrg(context.Background(), a)
	for table, col := range tables {
		t.Run(table, func(t *testing.T) {
			// The fixture must reach every table, or the checks below prove nothing.
			if n := count(sys, t, db, table, col, b, false); n == 0 {
				t.Fatalf("the system sees no row of B in %s: fillOrganization misses the table", table)
			}
			if n := count(inA, t, db, table, col, a, true); n != 0 {
				t.Errorf("scoped to A: %d rows of other organizations", n)
			}
			if n := count(inA, t, db, table, col, a, false); n == 0 {
				t.Errorf("scoped to A: none of A's own rows")
			}
			var n int
			if err := db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != 0 {
				t.Errorf("no scope: %d rows (err %v), want 0", n, err)
			}
		})
	}
}

// TestRowLevelSecurityRefusesWrites checks WITH CHECK: a session scoped to A cannot write
// a row of B's, directly or as the child of B's row; with no scope it cannot write at all.
func TestRowLevelSecurityRefusesWrites(t *testing.T) {
	t.Parallel()
	db, err := postgres.Open(context.Background(), pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	a, b := fillOrganization(t, db, "alpha"), fillOrganization(t, db, "beta")
	var bTranscript, bCall, bUser uuid.UUID
	if err := db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `
		SELECT t.id, c.id, c.owner_id FROM transcripts t JOIN calls c ON c.id = t.call_id WHERE c.organization_id = $1`, b).
		Scan(&bTranscript, &bCall, &bUser); err != nil {
		t.Fatal(err)
	}
	inA := callscribe.WithOrg(context.Background(), a)
	for _, c := range []struct {
		name string
		ctx  context.Context
		sql  string
		args []any
	}{
		{"a user of B, scoped to A", inA, `INSERT INTO users (organization_id, email) VALUES ($1, 'x@example.ru')`, []any{b}},
		{"a segment of B's transcript, scoped to A", inA,
			`INSERT INTO segments (transcript_id, ord, channel, speaker, start_ms, end_ms, text) VALUES ($1, 9, 0, 'agent', 0, 1, 'x')`, []any{bTranscript}},
		{"a consent of B's user, scoped to A", inA,
			`INSERT INTO consents (user_id, purpose, policy_version, granted_at) VALUES ($1, 'summarization', '1', now())`, []any{bUser}},
		{"a summary of B's call, scoped to A", inA,
			`INSERT INTO summaries (call_id, engine, text) VALUES ($1, 'x', 'x') ON CONFLICT DO NOTHING`, []any{bCall}},
		{"moving A's call to B, scoped to A", inA, `UPDATE calls SET organization_id = $1`, []any{b}},
		{"a user of A with no scope", context.Background(), `INSERT INTO users (organization_id, email) VALUES ($1, 'y@example.ru')`, []any{a}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := db.Pool().Exec(c.ctx, c.sql, c.args...)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || (pgErr.Code != "42501" && pgErr.Code != "23502") {
				t.Errorf("err = %v; want a row-level security violation (42501) or a NULL organization (23502)", err)
			}
		})
	}
	// Nothing of B's was touched by A's statements.
	var n int
	if err := db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `SELECT count(*) FROM calls WHERE organization_id = $1`, b).Scan(&n); err != nil || n != 1 {
		t.Errorf("B's calls after A's attempts: %d (err %v), want 1", n, err)
	}
}
