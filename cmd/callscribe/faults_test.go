package main

// Fault tests: the service's promises (every call ends, its audio deleted, the deletion
// confirmed and receipted, nothing stored twice) kept when its parts fail — a worker
// killed, the object store frozen, PostgreSQL restarted, the ASR endpoint failing. Each
// runs the built binary as processes against a real PostgreSQL, a real MinIO and the real
// PocketSphinx.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/internal/logbuf"
	"callscribe/internal/testcall"
	"callscribe/storage/postgres"
	"callscribe/storage/s3"
	"callscribe/storage/s3test"
)

// proc is a `callscribe serve` or `callscribe worker` process.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stderr *logbuf.Buffer
	exited chan struct{}
	base   string // serve: the API's base URL
}

// startProc starts the binary with args and waits for its first line (serve: where it
// listens; worker: that it works the queue). It is killed at cleanup if still running.
func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(callscribeBinary(t), args...)
	cmd.Env = processEnv(env)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: strings.Join(args, " "), cmd: cmd, stderr: &logbuf.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", p.name, lastLines(p.stderr.String(), 40))
		}
	})
	lines := bufio.NewScanner(stdout)
	first := make(chan string, 1)
	go func() {
		if lines.Scan() {
			first <- lines.Text()
		}
		close(first)
		for lines.Scan() {
		}
	}()
	select {
	case line, ok := <-first:
		if !ok {
			t.Fatalf("%s printed nothing; stderr:\n%s", p.name, p.stderr.String())
		}
		if _, rest, ok := strings.Cut(line, "listening on "); ok {
			p.base = strings.Fields(rest)[0]
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start within 60 s; stderr:\n%s", p.name, p.stderr.String())
	}
	return p
}

// kill ends the process with SIGKILL, as a crash or the OOM killer would: no cleanup.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop ends the process with SIGTERM and expects a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			p.t.Errorf("%s after SIGTERM: exit %d; want 0\n%s", p.name, code, lastLines(p.stderr.String(), 20))
		}
	case <-time.After(60 * time.Second):
		p.t.Errorf("%s did not stop within 60 s of SIGTERM", p.name)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// apiClient talks to a serve process with one organization's key.
type apiClient struct {
	t    *testing.T
	base string
	key  string
}

func (c apiClient) do(method, path, contentType string, body io.Reader) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// upload posts the file for owner and returns the new call's id.
func (c apiClient) upload(file, owner string) uuid.UUID {
	c.t.Helper()
	f, err := os.Open(file)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	code, body := c.do("POST", "/v1/calls?owner="+owner, "audio/wav", f)
	if code != http.StatusAccepted {
		c.t.Fatalf("upload %s: %d %s; want 202", filepath.Base(file), code, body)
	}
	var acc struct{ ID uuid.UUID }
	if err := json.Unmarshal(body, &acc); err != nil {
		c.t.Fatalf("upload answer %s: %v", body, err)
	}
	return acc.ID
}

type callState struct {
	Status string
	Error  *struct{ Code, Message string }
	// Receipt's confirmed_at is null while the audio is staged.
	Receipt *struct {
		Stage       string
		Bytes       int64
		ConfirmedAt *time.Time `json:"confirmed_at"`
	}
}

func (s callState) ended() bool {
	return s.Status != "queued" && s.Status != "processing" && s.Status != "staged" && s.Status != "received"
}

func (s callState) confirmed() bool { return s.Receipt != nil && s.Receipt.ConfirmedAt != nil }

