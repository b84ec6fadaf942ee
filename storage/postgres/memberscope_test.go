package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"callscribe"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

// TestMemberScopeSeesOwnCallsOnly: a connection scoped to a member (callscribe.WithMember)
// sees, of its organization's calls and everything hanging off them (and of the
// correction history), only what is about the member, and cannot write another owner's; scoped to the organization alone (an API
// key, an admin) it sees every call of it, and another organization's member sees none.
func TestMemberScopeSeesOwnCallsOnly(t *testing.T) {
	t.Parallel()
	db, err := postgres.Open(context.Background(), pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	org := fillOrganization(t, db, "alpha")
	other := fillOrganization(t, db, "beta")
	sys := callscribe.AsSystem(context.Background())
	// A second owner in alpha, with a call like the first one's.
	var first, second, otherUser uuid.UUID
	if err := db.Pool().QueryRow(sys, `SELECT owner_id FROM calls WHERE organization_id = $1`, org).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool().QueryRow(sys, `SELECT owner_id FROM calls WHERE organization_id = $1`, other).Scan(&otherUser); err != nil {
		t.Fatal(err)
	}
	hash := strings.Repeat("ab", 32)
	err = pgx.BeginFunc(sys, db.Pool(), func(tx pgx.Tx) error {
		if err := tx.QueryRow(sys, `INSERT INTO users (organization_id, email) VALUES ($1, 'second@example.ru') RETURNING id`, org).Scan(&second); err != nil {
			return err
		}
		for _, q := range []string{
			`INSERT INTO calls (organization_id, owner_id, status) VALUES ($1, $2, 'completed')`,
			`INSERT INTO call_stages (call_id, stage, object_key, bytes, sha256, staged_at) SELECT id, 'memory', 'k', 1, '` + hash + `', now() FROM calls WHERE owner_id = $2 AND $1::uuid IS NOT NULL`,
			`INSERT INTO transcripts (call_id, engine, text) SELECT id, 'test', 'second words' FROM calls WHERE owner_id = $2 AND $1::uuid IS NOT NULL`,
			`INSERT INTO segments (transcript_id, ord, channel, speaker, start_ms, end_ms, text) SELECT t.id, 0, 0, 'agent', 0, 1, 'second words' FROM transcripts t JOIN calls c ON c.id = t.call_id WHERE c.owner_id = $2 AND $1::uuid IS NOT NULL`,
			`INSERT INTO summaries (call_id, engine, text) SELECT id, 'test', 'second summary' FROM calls WHERE owner_id = $2 AND $1::uuid IS NOT NULL`,
			`INSERT INTO audio_deletion_receipts (call_id, stage, bytes, sha256, staged_at, deleted_at, confirmed_at) SELECT id, 'memory', 1, '` + hash + `', now(), now(), now() FROM calls WHERE owner_id = $2 AND $1::uuid IS NOT NULL`,
			`INSERT INTO rectifications (actor, subject_id, call_id, object_type, object_id, field, before, after) SELECT 'test', $2, id, 'segment', '0', 'text', 'second before', 'after' FROM calls WHERE owner_id = $2 AND $1::uuid IS NOT NULL`,
			`INSERT INTO webhook_deliveries (id, endpoint_id, event, call_id, payload) SELECT gen_random_uuid(), e.id, 'call.completed', c.id, '{}' FROM webhook_endpoints e JOIN calls c USING (organization_id) WHERE c.owner_id = $2 AND e.organization_id = $1`,
		} {
			if _, err := tx.Exec(sys, q, org, second); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{ // how each table's row names its call's owner
		"calls":                   `SELECT count(*) FILTER (WHERE owner_id = $1), count(*) FROM calls`,
		"call_stages":             `SELECT count(*) FILTER (WHERE c.owner_id = $1), count(*) FROM call_stages x JOIN calls c ON c.id = x.call_id`,
		"transcripts":             `SELECT count(*) FILTER (WHERE c.owner_id = $1), count(*) FROM transcripts x JOIN calls c ON c.id = x.call_id`,
		"segments":                `SELECT count(*) FILTER (WHERE c.owner_id = $1), count(*) FROM segments s JOIN transcripts x ON x.id = s.transcript_id JOIN calls c ON c.id = x.call_id`,
		"summaries":               `SELECT count(*) FILTER (WHERE c.owner_id = $1), count(*) FROM summaries x JOIN calls c ON c.id = x.call_id`,
		"audio_deletion_receipts": `SELECT count(*) FILTER (WHERE c.owner_id = $1), count(*) FROM audio_deletion_receipts x JOIN calls c ON c.id = x.call_id`,
		"webhook_deliveries":      `SELECT count(*) FILTER (WHERE c.owner_id = $1), count(*) FROM webhook_deliveries x JOIN calls c ON c.id = x.call_id`,
		"rectifications":          `SELECT count(*) FILTER (WHERE subject_id = $1), count(*) FROM rectifications`,
	}
	counts := func(ctx context.Context, q string, user uuid.UUID) (own, all int) {
		t.Helper()
		if err := db.Pool().QueryRow(ctx, q, user).Scan(&own, &all); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return own, all
	}
	bg := context.Background()
	for table, q := range owner {
		t.Run(table, func(t *testing.T) {
			// Joined to calls, a row of another owner's call would be hidden by the join alone;
			// count the table by itself too.
			var alone int
			if err := db.Pool().QueryRow(callscribe.WithMember(bg, org, first), `SELECT count(*) FROM `+table).Scan(&alone); err != nil {
				t.Fatal(err)
			}
			if own, all := counts(callscribe.WithMember(bg, org, first), q, first); own != 1 || all != 1 || alone != 1 {
				t.Errorf("the first member sees %d rows (%d own, %d counted alone), want 1, their own", all, own, alone)
			}
			if own, all := counts(callscribe.WithMember(bg, org, second), q, second); own != 1 || all != 1 {
				t.Errorf("the second member sees %d rows (%d own), want 1, their own", all, own)
			}
			if _, all := counts(callscribe.WithOrg(bg, org), q, first); all != 2 {
				t.Errorf("the organization's scope sees %d rows, want both owners' 2", all)
			}
			if _, all := counts(callscribe.WithMember(bg, other, otherUser), q, otherUser); all != 1 {
				t.Errorf("another organization's member sees %d rows, want their 1", all)
			}
			if _, all := counts(callscribe.WithMember(bg, org, otherUser), q, otherUser); all != 0 {
				t.Errorf("alpha's scope with beta's user sees %d rows, want 0", all)
			}
		})
	}
	// Writes: the first member cannot put a call in the second's name or touch theirs.
	_, err = db.Pool().Exec(callscribe.WithMember(bg, org, first), `INSERT INTO calls (organization_id, owner_id, status) VALUES ($1, $2, 'received')`, org, second)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("a member inserting another owner's call: %v, want a row-level security violation", err)
	}
	tag, err := db.Pool().Exec(callscribe.WithMember(bg, org, first), `UPDATE transcripts SET text = 'changed' WHERE text = 'second words'`)
	if err != nil || tag.RowsAffected() != 0 {
		t.Errorf("a member updating another owner's transcript: %v rows, %v", tag.RowsAffected(), err)
	}
}
