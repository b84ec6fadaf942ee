package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/internal/logbuf"
	"callscribe/internal/testcall"
)

// TestServeProcess runs `callscribe serve` as an operator does: keys and users from the
// CLI, an upload over HTTP, the transcript read back, the user's erasure request closed
// over HTTP and carried out by the serve process's own worker, then SIGTERM and a clean
// exit.
func TestServeProcess(t *testing.T) {
	t.Parallel()
	env := append(dbEnv(t), "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0", "CALLSCRIBE_LOG_LEVEL=info",
		"CALLSCRIBE_LEDGER_KEY="+strings.Repeat("k", 40), "CALLSCRIBE_DATA_DIR="+t.TempDir())
	mustRun(t, env, "users", "add", "--org", "acme", "--email", "ivanova@example.ru", "--phone", "+79161234567")
	mustRun(t, env, "consent", "grant", "--org", "acme", "--email", "ivanova@example.ru", "--purpose", "transcription")
	out := strings.Split(strings.TrimSpace(mustRun(t, env, "apikey", "create", "--org", "acme")), "\n")
	key := out[len(out)-1]
	if !strings.HasPrefix(key, "csk_") {
		t.Fatalf("apikey create's last line %q is not a key", key)
	}

	cmd := exec.Command(callscribeBinary(t), "serve")
	cmd.Env = processEnv(env)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("serve printed nothing; stderr:\n%s", stderr.String())
	}
	first := lines.Text()
	_, base, ok := strings.Cut(first, "listening on ")
	if !ok {
		t.Fatalf("serve's first line %q does not say where it listens", first)
	}
	base = strings.Fields(base)[0]
	rest := make(chan string, 1)
	go func() {
		var b strings.Builder
		for lines.Scan() {
			b.WriteString(lines.Text() + "\n")
		}
		rest <- b.String()
	}()

	call := func(method, path string, body io.Reader) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, body)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "audio/wav")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, _ := call("GET", "/readyz", nil); code != http.StatusOK {
		t.Errorf("/readyz: %d; want 200", code)
	}
	// The web app is served beside the API: the operator sets a user's password (on
	// standard input), and the user signs in with it.
	if r := runStdin(t, env, strings.NewReader("a long enough password\n"), "users", "password", "--org", "acme", "--verified", "ivanova@example.ru"); r.code != 0 || !strings.Contains(r.stdout, "email address verified") {
		t.Fatalf("users password: %d %s %s", r.code, r.stdout, r.stderr)
	}
	form := url.Values{"email": {"ivanova@example.ru"}, "password": {"a long enough password"}}
	signin, _ := http.NewRequest("POST", base+"/signin", strings.NewReader(form.Encode()))
	signin.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noFollow.Do(signin); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/profile" || len(resp.Cookies()) == 0 || resp.Cookies()[0].Name != "iq_session_id" {
			t.Errorf("sign in on serve's web app: %d to %q, cookies %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
		}
	}
	dir := t.TempDir()
	path, spoken := testcall.Stereo(t, dir, 0.6, testcall.Dialogue(testcall.Sentences[:2]...))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	code, body := call("POST", "/v1/calls?owner=ivanova@example.ru&external_id=e2e-1", f)
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %s; want 202", code, body)
	}
	var acc struct{ ID, StatusURL string }
	json.Unmarshal(body, &acc)
	var status struct {
		Status  string
		Receipt *struct {
			ConfirmedAt *time.Time `json:"confirmed_at"`
		}
	}
	eventually.True(t, 3*time.Minute, "the call ended with its deletion confirmed", func() bool {
		_, b := call("GET", "/v1/calls/"+acc.ID, nil)
		json.Unmarshal(b, &status)
		return status.Status != "queued" && status.Status != "processing" && status.Receipt != nil && status.Receipt.ConfirmedAt != nil
	})
	if status.Status != "completed" {
		t.Fatalf("call %s; want completed", status.Status)
	}
	code, txt := call("GET", "/v1/calls/"+acc.ID+"/transcript?format=txt", nil)
	if code != http.StatusOK || !strings.Contains(string(txt), "] ") {
		t.Errorf("transcript: %d %q", code, txt)
	}

	// Erasure over HTTP: the close takes the call out of reach at once, and the purge it
	// queued runs in this process's erasure queue, without waiting for retention.
	code, body = call("POST", "/v1/requests", strings.NewReader(`{"kind":"erasure","email":"ivanova@example.ru"}`))
	var req struct{ ID string }
	if err := json.Unmarshal(body, &req); err != nil || code != http.StatusCreated {
		t.Fatalf("erasure request: %d %s", code, body)
	}
	for _, step := range []string{"start", "close"} {
		if code, body := call("POST", "/v1/requests/"+req.ID+"/"+step, strings.NewReader(`{}`)); code != http.StatusOK {
			t.Fatalf("%s the erasure request: %d %s", step, code, body)
		}
	}
	if code, body := call("GET", "/v1/calls/"+acc.ID, nil); code != http.StatusNotFound || strings.Contains(string(body), "ivanova") {
		t.Errorf("the erased user's call right after the close: %d %s; want 404 naming no one", code, body)
	}
	dbURL := strings.TrimPrefix(env[0], "CALLSCRIBE_DATABASE_URL=")
	eventually.True(t, 10*time.Second, "erasure ledger entry written by serve's worker", func() bool {
		conn, err := pgx.Connect(context.Background(), dbURL)
		if err != nil {
			return false
		}
		defer conn.Close(context.Background())
		var n int
		conn.QueryRow(context.Background(), `SELECT count(*) FROM erasure_ledger WHERE request_id = $1`, req.ID).Scan(&n)
		return n == 1
	})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v; want exit 0\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not stop within 60 s of SIGTERM")
	}
	if tail := <-rest; !strings.Contains(tail, "stopped") {
		t.Errorf("serve's output after SIGTERM %q does not say it stopped", tail)
	}
	logs := stderr.String()
	for _, s := range append(spoken[0], spoken[1]...) {
		if strings.Contains(logs, s[:len(s)/2]) {
			t.Errorf("serve's logs hold transcript text %q", s[:len(s)/2])
		}
	}
	for _, pii := range []string{"ivanova@example.ru", "+79161234567"} {
		if strings.Contains(logs, pii) {
			t.Errorf("serve's logs hold %q", pii)
		}
	}
}

