package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/accounts"
	"callscribe/audio"
	"callscribe/mail"
	"callscribe/metrics"
	"callscribe/notify"
	"callscribe/pipeline"
	"callscribe/privacy"
	"callscribe/storage/postgres"
	"callscribe/summarize"
	"callscribe/telegram"
	"callscribe/web"
	"callscribe/webapp"
	"callscribe/webhook"
)

// memoryStageCalls is how many calls of the largest size the memory stage holds at once.
const memoryStageCalls = 4

// webhookWorkers is how many webhook deliveries a process sends at once.
const webhookWorkers = 4

// service is what serve and worker run: the pipeline over the queued store, and the
// River client that inserts jobs and, with workers, runs them.
type service struct {
	metrics  *metrics.Metrics // what this process counts, served on /metrics by serve
	pipeline *pipeline.Pipeline
	stage    callscribe.Stage
	queue    *river.Client[pgx.Tx]
	queued   *postgres.Queued // the database with the queue: closing a request enqueues in it
	eraser   *privacy.Eraser  // nil without a ledger key
	// summarizer writes a corrected transcript's summary again; nil: summaries are off.
	summarizer summarize.Summarizer
	notices    *notify.Notices // the profile page's notice preferences use it too
	closeASR   func()
}

// newService wires the pipeline, the stage and the job queue. With runJobs the River
// client also works the queue, CALLSCRIBE_WORKERS calls at once.
func newService(ctx context.Context, a *app, scfg serviceConfig, runJobs bool) (*service, error) {
	// The memory stage holds calls queued and in flight; the object store, when configured,
	// is readied (bucket, lifecycle rule) and checked (no object lock) here.
	stage, err := newStage(ctx, a.cfg, memoryStageCalls, a.log)
	if err != nil {
		return nil, err
	}
	transcriber, closeASR, err := newTranscriber(a.cfg)
	if err != nil {
		return nil, err
	}
	summarizer, err := newSummarizer(a.cfg)
	if err != nil {
		closeASR()
		return nil, err
	}
	limits := audio.Limits{MaxInputBytes: a.cfg.maxCallBytes, MaxDuration: scfg.maxCallDuration}
	queued := &postgres.Queued{DB: a.db, MaxAttempts: scfg.jobMaxAttempts}
	m := metrics.New()
	p := pipeline.New(pipeline.Config{
		Metrics:     m,
		Store:       queued,
		Service:     queued,
		Watcher:     a.db,
		Stage:       stage,
		Decode:      decoder(nil, limits),
		DecodeRaw:   rawDecoder(limits),
		Transcriber: transcriber,
		Summarizer:  summarizer,
		Logger:      a.log,
		ConsentPoll: a.cfg.consentPoll,
		MaxBytes:    a.cfg.maxCallBytes,
		MaxDuration: scfg.maxCallDuration,
	})
	workers := river.NewWorkers()
	river.AddWorker(workers, &pipeline.Worker{Pipeline: p, TimeoutFloor: scfg.jobTimeout})
	river.AddWorker(workers, webhook.NewWorker(webhook.New(a.db, a.cfg.webhookConfig(a.log, m))))
	notices, err := a.newNotices(m)
	if err != nil {
		closeASR()
		return nil, err
	}
	river.AddWorker(workers, notify.NewWorker(notices))
	// Without a ledger key the service still runs; completing an erasure request then
	// fails (privacy.Requests refuses it without an eraser), and nothing works the
	// erasure queue.
	eraser, err := a.eraser()
	if err != nil {
		a.log.Warn("erasure requests cannot be completed over the API", "err", err)
		eraser = nil
	} else {
		river.AddWorker(workers, &privacy.EraseWorker{Requests: a.db, Eraser: eraser, Logger: a.log})
	}
	rcfg := &river.Config{
		Workers:              workers,
		JobTimeout:           scfg.jobTimeout,
		RescueStuckJobsAfter: scfg.jobRescueAfter,
		MaxAttempts:          scfg.jobMaxAttempts,
		Logger:               a.log,
	}
	if runJobs {
		rcfg.Queues = map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: scfg.workers},
			webhook.Queue:      {MaxWorkers: webhookWorkers},
			notify.Queue:       {MaxWorkers: noticeWorkers},
		}
		if eraser != nil {
			rcfg.Queues[callscribe.EraseQueue] = river.QueueConfig{MaxWorkers: 1}
		}
	}
	client, err := river.NewClient(riverpgxv5.New(a.db.Pool()), rcfg)
	if err != nil {
		closeASR()
		return nil, fmt.Errorf("job queue: %w", err)
	}
	queued.Jobs = client
	// A call's end records its webhook deliveries, with their jobs, in the transaction
	// that ends it: whichever process or path ends a call (a worker, the sweeper, a
	// withdrawal of consent), its event is sent, even if that process dies right after.
	a.db.NotifyOnCallEnd(webhook.NewNotifier().CallEnded, client)
	return &service{metrics: m, pipeline: p, stage: stage, queue: client, queued: queued, eraser: eraser, summarizer: summarizer, notices: notices, closeASR: closeASR}, nil
}

