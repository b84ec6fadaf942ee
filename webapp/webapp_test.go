package webapp_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/accounts"
	"callscribe/internal/logbuf"
	"callscribe/mail"
	"callscribe/mail/mailtest"
	"callscribe/notify"
	"callscribe/oauth"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
	"callscribe/telegram"
	"callscribe/telegram/telegramtest"
	"callscribe/webapp"
)

// nopSender is an email channel that is configured and sends nothing: the tests here
// look at which deliveries are recorded, not at mail (TestVerificationEmailOverSMTP does).
type nopSender struct{}

func (nopSender) Send(context.Context, mail.Message) error { return nil }

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, postgres.Migrate)) }

// app is the web app under test on its own database, and what the test reads of it.
type app struct {
	t        *testing.T
	URL      string
	DB       *postgres.DB
	Accounts *accounts.Service
	Server   *webapp.Server
	Log      *logbuf.Buffer
	// transport reaches the server (and trusts its certificate when it has one).
	transport http.RoundTripper
	// Fake is the fake Telegram Bot API the app's bot (Bot, running) talks to; Notices
	// the notices whose preferences the profile sets.
	Fake    *telegramtest.Server
	Bot     *telegram.Bot
	Notices *notify.Notices
	// restart answers the requests that follow with a new Server over the same database
	// and configuration: another serve process behind the same address, or this one
	// restarted.
	restart func()
}

type appOptions struct {
	secure   bool // Secure cookies (the default outside loopback)
	throttle int  // failed sign-ins allowed per account and per address; 0: the default
	// providers are the sign-in providers configured (see newMockOIDC).
	providers []oauth.Provider
	mailer    mail.Sender // nil: links go to the log
}