func (c apiClient) call(id uuid.UUID) callState {
	c.t.Helper()
	s, err := c.tryCall(id)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// tryCall reads the call, reporting a failed request rather than failing the test.
func (c apiClient) tryCall(id uuid.UUID) (callState, error) {
	var s callState
	req, _ := http.NewRequest("GET", c.base+"/v1/calls/"+id.String(), nil)
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, fmt.Errorf("GET call %s: %w", id, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET call %s: %d %s", id, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return s, fmt.Errorf("GET call %s: %v in %s", id, err, body)
	}
	return s, nil
}

// waitEnded polls until every call has ended with its deletion confirmed in the receipt.
func (c apiClient) waitEnded(within time.Duration, ids ...uuid.UUID) map[uuid.UUID]callState {
	c.t.Helper()
	deadline := time.Now().Add(within)
	out := map[uuid.UUID]callState{}
	for _, id := range ids {
		// A request may fail while a dependency is down (503): look again.
		out[id] = eventually.Value(c.t, time.Until(deadline), fmt.Sprintf("end of call %s with its deletion confirmed", id), func() (callState, bool) {
			s, err := c.tryCall(id)
			return s, err == nil && s.ended() && s.confirmed()
		})
	}
	return out
}

// setUpOrg makes the organization acme, its users with consent to transcription, and an
// API key, through the CLI.
func setUpOrg(t *testing.T, env []string, emails ...string) string {
	t.Helper()
	for _, e := range emails {
		mustRun(t, env, "users", "add", "--org", "acme", "--email", e)
		mustRun(t, env, "consent", "grant", "--org", "acme", "--email", e, "--purpose", "transcription")
	}
	out := strings.Split(strings.TrimSpace(mustRun(t, env, "apikey", "create", "--org", "acme")), "\n")
	return out[len(out)-1]
}

// serverEnv is the environment that stages through the bucket of a private MinIO.
func serverEnv(srv *s3test.Server) []string {
	o := srv.Options
	return []string{
		"CALLSCRIBE_S3_ENDPOINT=" + o.Endpoint, "CALLSCRIBE_S3_ACCESS_KEY=" + o.AccessKey,
		"CALLSCRIBE_S3_SECRET_KEY=" + o.SecretKey, "CALLSCRIBE_S3_BUCKET=" + o.Bucket, "CALLSCRIBE_S3_COUNTRY=RU",
	}
}

// assertBucketEmpty checks behind the stage's back that nothing is left: no object, no
// version, no delete marker, no unfinished upload.
func assertBucketEmpty(t *testing.T, c *minio.Client, bucket string) {
	t.Helper()
	if v := s3test.Versions(t, c, bucket); len(v) != 0 {
		t.Errorf("bucket holds %d objects, versions or delete markers after the calls ended, want none: first %s (version %s, delete marker %v)",
			len(v), v[0].Key, v[0].VersionID, v[0].IsDeleteMarker)
	}
	res, err := minio.Core{Client: c}.ListMultipartUploads(callscribe.AsSystem(context.Background()), bucket, "", "", "", "", 1000)
	if err != nil || len(res.Uploads) != 0 {
		t.Errorf("unfinished uploads after the calls ended: %d, %v; want none", len(res.Uploads), err)
	}
}

// assertStoredOnce checks the database behind the API: exactly one transcript for each
// completed call and none for the others, segments without duplicates, every staging key
// erased, a receipt for every call.
func assertStoredOnce(t *testing.T, db *postgres.DB, states map[uuid.UUID]callState) {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	for id, s := range states {
		var transcripts, segments, ords, keys, receipts int
		err := db.Pool().QueryRow(ctx, `
			SELECT (SELECT count(*) FROM transcripts WHERE call_id = $1),
			       (SELECT count(*) FROM segments g JOIN transcripts t ON t.id = g.transcript_id WHERE t.call_id = $1),
			       (SELECT count(DISTINCT (g.transcript_id, g.ord)) FROM segments g JOIN transcripts t ON t.id = g.transcript_id WHERE t.call_id = $1),
			       (SELECT count(*) FROM call_stages WHERE call_id = $1 AND key IS NOT NULL),
			       (SELECT count(*) FROM audio_deletion_receipts WHERE call_id = $1)`, id).
			Scan(&transcripts, &segments, &ords, &keys, &receipts)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if s.Status == "completed" {
			want = 1
		}
		if transcripts != want {
			t.Errorf("call %s (%s): %d transcripts, want %d", id, s.Status, transcripts, want)
		}
		if s.Status == "completed" && segments == 0 {
			t.Errorf("call %s completed without segments", id)
		}
		if segments != ords {
			t.Errorf("call %s: %d segments but %d distinct; segments were stored twice", id, segments, ords)
		}
		if keys != 0 {
			t.Errorf("call %s ended with its staging key still recorded", id)
		}
		if receipts != 1 {
			t.Errorf("call %s: %d receipts, want 1", id, receipts)
		}
	}
}

// TestUploadToReceiptVersionedBucket: serve with the S3 stage on a bucket with
// versioning enabled (where a plain delete leaves the audio behind as a noncurrent
// version): upload, the transcript served by the API, the bucket empty of every version
// and marker, and the receipt with its confirmation.
func TestUploadToReceiptVersionedBucket(t *testing.T) {
	t.Parallel()
	s3vars, b := s3Env(t)
	env := append(dbEnv(t), s3vars...)
	ctx := callscribe.AsSystem(context.Background())
	if err := b.Client.MakeBucket(ctx, b.Options.Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Client.EnableVersioning(ctx, b.Options.Bucket); err != nil {
		t.Fatal(err)
	}
	key := setUpOrg(t, env, "ivanova@example.ru")
	env = append(env, "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0", "CALLSCRIBE_LOG_LEVEL=info")
	serve := startProc(t, env, "serve")
	api := apiClient{t: t, base: serve.base, key: key}

	file := testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[0])
	id := api.upload(file, "ivanova@example.ru")
	s := api.waitEnded(2*time.Minute, id)[id]
	raw, _ := os.ReadFile(file)
	if s.Status != "completed" || s.Receipt.Stage != "s3" || s.Receipt.Bytes != int64(len(raw)) {
		t.Fatalf("call = %s, receipt %+v; want completed, %d bytes from stage s3", s.Status, s.Receipt, len(raw))
	}
	code, body := api.do("GET", "/v1/calls/"+id.String()+"/transcript?format=json", "", nil)
	var tr struct{ Segments []struct{ Text string } }
	json.Unmarshal(body, &tr)
	if code != http.StatusOK || len(tr.Segments) == 0 {
		t.Errorf("transcript: %d %s; want 200 with segments", code, body)
	}
	assertBucketEmpty(t, b.Client, b.Options.Bucket)
	if !strings.Contains(serve.stderr.String(), "version") {
		t.Errorf("serve did not warn that the bucket is versioned; stderr:\n%s", serve.stderr.String())
	}
	assertStoredOnce(t, openDB(t, env), map[uuid.UUID]callState{id: s})
	serve.stop()
}

// TestWorkerKilled runs serve for ingestion only and the worker as its own process, and
// kills the worker with SIGKILL with three calls at three points of their journey:
//
//   - C: killed after its transcript was stored but before its audio was deleted. To
//     hold C there deterministically, the test holds its owner's row lock (the storing
//     transaction waits for it), freezes MinIO (SIGSTOP), lets the transaction commit,
//     and kills the worker while its deletion hangs on the frozen store;
//   - B: a longer call uploaded once C waits, killed while it is being recognised;
//   - A: accepted after the kill, while no worker runs.
//
// A new worker then finishes all three: A and B are transcribed (B after River rescues
// its job), C's audio is deleted by the sweeper. Every call ends completed with its
// audio deleted, confirmed and receipted, exactly one transcript each, no key left.
func TestWorkerKilled(t *testing.T) {
	t.Parallel()
	srv := s3test.StartServer(t)
	env := append(dbEnv(t), serverEnv(srv)...)
	key := setUpOrg(t, env, "ivanova@example.ru", "petrov@example.ru")
	// An attempt at the long call must end within the job timeout on a loaded machine
	// (two cores, every test of the package at once): a minute. The rescue waits for it.
	const jobTimeout, rescueAfter = 60, 61 // seconds
	env = append(env, "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0", "CALLSCRIBE_LOG_LEVEL=info",
		"CALLSCRIBE_WORKERS=2", fmt.Sprintf("CALLSCRIBE_JOB_TIMEOUT=%ds", jobTimeout), fmt.Sprintf("CALLSCRIBE_JOB_RESCUE_AFTER=%ds", rescueAfter),
		"CALLSCRIBE_SWEEP_EVERY=2s", "CALLSCRIBE_SWEEP_GRACE=1m")
	dir := t.TempDir()
	short := testcall.Speak(t, dir, testcall.Agent, testcall.Sentences[1])
	long := testcall.Mono(t, dir, testcall.Client, 0.4, testcall.Sentences[:3]...)

	ctx := callscribe.AsSystem(context.Background())
	db := openDB(t, env)
	// serve sweeps too; only at its start here, so that what the killed worker left is
	// seen before the new worker's sweeper finishes it.
	serve := startProc(t, append(env, "CALLSCRIBE_SERVE_WORKER=false", "CALLSCRIBE_SWEEP_EVERY=1h"), "serve")
	api := apiClient{t: t, base: serve.base, key: key}
	worker := startProc(t, env, "worker")

	// Hold petrov's row so that C's storing transaction (which takes it FOR SHARE) waits.
	// FOR NO KEY UPDATE does not block the key-share lock an upload's insert takes.
	hold, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx)
	if _, err := hold.Exec(ctx, `SELECT id FROM users WHERE email = 'petrov@example.ru' FOR NO KEY UPDATE`); err != nil {
		t.Fatal(err)
	}
	callC := api.upload(short, "petrov@example.ru")
	eventually.True(t, 90*time.Second, "C's storing transaction waiting on its owner's row", func() bool {
		var n int
		// Other sessions' query text is shown to their own user only, not to the app's role:
		// ask as the connecting user.
		admin, err := pgx.Connect(ctx, strings.TrimPrefix(env[0], "CALLSCRIBE_DATABASE_URL="))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR SHARE%'`).Scan(&n)
		return n > 0
	})
	// B starts now: its recognition takes seconds, the rest of C's journey milliseconds.
	callB := api.upload(long, "ivanova@example.ru")
	eventually.True(t, 30*time.Second, "B processing", func() bool { return api.call(callB).Status == "processing" })
	srv.Pause()
	if err := hold.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 30*time.Second, "C stored", func() bool {
		var status string
		db.Pool().QueryRow(ctx, `SELECT status FROM calls WHERE id = $1`, callC).Scan(&status)
		return status == "completed"
	})
	var bStatus string
	var bTranscripts int
	db.Pool().QueryRow(ctx, `SELECT status, (SELECT count(*) FROM transcripts WHERE call_id = $1) FROM calls WHERE id = $1`, callB).Scan(&bStatus, &bTranscripts)
	worker.kill()
	killed := time.Now()
	srv.Resume()
	if bStatus != "processing" || bTranscripts != 0 {
		t.Fatalf("B was %s with %d transcripts when the worker was killed; want processing with none", bStatus, bTranscripts)
	}

	// What the crash left: C stored, its key erased with the storing, its audio still
	// staged and no receipt; B live with its key recorded for the next worker.
	store, err := s3.New(srv.Options)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := store.Exists(ctx, "calls/"+callC.String()); err != nil || !ok {
		t.Fatalf("C's audio after the kill: exists %v, %v; want still staged (the kill came before its deletion)", ok, err)
	}
	assertKey(t, db, callC, false)
	assertKey(t, db, callB, true)
	if _, err := db.Receipt(ctx, callC); err == nil {
		t.Errorf("C has a receipt although its deletion never ran")
	}

	// A: accepted while no worker runs; its key is recorded so that any worker can read it.
	callA := api.upload(short, "ivanova@example.ru")
	assertKey(t, db, callA, true)

	// River rescues a job only once it is older than CALLSCRIBE_JOB_RESCUE_AFTER, and only
	// on the leader, whose lease the killed worker still holds for a few seconds. Start
	// the new worker when both have passed: its rescuer then runs at once, not 30 s later.
	eventually.True(t, 2*time.Minute, "B's attempt older than the rescue age and the dead leader's lease expired", func() bool {
		var ready bool
		db.Pool().QueryRow(ctx, `SELECT (SELECT attempted_at < now() - $2 * interval '1 second' FROM river_job WHERE kind = 'transcribe_call' AND args->>'call_id' = $1)
			AND NOT EXISTS (SELECT 1 FROM river_leader WHERE expires_at > now())`, callB.String(), rescueAfter).Scan(&ready)
		return ready
	})
	restarted := time.Now()
	worker = startProc(t, env, "worker")
	states := api.waitEnded(3*time.Minute, callA, callB, callC)
	t.Logf("all three calls ended %s after the worker restarted (%s after the kill)", time.Since(restarted).Round(time.Second), time.Since(killed).Round(time.Second))
	for name, id := range map[string]uuid.UUID{"A": callA, "B": callB, "C": callC} {
		if s := states[id]; s.Status != "completed" {
			t.Errorf("call %s ended %s (%+v); want completed", name, s.Status, s.Error)
		}
	}
	var attempts int
	db.Pool().QueryRow(ctx, `SELECT attempt FROM river_job WHERE kind = 'transcribe_call' AND args->>'call_id' = $1`, callB.String()).Scan(&attempts)
	if attempts < 2 {
		t.Errorf("B's job ran %d times; want a second attempt after the kill", attempts)
	}
	assertStoredOnce(t, db, states)
	b := s3test.NewClient(t, srv.Options)
	assertBucketEmpty(t, b, srv.Options.Bucket)
	worker.stop()
	serve.stop()
}

