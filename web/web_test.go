package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/asr"
	"callscribe/asr/sphinx"
	"callscribe/audio"
	"callscribe/internal/eventually"
	"callscribe/internal/logbuf"
	"callscribe/pipeline"
	"callscribe/privacy"
	"callscribe/storage/memory"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
	"callscribe/summarize/extractive"
	"callscribe/web"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, postgres.Migrate)) }

var recognizer = sync.OnceValues(func() (*sphinx.Recognizer, error) { return sphinx.New(sphinx.Config{}) })

type options struct {
	work        bool            // run the queue's worker
	transcriber asr.Transcriber // default: PocketSphinx
	maxBytes    int64
	maxDuration time.Duration
	maxAttempts int
	fetcher     web.Fetcher             // pull mode; nil: off
	stageBytes  int64                   // the memory stage's limit; 0: none
	idle        time.Duration           // the upload idle timeout; 0: the default
	retryPolicy river.ClientRetryPolicy // when a failed attempt is tried again; nil: River's
}

// harness is one test's service: a fresh database, a memory stage, the pipeline, River
// and the HTTP API on a local server, wired as `callscribe serve` wires them.
type harness struct {
	t      *testing.T
	url    string // the test's database
	db     *postgres.DB
	eraser *privacy.Eraser // what the erasure queue's worker runs
	stage  *memory.Stage
	queue  *river.Client[pgx.Tx]
	server *httptest.Server
	api    *web.Server
	logs   *logbuf.Buffer
}

func newHarness(t *testing.T, o options) *harness {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	url := pgtest.DB(t)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if o.transcriber == nil {
		r, err := recognizer()
		if err != nil {
			t.Fatal(err)
		}
		o.transcriber = r
	}
	if o.maxAttempts == 0 {
		o.maxAttempts = 5
	}
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	stage := memory.New(o.stageBytes)
	queued := &postgres.Queued{DB: db, MaxAttempts: o.maxAttempts}
	p := pipeline.New(pipeline.Config{
		Store: queued, Service: queued, Watcher: db, Stage: stage, Decode: decode, DecodeRaw: decodeRaw, Transcriber: o.transcriber,
		Logger: log, ConsentPoll: 50 * time.Millisecond, MaxBytes: o.maxBytes, MaxDuration: o.maxDuration,
	})
	hasher, err := privacy.NewSubjectHasher([]byte("web test ledger key, 32 bytes or more"))
	if err != nil {
		t.Fatal(err)
	}
	eraser := &privacy.Eraser{Store: db, Hasher: hasher, Ledger: &privacy.LedgerFile{Path: filepath.Join(t.TempDir(), "ledger.jsonl")}}
	workers := river.NewWorkers()
	river.AddWorker(workers, &pipeline.Worker{Pipeline: p})
	river.AddWorker(workers, &privacy.EraseWorker{Requests: db, Eraser: eraser, Logger: log})
	rcfg := &river.Config{Workers: workers, Logger: log, MaxAttempts: o.maxAttempts,
		FetchPollInterval: 100 * time.Millisecond, FetchCooldown: 50 * time.Millisecond,
		JobTimeout: 5 * time.Minute, RescueStuckJobsAfter: 10 * time.Minute, RetryPolicy: o.retryPolicy}
	if o.work {
		rcfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}, callscribe.EraseQueue: {MaxWorkers: 1}}
	}
	client, err := river.NewClient(riverpgxv5.New(db.Pool()), rcfg)
	if err != nil {
		t.Fatal(err)
	}
	queued.Jobs = client
	if o.work {
		if err := client.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stop, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			client.Stop(stop)
		})
	}
	api := web.New(web.Config{Store: db, Ingester: p, Stage: stage, Fetcher: o.fetcher, MaxBodyBytes: 64 << 20, Logger: log,
		UploadIdleTimeout: o.idle,
		Consents:          &privacy.Consents{Store: db, PolicyVersion: "1", Audit: &privacy.Audit{}, AuditLog: db},
		Requests:          &privacy.Requests{Store: queued, Eraser: eraser},
		Exporter:          &privacy.Exporter{Store: db},
		Editor: &privacy.Corrections{Store: db, Logger: log, Summarize: func(ctx context.Context, segs []callscribe.Segment) (callscribe.Summary, error) {
			s, err := extractive.New(extractive.Config{}).Summarize(ctx, pipeline.Turns(segs))
			return callscribe.Summary{Engine: s.Engine, Text: s.Text}, err
		}},
		AuditLog: db,
	})
	// The server `callscribe serve` runs: its limits and timeouts are part of what is tested.
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = api.HTTPServer()
	srv.Listener = web.Listener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	return &harness{t: t, url: url, db: db, eraser: eraser, stage: stage, queue: client, server: srv, api: api, logs: logs}
}

