package webapp_test

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/accounts"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
	"callscribe/webapp"
)

// benchWords are the words generated transcripts are made of: Russian and English.
var benchWords = strings.Fields(`добрый день звоню по поводу договора поставки оплаты счёта доставка завтра
утром менеджер перезвонит уточнить адрес заказ номер скидка good morning calling about the invoice order delivery
tomorrow please send contract payment account manager will call back address discount thank you`)

func benchText(seed, n int) string {
	w := make([]string, n)
	x := uint32(seed)
	for i := range w {
		x = x*1103515245 + 12345
		w[i] = benchWords[int(x>>8)%len(benchWords)]
	}
	return strings.Join(w, " ")
}

// BenchmarkPages measures the readers' pages on a generated organization: its calls
// (CALLSCRIBE_BENCH_CALLS, default 2,000; the figure is for 100,000), each of 20
// Russian and English segments, stored through the storage methods the pipeline uses;
// one more call of 60 minutes (1,200 segments). Each sub-benchmark reports the server's
// time for a page, p95 over its runs (the handler called in-process: no network), and
// the page's weight with everything it loads (the HTML and the one stylesheet).
func BenchmarkPages(b *testing.B) {
	n := 2000
	if v := os.Getenv("CALLSCRIBE_BENCH_CALLS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("CALLSCRIBE_BENCH_CALLS=%q", v)
		}
	}
	ctx := callscribe.AsSystem(context.Background())
	db, err := postgres.Open(ctx, pgtest.DB(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	log := slog.New(slog.DiscardHandler)
	cfg := accounts.Config{}
	cfg.Argon2.Time, cfg.Argon2.MemoryKiB, cfg.Argon2.Threads = 1, 1024, 1
	acc := accounts.New(db, cfg, log)
	p := alice()
	acct, _, err := acc.Register(ctx, accounts.Registration{Surname: p.surname, FirstName: p.first, Email: p.email, Phone: p.phone,
		Password: p.password, Company: accounts.Company{Name: p.company, INN: p.inn}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE accounts SET email_verified_at = now() WHERE user_id = $1`, acct.ID); err != nil {
		b.Fatal(err)
	}
	for _, pp := range []callscribe.Purpose{callscribe.PurposeTranscription, callscribe.PurposeSummarization} {
		if _, err := db.GrantConsent(ctx, acct.ID, pp, "1", callscribe.ConsentViaWeb, time.Now().AddDate(-1, 0, 0)); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	store := func(i, segments int, segMS int64) uuid.UUID {
		id, err := db.CreateCall(ctx, acct.OrgID, acct.ID, []string{"agent", "client"})
		if err == nil {
			err = db.RecordStaging(ctx, id, callscribe.Staging{Stage: "memory", ObjectKey: "calls/" + id.String(),
				Key: []byte("0123456789abcdef0123456789abcdef"), Bytes: 960000, SHA256: strings.Repeat("ab", 32), StagedAt: time.Now()})
		}
		if err == nil {
			err = db.SetProcessing(ctx, id)
		}
		if err != nil {
			b.Fatal(err)
		}
		tr := callscribe.Transcript{CallID: id, Engine: "bench", DurationMS: int64(segments) * segMS, Channels: []string{"agent", "client"},
			Summary: &callscribe.Summary{Engine: "bench", Text: benchText(i, 12)}}
		var all []string
		for k := range segments {
			text := benchText(i*31+k, 12)
			all = append(all, text)
			tr.Segments = append(tr.Segments, callscribe.Segment{Channel: k % 2, Speaker: []string{"agent", "client"}[k%2],
				StartMS: int64(k) * segMS, EndMS: int64(k)*segMS + segMS - 500, Text: text})
		}
		tr.Text = strings.Join(all, " ")
		if done, err := db.CompleteCall(ctx, acct.ID, tr); err != nil || !done.Stored {
			b.Fatalf("store call: %+v, %v", done, err)
		}
		now := time.Now()
		if _, err := db.ConfirmDeletion(ctx, id, now, now); err != nil {
			b.Fatal(err)
		}
		return id
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				store(i, 20, 3000)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	long := store(n, 1200, 3000)
	if _, err := db.Pool().Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d calls of 20 segments and one of 60 minutes in %s", n, time.Since(start).Round(time.Second))

	w, err := webapp.New(webapp.Config{Accounts: acc, BaseURL: "http://bench.invalid", InsecureCookies: true, Logger: log,
		Readers: webapp.Readers{Store: db, Consents: &privacy.Consents{Store: db, PolicyVersion: "1"},
			Requests: &privacy.Requests{Store: db}, Exporter: &privacy.Exporter{Store: db}, Editor: &privacy.Corrections{Store: db}}})
	if err != nil {
		b.Fatal(err)
	}
	h := w.Handler()
	ses, err := acc.StartSession(ctx, acct.ID, "bench", "192.0.2.1", "")
	if err != nil {
		b.Fatal(err)
	}
	css, err := fs.ReadFile(os.DirFS("static"), "app.css")
	if err != nil {
		b.Fatal(err)
	}
	get := func(path string) (int, time.Duration) {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(&http.Cookie{Name: "iq_session_id", Value: ses.ID})
		req.Header.Set("Accept-Encoding", "gzip") // the weight is what a browser receives
		rec := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(t0)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d\n%s", path, rec.Code, rec.Body.String())
		}
		return rec.Body.Len(), d
	}
	for _, page := range []struct{ name, path string }{
		{"list", "/calls"},
		{"search", "/calls?q=" + strings.ReplaceAll("договор поставки", " ", "+")},
		{"chart", "/calls/chart.svg"},
		{"transcript-60min", "/calls/" + long.String()},
	} {
		b.Run(page.name, func(b *testing.B) {
			var times []time.Duration
			size := 0
			for b.Loop() {
				var d time.Duration
				size, d = get(page.path)
				times = append(times, d)
			}
			slices.Sort(times)
			p95 := times[(len(times)*95+99)/100-1]
			b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
			if page.name != "chart" { // the chart is part of the list's weight
				b.ReportMetric(float64(size+len(css))/1024, "page-KB")
			} else {
				b.ReportMetric(float64(size)/1024, "KB")
			}
		})
	}
	// The references: the storage query each list page makes, alone (the page beside it
	// adds the summaries, the audit of what it shows, the template and the session).
	octx := callscribe.WithOrg(context.Background(), acct.OrgID)
	for _, ref := range []struct {
		name string
		f    callscribe.CallFilter
	}{
		{"list-query", callscribe.CallFilter{OrgID: acct.OrgID, Limit: 26}},
		{"search-query", callscribe.CallFilter{OrgID: acct.OrgID, Limit: 26, Q: "договор поставки"}},
	} {
		b.Run(ref.name, func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := db.SearchCalls(octx, ref.f); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(t0))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[(len(times)*95+99)/100-1].Microseconds())/1000, "p95-ms")
		})
	}
	fmt.Fprintf(os.Stderr, "pages: %d calls; page weight counts the HTML and app.css (%d bytes), all a page loads\n", n, len(css))
}
