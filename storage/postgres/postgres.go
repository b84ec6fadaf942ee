// Package postgres keeps callscribe's records in PostgreSQL through pgx: organizations,
// users, consents, calls, their staging records, transcripts, segments, summaries and
// deletion receipts. It never stores audio: the stage holds that, encrypted, and this
// package only records its key, size and hash, and erases the key when the call ends.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for goose
	"github.com/pressly/goose/v3"

	"callscribe"
	"callscribe/migrations"
)

// DB is callscribe's PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to the database at url and checks that it answers.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, callscribe.Wrap(callscribe.EINVALID, err, "database url is not valid")
	}
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
	sqlDB, err := sql.Open("pgx", url)
	if err != nil {
		return fmt.Errorf("open database for migrations: %w", err)
	}
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

// inTx runs fn in a transaction, committing when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, fn)
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