func decode(ctx context.Context, r io.Reader, ch int) (int, io.ReadCloser, error) {
	d, err := audio.Open(r)
	if err != nil {
		return 0, nil, err
	}
	return d.Format().Channels, audio.Channel(ctx, d, ch, asr.SampleRate), nil
}

func decodeRaw(ctx context.Context, r io.Reader, f callscribe.RawFormat, ch int) (int, io.ReadCloser, error) {
	d, err := audio.OpenRaw(r, audio.RawFormat{Encoding: f.Encoding, SampleRate: f.SampleRate, Channels: f.Channels})
	if err != nil {
		return 0, nil, err
	}
	return d.Format().Channels, audio.Channel(ctx, d, ch, asr.SampleRate), nil
}

// org creates an organization and returns its id and a fresh API key.
func (h *harness) org(name string) (uuid.UUID, string) {
	h.t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	id, err := h.db.EnsureOrganization(ctx, name)
	if err != nil {
		h.t.Fatal(err)
	}
	_, token, err := h.db.CreateAPIKey(ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return id, token
}

func (h *harness) user(orgID uuid.UUID, email string, consent bool) callscribe.User {
	h.t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	u, err := h.db.CreateUser(ctx, callscribe.User{OrgID: orgID, Email: email, Surname: "Ivanova", FirstName: "Anna", Phone: "+79161234567"})
	if err != nil {
		h.t.Fatal(err)
	}
	if consent {
		if _, err := h.db.GrantConsent(ctx, u.ID, callscribe.PurposeTranscription, "1", callscribe.ConsentViaAPI, time.Now()); err != nil {
			h.t.Fatal(err)
		}
	}
	return u
}

type reply struct {
	status int
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.status, err, r.body)
	}
	return m
}

func (r reply) errorCode(t *testing.T) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (h *harness) do(method, path, key, contentType string, body io.Reader) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.server.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return reply{resp.StatusCode, b}
}

func (h *harness) get(path, key string) reply { return h.do("GET", path, key, "", nil) }

// waitEnded polls a call until it reaches a final status.
func (h *harness) waitEnded(key, id string) map[string]any {
	h.t.Helper()
	return eventually.Value(h.t, 3*time.Minute, "end of call "+id, func() (map[string]any, bool) {
		r := h.get("/v1/calls/"+id, key)
		if r.status != http.StatusOK {
			h.t.Fatalf("GET call: %d %s", r.status, r.body)
		}
		c := r.json(h.t)
		switch c["status"] {
		case "completed", "failed", "discarded":
			return c, true
		}
		return nil, false
	})
}

// waitReceipt polls an ended call until its audio's deletion is confirmed: a call shows
// its final status as soon as it is stored, and the deletion follows.
func (h *harness) waitReceipt(key, id string) map[string]any {
	h.t.Helper()
	return eventually.Value(h.t, 30*time.Second, "confirmed deletion of call "+id, func() (map[string]any, bool) {
		c := h.get("/v1/calls/"+id, key).json(h.t)
		rc, _ := c["receipt"].(map[string]any)
		return c, rc != nil && rc["confirmed_at"] != nil
	})
}

func (h *harness) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.db.Pool().QueryRow(callscribe.AsSystem(context.Background()), query, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) stageEmpty() {
	h.t.Helper()
	keys, _ := h.stage.Keys(callscribe.AsSystem(context.Background()))
	if len(keys) != 0 || h.stage.Bytes() != 0 {
		h.t.Errorf("stage holds %v (%d bytes); want nothing", keys, h.stage.Bytes())
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// wavHeader is a 16-bit PCM WAV header claiming dataBytes of data.
func wavHeader(rate, channels int, dataBytes uint32) []byte {
	return audio.WAVHeader(rate, channels, int64(dataBytes))
}

// silence is a valid mono WAV of n samples of near-silence.
func silence(n int) []byte {
	b := wavHeader(8000, 1, uint32(2*n))
	pcm := make([]byte, 2*n)
	for i := 0; i < n; i += 7 {
		pcm[2*i] = byte(i % 5)
	}
	return append(b, pcm...)
}

func multipartBody(t *testing.T, fields map[string]string, file []byte) (string, *bytes.Buffer) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", "call.wav")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	return mw.FormDataContentType(), &body
}

// unsized hides a reader's length, so the request is sent chunked.
type unsized struct{ r io.Reader }

func (u unsized) Read(p []byte) (int, error) { return u.r.Read(p) }

func ownerQuery(email string, extra ...string) string {
	return "/v1/calls?owner=" + strings.ReplaceAll(email, "+", "%2B") + strings.Join(extra, "")
}

var _ = fmt.Sprintf
