package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"callscribe"
	"callscribe/accounts"
	"callscribe/fetch"
	"callscribe/internal/safehttp"
	"callscribe/mail"
	"callscribe/oauth"
	"callscribe/pipeline"
	"callscribe/privacy"
	"callscribe/privacy/residency"
	"callscribe/telegram"
	"callscribe/web"
)

// config is everything callscribe reads from its environment. Each field is set by one
// row of options, the one table that names the variable, its default, whether it is a
// secret (masked by `callscribe config`), whether it is also read from VAR_FILE, how it
// is parsed and what it must satisfy. README's configuration table is written from
// the same rows (TestREADMEConfigTable).
type config struct {
	databaseURL    string // empty: the embedded cluster in dataDir
	dataDir        string
	asr            string // sphinx | openai
	sphinxModel    string // empty: the Debian package's model
	openAIBaseURL  string
	openAIAPIKey   string
	asrModel       string
	summary        string // extractive | openai | off
	summaryModel   string // required with summary openai
	policyVersion  string // recorded with every consent grant
	calendarFile   string // business days; empty: the embedded Russian calendar
	maxCallBytes   int64
	consentPoll    time.Duration
	logLevel       string // debug | info | warn | error
	s3             s3Config
	service        serviceConfig
	egress         egressConfig // processors' countries and outgoing-request rules (egress.go)
	ledgerKey      string       // empty: the embedded default generates one into dataDir/ledger.key
	ledgerFile     string       // the erasure ledger's copy outside the database
	retentionEvery time.Duration
	telegram       telegramConfig
	web            webConfig     // the web app (webapp.go)
	notices        noticesConfig // notices and email (notices.go)

	// settings are the effective values, in the options' order, for `callscribe config`.
	settings []setting

	// Not options: what the command runs in, passed in by run so that a command runs the
	// same in a test's process as in its own.
	getenv func(string) string
	stderr io.Writer // where logs go
}

// telegramConfig is the Telegram bot's (telegram.go); no token: no bot.
type telegramConfig struct {
	token      string
	apiURL     string
	webhookURL string        // "": long polling
	linkTTL    time.Duration // how long a link token is valid
}

// s3Config is the object store that stages audio; unset endpoint: the memory stage.
type s3Config struct {
	endpoint  string // host:port, no scheme
	accessKey string
	secretKey string
	bucket    string
	secure    bool          // HTTPS
	ttl       time.Duration // the bucket lifecycle's expiry, the last backstop
	region    string
}

// serviceConfig is what `serve` and `worker` use beyond the rest.
type serviceConfig struct {
	httpAddr        string
	maxCallDuration time.Duration // 0 is no limit
	workers         int           // calls transcribed at once
	jobTimeout      time.Duration // one attempt at a call
	jobRescueAfter  time.Duration // a running job older than this is presumed dead
	jobMaxAttempts  int
	serveWorker     bool          // serve also runs the worker
	shutdownTimeout time.Duration // how long SIGTERM waits for uploads and calls in flight
	sweepEvery      time.Duration // time between the sweeper's passes over the object store
	sweepGrace      time.Duration // an object no call claims is left this long
	cpuProfile      string        // serve writes a CPU profile here until it stops; empty: off
	// a request body that sends nothing this long is dropped, and what it staged deleted
	uploadIdleTimeout time.Duration
}

// objectStore says whether staged audio is shared between processes (an object store).
func (c config) objectStore() bool { return c.s3.endpoint != "" }

// setting is one option's effective value and where it came from.
type setting struct {
	name, value, source string
	secret              bool
}

// option is one CALLSCRIBE_* variable.
type option struct {
	name string
	// def is the default, written as the variable would be; "" for none. defFunc, when
	// set, computes a default from what is read before it (and the environment).
	def     string
	defFunc func(c *config, getenv func(string) string) (string, error)
	// defDoc is README's default column when `def` alone would not say it.
	defDoc string
	secret bool // masked by `callscribe config`
	file   bool // also read from name_FILE: a path to a file holding the value
	doc    string
	// parse checks a value and stores it; it is called with the default too, so a
	// default is what its text says. It is not called when the option has no value.
	parse func(c *config, v string) error
}

const (
	defaultLedgerFile   = "erasure-ledger.jsonl" // in the data dir
	defaultMaxCallBytes = 1 << 30
)

