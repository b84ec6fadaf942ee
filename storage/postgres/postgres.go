// Package postgres keeps callscribe's records in PostgreSQL through pgx: organizations,
// users, consents, calls, their staging records, transcripts, segments, summaries and
// deletion receipts. It never stores audio: the stage holds that, encrypted, and this
// package only records its key, size and hash, and erases the key when the call ends.
//
// It is the only place SQL lives, one file per table or aggregate: organizations.go,
// users.go (with blocking), consents.go, calls.go (calls and their staging, what the
// sweeper asks of them, calls per day), transcripts.go (segments, summaries, corrections),
// search.go (listing and full-text search of calls), receipts.go, requests.go, erasure.go,
// retention.go, audit.go, apikeys.go, webhooks.go, queue.go (River), notify.go,
// notices.go (notice deliveries, preferences, the notice hook), breaches.go, accounts.go,
// sessions.go, partners.go, telegram.go.
// The packages it serves declare the interfaces it implements (fits_test.go checks them).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib" // database/sql for goose
	"github.com/pressly/goose/v3"

	"callscribe"
	"callscribe/migrations"
)

// DB is callscribe's PostgreSQL database.
type DB struct {
	pool  *pgxpool.Pool
	watch watchers    // see WatchUser
	onEnd CallEndHook // see OnCallEnd
	// notices records what users are to be told, in the transaction of what happened
	// (see NoticeOn, notices.go).
	notices noticeHook
}

// CallEndHook runs in the transaction that gives a call its final status (completed,
// failed or discarded), after the status is written, once per call: a call's end and
// what must follow from it (the webhook deliveries) commit together or not at all.
type CallEndHook func(ctx context.Context, tx pgx.Tx, callID uuid.UUID) error

// OnCallEnd sets the hook every call's end runs. Set it before the DB is in use.
func (db *DB) OnCallEnd(h CallEndHook) { db.onEnd = h }

// callEnded runs the call-end hook, if any, in tx.
func (db *DB) callEnded(ctx context.Context, tx pgx.Tx, callID uuid.UUID) error {
	if db.onEnd != nil {
		if err := db.onEnd(ctx, tx, callID); err != nil {
			return err
		}
	}
	return db.transcriptReady(ctx, tx, callID)
}

// Open connects to the database at url and checks that it answers.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, callscribe.Wrap(callscribe.EINVALID, err, "database url is not valid")
	}
	// Every query runs as callscribe_app, which row-level security binds (a superuser or
	// the tables' owner would bypass it), and under the scope its context carries.
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, `SET ROLE `+AppRole); err != nil {
			return fmt.Errorf("set role %s (run the migrations first): %w", AppRole, err)
		}
		return nil
	}
	cfg.PrepareConn = prepareScope
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, callscribe.Wrap(callscribe.EUNAVAILABLE, err, "postgres does not answer")
	}
	return &DB{pool: pool}, nil
}

// Close closes every connection.
func (db *DB) Close() { db.pool.Close() }

// Pool exposes the connection pool to tests and to adapters that share the database
// (the job queue).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Migrate applies every embedded migration that the database at url lacks, then the job
// queue's (River's) own migrations.
func Migrate(ctx context.Context, url string) error {
	if err := migrateSchema(ctx, url); err != nil {
		return err
	}
	return migrateQueue(ctx, url)
}

func migrateSchema(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return callscribe.Wrap(callscribe.EINVALID, err, "database url is not valid")
	}
	// Migrations are system work: a data migration run by the tables' owner (not a
	// superuser) must see every organization's rows through the forced policies.
	cfg.RuntimeParams["callscribe.system"] = "on"
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	files, err := fs.Sub(migrations.FS, ".")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, files)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// AppRole is the role the application's queries run as: no superuser, no BYPASSRLS.
// Migration 00006 creates it and grants it to the migrating user.
const AppRole = "callscribe_app"

// prepareScope binds a connection, each time it leaves the pool, to the scope of the
// context that took it (callscribe.WithOrg, callscribe.WithMember — the organization, and
// within it the calls of one owner — or callscribe.AsSystem), so that every query
// — a method of DB, a transaction, River's, the webhook sender's — is seen by the
// row-level security policies as that organization's, or the system's. A context with
// no scope leaves both settings empty: the policies then admit no row (fail closed).
// The settings are the session's, set on every acquire, so a connection never carries
// the previous holder's scope.
func prepareScope(ctx context.Context, conn *pgx.Conn) (bool, error) {
	sc := callscribe.ScopeOf(ctx)
	org, system, user := "", "off", ""
	if sc.OrgID != uuid.Nil {
		org = sc.OrgID.String()
		if sc.UserID != uuid.Nil {
			user = sc.UserID.String()
		}
	}
	if sc.System {
		system = "on"
	}
	if _, err := conn.Exec(ctx, `SELECT set_config('callscribe.org_id', $1, false), set_config('callscribe.system', $2, false),
		set_config('callscribe.user_id', $3, false)`, org, system, user); err != nil {
		return false, fmt.Errorf("scope the connection: %w", err)
	}
	return true, nil
}

// inTx runs fn in a transaction, committing when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, fn)
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
