package main

import (
	"context"
	"testing"
	"time"

	"callscribe"
)

// TestLongCallNotTimedOutByTheFloor: CALLSCRIBE_JOB_TIMEOUT is the floor of an attempt's
// timeout, which follows the call's duration (3 × it): a call of about 30 s is heard
// whole in its one attempt although the floor is 1 s, and the claim on its job is
// renewed while it runs although CALLSCRIBE_JOB_RESCUE_AFTER is 2 s. (Issue 11: one
// fixed timeout for every call; a busy machine timed out recognising calls.)
func TestLongCallNotTimedOutByTheFloor(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	key := setUpOrg(t, env, "ivanova@example.ru")
	env = append(env, "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0", "CALLSCRIBE_LOG_LEVEL=info",
		"CALLSCRIBE_JOB_TIMEOUT=1s", "CALLSCRIBE_JOB_RESCUE_AFTER=2s", "CALLSCRIBE_JOB_MAX_ATTEMPTS=1")
	db := openDB(t, env)
	serve := startProc(t, env, "serve")
	api := apiClient{t: t, base: serve.base, key: key}
	began := time.Now()
	id := api.upload(longCall(t), "ivanova@example.ru")
	ctx := callscribe.AsSystem(context.Background())
	s := api.waitEnded(3*time.Minute, id)[id]
	t.Logf("a call of about 30 s ended %s in %s", s.Status, time.Since(began).Round(100*time.Millisecond))
	if s.Status != "completed" {
		t.Errorf("the call ended %s (%+v); want completed within its one attempt", s.Status, s.Error)
	}
	var attempts int
	if err := db.Pool().QueryRow(ctx,
		`SELECT attempt FROM river_job WHERE kind = 'transcribe_call' AND args->>'call_id' = $1`, id.String()).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 {
		t.Errorf("the call's job ran %d times; want once", attempts)
	}
	serve.terminate(time.Minute)
}