func cmdServe(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if err := parseNone(newFlags("serve"), args); err != nil {
		return err
	}
	scfg := cfg.service
	stopProfile, err := startCPUProfile(scfg.cpuProfile)
	if err != nil {
		return callscribe.Wrap(callscribe.EINVALID, err, "%v", err)
	}
	defer stopProfile()
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	svc, err := newService(ctx, a, scfg, scfg.serveWorker)
	if err != nil {
		return err
	}
	defer svc.closeASR()
	if err := svc.metrics.RegisterDatabase(a.db); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if err := svc.metrics.Registry.Register(privacy.NewRequestsCollector(a.db)); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if svc.stage.ProcessLocal() {
		// Audio staged in memory by a previous process died with it: say so on each call.
		lost, err := a.db.FailLostCalls(ctx, svc.stage.Name(), time.Now())
		if err != nil {
			return err
		}
		for _, id := range lost {
			a.log.Warn("call lost with a previous process's memory stage; marked failed", "call_id", id)
		}
	}

	cal, err := privacy.LoadCalendar(a.cfg.calendarFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", scfg.httpAddr)
	if err != nil {
		return callscribe.Wrap(callscribe.EINVALID, err, "CALLSCRIBE_HTTP_ADDR: cannot listen on %s: %v", scfg.httpAddr, err)
	}
	if a.cfg.web.publicURLDefault {
		a.cfg.web.publicURL = "http://" + ln.Addr().String()
	}
	acc := accounts.New(a.db, a.cfg.web.accountsConfig(), a.log)
	// Account emails (verification, reset, invitation) go by SMTP when it is configured;
	// without it the web app writes each link to the log with the user's id.
	var mailer mail.Sender
	if a.cfg.notices.smtpAddr != "" {
		if mailer, err = a.cfg.mailSender(a.log); err != nil {
			return err
		}
	}
	// The privacy services the API and the web app share: one path per promise.
	consents := &privacy.Consents{Store: a.db, PolicyVersion: a.cfg.policyVersion, Audit: &privacy.Audit{}, AuditLog: a.db}
	requests := &privacy.Requests{Store: svc.queued, Calendar: cal, Eraser: svc.eraser}
	exporter := &privacy.Exporter{Store: a.db}
	editor := corrections(a.db, svc.summarizer, a.log)
	// The bot first: the profile page links accounts to it.
	bot, err := newBot(ctx, a, svc)
	if err != nil {
		return err
	}
	var linker webapp.TelegramLinker
	if bot != nil {
		linker = bot
	}
	pages, err := webapp.New(webapp.Config{
		Telegram: linker, Notices: svc.notices,
		Readers: webapp.Readers{Store: a.db, Consents: consents, Requests: requests, Exporter: exporter,
			Editor: editor, Discarder: svc.pipeline},
		Mailer:   mailer,
		Accounts: acc, Providers: a.cfg.web.providers, BaseURL: a.cfg.web.publicURL,
		CookiePrefix: a.cfg.web.cookiePrefix, InsecureCookies: a.cfg.web.insecure,
		SessionTTL: a.cfg.web.sessionTTL, AttributionWindow: a.cfg.web.partnerWindow,
		Logger: a.log,
	})
	if err != nil {
		return err
	}
	srv := web.New(web.Config{
		Pages: pages.Handler(),
		Store: a.db, Ingester: svc.pipeline, Stage: svc.stage, Fetcher: a.cfg.fetcher(),
		MaxBodyBytes:      a.cfg.maxCallBytes + 1<<20, // the audio and its multipart wrapping
		UploadIdleTimeout: scfg.uploadIdleTimeout,
		Logger:            a.log,
		Consents:          consents,
		Requests:          requests,
		Exporter:          exporter,
		Editor:            editor,
		AuditLog:          a.db,
		Metrics:           svc.metrics,
	}).HTTPServer()
	if bot != nil {
		a.bot.Store(bot) // the notices' telegram channel sends through it
		// Webhook mode: Telegram's updates come to the HTTP server, beside the API.
		mux := http.NewServeMux()
		mux.Handle(telegram.WebhookPath, bot.WebhookHandler())
		mux.Handle("/", srv.Handler)
		srv.Handler = mux
	}
	if scfg.serveWorker {
		if err := startQueue(ctx, svc.queue); err != nil {
			return err
		}
	}
	startSweeper(ctx, a, scfg)
	botDone := make(<-chan struct{})
	if bot != nil {
		botDone = runBot(ctx, a, bot)
	}
	retention := &privacy.Retention{Store: a.db, Eraser: svc.eraser, Logger: a.log}
	go retention.Run(ctx, a.cfg.retentionEvery) // logs its own failures and keeps going
	go pruneSessions(ctx, acc, a.cfg.retentionEvery, a.log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(web.Listener(ln)) }() // net/http's own refusals in JSON too
	fmt.Fprintf(stdout, "callscribe serve: listening on http://%s (worker %v); the web app: %s\n", ln.Addr(), scfg.serveWorker, a.cfg.web.publicURL)

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	// SIGTERM: stop accepting, let uploads in flight finish (or be cleaned up by their
	// own refusal path), then let the calls being transcribed finish; past the timeout
	// their contexts are cancelled and the jobs are retried later.
	// Both get the whole timeout: the queue stops beside the HTTP server, not after it.
	down, cancel := context.WithTimeout(context.Background(), scfg.shutdownTimeout)
	defer cancel()
	queueStopped := make(chan struct{})
	go func() {
		defer close(queueStopped)
		if scfg.serveWorker {
			stopQueue(down, svc.queue, a)
		}
	}()
	if err := srv.Shutdown(down); err != nil {
		a.log.Warn("uploads still in flight at shutdown", "err", err)
		srv.Close()
	}
	<-queueStopped
	if bot != nil {
		<-botDone
	}
	fmt.Fprintln(stdout, "callscribe serve: stopped")
	return nil
}

// startQueue starts working the queue. River treats the cancellation of the context
// given to Start as a hard stop (every running job's context cancelled at once), so it
// gets one that SIGTERM does not cancel: stopQueue stops it, softly first.
func startQueue(ctx context.Context, q *river.Client[pgx.Tx]) error {
	if err := q.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start the job queue: %w", err)
	}
	return nil
}

