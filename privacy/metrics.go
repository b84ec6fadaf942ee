package privacy

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callscribe"
)

// RequestCounter is what the collector needs of the database.
type RequestCounter interface {
	RequestCounts(ctx context.Context, today callscribe.Date) ([]callscribe.RequestCount, error)
}

// RequestsCollector reports the open and overdue data-subject requests by kind, counted
// in the database at scrape time (so every process reports the same figures):
// callscribe_privacy_requests_open{kind} and callscribe_privacy_requests_overdue{kind}.
// Labels carry the kind only.
type RequestsCollector struct {
	Store   RequestCounter
	Now     func() time.Time // default time.Now
	Timeout time.Duration    // of the query; default 5s

	open, overdue *prometheus.Desc
}

var _ prometheus.Collector = (*RequestsCollector)(nil)

// NewRequestsCollector returns a collector to register with a prometheus.Registry.
func NewRequestsCollector(store RequestCounter) *RequestsCollector {
	return &RequestsCollector{
		Store: store,
		open: prometheus.NewDesc("callscribe_privacy_requests_open",
			"Data-subject requests received or in progress.", []string{"kind"}, nil),
		overdue: prometheus.NewDesc("callscribe_privacy_requests_overdue",
			"Open data-subject requests whose due day (Moscow, extended when extended) has passed.", []string{"kind"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *RequestsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.overdue
}

// Collect implements prometheus.Collector.
func (c *RequestsCollector) Collect(ch chan<- prometheus.Metric) {
	now, timeout := time.Now, 5*time.Second
	if c.Now != nil {
		now = c.Now
	}
	if c.Timeout > 0 {
		timeout = c.Timeout
	}
	// The gauges count every organization's requests: system work.
	ctx, cancel := context.WithTimeout(callscribe.AsSystem(context.Background()), timeout)
	defer cancel()
	counts, err := c.Store.RequestCounts(ctx, callscribe.DateOf(now().In(Moscow)))
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.open, err)
		ch <- prometheus.NewInvalidMetric(c.overdue, err)
		return
	}
	for _, k := range counts {
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(k.Open), string(k.Kind))
		ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(k.Overdue), string(k.Kind))
	}
}
