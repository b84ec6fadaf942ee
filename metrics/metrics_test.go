package metrics

import (
	"context"
	"maps"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type counts map[string]int64

func (c counts) CallCountsByStatus(context.Context) (map[string]int64, error) { return c, nil }
func (c counts) QueueDepth(context.Context) (map[string]int64, error) {
	return map[string]int64{}, nil
}

// TestCallsByStatusSpeaksTheAPI: callscribe_calls{status} uses the API's words — a staged
// or received call is queued — and shows every status, zero or not. (Issue 11: /metrics
// said staged where the API said queued.)
func TestCallsByStatusSpeaksTheAPI(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(&dbCollector{src: counts{"staged": 2, "received": 1, "processing": 4, "failed": 1},
		calls: prometheus.NewDesc("callscribe_calls", "Calls.", []string{"status"}, nil),
		queue: prometheus.NewDesc("callscribe_queue_jobs", "Jobs.", []string{"state"}, nil)})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "callscribe_calls" {
			continue
		}
		for _, m := range f.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{"queued": 3, "processing": 4, "completed": 0, "discarded": 0, "failed": 1}
	if !maps.Equal(got, want) {
		t.Errorf("callscribe_calls by status = %v; want %v", got, want)
	}
}
