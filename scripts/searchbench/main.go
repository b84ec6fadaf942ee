// Command searchbench measures the calls list and the full-text search on a generated
// organization (by default 100,000 calls, 2,000,000 segments of Russian and English
// text, written by scripts/benchdata): the p95 of postgres.DB.SearchCalls with a text
// query beside the p95 of the bare SQL that finds the same ranked page (the reference),
// and the p95 of the list without a query. It also times the migrations that rewrite
// existing rows (00017 on) on the generated rows. scripts/bench.sh runs it against a
// throwaway server; it is not part of `make test`.
package main

import (
	"context"
	"flag"
	"fmt"
	neturl "net/url"
	"os"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"callscribe"
	"callscribe/migrations"
	"callscribe/scripts/benchdata"
	"callscribe/storage/postgres"
)

// timedMigrations is the first of the migrations that rewrite rows a database already
// holds (00017: the owner of each row that hangs off a call; 00018: talk time): timed
// on the generated rows, what an operator upgrading a database of this size waits.
const timedMigrations = 17

func main() {
	url := flag.String("url", "", "URL of a PostgreSQL server (any database, a superuser); database searchbench is created there")
	calls := flag.Int("calls", 100000, "calls of the organization")
	segments := flag.Int("segments", 20, "segments per call")
	runs := flag.Int("runs", 20, "timed runs of each query, ours and the reference alternating")
	reuse := flag.Bool("reuse", false, "keep the database searchbench and reuse it when it exists")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "searchbench: -url is required")
		os.Exit(2)
	}
	if err := run(context.Background(), *url, *calls, *segments, *runs, *reuse); err != nil {
		fmt.Fprintf(os.Stderr, "searchbench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, server string, calls, segments, runs int, reuse bool) error {
	admin, err := pgxpool.New(ctx, server)
	if err != nil {
		return err
	}
	defer admin.Close()
	const name = "searchbench"
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	url := withDatabase(server, name)
	if !reuse || !exists {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return err
		}
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			return err
		}
		if err := postgres.Migrate(callscribe.AsSystem(ctx), url); err != nil {
			return err
		}
		start := time.Now()
		if err := generate(ctx, url, calls, segments); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		fmt.Printf("generated: %d calls, %d segments of Russian and English text, by COPY (%.1f s)\n",
			calls, calls*segments, time.Since(start).Seconds())
		took, err := remigrate(ctx, url, timedMigrations)
		if err != nil {
			return err
		}
		fmt.Printf("migrations %05d and on (a call's owner on the rows hanging off it, talk time per channel), undone and redone on these rows: %.1f s\n",
			timedMigrations, took.Seconds())
		// What README tells an operator to do after such an upgrade.
		if err := vacuum(ctx, url); err != nil {
			return err
		}
	} else {
		fmt.Printf("reusing the generated database %s\n", name)
	}
	if !reuse {
		defer admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return measure(ctx, url, runs)
}

// remigrate undoes the migrations from version on and times applying them again.
func remigrate(ctx context.Context, url string, version int64) (time.Duration, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return 0, err
	}
	cfg.RuntimeParams["callscribe.system"] = "on"
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS)
	if err != nil {
		return 0, err
	}
	if _, err := p.DownTo(ctx, version-1); err != nil {
		return 0, err
	}
	start := time.Now()
	_, err = p.Up(ctx)
	return time.Since(start), err
}

// vacuum removes the row versions the migrations left and analyzes the tables.
func vacuum(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `VACUUM ANALYZE`)
	return err
}

// The organization's people and numbers.
const (
	owners = 50
	// numbers the other parties call from: each has about calls/numbers calls.
	numbers = 20000
)

// generate fills the (migrated) database with one organization of owners and their calls.
func generate(ctx context.Context, url string, calls, segments int) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	org := uuid.New()
	if _, err := conn.Exec(ctx, `INSERT INTO organizations (id, name) VALUES ($1, 'bench')`, org); err != nil {
		return err
	}
	users := make([]uuid.UUID, owners)
	for i := range users {
		users[i] = uuid.New()
		if _, err := conn.Exec(ctx, `INSERT INTO users (id, organization_id, email) VALUES ($1, $2, $3)`,
			users[i], org, fmt.Sprintf("owner%d@example.ru", i)); err != nil {
			return err
		}
	}
	return benchdata.Generate(ctx, conn, org, users, benchdata.Options{Calls: calls, Segments: segments, Every: 5 * time.Minute, Numbers: numbers})
}

// query is a search the benchmark times.
type query struct{ label, q string }

var queries = []query{
	{"common word (ru)", "заказ"},
	{"other inflection (ru)", "договорами"},
	{"rare word (ru)", "рекламация"},
	{"phrase (en)", `"refund policy"`},
	{"or (en+ru)", "invoice or счёт"},
	{"-word (ru)", "доставка -курьер"},
	{"rare word (en)", "warranty"},
	{"name (ru, a few calls)", benchdata.RussianWord(20000)},
}

