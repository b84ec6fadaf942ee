// Package metrics defines every Prometheus metric callscribe exports, in one place, on
// one registry that /metrics serves. Labels carry statuses, steps and states — never a
// call id, a user, a phone number or any text (they would be shipped off the machine and
// kept). Add new metrics here (webhooks, say) so the set stays reviewable at a glance.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"callscribe"
)

// Metrics is every metric of one process, on its own registry, which /metrics serves. It
// is passed to what counts (the pipeline, the webhook deliverer, the web server), never a
// package global: tests in parallel each count on their own.
type Metrics struct {
	// Registry holds the metrics below, the Go and process collectors, and what
	// RegisterDatabase and Register add.
	Registry *prometheus.Registry
	// CallsAccepted counts uploads accepted and queued (202), not repeats of an external id.
	CallsAccepted prometheus.Counter
	// CallsRefused counts uploads refused, by error code (no_consent, too_large, …).
	CallsRefused *prometheus.CounterVec
	// CallsEnded counts calls that reached a final status in this process.
	CallsEnded *prometheus.CounterVec
	// StepSeconds is how long each step of a call took: staging, recognition, storing,
	// deletion (delete, confirm, receipt).
	StepSeconds *prometheus.HistogramVec
	// StagedBytes is the audio bytes this process has staged and not yet seen deleted.
	StagedBytes prometheus.Gauge
	// DeletionsConfirmed counts staged objects deleted and confirmed gone (receipts written).
	DeletionsConfirmed prometheus.Counter
	// WebhookDeliveries counts attempts at webhook deliveries by event (call.completed, …)
	// and outcome (delivered, retry, failed, gone).
	WebhookDeliveries *prometheus.CounterVec
	// NoticeDeliveries counts attempts at notices to users by event (transcript_ready, …),
	// channel (telegram, email) and state (sent, pending, failed, no_channel, skipped, gone).
	NoticeDeliveries *prometheus.CounterVec
}

// New returns a process's metrics on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		CallsAccepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "callscribe_calls_accepted_total",
			Help: "Calls accepted for transcription and queued.",
		}),
		CallsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callscribe_calls_refused_total",
			Help: "Uploads refused, by error code.",
		}, []string{"code"}),
		CallsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callscribe_calls_ended_total",
			Help: "Calls that reached a final status (completed, discarded, failed).",
		}, []string{"status"}),
		StepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "callscribe_step_seconds",
			Help:    "Duration of a call's steps: staging, recognition, storing, deletion.",
			Buckets: []float64{.005, .025, .1, .5, 1, 2.5, 5, 10, 30, 60, 180, 600, 1800},
		}, []string{"step"}),
		StagedBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "callscribe_staged_bytes",
			Help: "Bytes of audio staged by this process whose deletion is not yet confirmed.",
		}),
		DeletionsConfirmed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "callscribe_deletions_confirmed_total",
			Help: "Staged audio objects deleted, confirmed gone by the stage, and receipted.",
		}),
		WebhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callscribe_webhook_deliveries_total",
			Help: "Webhook delivery attempts, by event and outcome (delivered, retry, failed, gone).",
		}, []string{"event", "outcome"}),
		NoticeDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callscribe_notice_deliveries_total",
			Help: "Notice delivery attempts, by event, channel and state (sent, pending, failed, no_channel, skipped, gone).",
		}, []string{"event", "channel", "state"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.CallsAccepted, m.CallsRefused, m.CallsEnded, m.StepSeconds, m.StagedBytes, m.DeletionsConfirmed,
		m.WebhookDeliveries, m.NoticeDeliveries,
	)
	return m
}

// WebhookDelivery counts one webhook delivery attempt. event is empty for a delivery
// that was gone before it was read.
func (m *Metrics) WebhookDelivery(event, outcome string) {
	if event == "" {
		event = "unknown"
	}
	m.WebhookDeliveries.WithLabelValues(event, outcome).Inc()
}

// NoticeDelivery counts one notice delivery attempt. event and channel are empty for a
// delivery that was gone before it was read.
func (m *Metrics) NoticeDelivery(event, channel, state string) {
	if event == "" {
		event = "unknown"
	}
	if channel == "" {
		channel = "unknown"
	}
	m.NoticeDeliveries.WithLabelValues(event, channel, state).Inc()
}

// Step records how long a step took.
func (m *Metrics) Step(step string, began, ended time.Time) {
	m.StepSeconds.WithLabelValues(step).Observe(ended.Sub(began).Seconds())
}

// PublicStatuses are the values of callscribe_calls{status}, the API's names of a call's
// status; each is exported, zero or not.
var PublicStatuses = callscribe.PublicStatuses

// Source is what the database collector reads at each scrape.
type Source interface {
	CallCountsByStatus(ctx context.Context) (map[string]int64, error)
	QueueDepth(ctx context.Context) (map[string]int64, error)
}

// dbCollector reads the counts that only the database knows at scrape time: calls by
// status (all processes) and transcription jobs by queue state.
type dbCollector struct {
	src     Source
	calls   *prometheus.Desc
	queue   *prometheus.Desc
	timeout time.Duration
}

// RegisterDatabase adds the gauges read from the database at each scrape:
// callscribe_calls{status} and callscribe_queue_jobs{state}.
func (m *Metrics) RegisterDatabase(src Source) error {
	return m.Registry.Register(&dbCollector{
		src:     src,
		calls:   prometheus.NewDesc("callscribe_calls", "Calls in the database, by status (queued, processing, completed, discarded, failed).", []string{"status"}, nil),
		queue:   prometheus.NewDesc("callscribe_queue_jobs", "Transcription jobs not yet finished, by queue state.", []string{"state"}, nil),
		timeout: 5 * time.Second,
	})
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.calls
	ch <- c.queue
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	// The gauges count every organization's calls and jobs: system work.
	ctx, cancel := context.WithTimeout(callscribe.AsSystem(context.Background()), c.timeout)
	defer cancel()
	if counts, err := c.src.CallCountsByStatus(ctx); err == nil {
		// The API's words (queued, not staged): one vocabulary for a call's status.
		public := map[string]int64{}
		for _, s := range PublicStatuses {
			public[s] = 0
		}
		for s, n := range counts {
			public[callscribe.CallStatus(s).Public()] += n
		}
		for s, n := range public {
			ch <- prometheus.MustNewConstMetric(c.calls, prometheus.GaugeValue, float64(n), s)
		}
	} else {
		ch <- prometheus.NewInvalidMetric(c.calls, err)
	}
	if depth, err := c.src.QueueDepth(ctx); err == nil {
		for _, state := range []string{"available", "scheduled", "retryable", "running", "pending"} {
			ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(depth[state]), state)
		}
	} else {
		ch <- prometheus.NewInvalidMetric(c.queue, err)
	}
}
