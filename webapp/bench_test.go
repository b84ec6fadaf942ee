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
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
	"callscribe/accounts"
	"callscribe/privacy"
	"callscribe/scripts/benchdata"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
	"callscribe/webapp"
)

// BenchmarkPages measures the readers' pages on a generated organization: its calls
// (CALLSCRIBE_BENCH_CALLS, default 2,000; the figure is for 100,000), one every
// 5 minutes back from now, each of 20 Russian and English segments, written by
// scripts/benchdata; one more call of 60 minutes (1,200 segments), stored through the
// storage methods the worker uses. Each sub-benchmark reports the server's
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
	url := pgtest.DB(b)
	db, err := postgres.Open(ctx, url)
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
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	err = benchdata.Generate(ctx, conn, acct.OrgID, []uuid.UUID{acct.ID}, benchdata.Options{Calls: n, Segments: 20, Every: 5 * time.Minute, Numbers: 20000})
	conn.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	// The 60-minute call goes the worker's way, through the storage methods.
	long, err := db.CreateCall(ctx, acct.OrgID, acct.ID, []string{"agent", "client"})
	if err == nil {
		err = db.RecordStaging(ctx, long, callscribe.Staging{Stage: "memory", ObjectKey: "calls/" + long.String(),
			Key: []byte("0123456789abcdef0123456789abcdef"), Bytes: 960000, SHA256: strings.Repeat("ab", 32), StagedAt: time.Now()})
	}
	if err == nil {
		err = db.SetProcessing(ctx, long)
	}
	if err != nil {
		b.Fatal(err)
	}
	const segments, segMS = 1200, 3000
	words := benchdata.CallText(n, segments)
	tr := callscribe.Transcript{CallID: long, Engine: "bench", DurationMS: segments * segMS, Channels: []string{"agent", "client"},
		Summary: &callscribe.Summary{Engine: "bench", Text: words[0]}, Text: strings.Join(words, " ")}
	for k, text := range words {
		tr.Segments = append(tr.Segments, callscribe.Segment{Channel: k % 2, Speaker: []string{"agent", "client"}[k%2],
			StartMS: int64(k) * segMS, EndMS: int64(k)*segMS + segMS - 500, Text: text})
	}
	if done, err := db.CompleteCall(ctx, acct.ID, tr); err != nil || !done.Stored {
		b.Fatalf("store call: %+v, %v", done, err)
	}
	now := time.Now()
	if _, err := db.ConfirmDeletion(ctx, long, now, now); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d calls of 20 segments, one every 5 minutes back from now, and one of 60 minutes in %s", n, time.Since(start).Round(time.Second))

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
	p95 := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[(len(d)*95+99)/100-1].Microseconds()) / 1000
	}
	// The references, each timed in turn with its page: the bare SQL that finds the
	// page's calls, as psql sends it (the simple protocol, the values in the text) and as
	// a superuser (no row-level security): the newest calls' ids for the list, the ranked
	// page of matching calls' ids for the search (what scripts/searchbench times too).
	bare, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close(context.Background())
	const query = "договор поставки"
	reference := func(sql string, args ...any) func() {
		return func() {
			rows, err := bare.Query(ctx, sql, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
			if err == nil {
				_, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, page := range []struct {
		name, path string
		ref        func()
	}{
		{"list", "/calls", reference(`SELECT id FROM calls WHERE organization_id = $1 ORDER BY created_at DESC, id DESC LIMIT 26`, acct.OrgID)},
		{"search", "/calls?q=" + strings.ReplaceAll(query, " ", "+"), reference(`SELECT t.call_id FROM transcripts t
			WHERE t.search @@ websearch_to_tsquery('russian', $1) AND t.organization_id = $2
			ORDER BY ts_rank(t.search, websearch_to_tsquery('russian', $1)) DESC LIMIT 26`, query, acct.OrgID)},
		{"chart", "/calls/chart.svg", nil},
		{"transcript-60min", "/calls/" + long.String(), nil},
	} {
		b.Run(page.name, func(b *testing.B) {
			var times, refs []time.Duration
			size := 0
			i := 0
			for b.Loop() {
				// The page and its reference take turns at going first.
				for _, side := range []int{i % 2, 1 - i%2} {
					if side == 0 {
						var d time.Duration
						size, d = get(page.path)
						times = append(times, d)
					} else if page.ref != nil {
						t0 := time.Now()
						page.ref()
						refs = append(refs, time.Since(t0))
					}
				}
				i++
			}
			b.ReportMetric(p95(times), "p95-ms")
			if refs != nil {
				b.ReportMetric(p95(refs), "bare-sql-p95-ms")
			}
			if page.name != "chart" { // the chart is part of the list's weight
				b.ReportMetric(float64(size+len(css))/1024, "page-KB")
			} else {
				b.ReportMetric(float64(size)/1024, "KB")
			}
		})
	}
	fmt.Fprintf(os.Stderr, "pages: %d calls; page weight counts the HTML and app.css (%d bytes), all a page loads\n", n, len(css))
}
