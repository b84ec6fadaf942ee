package main

// Shutdown tests: SIGTERM lets the calls being recognised finish for
// CALLSCRIBE_SHUTDOWN_TIMEOUT, and past it cancels them for a later attempt. Each runs the
// built binary against a real PostgreSQL and the real PocketSphinx.

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/internal/testcall"
	"callscribe/storage/postgres"
)

// longCall writes a mono call of about 30 s of flite speech.
func longCall(t *testing.T) string {
	t.Helper()
	s := testcall.Sentences
	return testcall.Mono(t, t.TempDir(), testcall.Agent, 0.8, append(append([]string{}, s...), s...)...)
}

// dbCall is a call's status and receipt as the database holds them (the API is gone
// once serve has stopped).
type dbCall struct {
	status    string
	code      string
	confirmed bool
}

func readCall(t *testing.T, db *postgres.DB, id uuid.UUID) dbCall {
	t.Helper()
	var c dbCall
	err := db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `
		SELECT c.status, coalesce(c.error_code, ''), EXISTS (SELECT 1 FROM audio_deletion_receipts r WHERE r.call_id = c.id)
		FROM calls c WHERE c.id = $1`, id).Scan(&c.status, &c.code, &c.confirmed)
	if err != nil {
		t.Fatalf("read call %s: %v", id, err)
	}
	return c
}

// terminate sends SIGTERM and returns how long the process took to exit, failing the
// test when it does not exit within limit or exits non-zero.
func (p *proc) terminate(limit time.Duration) time.Duration {
	p.t.Helper()
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(limit):
		p.t.Fatalf("%s did not exit within %s of SIGTERM", p.name, limit)
	}
	took := time.Since(sent)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Errorf("%s after SIGTERM: exit %d; want 0\n%s", p.name, code, lastLines(p.stderr.String(), 20))
	}
	return took
}

// TestShutdownLetsRunningCallsFinish: three calls of about 30 s each are being recognised
// when serve gets SIGTERM; each completes (transcript stored, audio deleted and
// receipted) before the process exits, within CALLSCRIBE_SHUTDOWN_TIMEOUT. (Issue 11:
// serve gave River the signal's context, which River takes as a hard stop: the calls were
// cancelled within a second.)
func TestShutdownLetsRunningCallsFinish(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	key := setUpOrg(t, env, "ivanova@example.ru")
	const timeout = 4 * time.Minute
	env = append(env, "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0", "CALLSCRIBE_LOG_LEVEL=info",
		"CALLSCRIBE_WORKERS=3", "CALLSCRIBE_SHUTDOWN_TIMEOUT="+timeout.String())
	file := longCall(t)
	if d := testcall.Duration(t, file); d < 25 {
		t.Fatalf("the test call lasts %.1f s; want about 30 s", d)
	}
	db := openDB(t, env)
	serve := startProc(t, env, "serve")
	api := apiClient{t: t, base: serve.base, key: key}
	ids := []uuid.UUID{api.upload(file, "ivanova@example.ru"), api.upload(file, "ivanova@example.ru"), api.upload(file, "ivanova@example.ru")}
	eventually.True(t, time.Minute, "all three calls processing", func() bool {
		for _, id := range ids {
			if readCall(t, db, id).status != "processing" {
				return false
			}
		}
		return true
	})

	took := serve.terminate(timeout + 30*time.Second)
	t.Logf("serve exited %s after SIGTERM", took.Round(time.Millisecond))
	if took > timeout {
		t.Errorf("serve took %s to exit; want within CALLSCRIBE_SHUTDOWN_TIMEOUT (%s)", took, timeout)
	}
	for i, id := range ids {
		if c := readCall(t, db, id); c.status != "completed" || !c.confirmed {
			t.Errorf("call %d after SIGTERM: %s (code %q, receipt %v); want completed with its receipt", i+1, c.status, c.code, c.confirmed)
		}
	}
}

// TestShutdownCancelsPastTheTimeout: past CALLSCRIBE_SHUTDOWN_TIMEOUT the call still
// being recognised is cancelled, not finished: serve exits soon after the timeout (and
// not before it: the call was given the whole timeout), the call's job waits for another
// attempt, and the call shows queued again. With the memory stage its audio died with
// the process, so the next serve marks it failed with its receipt, as README says.
func TestShutdownCancelsPastTheTimeout(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	key := setUpOrg(t, env, "ivanova@example.ru")
	const timeout = 3 * time.Second
	env = append(env, "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0", "CALLSCRIBE_LOG_LEVEL=info",
		"CALLSCRIBE_SHUTDOWN_TIMEOUT="+timeout.String())
	file := longCall(t)
	db := openDB(t, env)
	serve := startProc(t, env, "serve")
	api := apiClient{t: t, base: serve.base, key: key}
	id := api.upload(file, "ivanova@example.ru")
	eventually.True(t, time.Minute, "the call processing", func() bool { return readCall(t, db, id).status == "processing" })

	took := serve.terminate(timeout + 30*time.Second)
	t.Logf("serve exited %s after SIGTERM (shutdown timeout %s)", took.Round(time.Millisecond), timeout)
	if took < timeout {
		t.Errorf("serve exited %s after SIGTERM; want the running call given the whole %s first", took, timeout)
	}
	if took > timeout+20*time.Second {
		t.Errorf("serve exited %s after SIGTERM; want soon after the %s timeout", took, timeout)
	}
	if c := readCall(t, db, id); c.status != "staged" || c.confirmed {
		t.Fatalf("the call after a cancelled shutdown: %s (receipt %v); want staged (queued) for another attempt", c.status, c.confirmed)
	}
	var state string
	var attempt int
	if err := db.Pool().QueryRow(callscribe.AsSystem(context.Background()),
		`SELECT state::text, attempt FROM river_job WHERE kind = 'transcribe_call' AND args->>'call_id' = $1`, id.String()).Scan(&state, &attempt); err != nil {
		t.Fatal(err)
	}
	if state != "retryable" && state != "available" || attempt != 1 {
		t.Errorf("the call's job after a cancelled shutdown: %s after %d attempts; want retryable after 1", state, attempt)
	}

	serve = startProc(t, env, "serve")
	c := readCall(t, db, id)
	if c.status != "failed" || c.code != callscribe.EUNAVAILABLE || !c.confirmed {
		t.Errorf("the call after serve started again: %s (code %q, receipt %v); want failed, %s, with its receipt", c.status, c.code, c.confirmed, callscribe.EUNAVAILABLE)
	}
	serve.terminate(time.Minute)
}
