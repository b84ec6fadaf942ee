package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// migrateQueue applies River's migrations: the job queue lives in the same database, so
// a call's row, its staging record and its job commit together.
func migrateQueue(ctx context.Context, url string) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return fmt.Errorf("open database for queue migrations: %w", err)
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate queue: %w", err)
	}
	// Our queries find a call's jobs by the call id in their args: the sweeper for every
	// live call, the erasure for every batch of a subject's calls. Without this index each
	// of those scans the whole job table. It is ours, not River's, so it is made here,
	// after River's migrations have made the table (ours run before them).
	if _, err := pool.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+jobCallIndex+` ON river_job ((args ->> 'call_id'))`); err != nil {
		return fmt.Errorf("index jobs by call: %w", err)
	}
	return nil
}

// jobCallIndex indexes River's jobs by the call id their args carry.
const jobCallIndex = "callscribe_river_job_call_id"

// JobInserter inserts a job in a transaction: a *river.Client[pgx.Tx].
type JobInserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Queued is the database with its job queue: AcceptCall records a call, its staging and
// its transcription job in one transaction.
type Queued struct {
	*DB
	Jobs        JobInserter
	MaxAttempts int // of each call's job; 0: River's default
}

// QueueDepth counts transcription jobs not yet finished, by River state (available,
// scheduled, retryable, running).
func (db *DB) QueueDepth(ctx context.Context) (map[string]int64, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT state::text, count(*) FROM river_job
		WHERE kind = 'transcribe_call' AND state IN ('available', 'scheduled', 'retryable', 'running', 'pending')
		GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	out := map[string]int64{}
	var state string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&state, &n}, func() error {
		out[state] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	return out, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}