// options is the table of every variable, in README's order.
var options = []option{
	{name: "CALLSCRIBE_DATABASE_URL", secret: true, file: true, defDoc: "unset",
		doc:   "PostgreSQL to use. Unset: an embedded cluster in the data dir",
		parse: text(func(c *config) *string { return &c.databaseURL })},
	{name: "CALLSCRIBE_DATA_DIR", defDoc: "`~/.local/share/callscribe`", defFunc: defaultDataDir,
		doc:   "where the embedded cluster lives (unix socket only, no TCP)",
		parse: text(func(c *config) *string { return &c.dataDir })},
	{name: "CALLSCRIBE_ASR", def: "sphinx",
		doc:   "`sphinx` (offline PocketSphinx) or `openai` (an OpenAI-compatible server)",
		parse: oneOf(func(c *config) *string { return &c.asr }, "sphinx", "openai")},
	{name: "CALLSCRIBE_SPHINX_MODEL_DIR", defDoc: "Debian's `pocketsphinx-en-us`",
		doc:   "acoustic model directory",
		parse: text(func(c *config) *string { return &c.sphinxModel })},
	{name: "CALLSCRIBE_OPENAI_BASE_URL",
		doc:   "base URL of an in-country OpenAI-compatible server (faster-whisper/speaches, vLLM, LocalAI)",
		parse: text(func(c *config) *string { return &c.openAIBaseURL })},
	{name: "CALLSCRIBE_OPENAI_API_KEY", secret: true, file: true,
		doc:   "its API key",
		parse: text(func(c *config) *string { return &c.openAIAPIKey })},
	{name: "CALLSCRIBE_ASR_MODEL", def: "whisper-1",
		doc:   "speech model name on that server",
		parse: text(func(c *config) *string { return &c.asrModel })},
	{name: "CALLSCRIBE_SUMMARY", def: "extractive",
		doc:   "`extractive` (offline), `openai` (chat completions on the same server), `off`",
		parse: oneOf(func(c *config) *string { return &c.summary }, "extractive", "openai", "off")},
	{name: "CALLSCRIBE_SUMMARY_MODEL",
		doc:   "chat model name on that server; required for `openai` summaries",
		parse: text(func(c *config) *string { return &c.summaryModel })},
	{name: "CALLSCRIBE_POLICY_VERSION", def: "1",
		doc:   "policy version recorded with each consent grant",
		parse: text(func(c *config) *string { return &c.policyVersion })},
	{name: "CALLSCRIBE_MAX_CALL_BYTES", def: strconv.Itoa(defaultMaxCallBytes),
		doc:   "largest call file accepted",
		parse: positiveBytes(func(c *config) *int64 { return &c.maxCallBytes })},
	{name: "CALLSCRIBE_CONSENT_POLL", def: "1s",
		doc:   "how often a call in flight re-checks its owner's consent and block (a notification wakes it sooner)",
		parse: duration(func(c *config) *time.Duration { return &c.consentPoll }, false)},
	{name: "CALLSCRIBE_CALENDAR_FILE",
		doc: "business-day calendar lines (`YYYY-MM-DD off\\|work`) for the years it names; unset: the built-in Russian calendar",
		parse: func(c *config, v string) error {
			if _, err := privacy.LoadCalendar(v); err != nil {
				return errors.New(callscribe.ErrorMessage(err))
			}
			c.calendarFile = v
			return nil
		}},
	{name: "CALLSCRIBE_LOG_LEVEL", def: "warn",
		doc:   "`debug`, `info`, `warn`, `error` (logs carry ids, never text or audio)",
		parse: oneOf(func(c *config) *string { return &c.logLevel }, "debug", "info", "warn", "error")},
	{name: "CALLSCRIBE_S3_ENDPOINT",
		doc: "`host:port` of an S3-compatible store (MinIO, Ceph RGW, Yandex Object Storage) to stage audio in. Unset: staged audio stays in memory",
		parse: func(c *config, v string) error {
			if strings.Contains(v, "/") {
				return fmt.Errorf("%q must be host:port, without scheme or path (HTTPS is CALLSCRIBE_S3_SECURE=true)", v)
			}
			c.s3.endpoint = v
			return nil
		}},
	{name: "CALLSCRIBE_S3_ACCESS_KEY", secret: true, file: true,
		doc:   "its access key; required with the endpoint",
		parse: text(func(c *config) *string { return &c.s3.accessKey })},
	{name: "CALLSCRIBE_S3_SECRET_KEY", secret: true, file: true,
		doc:   "its secret key; required with the endpoint",
		parse: text(func(c *config) *string { return &c.s3.secretKey })},
	{name: "CALLSCRIBE_S3_BUCKET", def: "callscribe-staging",
		doc: "the staging bucket; created if missing, refused if it has object lock, a warning if versioned",
		parse: func(c *config, v string) error {
			if err := s3utils.CheckValidBucketNameStrict(v); err != nil {
				return fmt.Errorf("%q is not a valid bucket name: %v", v, err)
			}
			c.s3.bucket = v
			return nil
		}},
	{name: "CALLSCRIBE_S3_SECURE", def: "false",
		doc:   "`true`: HTTPS to the store",
		parse: boolean(func(c *config) *bool { return &c.s3.secure })},
	{name: "CALLSCRIBE_S3_TTL", def: "24h",
		doc:   "the bucket's lifecycle expiry of staged objects (whole days, rounded up), the last backstop behind deletion and the sweeper",
		parse: duration(func(c *config) *time.Duration { return &c.s3.ttl }, false)},
	{name: "CALLSCRIBE_S3_REGION",
		doc:   "the bucket's region, when the store needs one",
		parse: text(func(c *config) *string { return &c.s3.region })},
	{name: "CALLSCRIBE_HTTP_ADDR", def: "127.0.0.1:8080",
		doc:   "where `serve` listens",
		parse: text(func(c *config) *string { return &c.service.httpAddr })},
	{name: "CALLSCRIBE_MAX_CALL_DURATION", def: "4h",
		doc:   "longest call accepted (`0`: no limit); an upload is refused from its first bytes when its size and byte rate say so (every WAV and raw encoding, MP3 by its header or constant bitrate), otherwise it fails at the worker",
		parse: duration(func(c *config) *time.Duration { return &c.service.maxCallDuration }, true)},
	{name: "CALLSCRIBE_WORKERS", def: "2",
		doc:   "calls transcribed at once by a process",
		parse: count(func(c *config) *int { return &c.service.workers }, 256)},
	{name: "CALLSCRIBE_JOB_TIMEOUT", def: "10m",
		doc:   "the floor of one attempt's timeout: an attempt at a call may take 3 × the call's duration (told from the staged audio's header and size; MP3 at its lowest bit rate, so never short), and never less than this — a 30 s call gets `10m`, a 1 h call `3h`",
		parse: duration(func(c *config) *time.Duration { return &c.service.jobTimeout }, false)},
	{name: "CALLSCRIBE_JOB_RESCUE_AFTER", def: "15m",
		doc:   "a running job older than this and than its own call's timeout is presumed dead and run again; must exceed the job timeout",
		parse: duration(func(c *config) *time.Duration { return &c.service.jobRescueAfter }, false)},
	{name: "CALLSCRIBE_JOB_MAX_ATTEMPTS", def: "5",
		doc:   "attempts at a call before it fails",
		parse: count(func(c *config) *int { return &c.service.jobMaxAttempts }, 100)},
	{name: "CALLSCRIBE_SERVE_WORKER", def: "true",
		doc:   "`serve` also works the queue; `false` needs an object store",
		parse: boolean(func(c *config) *bool { return &c.service.serveWorker })},
	{name: "CALLSCRIBE_SHUTDOWN_TIMEOUT", def: "30s",
		doc:   "how long SIGTERM waits for uploads and calls in flight",
		parse: duration(func(c *config) *time.Duration { return &c.service.shutdownTimeout }, false)},
	{name: "CALLSCRIBE_UPLOAD_IDLE_TIMEOUT", def: shortDuration(web.DefaultUploadIdleTimeout),
		doc:   "a request body that sends no byte for this long is dropped (`408 timeout`) and what it staged deleted; a slow upload that keeps sending is never cut off",
		parse: duration(func(c *config) *time.Duration { return &c.service.uploadIdleTimeout }, false)},
	{name: "CALLSCRIBE_SWEEP_EVERY", def: shortDuration(pipeline.DefaultSweepEvery),
		doc:   "with an object store: time between the sweeper's passes (it also passes at start-up)",
		parse: duration(func(c *config) *time.Duration { return &c.service.sweepEvery }, false)},
	{name: "CALLSCRIBE_SWEEP_GRACE", def: shortDuration(pipeline.DefaultSweepGrace),
		doc:   "with an object store: an object no call claims is left this long before the sweeper deletes it",
		parse: duration(func(c *config) *time.Duration { return &c.service.sweepGrace }, false)},
	{name: "CALLSCRIBE_CPU_PROFILE", defDoc: "unset (off)",
		doc:   "`serve` writes a Go CPU profile of the whole process to this file until it stops; for measuring (`scripts/ingestbench -cpuprofile`), not for production",
		parse: text(func(c *config) *string { return &c.service.cpuProfile })},
	{name: "CALLSCRIBE_ALLOWED_COUNTRIES", def: residency.DefaultAllowed,
		doc: "countries (ISO 3166-1 alpha-2, comma-separated) personal data may go to; see [Data residency](#data-residency)",
		parse: func(c *config, v string) (err error) {
			c.egress.allowed, err = residency.ParseAllowed("CALLSCRIBE_ALLOWED_COUNTRIES", v)
			return unprefixed(err, "CALLSCRIBE_ALLOWED_COUNTRIES")
		}},
	{name: "CALLSCRIBE_ASR_COUNTRY",
		doc:   "country of the ASR endpoint; required with `CALLSCRIBE_ASR=openai`",
		parse: text(func(c *config) *string { return &c.egress.asrCountry })},
	{name: "CALLSCRIBE_SUMMARY_COUNTRY",
		doc:   "country of the summary endpoint; required with `CALLSCRIBE_SUMMARY=openai`",
		parse: text(func(c *config) *string { return &c.egress.summaryCountry })},
	{name: "CALLSCRIBE_S3_COUNTRY",
		doc:   "country of the object store; required with `CALLSCRIBE_S3_ENDPOINT`",
		parse: text(func(c *config) *string { return &c.egress.s3Country })},
	{name: "CALLSCRIBE_FETCH_HOSTS",
		doc: "recording hosts pull mode may fetch from: names, `.domain` for a domain and its subdomains, `*` for any. Unset: pull mode is off",
		parse: func(c *config, v string) error {
			for _, h := range strings.Split(v, ",") {
				if h = strings.TrimSpace(h); h != "" {
					c.egress.fetchHosts = append(c.egress.fetchHosts, h)
				}
			}
			return nil
		}},
	{name: "CALLSCRIBE_FETCH_COUNTRY",
		doc:   "country of those recording hosts; required with `CALLSCRIBE_FETCH_HOSTS`",
		parse: text(func(c *config) *string { return &c.egress.fetchCountry })},
	{name: "CALLSCRIBE_FETCH_ALLOW",
		doc:   "hosts, addresses and CIDR ranges inside the network that recordings may be fetched from all the same",
		parse: policy(func(c *config) *safehttp.Policy { return &c.egress.fetchAllow }, "CALLSCRIBE_FETCH_ALLOW")},
	{name: "CALLSCRIBE_FETCH_TIMEOUT", def: shortDuration(fetch.DefaultTimeout),
		doc:   "a whole recording download, body included",
		parse: duration(func(c *config) *time.Duration { return &c.egress.fetchTimeout }, false)},
	{name: "CALLSCRIBE_FETCH_BASIC_AUTH_FILE",
		doc: "file of `host user:password` lines: basic-auth credentials sent to that recording host only (Twilio's account SID and auth token)",
		parse: func(c *config, v string) error {
			b, err := os.ReadFile(v)
			if err != nil {
				return err
			}
			if c.egress.fetchBasicAuth, err = fetch.ParseBasicAuth(string(b)); err != nil {
				return fmt.Errorf("%s: %w", v, err)
			}
			return nil
		}},
	{name: "CALLSCRIBE_WEBHOOK_ALLOW",
		doc:   "hosts, addresses and CIDR ranges inside the network that webhooks may be sent to all the same",
		parse: policy(func(c *config) *safehttp.Policy { return &c.egress.webhookAllow }, "CALLSCRIBE_WEBHOOK_ALLOW")},
	{name: "CALLSCRIBE_WEBHOOK_TIMEOUT", def: "10s",
		doc:   "one delivery attempt",
		parse: duration(func(c *config) *time.Duration { return &c.egress.webhookTimeout }, false)},
	{name: "CALLSCRIBE_WEBHOOK_MAX_ATTEMPTS", def: "12",
		doc:   "attempts before a delivery is given up (the default spreads them over 1.7–3.4 hours)",
		parse: count(func(c *config) *int { return &c.egress.webhookMaxAttempts }, 0)},
	{name: "CALLSCRIBE_SMTP_ADDR", defDoc: "unset (email goes to the server log)",
		doc:   "`host:port` of the SMTP server notices and account emails are sent through",
		parse: text(func(c *config) *string { return &c.notices.smtpAddr })},
	{name: "CALLSCRIBE_SMTP_USERNAME",
		doc:   "its AUTH PLAIN username; unset: no authentication",
		parse: text(func(c *config) *string { return &c.notices.smtpUsername })},
	{name: "CALLSCRIBE_SMTP_PASSWORD", secret: true, file: true,
		doc:   "its password",
		parse: text(func(c *config) *string { return &c.notices.smtpPassword })},
	{name: "CALLSCRIBE_SMTP_FROM",
		doc:   "the sender address; required with the server",
		parse: text(func(c *config) *string { return &c.notices.smtpFrom })},
	{name: "CALLSCRIBE_SMTP_TLS", def: mail.StartTLS,
		doc:   "`starttls` (port 587), `tls` (port 465) or `none` (only to a server on this machine)",
		parse: oneOf(func(c *config) *string { return &c.notices.smtpTLS }, mail.StartTLS, mail.TLS, mail.NoTLS)},
	{name: "CALLSCRIBE_SMTP_COUNTRY",
		doc:   "country of the SMTP server (it receives email addresses); required with the server",
		parse: text(func(c *config) *string { return &c.notices.smtpCountry })},
	{name: "CALLSCRIBE_LEDGER_KEY", secret: true, file: true,
		defDoc: "generated into `DATA_DIR/ledger.key` for the embedded database; **required** with `CALLSCRIBE_DATABASE_URL`",
		doc:    "key (≥ 32 bytes) of the erasure ledger's HMAC-SHA256 hashes; the same on every machine. Without it `serve` and `worker` run, but an erasure request cannot be completed and nothing works the `erasure` queue",
		parse: func(c *config, v string) error {
			if len(v) < 32 {
				return fmt.Errorf("%d bytes is too short; use at least 32 (e.g. openssl rand -hex 32)", len(v))
			}
			c.ledgerKey = v
			return nil
		}},
	{name: "CALLSCRIBE_LEDGER_FILE", defDoc: "`DATA_DIR/erasure-ledger.jsonl`",
		defFunc: func(c *config, _ func(string) string) (string, error) {
			return filepath.Join(c.dataDir, defaultLedgerFile), nil
		},
		doc:   "the erasure ledger's copy outside the database (append-only JSON lines); keep it out of reach of a database restore",
		parse: text(func(c *config) *string { return &c.ledgerFile })},
	{name: "CALLSCRIBE_RETENTION_EVERY", def: "1h",
		doc:   "how often `serve` runs the retention job",
		parse: duration(func(c *config) *time.Duration { return &c.retentionEvery }, false)},
	{name: "CALLSCRIBE_TELEGRAM_TOKEN", secret: true, file: true, defDoc: "unset (no bot)",
		doc:   "the Telegram bot's token (from @BotFather); set: `serve` runs the bot (see [Telegram bot](#telegram-bot))",
		parse: text(func(c *config) *string { return &c.telegram.token })},
	{name: "CALLSCRIBE_TELEGRAM_API_URL", def: telegram.DefaultAPIURL,
		doc:   "the Bot API server (a local `telegram-bot-api` server, or a test's fake)",
		parse: httpURL(func(c *config) *string { return &c.telegram.apiURL })},
	{name: "CALLSCRIBE_TELEGRAM_WEBHOOK_URL", defDoc: "unset (long polling)",
		doc:   "webhook mode: the public URL Telegram posts updates to, reaching `serve`'s `" + telegram.WebhookPath + "` (Telegram's secret token header checked); unset: `serve` polls for updates",
		parse: httpURL(func(c *config) *string { return &c.telegram.webhookURL })},
	{name: "CALLSCRIBE_TELEGRAM_LINK_TTL", def: "15m",
		doc:   "how long a link token (the deep link shown on the profile page) stays valid; it is single-use",
		parse: duration(func(c *config) *time.Duration { return &c.telegram.linkTTL }, false)},
	{name: "CALLSCRIBE_PUBLIC_URL", defDoc: "`http://` + `CALLSCRIBE_HTTP_ADDR`",
		defFunc: func(c *config, _ func(string) string) (string, error) {
			c.web.publicURLDefault = true // serve puts the address it listens on instead
			return "http://" + c.service.httpAddr, nil
		},
		doc:   "the address people reach the web app at (links in emails, OAuth redirects). `https://…`: cookies are `Secure`; `http://` is refused unless the host is loopback",
		parse: publicURL},
	{name: "CALLSCRIBE_COOKIE_PREFIX", def: "iq_",
		doc:   "prefix of the web app's cookie names (`iq_session_id`, `iq_partner_id`, `iq_partner_click_id`, `iq_oauth_id`)",
		parse: cookiePrefix},
	{name: "CALLSCRIBE_SESSION_TTL", def: shortDuration(accounts.DefaultSessionTTL),
		doc:   "a web session ends this long after sign-in",
		parse: duration(func(c *config) *time.Duration { return &c.web.sessionTTL }, false)},
	{name: "CALLSCRIBE_SESSION_IDLE_TIMEOUT", def: shortDuration(accounts.DefaultIdleTimeout),
		doc:   "a web session unused this long ends",
		parse: duration(func(c *config) *time.Duration { return &c.web.idleTimeout }, false)},
	{name: "CALLSCRIBE_PARTNER_WINDOW", def: shortDuration(accounts.DefaultAttributionWindow),
		doc:   "a registration this soon after a visit through a partner link is the partner's (the partner cookies' lifetime)",
		parse: duration(func(c *config) *time.Duration { return &c.web.partnerWindow }, false)},
	{name: "CALLSCRIBE_ARGON2", def: fmt.Sprintf("t=%d,m=%d,p=%d", accounts.DefaultArgon2Time, accounts.DefaultArgon2MemoryKiB, accounts.DefaultArgon2Threads),
		doc:   "argon2id parameters of new password hashes: passes, memory in KiB, threads (each hash keeps its own, so a change applies as people next set a password)",
		parse: argon2Params},
	{name: "CALLSCRIBE_THROTTLE_KEY", secret: true, file: true, defDoc: "random per process",
		doc: "key (≥ 32 bytes) of the HMACs under which failed sign-ins are counted per email and per address; set the same on every `serve` so the limits hold across processes and restarts",
		parse: func(c *config, v string) error {
			if len(v) < 32 {
				return fmt.Errorf("%d bytes; at least 32", len(v))
			}
			c.web.throttleKey = []byte(v)
			return nil
		}},
	{name: "CALLSCRIBE_YANDEX_CLIENT_ID",
		doc:   "sign-in with Yandex ID: the app's client id (with `CALLSCRIBE_YANDEX_CLIENT_SECRET`); see [Sign-in providers](#sign-in-providers)",
		parse: text(func(c *config) *string { return &c.web.yandexClientID })},
	{name: "CALLSCRIBE_YANDEX_CLIENT_SECRET", secret: true, file: true,
		doc:   "its client secret",
		parse: text(func(c *config) *string { return &c.web.yandexSecret })},
	{name: "CALLSCRIBE_VK_CLIENT_ID",
		doc:   "sign-in with VK ID: the app's id (VK ID needs no secret: PKCE)",
		parse: text(func(c *config) *string { return &c.web.vkClientID })},
	{name: "CALLSCRIBE_OIDC_PROVIDERS",
		doc:   "names of OpenID Connect providers to sign in with (comma-separated); each NAME needs `CALLSCRIBE_OIDC_<NAME>_ISSUER`, `_CLIENT_ID`, `_CLIENT_SECRET` (`_FILE`)",
		parse: text(func(c *config) *string { return &c.web.oidcProviders })},
	{name: "CALLSCRIBE_OAUTH_TIMEOUT", def: shortDuration(oauth.DefaultTimeout),
		doc:   "one call to a sign-in provider",
		parse: duration(func(c *config) *time.Duration { return &c.web.oauthTimeout }, false)},
}

