package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
)

// TestJobsIndexedByCall: the queries that find a call's jobs (the erasure's purge of a
// batch, the sweeper's per-call checks) can use the index on the call id in the jobs'
// args: the expression must match it exactly, or PostgreSQL scans every job.
func TestJobsIndexedByCall(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	ctx := callscribe.AsSystem(context.Background())
	for _, q := range []struct {
		name, sql string
		arg       any
	}{
		{"erasure", `SELECT 1 FROM river_job WHERE args->>'call_id' IN (SELECT unnest($1::uuid[])::text)`, []uuid.UUID{uuid.New()}},
		{"sweeper", `SELECT 1 FROM river_job j WHERE j.kind = 'transcribe_call' AND j.args->>'call_id' = $1::uuid::text`, uuid.New()},
		{"call read", `SELECT state FROM river_job WHERE kind = 'transcribe_call' AND args ->> 'call_id' = $1::uuid::text ORDER BY id DESC LIMIT 1`, uuid.New()},
	} {
		err := pgx.BeginFunc(ctx, db.Pool(), func(tx pgx.Tx) error {
			// The table is empty, so only with sequential scans off does the plan show
			// whether the index can serve the query at all.
			if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `EXPLAIN `+q.sql, q.arg)
			if err != nil {
				return err
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			if plan := strings.Join(lines, "\n"); !strings.Contains(plan, "callscribe_river_job_call_id") {
				t.Errorf("%s query does not use the jobs' call index:\n%s", q.name, plan)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
