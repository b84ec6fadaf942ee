package postgres_test

import (
	"context"
	"testing"
	"time"

	"callscribe"
)

// TestRenewJob: renewing a running job's claim moves its attempt's start (what River's
// rescuer judges a stuck job by) to now; a job that is not running is left alone.
func TestRenewJob(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	ctx := callscribe.AsSystem(context.Background())
	long := time.Now().Add(-time.Hour)
	ids := map[string]int64{}
	for _, state := range []string{"running", "retryable"} {
		var id int64
		if err := db.Pool().QueryRow(ctx, `
			INSERT INTO river_job (kind, args, max_attempts, state, attempt, attempted_at)
			VALUES ('transcribe_call', '{}', 5, $1, 1, $2) RETURNING id`, state, long).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[state] = id
		if err := db.RenewJob(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	for state, id := range ids {
		var at time.Time
		if err := db.Pool().QueryRow(ctx, `SELECT attempted_at FROM river_job WHERE id = $1`, id).Scan(&at); err != nil {
			t.Fatal(err)
		}
		renewed := time.Since(at) < time.Minute
		if renewed != (state == "running") {
			t.Errorf("%s job renewed: %v (attempted_at %s ago); want %v", state, renewed, time.Since(at).Round(time.Second), state == "running")
		}
	}
}
