package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/notify"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

// arrival is a message seen where it was sent, with the call it is about.
type arrival struct {
	callID uuid.UUID
	at     time.Time
}

// latencyTarget is the channel the benchmark measures and the arrivals at its far end.
// The in-process channel below is the default; the Telegram bot against its fake Bot
// API fits the same shape (its Channel adapter, and the fake's record of sendMessage
// calls turned into arrivals).
type latencyTarget struct {
	name     string // what the message reaches, for the printed line
	channel  notify.Channel
	arrivals <-chan arrival
	close    func()
}

// inProcessTarget is a channel that "delivers" by noting the time: the measure is then
// the queue's and the database's share of the latency alone.
func inProcessTarget(tb testing.TB) latencyTarget {
	ch := make(chan arrival, 1<<16)
	return latencyTarget{name: "the channel (in process)", channel: arrivalChannel{ch}, arrivals: ch, close: func() {}}
}

type arrivalChannel struct{ out chan<- arrival }

func (arrivalChannel) Name() callscribe.NoticeChannel { return callscribe.NoticeTelegram }

func (c arrivalChannel) Send(_ context.Context, _ uuid.UUID, m notify.Message) error {
	c.out <- arrival{callID: callFromLink(m.Text), at: time.Now()}
	return nil
}

// callFromLink reads the call id from a transcript-ready message's link.
func callFromLink(text string) uuid.UUID {
	i := strings.Index(text, "/calls/")
	if i < 0 || len(text) < i+7+36 {
		return uuid.Nil
	}
	id, _ := uuid.Parse(text[i+7 : i+7+36])
	return id
}

// BenchmarkNoticeLatency measures a transcript-ready notice from the commit of its
// call's completion (the worker's storing transaction) to the message at the channel,
// with calls completing at 50 per second for 20 seconds, River configured as serve
// configures it (8 notice workers, default fetch intervals). Target: p99 ≤ 2 s.
func BenchmarkNoticeLatency(b *testing.B) {
	const rate, seconds = 50, 20
	for range b.N {
		noticeLatency(b, inProcessTarget(b), rate, seconds)
	}
}

func noticeLatency(b *testing.B, target latencyTarget, rate, seconds int) {
	noticeLatencyOn(b, nil, func(*postgres.DB) latencyTarget { return target }, rate, seconds)
}

// noticeLatencyOn runs the benchmark on db (nil: a database of its own) with the target
// made over it; link, when set, is called for each user made (the Telegram target links
// a chat to each).
func noticeLatencyOn(b *testing.B, link func(db *postgres.DB, userID uuid.UUID, i int), makeTarget func(*postgres.DB) latencyTarget, rate, seconds int) {
	db, err := postgres.Open(ctx, pgtest.DB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	target := makeTarget(db)
	defer target.close()
	org, _ := db.EnsureOrganization(ctx, "bench")
	notices := notify.New(notify.Config{Store: db, Channels: []notify.Channel{target.channel}, BaseURL: "https://callscribe.test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	workers := river.NewWorkers()
	river.AddWorker(workers, notify.NewWorker(notices))
	client, err := river.NewClient(riverpgxv5.New(db.Pool()), &river.Config{
		Queues:  map[string]river.QueueConfig{notify.Queue: {MaxWorkers: 8}},
		Workers: workers,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	db.NoticeOn(notices.Record, client)
	if err := client.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer client.Stop(ctx)

	total := rate * seconds
	type call struct{ id, owner uuid.UUID }
	calls := make([]call, total)
	for i := range calls {
		u, err := db.CreateUser(ctx, callscribe.User{OrgID: org, Email: fmt.Sprintf("bench%d@example.test", i)})
		if err != nil {
			b.Fatal(err)
		}
		if link != nil {
			link(db, u.ID, i)
		}
		for _, p := range []callscribe.Purpose{callscribe.PurposeTranscription, callscribe.PurposeNotifications} {
			db.GrantConsent(ctx, u.ID, p, "1", callscribe.ConsentViaCLI, time.Now())
		}
		id, err := db.CreateCall(ctx, org, u.ID, []string{"agent"})
		if err != nil {
			b.Fatal(err)
		}
		db.RecordStaging(ctx, id, callscribe.Staging{Stage: "memory", ObjectKey: "calls/" + id.String(), Bytes: 1, SHA256: strings.Repeat("ab", 32), StagedAt: time.Now()})
		calls[i] = call{id, u.ID}
	}

	var mu sync.Mutex
	committed := map[uuid.UUID]time.Time{}
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	b.ResetTimer()
	for _, c := range calls {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := db.CompleteCall(ctx, c.owner, callscribe.Transcript{CallID: c.id, Engine: "bench", Text: "hello",
				Segments: []callscribe.Segment{{Text: "hello", EndMS: 1000}}})
			if err != nil || !res.Stored {
				b.Errorf("CompleteCall: %+v, %v", res, err)
				return
			}
			mu.Lock()
			committed[c.id] = time.Now()
			mu.Unlock()
		}()
	}
	tick.Stop()
	wg.Wait()
	latencies := make([]time.Duration, 0, total)
	deadline := time.After(60 * time.Second)
	for len(latencies) < total {
		select {
		case a := <-target.arrivals:
			mu.Lock()
			at, ok := committed[a.callID]
			mu.Unlock()
			if !ok {
				b.Fatalf("a message about call %s, which was not completed", a.callID)
			}
			latencies = append(latencies, max(a.at.Sub(at), 0))
		case <-deadline:
			b.Fatalf("%d of %d notices arrived within 60 s of the last completion", len(latencies), total)
		}
	}
	b.StopTimer()
	slices.Sort(latencies)
	q := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	b.ReportMetric(float64(q(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds())/1000, "max-ms")
	fmt.Printf("notice latency, call completed → message at %s, %d completions at %d/s: p50 %s, p99 %s, max %s (target p99 <= 2s)\n",
		target.name, total, rate, q(0.50).Round(time.Millisecond), q(0.99).Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond))
}
