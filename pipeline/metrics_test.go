package pipeline_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"callscribe"
	"callscribe/metrics"
	"callscribe/pipeline"
)

// TestMetricsAreThePipelinesOwn: a pipeline counts on the metrics it is given, not on a
// package global, so two pipelines (two tests in parallel) each see their own counts.
func TestMetricsAreThePipelinesOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // the user has no consent: every upload is refused
	q := queued(t, e)
	mine, other := metrics.New(), metrics.New()
	p := pipeline.New(pipeline.Config{Store: q, Service: q, Stage: e.stage, Metrics: mine})
	pipeline.New(pipeline.Config{Store: q, Service: q, Stage: e.stage, Metrics: other})
	for range 2 {
		_, err := p.Accept(callscribe.AsSystem(context.Background()), pipeline.Upload{Owner: e.user, Audio: nil, Size: -1})
		if got := callscribe.ErrorCode(err); got != callscribe.ENOCONSENT {
			t.Fatalf("Accept: code %q (%v), want %q", got, err, callscribe.ENOCONSENT)
		}
	}
	if got := testutil.ToFloat64(mine.CallsRefused.WithLabelValues(callscribe.ENOCONSENT)); got != 2 {
		t.Errorf("the pipeline's own refusals counted %v, want 2", got)
	}
	if got := testutil.ToFloat64(other.CallsRefused.WithLabelValues(callscribe.ENOCONSENT)); got != 0 {
		t.Errorf("another pipeline's metrics counted %v refusals, want 0", got)
	}
}
