package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/internal/logbuf"
	"callscribe/internal/safehttp"
	"callscribe/privacy/residency"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, func(ctx context.Context, url string) error {
		if err := postgres.Migrate(ctx, url); err != nil {
			return err
		}
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			return err
		}
		defer pool.Close()
		mig, err := rivermigrate.New(riverpgxv5.New(pool), nil)
		if err != nil {
			return err
		}
		_, err = mig.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	}))
}

// env is one test's database, with webhooks allowed to reach loopback receivers.
type env struct {
	db  *postgres.DB
	w   *Webhooks
	cfg Config
}

func newEnv(t *testing.T, mod ...func(*Config)) *env {
	t.Helper()
	db, err := postgres.Open(callscribe.AsSystem(context.Background()), pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	allowed, _ := residency.ParseAllowed("CALLSCRIBE_ALLOWED_COUNTRIES", "RU")
	policy, _ := safehttp.ParsePolicy("CALLSCRIBE_WEBHOOK_ALLOW", "127.0.0.1")
	cfg := Config{Allowed: allowed, Policy: policy, Timeout: 2 * time.Second, MaxAttempts: 4,
		Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Jitter: func() float64 { return 0.5 }}
	for _, f := range mod {
		f(&cfg)
	}
	return &env{db: db, w: New(db, cfg), cfg: cfg}
}

// call records an ended call of a new user of org, whose phone number and transcript
// text are in the database as they would be.
func (e *env) call(t *testing.T, org string, status callscribe.CallStatus) uuid.UUID {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	orgID, err := e.db.EnsureOrganization(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.db.CreateUser(ctx, callscribe.User{OrgID: orgID, Email: uuid.NewString() + "@example.ru", Phone: "+79031234567"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.db.CreateCall(ctx, orgID, u.ID, []string{"agent", "client"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool().Exec(ctx, `UPDATE calls SET status = $2 WHERE id = $1`, id, string(status)); err != nil {
		t.Fatal(err)
	}
	if status == callscribe.CallCompleted {
		if _, err := e.db.Pool().Exec(ctx, `INSERT INTO transcripts (call_id, engine, text) VALUES ($1, 'test', $2)`, id, secretWords); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

const secretWords = "my card number is four two four two"

// receiver is an organization's webhook endpoint: it answers with the statuses it is
// given, in turn (then 200), and keeps what it received.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	answers  []int
	requests []received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	r := &receiver{answers: answers}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, received{req.Header.Clone(), body})
		status := http.StatusOK
		if len(r.answers) > 0 {
			status, r.answers = r.answers[0], r.answers[1:]
		}
		r.mu.Unlock()
		if status == -1 { // a network failure: the connection drops without an answer
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

// jobs runs a River client with the deliver_webhook worker until the test ends.
func (e *env) jobs(t *testing.T) *river.Client[pgx.Tx] {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, NewWorker(e.w))
	c, err := river.NewClient(riverpgxv5.New(e.db.Pool()), &river.Config{
		Queues:            map[string]river.QueueConfig{Queue: {MaxWorkers: 2}},
		Workers:           workers,
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(callscribe.AsSystem(context.Background())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(callscribe.AsSystem(context.Background()), 10*time.Second)
		defer cancel()
		c.Stop(ctx)
	})
	return c
}

// settled waits until every delivery of the call is delivered or failed.
func (e *env) settled(t *testing.T, callID uuid.UUID, want int) []Delivery {
	t.Helper()
	var ds []Delivery
	defer func() {
		if t.Failed() {
			t.Logf("deliveries of call %s last seen: %v", callID, ds)
		}
	}()
	eventually.True(t, 30*time.Second, fmt.Sprintf("%d settled deliveries of call %s", want, callID), func() bool {
		var err error
		if ds, err = e.w.Deliveries(callscribe.AsSystem(context.Background()), callID); err != nil {
			t.Fatal(err)
		}
		done := len(ds) == want
		for _, d := range ds {
			done = done && d.State() != "pending"
		}
		return done
	})
	return ds
}

func (e *env) add(t *testing.T, org, url string, events ...Event) Endpoint {
	t.Helper()
	if _, err := e.db.EnsureOrganization(callscribe.AsSystem(context.Background()), org); err != nil {
		t.Fatal(err)
	}
	ep, err := e.w.Add(callscribe.AsSystem(context.Background()), org, url, "RU", events)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestDeliveredSignedWithRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t, http.StatusInternalServerError, -1) // then 200
	ep := e.add(t, "acme", rcv.URL+"/hooks")
	n := newNotifier(e.db.Pool(), e.jobs(t))
	call := e.call(t, "acme", callscribe.CallCompleted)
	// The telephony system's id of the call.
	if _, err := e.db.Pool().Exec(callscribe.AsSystem(context.Background()),
		`UPDATE calls SET external_id = 'CA42' WHERE id = $1`, call); err != nil {
		t.Fatal(err)
	}
	if err := notify(n, callscribe.AsSystem(context.Background()), call); err != nil {
		t.Fatal(err)
	}
	ds := e.settled(t, call, 1)
	if d := ds[0]; d.State() != "delivered" || d.Attempts != 3 || d.EndpointID != ep.ID || d.Event != CallCompleted {
		t.Fatalf("delivery = %+v, want delivered to %s on the third attempt (500, dropped connection, 200)", d, ep.ID)
	}
	got := rcv.got()
	if len(got) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(got))
	}
	for i, r := range got {
		if id := r.header.Get(DeliveryHeader); id != ds[0].ID.String() {
			t.Errorf("request %d: %s = %q, want the delivery id %s on every attempt", i, DeliveryHeader, id, ds[0].ID)
		}
		if ev := r.header.Get(EventHeader); ev != "call.completed" {
			t.Errorf("request %d: %s = %q", i, EventHeader, ev)
		}
		if err := Verify(ep.Secret, r.header.Get(SignatureHeader), r.body, time.Minute); err != nil {
			t.Errorf("request %d: signature does not verify with the endpoint's secret: %v", i, err)
		}
		if string(r.body) != string(got[0].body) {
			t.Errorf("request %d body differs from the first: %s vs %s", i, r.body, got[0].body)
		}
	}
	var p Payload
	if err := json.Unmarshal(got[2].body, &p); err != nil {
		t.Fatal(err)
	}
	org, _ := e.db.EnsureOrganization(callscribe.AsSystem(context.Background()), "acme")
	want := Payload{ID: ds[0].ID, Event: CallCompleted, CreatedAt: p.CreatedAt,
		Data: Data{CallID: call, ExternalID: "CA42", Status: "completed", OrganizationID: org}}
	if p != want || p.CreatedAt.IsZero() {
		t.Errorf("payload = %+v, want %+v", p, want)
	}
}

func TestPayloadCarriesIDsOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	e.add(t, "acme", rcv.URL)
	n := newNotifier(e.db.Pool(), e.jobs(t))
	call := e.call(t, "acme", callscribe.CallCompleted)
	if err := notify(n, callscribe.AsSystem(context.Background()), call); err != nil {
		t.Fatal(err)
	}
	e.settled(t, call, 1)
	got := rcv.got()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	body := string(got[0].body)
	for _, leak := range []string{"card", "four two", "+7903", "79031234567", "@example.ru"} {
		if strings.Contains(body, leak) {
			t.Errorf("payload carries %q: %s", leak, body)
		}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(got[0].body, &top); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"created_at", "data", "event", "id"}) {
		t.Errorf("payload keys = %v", keys)
	}
	var data map[string]any
	json.Unmarshal(top["data"], &data)
	keys = keys[:0]
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"call_id", "organization_id", "status"}) {
		t.Errorf("data keys = %v, want ids and the status only (no external_id when none was given)", keys)
	}
}

// endingJob stands for the pipeline's job: it ends a call and notifies with no job
// client of its own, the one running it being in its context.
type endingJob struct {
	river.WorkerDefaults[endingArgs]
	n *poolNotifier
}

type endingArgs struct {
	CallID uuid.UUID `json:"call_id"`
}

func (endingArgs) Kind() string { return "test_end_call" }

func (j *endingJob) Work(ctx context.Context, job *river.Job[endingArgs]) error {
	return notify(j.n, ctx, job.Args.CallID)
}

func TestNotifyFromAJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	e.add(t, "acme", rcv.URL)
	workers := river.NewWorkers()
	river.AddWorker(workers, NewWorker(e.w))
	river.AddWorker(workers, &endingJob{n: newNotifier(e.db.Pool(), nil)})
	c, err := river.NewClient(riverpgxv5.New(e.db.Pool()), &river.Config{
		Queues:            map[string]river.QueueConfig{Queue: {MaxWorkers: 1}, river.QueueDefault: {MaxWorkers: 1}},
		Workers:           workers,
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(callscribe.AsSystem(context.Background())); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(callscribe.AsSystem(context.Background()))
	call := e.call(t, "acme", callscribe.CallDiscarded)
	if _, err := c.Insert(callscribe.AsSystem(context.Background()), endingArgs{CallID: call}, nil); err != nil {
		t.Fatal(err)
	}
	if d := e.settled(t, call, 1)[0]; d.State() != "delivered" || len(rcv.got()) != 1 {
		t.Errorf("delivery = %+v, %d requests; want delivered once", d, len(rcv.got()))
	}
	// Outside a job, with no client given, the notifier says so.
	other := e.call(t, "acme", callscribe.CallFailed)
	if err := notify(newNotifier(e.db.Pool(), nil), callscribe.AsSystem(context.Background()), other); err == nil || !strings.Contains(err.Error(), "no job client") {
		t.Errorf("notify outside a job without a client: %v", err)
	}
	if ds, _ := e.w.Deliveries(callscribe.AsSystem(context.Background()), other); len(ds) != 0 {
		t.Errorf("%d deliveries recorded although none could be enqueued", len(ds))
	}
}

func TestOtherOrganizationNeverReceives(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ours, theirs, failedOnly := newReceiver(t), newReceiver(t), newReceiver(t)
	e.add(t, "acme", ours.URL)
	e.add(t, "acme", failedOnly.URL, CallFailed)
	e.add(t, "globex", theirs.URL)
	n := newNotifier(e.db.Pool(), e.jobs(t))
	completed := e.call(t, "acme", callscribe.CallCompleted)
	discarded := e.call(t, "acme", callscribe.CallDiscarded)
	for _, c := range []uuid.UUID{completed, discarded} {
		if err := notify(n, callscribe.AsSystem(context.Background()), c); err != nil {
			t.Fatal(err)
		}
	}
	e.settled(t, completed, 1)
	e.settled(t, discarded, 1)
	// A delivery to globex would have been recorded in the same transaction.
	if got := theirs.got(); len(got) != 0 {
		t.Errorf("another organization's endpoint received %d deliveries", len(got))
	}
	if got := failedOnly.got(); len(got) != 0 {
		t.Errorf("an endpoint subscribed to call.failed only received %d deliveries", len(got))
	}
	got := ours.got()
	var events []string
	for _, r := range got {
		events = append(events, r.header.Get(EventHeader))
	}
	slices.Sort(events)
	if !slices.Equal(events, []string{"call.completed", "call.discarded"}) {
		t.Errorf("events received = %v, want call.completed and call.discarded", events)
	}
}

// manual records a delivery without running it, for tests that drive Deliver.
type manual struct{ args []DeliverArgs }

func (m *manual) InsertTx(_ context.Context, _ pgx.Tx, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	m.args = append(m.args, args.(DeliverArgs))
	return nil, nil
}

func TestRetryRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		answers     []int
		url         string // instead of the receiver's
		wantState   string
		wantRetryIn time.Duration
		wantReason  string
		noAllow     bool // no allow list: loopback is off limits
	}{
		{"delivered", []int{204}, "", "delivered", 0, "", false},
		{"bad request: not retried", []int{400}, "", "failed", 0, "400 Bad Request", false},
		{"gone: not retried", []int{410}, "", "failed", 0, "410 Gone", false},
		{"redirect: not followed", []int{302}, "", "failed", 0, "redirects are not followed", false},
		{"server error: retried", []int{503}, "", "retry", 20 * time.Millisecond * 3 / 4, "503", false},
		{"timeout status: retried", []int{408}, "", "retry", 15 * time.Millisecond, "408", false},
		{"too many requests: Retry-After", []int{429}, "", "retry", 7 * time.Second, "429", false},
		{"connection dropped: retried", []int{-1}, "", "retry", 15 * time.Millisecond, "EOF", false},
		{"nobody listening: retried", nil, "http://127.0.0.1:1/hook", "retry", 15 * time.Millisecond, "refused", false},
		{"inside address: refused, not retried", nil, "http://localhost:1/hook", "failed", 0, "loopback", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) {
				if tt.noAllow {
					c.Policy = safehttp.Policy{Variable: "CALLSCRIBE_WEBHOOK_ALLOW"}
				}
			})
			rcv := newReceiver(t, tt.answers...)
			url := rcv.URL
			if tt.url != "" {
				url = tt.url
			}
			e.add(t, "acme", url)
			jobs := &manual{}
			call := e.call(t, "acme", callscribe.CallFailed)
			if err := notify(newNotifier(e.db.Pool(), jobs), callscribe.AsSystem(context.Background()), call); err != nil {
				t.Fatal(err)
			}
			if len(jobs.args) != 1 {
				t.Fatalf("%d jobs enqueued, want 1", len(jobs.args))
			}
			out, err := e.w.Deliver(callscribe.AsSystem(context.Background()), jobs.args[0].DeliveryID)
			if err != nil {
				t.Fatal(err)
			}
			if out.State != tt.wantState || out.RetryIn != tt.wantRetryIn {
				t.Errorf("outcome = %+v, want state %s, retry in %s", out, tt.wantState, tt.wantRetryIn)
			}
			ds, _ := e.w.Deliveries(callscribe.AsSystem(context.Background()), call)
			if d := ds[0]; d.Attempts != 1 || d.State() != map[string]string{"retry": "pending"}[tt.wantState]+map[string]string{"delivered": "delivered", "failed": "failed"}[tt.wantState] || !strings.Contains(d.LastError, tt.wantReason) {
				t.Errorf("delivery = %+v, want 1 attempt, last error mentioning %q", d, tt.wantReason)
			}
			if tt.wantState != "retry" {
				// Finished: running the job again sends nothing.
				before := len(rcv.got())
				if out, _ := e.w.Deliver(callscribe.AsSystem(context.Background()), jobs.args[0].DeliveryID); out.State != "gone" || len(rcv.got()) != before {
					t.Errorf("a finished delivery was attempted again: %+v", out)
				}
			}
		})
	}
}