// assertKey checks whether the call's encryption key is recorded in its staging row.
func assertKey(t *testing.T, db *postgres.DB, callID uuid.UUID, want bool) {
	t.Helper()
	var n int
	if err := db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `SELECT coalesce(length(key), 0) FROM call_stages WHERE call_id = $1`, callID).Scan(&n); err != nil {
		t.Fatalf("staging of call %s: %v", callID, err)
	}
	switch {
	case want && n != 32:
		t.Errorf("call %s: staging key of %d bytes recorded, want the 32-byte key another process decrypts with", callID, n)
	case !want && n != 0:
		t.Errorf("call %s: its staging key is still recorded, want it erased", callID)
	}
}

// TestASRAlwaysFails: an OpenAI-compatible ASR endpoint that answers 500 to everything.
// The call is tried CALLSCRIBE_JOB_MAX_ATTEMPTS times, then ends failed with its audio
// deleted and confirmed and the receipt written; nothing is stored.
func TestASRAlwaysFails(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	asr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":{"message":"model crashed","type":"server_error"}}`)
	}))
	defer asr.Close()
	s3vars, b := s3Env(t)
	env := append(dbEnv(t), s3vars...)
	key := setUpOrg(t, env, "ivanova@example.ru")
	const attempts = 2
	env = append(env, "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0", "CALLSCRIBE_LOG_LEVEL=info",
		"CALLSCRIBE_ASR=openai", "CALLSCRIBE_OPENAI_BASE_URL="+asr.URL+"/v1", "CALLSCRIBE_ASR_COUNTRY=RU",
		fmt.Sprintf("CALLSCRIBE_JOB_MAX_ATTEMPTS=%d", attempts))
	serve := startProc(t, env, "serve")
	api := apiClient{t: t, base: serve.base, key: key}
	file := testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[2])
	id := api.upload(file, "ivanova@example.ru")
	s := api.waitEnded(90*time.Second, id)[id]
	if s.Status != "failed" || s.Error == nil {
		t.Errorf("call = %s, error %+v; want failed with the reason", s.Status, s.Error)
	}
	t.Logf("the ASR endpoint got %d requests", requests.Load())
	if n := requests.Load(); n < attempts {
		t.Errorf("the ASR endpoint got %d requests; want one per attempt, %d", n, attempts)
	}
	var attempted int
	db := openDB(t, env)
	db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `SELECT attempt FROM river_job WHERE kind = 'transcribe_call'`).Scan(&attempted)
	if attempted != attempts {
		t.Errorf("the call's job ran %d times; want %d (CALLSCRIBE_JOB_MAX_ATTEMPTS)", attempted, attempts)
	}
	assertStoredOnce(t, db, map[uuid.UUID]callState{id: s})
	assertBucketEmpty(t, b.Client, b.Options.Bucket)
	serve.stop()
}

