package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/internal/safehttp"
	cmail "callscribe/mail"
	"callscribe/mail/mailtest"
	"callscribe/notify"
	"callscribe/privacy"
	"callscribe/privacy/residency"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
	"callscribe/webhook"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, postgres.Migrate)) }

// sent is one message a channel took.
type sent struct {
	msg notify.Message
	at  time.Time
}

// testChannel is a messenger: users it does not know are not linked; it fails the
// users it is told to, and asks some to wait (a 429) once.
type testChannel struct {
	mu        sync.Mutex
	unlinked  map[uuid.UUID]bool
	fail      map[uuid.UUID]bool          // refused for good
	flaky     map[uuid.UUID]int           // this many transient failures first
	retryOnce map[uuid.UUID]time.Duration // one 429 with this retry_after first
	got       map[uuid.UUID][]sent
}

func newTestChannel() *testChannel {
	return &testChannel{unlinked: map[uuid.UUID]bool{}, fail: map[uuid.UUID]bool{}, flaky: map[uuid.UUID]int{},
		retryOnce: map[uuid.UUID]time.Duration{}, got: map[uuid.UUID][]sent{}}
}

func (c *testChannel) Name() callscribe.NoticeChannel { return callscribe.NoticeTelegram }

func (c *testChannel) Send(_ context.Context, userID uuid.UUID, m notify.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.unlinked[userID]:
		return notify.ErrUnreachable
	case c.fail[userID]:
		return &notify.PermanentError{Reason: "chat blocked the bot"}
	case c.flaky[userID] > 0:
		c.flaky[userID]--
		return io.ErrUnexpectedEOF
	}
	if d, ok := c.retryOnce[userID]; ok {
		delete(c.retryOnce, userID)
		c.got[userID] = append(c.got[userID], sent{notify.Message{Subject: "429"}, time.Now()})
		return &notify.RetryAfterError{After: d}
	}
	c.got[userID] = append(c.got[userID], sent{m, time.Now()})
	return nil
}

func (c *testChannel) messages(userID uuid.UUID) []sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sent(nil), c.got[userID]...)
}

// env is one test's database, SMTP server, messenger, notices and River client.
type env struct {
	db       *postgres.DB
	smtp     *mailtest.Server
	channel  *testChannel
	notices  *notify.Notices
	jobs     *river.Client[pgx.Tx]
	org      uuid.UUID
	webhooks *webhook.Webhooks
}

var ctx = callscribe.AsSystem(context.Background())