func TestGivesUp(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	e := newEnv(t, func(c *Config) {
		c.Observe = func(o Outcome) {
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%s %s %d", o.Event, o.State, o.Status))
			mu.Unlock()
		}
	})
	rcv := newReceiver(t, 500, 500, 500, 500, 500)
	e.add(t, "acme", rcv.URL)
	n := newNotifier(e.db.Pool(), e.jobs(t))
	call := e.call(t, "acme", callscribe.CallCompleted)
	if err := notify(n, callscribe.AsSystem(context.Background()), call); err != nil {
		t.Fatal(err)
	}
	d := e.settled(t, call, 1)[0]
	if d.State() != "failed" || d.Attempts != e.cfg.MaxAttempts || !strings.Contains(d.LastError, "gave up after 4 attempts") {
		t.Errorf("delivery = %+v, want failed after %d attempts", d, e.cfg.MaxAttempts)
	}
	if got := len(rcv.got()); got != e.cfg.MaxAttempts {
		t.Errorf("receiver got %d requests, want %d", got, e.cfg.MaxAttempts)
	}
	// The outcome is observed after the delivery's state is committed: wait for the last.
	eventually.True(t, 10*time.Second, "the last attempt observed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= 4
	})
	mu.Lock()
	defer mu.Unlock()
	want := []string{"call.completed retry 500", "call.completed retry 500", "call.completed retry 500", "call.completed failed 500"}
	if !slices.Equal(seen, want) {
		t.Errorf("observed %q, want %q (for metrics)", seen, want)
	}
}