// privatePostgres is a PostgreSQL server of the test's own (scripts/test-postgres.sh in a
// fresh directory), which it can restart; stopped and removed at cleanup.
type privatePostgres struct {
	t   *testing.T
	dir string
	URL string
}

func startPostgres(t *testing.T) *privatePostgres {
	t.Helper()
	dir, err := os.MkdirTemp("", "cs-pg-") // short: the unix socket path is limited
	if err != nil {
		t.Fatal(err)
	}
	p := &privatePostgres{t: t, dir: dir}
	t.Cleanup(func() {
		p.run("stop")
		os.RemoveAll(dir)
	})
	p.run("start")
	url, err := os.ReadFile(filepath.Join(dir, "url"))
	if err != nil {
		t.Fatal(err)
	}
	p.URL = strings.TrimSpace(string(url))
	return p
}

func (p *privatePostgres) run(action string) {
	p.t.Helper()
	script, err := filepath.Abs("../../scripts/test-postgres.sh")
	if err != nil {
		p.t.Fatal(err)
	}
	if out, err := exec.Command("sh", script, action, p.dir).CombinedOutput(); err != nil {
		p.t.Fatalf("test-postgres.sh %s: %v\n%s", action, err, out)
	}
}

// TestPostgresRestartedMidJob: PostgreSQL stops (fast shutdown: every connection cut)
// while a call is being recognised and comes back once the attempt has failed at the
// storing. The job is retried and the call ends completed, stored once, its audio
// deleted, confirmed and receipted.
func TestPostgresRestartedMidJob(t *testing.T) {
	t.Parallel()
	pg := startPostgres(t)
	s3vars, b := s3Env(t)
	env := append([]string{"CALLSCRIBE_DATABASE_URL=" + pg.URL, "TMPDIR=" + t.TempDir()}, s3vars...)
	key := setUpOrg(t, env, "ivanova@example.ru")
	env = append(env, "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0", "CALLSCRIBE_LOG_LEVEL=info",
		// Room for the retried attempt's recognition on a loaded machine; nothing waits for
		// the timeout here.
		"CALLSCRIBE_JOB_TIMEOUT=60s", "CALLSCRIBE_JOB_RESCUE_AFTER=61s", "CALLSCRIBE_SWEEP_EVERY=2s")
	serve := startProc(t, env, "serve")
	api := apiClient{t: t, base: serve.base, key: key}
	file := testcall.Speak(t, t.TempDir(), testcall.Client, testcall.Sentences[3])
	id := api.upload(file, "ivanova@example.ru")
	eventually.True(t, 30*time.Second, "the call processing", func() bool { return api.call(id).Status == "processing" })
	pg.run("stop")
	stopped := time.Now()
	// Recognition goes on without the database; the storing transaction meets the outage
	// and the attempt fails. PostgreSQL comes back once the worker has said so.
	eventually.True(t, time.Minute, "failed attempt in serve's log", func() bool {
		return strings.Contains(serve.stderr.String(), "call attempt failed")
	})
	pg.run("start")
	t.Logf("PostgreSQL was down %s", time.Since(stopped).Round(100*time.Millisecond))

	s := api.waitEnded(3*time.Minute, id)[id]
	t.Logf("the call ended %s after PostgreSQL stopped", time.Since(stopped).Round(time.Second))
	if s.Status != "completed" {
		t.Errorf("call ended %s (%+v); want completed", s.Status, s.Error)
	}
	db := openDB(t, env)
	var attempts int
	db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `SELECT attempt FROM river_job WHERE kind = 'transcribe_call'`).Scan(&attempts)
	if attempts < 2 {
		t.Errorf("the call's job ran %d times; want another attempt after the one that met the outage", attempts)
	}
	assertStoredOnce(t, db, map[uuid.UUID]callState{id: s})
	assertBucketEmpty(t, b.Client, b.Options.Bucket)
	serve.stop()
}

