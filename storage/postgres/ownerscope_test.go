package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"callscribe/storage/pgtest"
)

// TestPoliciesReadNoTable: no row-level security policy reads a table (a sub-select such
// as "call_id IN (SELECT id FROM calls ...)"): a policy that does keeps PostgreSQL from
// reading its table through an index parameterized by a join, and every calls list then
// joined each call of its page to every deletion receipt of the organization (377 ms for
// page 1,200 of 100,000 calls; 1.5 ms without). Policies compare columns with the scope.
func TestPoliciesReadNoTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT tablename, qual FROM pg_policies WHERE qual ~* '\mfrom\M' OR with_check ~* '\mfrom\M'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, qual string
		if err := rows.Scan(&table, &qual); err != nil {
			t.Fatal(err)
		}
		t.Errorf("the policy of %s reads a table: %s", table, qual)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_policies WHERE tablename = 'segments'`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("segments has %d policies (%v): the check above saw no policy", n, err)
	}
}

// TestOwnerAndTalkTimeMigrations: migrations 00017 and 00018 fill in, for the rows
// already there, what the triggers and the worker write for new ones: the call's owner
// on every row that hangs off a call, and a transcript's talk time per channel (a
// channel that never spoke counts 0). Then they go down and up again.
func TestOwnerAndTalkTimeMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sqlDB, p := migrator(t)
	if _, err := p.DownTo(ctx, 16); err != nil {
		t.Fatalf("down to 16: %v", err)
	}
	hash := "'" + string(slices.Repeat([]byte("ab"), 32)) + "'"
	for _, q := range []string{
		`INSERT INTO organizations (name) VALUES ('acme')`,
		`INSERT INTO users (organization_id, email) SELECT id, 'a@example.ru' FROM organizations`,
		`INSERT INTO calls (organization_id, owner_id, status) SELECT organization_id, id, 'completed' FROM users`,
		`INSERT INTO call_stages (call_id, stage, object_key, bytes, sha256, staged_at) SELECT id, 'memory', 'k', 1, ` + hash + `, now() FROM calls`,
		`INSERT INTO transcripts (call_id, engine, text) SELECT id, 'test', 'words' FROM calls`,
		`WITH c AS (INSERT INTO calls (organization_id, owner_id, status) SELECT organization_id, id, 'completed' FROM users RETURNING id)
		 INSERT INTO transcripts (call_id, engine, text) SELECT id, 'test', 'silence' FROM c`,
		`INSERT INTO segments (transcript_id, ord, channel, speaker, start_ms, end_ms, text)
		 SELECT t.id, s.ord, s.channel, 'x', s.start_ms, s.end_ms, 'w' FROM transcripts t,
		 (VALUES (0, 0, 0, 1000), (1, 2, 1000, 1500), (2, 0, 1500, 4000)) AS s(ord, channel, start_ms, end_ms) WHERE t.text = 'words'`,
		`INSERT INTO summaries (call_id, engine, text) SELECT id, 'test', 'summary' FROM calls`,
		`INSERT INTO audio_deletion_receipts (call_id, stage, bytes, sha256, staged_at, deleted_at, confirmed_at) SELECT id, 'memory', 1, ` + hash + `, now(), now(), now() FROM calls`,
		`INSERT INTO webhook_endpoints (organization_id, url, secret, events, country)
		 SELECT id, 'https://crm.example.ru/a', repeat('s', 32), ARRAY['call.completed'], 'RU' FROM organizations`,
		`INSERT INTO webhook_deliveries (id, endpoint_id, event, call_id, payload)
		 SELECT gen_random_uuid(), e.id, 'call.completed', c.id, '{}' FROM webhook_endpoints e, calls c`,
	} {
		if _, err := sqlDB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	for _, table := range []string{"call_stages", "transcripts", "summaries", "audio_deletion_receipts", "webhook_deliveries"} {
		var wrong, all int
		if err := sqlDB.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE x.owner_id IS DISTINCT FROM c.owner_id), count(*)
			FROM `+table+` x JOIN calls c ON c.id = x.call_id`).Scan(&wrong, &all); err != nil {
			t.Fatal(err)
		}
		if wrong != 0 || all == 0 {
			t.Errorf("%s: %d of %d rows without their call's owner", table, wrong, all)
		}
	}
	var wrong int
	if err := sqlDB.QueryRowContext(ctx, `SELECT count(*) FROM segments s JOIN transcripts t ON t.id = s.transcript_id
		WHERE s.owner_id IS DISTINCT FROM t.owner_id OR s.owner_id IS NULL`).Scan(&wrong); err != nil || wrong != 0 {
		t.Errorf("segments without their call's owner: %d (%v)", wrong, err)
	}
	var talk, silent *string
	if err := sqlDB.QueryRowContext(ctx, `SELECT (SELECT talk_ms::text FROM transcripts WHERE text = 'words'),
		(SELECT talk_ms::text FROM transcripts WHERE text = 'silence')`).Scan(&talk, &silent); err != nil {
		t.Fatal(err)
	}
	if talk == nil || *talk != "{3500,0,500}" || silent != nil {
		t.Errorf("talk time %v and %v, want {3500,0,500} and none for the transcript without segments", deref(talk), deref(silent))
	}
	// A row written after the migration gets its owner from the trigger.
	if _, err := sqlDB.ExecContext(ctx, `INSERT INTO segments (transcript_id, ord, channel, speaker, start_ms, end_ms, text)
		SELECT id, 9, 0, 'x', 0, 1, 'w' FROM transcripts WHERE text = 'words'`); err != nil {
		t.Fatal(err)
	}
	if err := sqlDB.QueryRowContext(ctx, `SELECT count(*) FROM segments s JOIN users u ON u.id = s.owner_id WHERE ord = 9`).Scan(&wrong); err != nil || wrong != 1 {
		t.Errorf("a new segment's owner: %d rows (%v), want its call's owner", wrong, err)
	}
	if _, err := p.DownTo(ctx, 16); err != nil {
		t.Fatalf("down to 16 again: %v", err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