func TestResidencyAndRemoval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.db.EnsureOrganization(callscribe.AsSystem(context.Background()), "acme"); err != nil {
		t.Fatal(err)
	}
	_, err := e.w.Add(callscribe.AsSystem(context.Background()), "acme", "https://hooks.example.com/x", "US", nil)
	if callscribe.ErrorCode(err) != callscribe.EINVALID || !strings.Contains(err.Error(), "country=US") || !strings.Contains(err.Error(), "CALLSCRIBE_ALLOWED_COUNTRIES (RU)") {
		t.Errorf("add an endpoint in the US: %v, want a refusal naming the country and the allowed list", err)
	}
	for _, bad := range []struct{ url, country, want string }{
		{"ftp://hooks.example.ru/x", "RU", "http"},
		{"http://10.1.2.3/x", "RU", "private"},
		{"http://169.254.169.254/x", "RU", "link-local"},
		{"https://hooks.example.ru/x", "Russia", "country"},
	} {
		if _, err := e.w.Add(callscribe.AsSystem(context.Background()), "acme", bad.url, bad.country, nil); callscribe.ErrorCode(err) != callscribe.EINVALID || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("add %s (%s): %v, want EINVALID mentioning %q", bad.url, bad.country, err, bad.want)
		}
	}
	if _, err := e.w.Add(callscribe.AsSystem(context.Background()), "nobody", "https://hooks.example.ru/x", "RU", nil); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("add to a missing organization: %v, want ENOTFOUND", err)
	}

	// An endpoint added while KZ was allowed; the operator has since narrowed the list.
	rcvKZ, rcvGone := newReceiver(t), newReceiver(t)
	wide := newEnv(t)
	wide.w.store = e.db
	wide.w.cfg.Allowed, _ = residency.ParseAllowed("CALLSCRIBE_ALLOWED_COUNTRIES", "RU,KZ")
	if _, err := wide.w.Add(callscribe.AsSystem(context.Background()), "acme", rcvKZ.URL, "KZ", nil); err != nil {
		t.Fatal(err)
	}
	removed := e.add(t, "acme", rcvGone.URL)
	if err := e.w.Remove(callscribe.AsSystem(context.Background()), removed.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.w.Remove(callscribe.AsSystem(context.Background()), removed.ID); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("remove twice: %v, want ENOTFOUND", err)
	}
	jobs := &manual{}
	call := e.call(t, "acme", callscribe.CallCompleted)
	if err := notify(newNotifier(e.db.Pool(), jobs), callscribe.AsSystem(context.Background()), call); err != nil {
		t.Fatal(err)
	}
	if len(jobs.args) != 1 {
		t.Fatalf("%d deliveries, want 1: none for the removed endpoint", len(jobs.args))
	}
	out, err := e.w.Deliver(callscribe.AsSystem(context.Background()), jobs.args[0].DeliveryID)
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := e.w.Deliveries(callscribe.AsSystem(context.Background()), call)
	if out.State != "failed" || !strings.Contains(ds[0].LastError, "country=KZ") || len(rcvKZ.got()) != 0 {
		t.Errorf("delivery to a country no longer allowed: %+v (%q), %d requests; want failed, nothing sent", out, ds[0].LastError, len(rcvKZ.got()))
	}
	list, err := e.w.List(callscribe.AsSystem(context.Background()), "acme")
	if err != nil || len(list) != 2 || list[1].DisabledAt == nil || list[0].Secret != "" {
		t.Errorf("list = %+v, %v; want 2 endpoints, the second removed, no secrets", list, err)
	}
}

func TestNotifyRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.add(t, "acme", "http://127.0.0.1:1/x")
	jobs := &manual{}
	n := newNotifier(e.db.Pool(), jobs)
	running := e.call(t, "acme", callscribe.CallProcessing)
	if err := notify(n, callscribe.AsSystem(context.Background()), running); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("notify a call still processing: %v, want EINVALID", err)
	}
	if err := notify(n, callscribe.AsSystem(context.Background()), uuid.New()); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("notify a missing call: %v, want ENOTFOUND", err)
	}
	// In the caller's transaction: rolled back, nothing remains.
	call := e.call(t, "acme", callscribe.CallFailed)
	ctx := callscribe.AsSystem(context.Background())
	tx, err := e.db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.CallEnded(ctx, postgres.NewCallEndTx(tx, n.jobs), call); err != nil {
		t.Fatal(err)
	}
	tx.Rollback(ctx)
	if ds, _ := e.w.Deliveries(ctx, call); len(ds) != 0 {
		t.Errorf("%d deliveries after the transaction rolled back, want 0", len(ds))
	}
	// Erasing the call erases its deliveries.
	if err := notify(n, ctx, call); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool().Exec(ctx, `DELETE FROM calls WHERE id = $1`, call); err != nil {
		t.Fatal(err)
	}
	var left int
	e.db.Pool().QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries`).Scan(&left)
	if left != 0 {
		t.Errorf("%d deliveries left after their call was deleted", left)
	}
	if out, err := e.w.Deliver(ctx, jobs.args[len(jobs.args)-1].DeliveryID); err != nil || out.State != "gone" {
		t.Errorf("deliver an erased delivery: %+v, %v; want gone", out, err)
	}
}

// poolNotifier is a Notifier with the database it records in, for notify.
type poolNotifier struct {
	*Notifier
	pool *pgxpool.Pool
	jobs postgres.JobInserter
}

func newNotifier(pool *pgxpool.Pool, jobs postgres.JobInserter) *poolNotifier {
	return &poolNotifier{NewNotifier(), pool, jobs}
}

// notify runs CallEnded in a transaction of its own, as the transaction that ends a call
// would (postgres.DB.OnCallEnd).
func notify(n *poolNotifier, ctx context.Context, callID uuid.UUID) error {
	return pgx.BeginFunc(ctx, n.pool, func(tx pgx.Tx) error {
		return n.CallEnded(ctx, postgres.NewCallEndTx(tx, n.jobs), callID)
	})
}

// TestGivenUpDeliveryIsLoggedAndListed: a delivery given up for good leaves one log line
// naming it by ids only, and is listed among the failed deliveries of its organization.
func TestGivenUpDeliveryIsLoggedAndListed(t *testing.T) {
	t.Parallel()
	var logs logbuf.Buffer
	e := newEnv(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	rcv := newReceiver(t, http.StatusBadRequest)
	ep := e.add(t, "acme", rcv.URL+"/hooks?token=s3cret")
	e.add(t, "other", rcv.URL+"/other")
	jobs := &manual{}
	ctx := callscribe.AsSystem(context.Background())
	call := e.call(t, "acme", callscribe.CallCompleted)
	if err := notify(newNotifier(e.db.Pool(), jobs), ctx, call); err != nil {
		t.Fatal(err)
	}
	pending, err := e.w.ListDeliveries(ctx, DeliveryFilter{Org: "acme", State: "pending"})
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending deliveries of acme: %v, %v; want 1", pending, err)
	}
	if logs.String() != "" {
		t.Errorf("log before any attempt: %s", logs.String())
	}
	id := jobs.args[0].DeliveryID
	if out, err := e.w.Deliver(ctx, id); err != nil || out.State != "failed" {
		t.Fatalf("deliver: %+v, %v; want failed (400 is final)", out, err)
	}
	line := logs.String()
	for _, want := range []string{"webhook delivery failed for good", "delivery_id=" + id.String(), "endpoint_id=" + ep.ID.String(),
		"call_id=" + call.String(), "event=call.completed", "attempts=1", "status=400"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
	for _, never := range []string{"s3cret", "127.0.0.1", secretWords, "+7903"} {
		if strings.Contains(line, never) {
			t.Errorf("log line %q holds %q", line, never)
		}
	}
	failed, err := e.w.ListDeliveries(ctx, DeliveryFilter{Org: "acme", State: "failed"})
	if err != nil || len(failed) != 1 || failed[0].ID != id || failed[0].Org != "acme" || failed[0].LastStatus == nil || *failed[0].LastStatus != 400 {
		t.Errorf("failed deliveries of acme: %+v, %v; want the one given up, with its status", failed, err)
	}
	if other, _ := e.w.ListDeliveries(ctx, DeliveryFilter{Org: "other", State: "failed"}); len(other) != 0 {
		t.Errorf("failed deliveries of another organization: %v; want none", other)
	}
	if _, err := e.w.ListDeliveries(ctx, DeliveryFilter{State: "lost"}); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("list with state lost: %v; want EINVALID", err)
	}
}