// checks are what must hold between options, each naming the variables at fault; they
// run in order once every option is read.
var checks = []func(c *config) error{
	// The sign-in providers: their per-provider variables are read here, by the oauth
	// package, which names any at fault.
	func(c *config) error {
		if c.web.sessionTTL < c.web.idleTimeout {
			return fmt.Errorf("CALLSCRIBE_SESSION_IDLE_TIMEOUT (%s) is longer than CALLSCRIBE_SESSION_TTL (%s)", c.web.idleTimeout, c.web.sessionTTL)
		}
		return nil
	},
	func(c *config) error {
		providers, err := oauth.FromEnv(c.getenv)
		if err != nil {
			return err
		}
		c.web.providers = providers
		return nil
	},
	func(c *config) error {
		if c.asr == "openai" && c.openAIBaseURL == "" {
			return errors.New("CALLSCRIBE_ASR=openai needs CALLSCRIBE_OPENAI_BASE_URL (an in-country OpenAI-compatible server)")
		}
		return nil
	},
	func(c *config) error {
		switch {
		case c.summary != "openai":
		case c.openAIBaseURL == "":
			return errors.New("CALLSCRIBE_SUMMARY=openai needs CALLSCRIBE_OPENAI_BASE_URL (an in-country OpenAI-compatible server)")
		case c.summaryModel == "":
			return errors.New("CALLSCRIBE_SUMMARY=openai needs CALLSCRIBE_SUMMARY_MODEL, the chat model's name on that server")
		}
		return nil
	},
	func(c *config) error {
		s := c.s3
		switch {
		case s.endpoint == "" && (s.accessKey != "" || s.secretKey != ""):
			return errors.New("CALLSCRIBE_S3_ACCESS_KEY or CALLSCRIBE_S3_SECRET_KEY is set but CALLSCRIBE_S3_ENDPOINT is not: set it, or unset the keys to stage audio in memory")
		case s.endpoint != "" && s.accessKey == "":
			return errors.New("CALLSCRIBE_S3_ENDPOINT is set but CALLSCRIBE_S3_ACCESS_KEY (or _FILE) is not")
		case s.endpoint != "" && s.secretKey == "":
			return errors.New("CALLSCRIBE_S3_ENDPOINT is set but CALLSCRIBE_S3_SECRET_KEY (or _FILE) is not")
		}
		return nil
	},
	func(c *config) error {
		if c.service.jobRescueAfter <= c.service.jobTimeout {
			return fmt.Errorf("CALLSCRIBE_JOB_RESCUE_AFTER (%s) must exceed CALLSCRIBE_JOB_TIMEOUT (%s): a job still within its timeout must not be rescued as stuck", c.service.jobRescueAfter, c.service.jobTimeout)
		}
		return nil
	},
	func(c *config) error {
		if !c.service.serveWorker && !c.objectStore() {
			return errors.New("CALLSCRIBE_SERVE_WORKER=false needs CALLSCRIBE_S3_ENDPOINT: with the memory stage the staged audio lives in the serve process, so only its own worker can read it")
		}
		return nil
	},
	func(c *config) error {
		if c.telegram.webhookURL != "" && c.telegram.token == "" {
			return errors.New("CALLSCRIBE_TELEGRAM_WEBHOOK_URL is set but CALLSCRIBE_TELEGRAM_TOKEN (or _FILE) is not: the webhook is the bot's")
		}
		return nil
	},
	func(c *config) error {
		if c.notices.smtpAddr == "" {
			return nil
		}
		_, err := c.mailSender(nil)
		return err
	},
	// Refuse a configuration that would send personal data to an undeclared processor or
	// outside the allowed countries.
	func(c *config) error { return c.egress.allowed.CheckAll(processors(*c)) },
}