func newApp(t *testing.T, opts ...func(*appOptions)) *app {
	t.Helper()
	var o appOptions
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	log := &logbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(log, nil))
	cfg := accounts.Config{}
	// Fast hashing keeps the suite quick; the parameters are the account service's to test.
	cfg.Argon2.Time, cfg.Argon2.MemoryKiB, cfg.Argon2.Threads = 1, 1024, 1
	if o.throttle > 0 {
		cfg.Throttle.PerAccount, cfg.Throttle.PerAddress, cfg.Throttle.Window = o.throttle, o.throttle*4, time.Minute
	}
	acc := accounts.New(db, cfg, logger)
	var h atomic.Pointer[http.Handler] // restart swaps in another Server
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) }))
	if o.secure {
		srv.StartTLS() // a browser keeps Secure cookies for https only
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	// The readers' pages over the same database (newReadersApp adds the erasure queue
	// and a pipeline for the tests that need them).
	readers := webapp.Readers{Store: db,
		Consents: &privacy.Consents{Store: db, PolicyVersion: "1", Audit: &privacy.Audit{}, AuditLog: db},
		Requests: &privacy.Requests{Store: &postgres.Queued{DB: db}}, Exporter: &privacy.Exporter{Store: db},
		Editor: &privacy.Corrections{Store: db, Logger: logger}}
	// The messenger bot against the fake Bot API, running, and the notices (email and
	// Telegram configured) as serve wires them for the profile page.
	fake := telegramtest.New(t)
	bot, err := telegram.New(ctx, telegram.Config{Token: fake.Token(), APIURL: fake.URL, Store: db,
		Consents: readers.Consents, Requests: readers.Requests, PollTimeout: time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	botCtx, stopBot := context.WithCancel(context.Background())
	botDone := make(chan struct{})
	go func() { defer close(botDone); _ = bot.Run(botCtx) }()
	t.Cleanup(func() { stopBot(); <-botDone })
	notices := notify.New(notify.Config{Store: db, Mail: nopSender{},
		Channels: []notify.Channel{notify.ChannelFunc{Channel: callscribe.NoticeTelegram,
			Func: func(ctx context.Context, id uuid.UUID, m notify.Message) error {
				return bot.Send(ctx, id, m.Plain(), nil)
			}}},
		BaseURL: srv.URL, Logger: logger})
	wcfg := webapp.Config{Accounts: acc, BaseURL: srv.URL, InsecureCookies: !o.secure, Logger: logger,
		Providers: o.providers, Mailer: o.mailer, Readers: readers, Telegram: bot, Notices: notices}
	serve := func() *webapp.Server {
		w, err := webapp.New(wcfg)
		if err != nil {
			t.Fatal(err)
		}
		handler := w.Handler()
		h.Store(&handler)
		return w
	}
	a := &app{t: t, URL: srv.URL, DB: db, Accounts: acc, Server: serve(), Log: log, transport: srv.Client().Transport,
		Fake: fake, Bot: bot, Notices: notices}
	a.restart = func() { a.Server = serve() }
	return a
}

var linkRE = regexp.MustCompile(`link=(\S+)`)

// lastLink is the last one-time link of kind the server wrote to its log (the embedded
// default sends no email).
func (a *app) lastLink(kind string) string {
	a.t.Helper()
	var link string
	for _, line := range strings.Split(a.Log.String(), "\n") {
		if strings.Contains(line, "kind="+kind) {
			if m := linkRE.FindStringSubmatch(line); m != nil {
				link = strings.Trim(m[1], `"`)
			}
		}
	}
	if link == "" {
		a.t.Fatalf("no %s link in the log:\n%s", kind, a.Log.String())
	}
	return link
}

// client is a browser-like HTTP client for the app: a cookie jar, no redirects followed
// automatically unless follow is set, and every Set-Cookie it receives recorded.
type client struct {
	t       *testing.T
	app     *app
	http    *http.Client
	cookies []*http.Cookie
}

func (a *app) client() *client {
	jar, _ := cookiejar.New(nil)
	c := &client{t: a.t, app: a}
	c.http = &http.Client{Jar: jar, Transport: recordCookies{c}}
	return c
}

type recordCookies struct{ c *client }

func (rc recordCookies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rc.c.app.transport.RoundTrip(r)
	if err == nil {
		rc.c.cookies = append(rc.c.cookies, resp.Cookies()...)
	}
	return resp, err
}

// get fetches path and returns the final status and body.
func (c *client) get(path string) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.app.URL + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post submits a form as a same-origin browser does.
func (c *client) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.app.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.app.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// person is a registration the tests make.
type person struct {
	surname, first, patronymic, email, phone, password, company, inn string
}

func alice() person {
	return person{"Иванова", "Анна", "Сергеевна", "anna.ivanova@example.ru", "+7 916 123-45-67", "correct horse battery", "ООО Ромашка", "7707083893"}
}

func (p person) form() url.Values {
	return url.Values{
		"surname": {p.surname}, "first_name": {p.first}, "patronymic": {p.patronymic},
		"email": {p.email}, "phone": {p.phone}, "password": {p.password},
		"company": {p.company}, "inn": {p.inn},
	}
}

// register registers p through the form and returns the client, signed in.
func (a *app) register(p person) *client {
	a.t.Helper()
	c := a.client()
	status, body := c.post("/register", p.form())
	if status != http.StatusOK || !strings.Contains(body, p.email) {
		a.t.Fatalf("register: %d\n%s", status, body)
	}
	return c
}

func (a *app) account(email string) accounts.Account {
	a.t.Helper()
	acct, err := a.Accounts.SignIn(callscribe.AsSystem(context.Background()), email, "correct horse battery", "192.0.2.1")
	if err != nil {
		a.t.Fatalf("account %s: %v", email, err)
	}
	return acct
}

// matches says whether s matches the expression.
func matches(s, expr string) bool { return regexp.MustCompile(expr).MatchString(s) }

// smtpServer starts a real SMTP server for the test (mail/mailtest: STARTTLS, AUTH PLAIN)
// and returns it with the mail package's client for it: what serve uses when
// CALLSCRIBE_SMTP_* is set.
func smtpServer(t *testing.T) (*mailtest.Server, mail.Sender) {
	t.Helper()
	srv := mailtest.Start(t, mailtest.Options{Username: "callscribe", Password: "smtp-secret"})
	sender, err := mail.New(mail.Config{Addr: srv.Addr, Username: "callscribe", Password: "smtp-secret",
		From: "callscribe@example.ru", TLSConfig: srv.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	return srv, sender
}

// mailTo returns the text of the last message the server received for to, decoded
// (quoted-printable body, RFC 2047 subject), and its subject.
func mailTo(t *testing.T, srv *mailtest.Server, to string) (subject, text string) {
	t.Helper()
	msgs := srv.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(msgs[i].To) == 0 || !strings.EqualFold(msgs[i].To[0], to) {
			continue
		}
		m, err := netmail.ReadMessage(bytes.NewReader(msgs[i].Data))
		if err != nil {
			t.Fatal(err)
		}
		subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		return subject, string(body)
	}
	t.Fatalf("no message to %s among %d", to, len(msgs))
	return "", ""
}

// matchLink is the first http(s) link in text.
func matchLink(text string) string { return regexp.MustCompile(`https?://\S+`).FindString(text) }