// TestWorkerNeedsAnObjectStore: the worker alone cannot read audio staged in another
// process's memory, and says so.
func TestWorkerNeedsAnObjectStore(t *testing.T) {
	t.Parallel()
	r := runCLI(t, dbEnv(t), "worker")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "CALLSCRIBE_S3_ENDPOINT") {
		t.Errorf("worker without an object store: exit %d, %q; want exit %d naming CALLSCRIBE_S3_ENDPOINT", r.code, r.stderr, exitBadInput)
	}
}

func TestServiceConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want string // in the error; "" for none
	}{
		{map[string]string{}, ""},
		{map[string]string{"CALLSCRIBE_WORKERS": "0"}, "CALLSCRIBE_WORKERS"},
		{map[string]string{"CALLSCRIBE_JOB_TIMEOUT": "20m"}, "CALLSCRIBE_JOB_RESCUE_AFTER"},
		{map[string]string{"CALLSCRIBE_JOB_TIMEOUT": "soon"}, "CALLSCRIBE_JOB_TIMEOUT"},
		{map[string]string{"CALLSCRIBE_MAX_CALL_DURATION": "-1h"}, "CALLSCRIBE_MAX_CALL_DURATION"},
		{map[string]string{"CALLSCRIBE_SERVE_WORKER": "false"}, "CALLSCRIBE_S3_ENDPOINT"},
		{map[string]string{"CALLSCRIBE_SERVE_WORKER": "false", "CALLSCRIBE_S3_ENDPOINT": "127.0.0.1:9000",
			"CALLSCRIBE_S3_ACCESS_KEY": "ak", "CALLSCRIBE_S3_SECRET_KEY": "sk", "CALLSCRIBE_S3_COUNTRY": "RU"}, ""},
		{map[string]string{"CALLSCRIBE_JOB_MAX_ATTEMPTS": "x"}, "CALLSCRIBE_JOB_MAX_ATTEMPTS"},
		{map[string]string{"CALLSCRIBE_SWEEP_EVERY": "0"}, "CALLSCRIBE_SWEEP_EVERY"},
		{map[string]string{"CALLSCRIBE_SWEEP_GRACE": "later"}, "CALLSCRIBE_SWEEP_GRACE"},
		{map[string]string{"CALLSCRIBE_SWEEP_EVERY": "2s", "CALLSCRIBE_SWEEP_GRACE": "1s"}, ""},
		{map[string]string{"CALLSCRIBE_UPLOAD_IDLE_TIMEOUT": "0"}, "CALLSCRIBE_UPLOAD_IDLE_TIMEOUT"},
		{map[string]string{"CALLSCRIBE_UPLOAD_IDLE_TIMEOUT": "2m"}, ""},
	} {
		_, err := loadConfig(testGetenv(tc.env))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v; want no error", tc.env, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v; want an error naming %s", tc.env, err, tc.want)
		}
	}
}