// loadConfig reads the environment through getenv and validates it, naming the variable
// at fault. A value is trimmed; an empty one is unset.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{getenv: getenv, stderr: io.Discard}
	for _, o := range options {
		s, err := o.read(&c, getenv)
		if err != nil {
			return c, err
		}
		c.settings = append(c.settings, s)
	}
	for _, check := range checks {
		if err := check(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// read finds the option's value (name_FILE, name, the default, in that order of
// precedence) and parses it into c.
func (o option) read(c *config, getenv func(string) string) (setting, error) {
	s := setting{name: o.name, secret: o.secret, value: strings.TrimSpace(getenv(o.name)), source: "environment"}
	if path := strings.TrimSpace(getenv(o.name + "_FILE")); o.file && path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return s, fmt.Errorf("%s_FILE: %w", o.name, err)
		}
		s.value, s.source = strings.TrimSpace(string(b)), o.name+"_FILE"
	}
	if s.value == "" {
		s.value, s.source = o.def, "default"
		if o.defFunc != nil {
			v, err := o.defFunc(c, getenv)
			if err != nil {
				return s, err
			}
			s.value = v
		}
	}
	if s.value == "" {
		s.source = "unset"
		return s, nil
	}
	if err := o.parse(c, s.value); err != nil {
		return s, fmt.Errorf("%s: %w", o.name, err)
	}
	return s, nil
}

