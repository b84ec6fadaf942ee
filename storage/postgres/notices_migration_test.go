package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"callscribe/migrations"
	"callscribe/storage/pgtest"
)

// TestNoticesMigrationDown: migration 00015 goes down — a webhook delivery about a user
// (no call) and an endpoint subscribed to notice events alone are removed with it — and
// up again.
func TestNoticesMigrationDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sqlDB, p := migrator(t)
	for _, q := range []string{
		`INSERT INTO organizations (name) VALUES ('acme')`,
		`INSERT INTO users (organization_id, email) SELECT id, 'a@example.ru' FROM organizations`,
		`INSERT INTO webhook_endpoints (organization_id, url, secret, events, country)
		 SELECT id, 'https://crm.example.ru/a', repeat('s', 32), ARRAY['request.received'], 'RU' FROM organizations`,
		`INSERT INTO webhook_endpoints (organization_id, url, secret, events, country)
		 SELECT id, 'https://crm.example.ru/b', repeat('s', 32), ARRAY['call.completed', 'consent.withdrawn'], 'RU' FROM organizations`,
		`INSERT INTO webhook_deliveries (id, endpoint_id, event, subject_id, payload)
		 SELECT gen_random_uuid(), e.id, 'request.received', u.id, '{}' FROM webhook_endpoints e, users u WHERE e.url LIKE '%/a'`,
	} {
		if _, err := sqlDB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := p.DownTo(ctx, 14); err != nil {
		t.Fatalf("down to 14: %v", err)
	}
	var endpoints, deliveries int
	var events string
	sqlDB.QueryRowContext(ctx, `SELECT count(*), string_agg(array_to_string(events, ','), ';') FROM webhook_endpoints`).Scan(&endpoints, &events)
	sqlDB.QueryRowContext(ctx, `SELECT count(*) FROM webhook_deliveries`).Scan(&deliveries)
	if endpoints != 1 || events != "call.completed" || deliveries != 0 {
		t.Errorf("after down: %d endpoints (%s), %d deliveries; want the call endpoint alone, with call.completed, and no delivery", endpoints, events, deliveries)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

// migrator is a fresh test database's connection as the system and the goose provider
// of its migrations, for tests that take migrations down and up.
func migrator(t *testing.T) (*sql.DB, *goose.Provider) {
	t.Helper()
	cfg, err := pgx.ParseConfig(pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["callscribe.system"] = "on"
	sqlDB := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { sqlDB.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	return sqlDB, p
}