// TestServeRunsRetention: serve runs the retention job every CALLSCRIBE_RETENTION_EVERY,
// so an organization's retention period is kept without an operator running `retention
// run` (serve read the option and never ran the job before).
func TestServeRunsRetention(t *testing.T) {
	t.Parallel()
	env := append(dbEnv(t), "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0", "CALLSCRIBE_RETENTION_EVERY=1s",
		"CALLSCRIBE_LEDGER_KEY="+strings.Repeat("k", 40), "CALLSCRIBE_DATA_DIR="+t.TempDir())
	mustRun(t, env, "users", "add", "--org", "acme", "--email", "petrova@example.ru")
	mustRun(t, env, "consent", "grant", "--org", "acme", "--email", "petrova@example.ru", "--purpose", "transcription")
	path, _ := testcall.Stereo(t, t.TempDir(), 0.6, testcall.Dialogue(testcall.Sentences[:1]...))
	var out struct {
		CallID string `json:"call_id"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, env, "transcribe", "--org", "acme", "--owner", "petrova@example.ru", "--json", path)), &out); err != nil || out.CallID == "" {
		t.Fatalf("transcribe: %v %+v", err, out)
	}
	db := openDB(t, env)
	transcripts := func() int {
		var n int
		if err := db.Pool().QueryRow(callscribe.AsSystem(t.Context()), `SELECT count(*) FROM transcripts WHERE call_id = $1`, out.CallID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if transcripts() != 1 {
		t.Fatalf("the call has no transcript to purge")
	}
	mustRun(t, env, "org", "set", "--org", "acme", "--retention", "1s")
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan int, 1)
	vars := map[string]string{}
	for _, kv := range processEnv(env) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var stdout, stderr logbuf.Buffer
	go func() {
		served <- run(ctx, []string{"serve"}, func(k string) string { return vars[k] }, strings.NewReader(""), &stdout, &stderr)
	}()
	eventually.True(t, 30*time.Second, "serve's retention job purged the transcript", func() bool { return transcripts() == 0 })
	stop()
	if code := <-served; code != 0 {
		t.Errorf("serve exited %d\n%s", code, stderr.String())
	}
}

// TestServeAnswersMalformedRequestsInJSON: `callscribe serve` answers a request net/http
// refuses before any handler runs (here a Content-Length that is no number) in the API's
// JSON, as every other error, not in net/http's plain text.
func TestServeAnswersMalformedRequestsInJSON(t *testing.T) {
	t.Parallel()
	env := append(dbEnv(t), "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0", "CALLSCRIBE_DATA_DIR="+t.TempDir())
	vars := map[string]string{}
	for _, kv := range processEnv(env) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan int, 1)
	var stdout, stderr logbuf.Buffer
	go func() {
		served <- run(ctx, []string{"serve"}, func(k string) string { return vars[k] }, strings.NewReader(""), &stdout, &stderr)
	}()
	defer func() {
		stop()
		if code := <-served; code != 0 {
			t.Errorf("serve exited %d\n%s", code, stderr.String())
		}
	}()
	addr := eventually.Value(t, 60*time.Second, "serve's address on its first line", func() (string, bool) {
		_, rest, ok := strings.Cut(stdout.String(), "listening on http://")
		if !ok {
			return "", false
		}
		return strings.Fields(rest)[0], true
	})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, "POST /v1/calls HTTP/1.1\r\nHost: callscribe\r\nContent-Length: 12abc\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a bad Content-Length: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code, Message string }
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &body); err != nil || resp.StatusCode != http.StatusBadRequest ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || body.Error.Code != callscribe.EINVALID {
		t.Errorf("bad Content-Length: %d %s %q; want 400 in JSON with code invalid", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}