func defaultDataDir(_ *config, getenv func(string) string) (string, error) {
	home := strings.TrimSpace(getenv("HOME"))
	if home == "" {
		return "", errors.New("CALLSCRIBE_DATA_DIR is unset and the home directory is unknown (HOME is unset)")
	}
	return filepath.Join(home, ".local", "share", "callscribe"), nil
}

// The parsers of the options table.

func text(field func(*config) *string) func(*config, string) error {
	return func(c *config, v string) error { *field(c) = v; return nil }
}

// httpURL parses an absolute http or https URL.
func httpURL(field func(*config) *string) func(*config, string) error {
	return func(c *config, v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not an http(s) URL", v)
		}
		*field(c) = v
		return nil
	}
}

func oneOf(field func(*config) *string, values ...string) func(*config, string) error {
	return func(c *config, v string) error {
		for _, ok := range values {
			if v == ok {
				*field(c) = v
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(values, ", "))
	}
}

// duration parses a positive duration (zeroOK: or 0, which means no limit).
func duration(field func(*config) *time.Duration, zeroOK bool) func(*config, string) error {
	return func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		switch {
		case err == nil && (d > 0 || d == 0 && zeroOK):
			*field(c) = d
			return nil
		case zeroOK:
			return fmt.Errorf("%q is not a duration such as 2h (0: no limit)", v)
		default:
			return fmt.Errorf("%q is not a positive duration such as 30s, 10m or 24h", v)
		}
	}
}