func measure(ctx context.Context, url string, runs int) error {
	ctx = callscribe.AsSystem(ctx)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	// The reference is sent as psql sends it (the simple protocol, the values in the
	// text): planned for the very words each time, never with a generic plan.
	bareCfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return err
	}
	bareCfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	bare, err := pgxpool.NewWithConfig(ctx, bareCfg)
	if err != nil {
		return err
	}
	defer bare.Close()
	var org uuid.UUID
	if err := bare.QueryRow(ctx, `SELECT id FROM organizations WHERE name = 'bench'`).Scan(&org); err != nil {
		return err
	}
	scoped := callscribe.WithOrg(context.Background(), org)
	const page = 20
	// The reference: the ranked page of matching calls, nothing else (no call columns,
	// no receipts, no hits, no snippets), as a superuser (no row-level security).
	const bareSQL = `SELECT t.call_id FROM transcripts t
		WHERE t.search @@ websearch_to_tsquery('russian', $1) AND t.organization_id = $2
		ORDER BY ts_rank(t.search, websearch_to_tsquery('russian', $1)) DESC LIMIT $3`
	ours := func(q string) (int, error) {
		hits, err := db.SearchCalls(scoped, callscribe.CallFilter{Q: q, Limit: page})
		return len(hits), err
	}
	ref := func(q string) (int, error) {
		rows, err := bare.Query(ctx, bareSQL, q, org, page)
		if err != nil {
			return 0, err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		return len(ids), err
	}
	var matches int
	fmt.Printf("search, a page of %d calls with their hits and snippets (target: ours p95 <= 1.5 x bare SQL p95 + 5 ms)\n", page)
	fmt.Printf("%-24s %8s %12s %15s %10s\n", "query", "matches", "ours p95 ms", "bare SQL p95 ms", "target ms")
	var allOurs, allRef []time.Duration
	for _, q := range queries {
		if err := bare.QueryRow(ctx, `SELECT count(*) FROM transcripts WHERE search @@ websearch_to_tsquery('russian', $1)`, q.q).Scan(&matches); err != nil {
			return err
		}
		// Once each first: plans and caches warm, for both.
		if _, err := ours(q.q); err != nil {
			return err
		}
		if _, err := ref(q.q); err != nil {
			return err
		}
		var o, r []time.Duration
		for i := range runs {
			for _, side := range []int{i % 2, 1 - i%2} {
				start := time.Now()
				fn, dst := ours, &o
				if side == 1 {
					fn, dst = ref, &r
				}
				if _, err := fn(q.q); err != nil {
					return err
				}
				*dst = append(*dst, time.Since(start))
			}
		}
		allOurs, allRef = append(allOurs, o...), append(allRef, r...)
		fmt.Printf("%-24s %8d %12.1f %15.1f %10.1f\n", q.label, matches, ms(p95(o)), ms(p95(r)), 1.5*ms(p95(r))+5)
	}
	verdict := "met"
	if ms(p95(allOurs)) > 1.5*ms(p95(allRef))+5 {
		verdict = "MISSED"
	}
	fmt.Printf("%-24s %8s %12.1f %15.1f %10.1f  %s\n", "all queries", "", ms(p95(allOurs)), ms(p95(allRef)), 1.5*ms(p95(allRef))+5, verdict)

	// The list without a query: the first page, pages further on (by cursor), by phone,
	// by status and dates, by owner.
	var phone string
	var owner uuid.UUID
	if err := bare.QueryRow(ctx, `SELECT phone, owner_id FROM calls WHERE phone IS NOT NULL ORDER BY created_at DESC LIMIT 1`).Scan(&phone, &owner); err != nil {
		return err
	}
	from := time.Now().AddDate(0, -3, 0)
	to := time.Now().AddDate(0, -2, 0)
	filters := []struct {
		label string
		f     callscribe.CallFilter
	}{
		{"first page", callscribe.CallFilter{}},
		{"page 20 (by cursor)", callscribe.CallFilter{}},
		{"phone", callscribe.CallFilter{Phone: phone}},
		{"status + a month", callscribe.CallFilter{Status: callscribe.CallCompleted, From: &from, To: &to}},
		{"owner", callscribe.CallFilter{OwnerID: &owner}},
	}
	// The cursor of page 20: the last call of page 19.
	var cursor callscribe.CallCursor
	if err := bare.QueryRow(ctx, `SELECT created_at, id FROM calls ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1`, 19*50-1).Scan(&cursor.CreatedAt, &cursor.ID); err != nil {
		return err
	}
	filters[1].f.After = &cursor
	fmt.Printf("\ncalls list without a query, a page of 50 (target: p95 <= 50 ms)\n")
	fmt.Printf("%-24s %8s %12s\n", "filter", "calls", "ours p95 ms")
	var allList []time.Duration
	for _, c := range filters {
		c.f.Limit = 50
		var d []time.Duration
		var n int
		for i := range runs + 1 {
			start := time.Now()
			hits, err := db.SearchCalls(scoped, c.f)
			if err != nil {
				return err
			}
			if i > 0 { // the first warms
				d = append(d, time.Since(start))
			}
			n = len(hits)
		}
		allList = append(allList, d...)
		fmt.Printf("%-24s %8d %12.1f\n", c.label, n, ms(p95(d)))
	}
	verdict = "met"
	if ms(p95(allList)) > 50 {
		verdict = "MISSED"
	}
	fmt.Printf("%-24s %8s %12.1f  %s\n", "all lists", "", ms(p95(allList)), verdict)
	return nil
}

func p95(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(0.95*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// withDatabase points a postgres:// URL at database db.
func withDatabase(server, db string) string {
	u, err := neturl.Parse(server)
	if err != nil || u.Scheme == "" {
		return server + " dbname=" + db
	}
	u.Path, u.RawPath = "/"+db, ""
	return u.String()
}