// TestWorkerKilledOnLastAttempt: the worker dies during a call's last attempt. River's
// rescuer then discards the job rather than retrying it, so no attempt will ever end
// the call: the sweeper must. The call ends failed, its audio deleted, confirmed and
// receipted, its key erased.
func TestWorkerKilledOnLastAttempt(t *testing.T) {
	t.Parallel()
	s3vars, b := s3Env(t)
	env := append(dbEnv(t), s3vars...)
	key := setUpOrg(t, env, "ivanova@example.ru")
	env = append(env, "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0", "CALLSCRIBE_LOG_LEVEL=info", "CALLSCRIBE_JOB_MAX_ATTEMPTS=1",
		"CALLSCRIBE_JOB_TIMEOUT=15s", "CALLSCRIBE_JOB_RESCUE_AFTER=16s", "CALLSCRIBE_SWEEP_EVERY=1s")
	ctx := callscribe.AsSystem(context.Background())
	db := openDB(t, env)
	serve := startProc(t, append(env, "CALLSCRIBE_SERVE_WORKER=false"), "serve")
	api := apiClient{t: t, base: serve.base, key: key}
	worker := startProc(t, env, "worker")
	file := testcall.Mono(t, t.TempDir(), testcall.Client, 0.4, testcall.Sentences[:3]...)
	id := api.upload(file, "ivanova@example.ru")
	eventually.True(t, 30*time.Second, "the call processing", func() bool { return api.call(id).Status == "processing" })
	worker.kill()
	if s := api.call(id); s.Status != "processing" {
		t.Fatalf("the call was %s when the worker was killed; want processing", s.Status)
	}
	eventually.True(t, time.Minute, "the attempt older than the rescue age and the dead leader's lease expired", func() bool {
		var ready bool
		db.Pool().QueryRow(ctx, `SELECT (SELECT attempted_at < now() - interval '16 s' FROM river_job WHERE kind = 'transcribe_call')
			AND NOT EXISTS (SELECT 1 FROM river_leader WHERE expires_at > now())`).Scan(&ready)
		return ready
	})
	worker = startProc(t, env, "worker")
	s := api.waitEnded(time.Minute, id)[id]
	if s.Status != "failed" || s.Error == nil {
		t.Errorf("call = %s, error %+v; want failed with the reason", s.Status, s.Error)
	}
	assertStoredOnce(t, db, map[uuid.UUID]callState{id: s})
	assertBucketEmpty(t, b.Client, b.Options.Bucket)
	worker.stop()
	serve.stop()
}