// count parses a whole number from 1 to max (0: no maximum).
func count(field func(*config) *int, max int) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		switch {
		case err == nil && n >= 1 && (max == 0 || n <= max):
			*field(c) = n
			return nil
		case max == 0:
			return fmt.Errorf("%q is not a positive whole number", v)
		default:
			return fmt.Errorf("%q is not a whole number from 1 to %d", v, max)
		}
	}
}

func positiveBytes(field func(*config) *int64) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a positive number of bytes", v)
		}
		*field(c) = n
		return nil
	}
}

func boolean(field func(*config) *bool) func(*config, string) error {
	return func(c *config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*field(c) = b
		return nil
	}
}

func policy(field func(*config) *safehttp.Policy, name string) func(*config, string) error {
	return func(c *config, v string) (err error) {
		*field(c), err = safehttp.ParsePolicy(name, v)
		return unprefixed(err, name)
	}
}

// unprefixed drops the "NAME: " a parser of another package put in front of its error,
// since option.read puts it there.
func unprefixed(err error, name string) error {
	if err == nil {
		return nil
	}
	if rest, ok := strings.CutPrefix(err.Error(), name+": "); ok {
		return errors.New(rest)
	}
	return err
}

// shortDuration writes d as a person would: 5m, not 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// mask is how `callscribe config` shows a secret.
const mask = "********"

// cmdConfig prints the effective configuration, one VAR=value line per option in the
// table's order with where the value came from; secrets are masked.
func cmdConfig(cfg config, args []string, stdout io.Writer) error {
	if err := parseNone(newFlags("config"), args); err != nil {
		return err
	}
	for _, s := range cfg.settings {
		v := s.value
		if s.secret && v != "" {
			v = mask
		}
		if _, err := fmt.Fprintf(stdout, "%s=%s\t# %s\n", s.name, v, s.source); err != nil {
			return err
		}
	}
	return nil
}