type envOptions struct {
	reject  func(string) bool
	workers int
	observe func(notify.Outcome)
	now     func() time.Time
	logMail bool // email through mail.Log, as without an SMTP server
	// messenger, when set, is the messenger channel instead of the test channel (the
	// real bot against the fake Bot API).
	messenger notify.Channel
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	db, err := postgres.Open(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	e := &env{db: db, channel: newTestChannel()}
	e.smtp = mailtest.Start(t, mailtest.Options{Username: "robot", Password: "pw", Reject: o.reject})
	sender, err := cmail.New(cmail.Config{Addr: e.smtp.Addr, Username: "robot", Password: "pw", From: "noreply@callscribe.test",
		TLSConfig: e.smtp.ClientTLS(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var m cmail.Sender = sender
	if o.logMail {
		m = &cmail.Log{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	var messenger notify.Channel = e.channel
	if o.messenger != nil {
		messenger = o.messenger
	}
	e.notices = notify.New(notify.Config{Store: db, Mail: m, Channels: []notify.Channel{messenger},
		BaseURL: "https://callscribe.test/", MaxAttempts: 3, Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AuditLog: db, Observe: o.observe, Now: o.now,
		Exporter: &privacy.Exporter{Store: db}})
	workers := river.NewWorkers()
	river.AddWorker(workers, notify.NewWorker(e.notices))
	allowed, _ := residency.ParseAllowed("CALLSCRIBE_ALLOWED_COUNTRIES", "RU")
	policy, _ := safehttp.ParsePolicy("CALLSCRIBE_WEBHOOK_ALLOW", "127.0.0.1")
	e.webhooks = webhook.New(db, webhook.Config{Allowed: allowed, Policy: policy, Timeout: 5 * time.Second, MaxAttempts: 3,
		Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	river.AddWorker(workers, webhook.NewWorker(e.webhooks))
	if o.workers == 0 {
		o.workers = 4
	}
	e.jobs, err = river.NewClient(riverpgxv5.New(db.Pool()), &river.Config{
		Queues:            map[string]river.QueueConfig{notify.Queue: {MaxWorkers: o.workers}, webhook.Queue: {MaxWorkers: 2}},
		Workers:           workers,
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	db.NoticeOn(e.notices.Record, e.jobs)
	if err := e.jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		e.jobs.Stop(stop)
	})
	if e.org, err = db.EnsureOrganization(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	return e
}

// user adds a user of org with a phone (which no notice may carry), in lang, with the
// given consents.
func (e *env) user(t *testing.T, org uuid.UUID, lang string, purposes ...callscribe.Purpose) callscribe.User {
	t.Helper()
	u, err := e.db.CreateUser(ctx, callscribe.User{OrgID: org, Email: "u-" + uuid.NewString()[:13] + "@example.test", Phone: "+79161357968", FirstName: "Пётр"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool().Exec(ctx, `UPDATE users SET language = $2 WHERE id = $1`, u.ID, lang); err != nil {
		t.Fatal(err)
	}
	for _, p := range purposes {
		if _, err := e.db.GrantConsent(ctx, u.ID, p, "2026-01", callscribe.ConsentViaCLI, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// settled waits until want deliveries match f and none is pending, and returns them.
func (e *env) settled(t *testing.T, f callscribe.NoticeDeliveryFilter, want int, within time.Duration) []callscribe.NoticeDelivery {
	t.Helper()
	var ds []callscribe.NoticeDelivery
	defer func() {
		if t.Failed() {
			pending := 0
			for _, d := range ds {
				if d.State == callscribe.NoticePending {
					pending++
				}
			}
			t.Logf("deliveries last seen: %d recorded (want %d), %d pending", len(ds), want, pending)
		}
	}()
	eventually.True(t, within, fmt.Sprintf("%d settled deliveries", want), func() bool {
		var err error
		if ds, err = e.notices.Deliveries(ctx, f); err != nil {
			t.Fatal(err)
		}
		done := len(ds) == want
		for _, d := range ds {
			done = done && d.State != callscribe.NoticePending
		}
		return done
	})
	return ds
}

// email is a message the SMTP server received, parsed with net/mail.
type email struct {
	to      string
	subject string
	text    string
}

func (e *env) emailsTo(t *testing.T, addr string) []email {
	t.Helper()
	var out []email
	for _, m := range e.smtp.Messages() {
		if len(m.To) == 0 || !strings.EqualFold(m.To[0], addr) {
			continue
		}
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatalf("net/mail cannot read a message: %v", err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, email{to: m.To[0], subject: subject, text: strings.ReplaceAll(string(body), "\r\n", "\n")})
	}
	return out
}

// noText checks that no row of the deliveries table, and no deliver_notice job's
// arguments, holds any of needles.
func (e *env) noText(t *testing.T, needles ...string) {
	t.Helper()
	for _, q := range []string{
		`SELECT row_to_json(d)::text FROM notice_deliveries d`,
		`SELECT args::text FROM river_job WHERE kind = 'deliver_notice'`,
	} {
		rows, err := e.db.Pool().Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		all, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if len(all) == 0 {
			t.Errorf("%s: no rows to check", q)
		}
		for _, row := range all {
			for _, n := range needles {
				if strings.Contains(strings.ToLower(row), strings.ToLower(n)) {
					t.Errorf("%s holds %q: %s", q, n, row)
				}
			}
		}
	}
}