// stopQueue stops the worker softly (running calls finish) until ctx ends, then cancels
// what is still running.
func stopQueue(ctx context.Context, q *river.Client[pgx.Tx], a *app) {
	if err := q.Stop(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		a.log.Warn("stop the job queue", "err", err)
	}
	if ctx.Err() != nil {
		hard, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.StopAndCancel(hard); err != nil {
			a.log.Warn("cancel running jobs", "err", err)
		}
	}
}

func cmdWorker(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if err := parseNone(newFlags("worker"), args); err != nil {
		return err
	}
	scfg := cfg.service
	if !cfg.objectStore() {
		return callscribe.Errorf(callscribe.EINVALID,
			"callscribe worker needs an object store (CALLSCRIBE_S3_ENDPOINT): with the memory stage the staged audio lives in the serve process, whose own worker transcribes it (CALLSCRIBE_SERVE_WORKER=true)")
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	svc, err := newService(ctx, a, scfg, true)
	if err != nil {
		return err
	}
	defer svc.closeASR()
	// The worker delivers notices too: with a bot token, its telegram channel sends
	// through a bot client of its own (serve alone receives the bot's updates).
	bot, err := newBot(ctx, a, svc)
	if err != nil {
		return err
	}
	if bot != nil {
		a.bot.Store(bot)
	}
	if err := startQueue(ctx, svc.queue); err != nil {
		return err
	}
	startSweeper(ctx, a, scfg)
	fmt.Fprintf(stdout, "callscribe worker: working the queue, %d calls at once\n", scfg.workers)
	<-ctx.Done()
	down, cancel := context.WithTimeout(context.Background(), scfg.shutdownTimeout)
	defer cancel()
	stopQueue(down, svc.queue, a)
	fmt.Fprintln(stdout, "callscribe worker: stopped")
	return nil
}

// pruneSessions deletes the web sessions past their expiry or idle time (and the address
// each kept) now and then every period, until ctx ends.
func pruneSessions(ctx context.Context, acc *accounts.Service, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := acc.PruneSessions(callscribe.AsSystem(ctx)); err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "prune sessions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
