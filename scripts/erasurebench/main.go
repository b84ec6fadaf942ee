// Command erasurebench times the erasure of a user with many calls beside a plain DELETE
// of the same rows, each on an identical copy of one generated database (CREATE DATABASE
// … TEMPLATE), while other users keep writing and reading; it prints both times and the
// other users' latencies. scripts/bench.sh runs it against a throwaway server.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"callscribe"
	"callscribe/privacy"
	"callscribe/storage/postgres"
)

// writers is how many other users write, and read, during each timed run.
var writers int

func main() {
	url := flag.String("url", "", "URL of a PostgreSQL server (any database); databases erasebench_* are created and dropped there")
	calls := flag.Int("calls", 10000, "calls of the erased user")
	segments := flag.Int("segments", 100, "segments per call")
	others := flag.Int("others", 20, "other users")
	otherCalls := flag.Int("other-calls", 200, "calls per other user")
	flag.IntVar(&writers, "writers", 2, "other users writing (and as many reading) during each run")
	rounds := flag.Int("rounds", 3, "runs of each, alternating which goes first")
	batch := flag.Int("batch", privacy.DefaultEraseBatch, "calls per erasure transaction")
	reuse := flag.Bool("reuse", false, "keep the generated database erasebench_src and reuse it when it exists (for repeated runs)")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "erasurebench: -url is required")
		os.Exit(2)
	}
	// The benchmark is the operator's: its erasure and its plain DELETE both run as the
	// application's role, scoped as the system (row-level security evaluated, not bypassed).
	if err := run(callscribe.AsSystem(context.Background()), *url, *calls, *segments, *others, *otherCalls, *batch, *rounds, *reuse); err != nil {
		fmt.Fprintf(os.Stderr, "erasurebench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, server string, calls, segments, others, otherCalls, batch, rounds int, reuse bool) error {
	admin, err := pgxpool.New(ctx, server)
	if err != nil {
		return err
	}
	defer admin.Close()
	src, copyErase, copyPlain := "erasebench_src", "erasebench_erase", "erasebench_plain"
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, src).Scan(&exists); err != nil {
		return err
	}
	generated := reuse && exists
	stale := []string{copyErase, copyPlain}
	if !generated {
		stale = append(stale, src)
	}
	for _, db := range stale {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			return err
		}
	}
	defer func() {
		drop := []string{copyErase, copyPlain}
		if !reuse {
			drop = append(drop, src)
		}
		for _, db := range drop {
			admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
		}
	}()
	srcURL := withDatabase(server, src)
	var victim uuid.UUID
	if generated {
		conn, err := pgx.Connect(ctx, srcURL)
		if err != nil {
			return err
		}
		err = conn.QueryRow(ctx, `SELECT id FROM users WHERE email = 'erased@example.ru'`).Scan(&victim)
		conn.Close(ctx)
		if err != nil {
			return fmt.Errorf("reuse %s: %w", src, err)
		}
		fmt.Printf("reusing the generated database %s\n", src)
	} else {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+src); err != nil {
			return err
		}
		if err := postgres.Migrate(ctx, srcURL); err != nil {
			return err
		}
		start := time.Now()
		if victim, err = generate(ctx, srcURL, calls, segments, others, otherCalls); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		fmt.Printf("generated: erased user with %d calls and %d segments; %d other users with %d calls each (%.1f s)\n",
			calls, calls*segments, others, otherCalls, time.Since(start).Seconds())
	}
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", src); err != nil {
		return err
	}
	// Both sides leave a million dead rows for vacuum to clean. Autovacuum is off in the
	// copies so that neither run is timed with that cleanup beside it: the batched
	// erasure commits as it goes and would wake autovacuum mid-run, the single
	// transaction only after its end.
	if err := setAutovacuum(ctx, srcURL, false); err != nil {
		return err
	}
	defer setAutovacuum(context.WithoutCancel(ctx), srcURL, true)
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", src); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "erasurebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	h, _ := privacy.NewSubjectHasher([]byte("benchmark key, thirty-two bytes or more"))

	// Each run gets a fresh copy, dropped right after it (its autovacuum must not run
	// beside the next run); the order alternates, so neither side always runs second.
	var plains, erases []time.Duration
	var plainLat, eraseLat, plainRead, eraseRead latencies
	for round := range rounds {
		for i := range 2 {
			doErase := (round+i)%2 == 1
			name := copyPlain
			if doErase {
				name = copyErase
			}
			if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+src); err != nil {
				return err
			}
			url := withDatabase(server, name)
			if !doErase {
				took, lat, read, err := measure(ctx, url, func(ctx context.Context, db *postgres.DB) error {
					return plainDelete(ctx, db.Pool(), victim)
				})
				if err != nil {
					return fmt.Errorf("plain delete: %w", err)
				}
				plains, plainLat, plainRead = append(plains, took), append(plainLat, lat...), append(plainRead, read...)
			} else {
				var er privacy.Erasure
				eraser := &privacy.Eraser{Hasher: h, Ledger: &privacy.LedgerFile{Path: filepath.Join(dir, "ledger")}, Batch: batch}
				took, lat, read, err := measure(ctx, url, func(ctx context.Context, db *postgres.DB) error {
					eraser.Store = db
					var err error
					er, err = eraser.Erase(ctx, victim, "bench")
					return err
				})
				if err != nil {
					return fmt.Errorf("erase: %w", err)
				}
				erases, eraseLat, eraseRead = append(erases, took), append(eraseLat, lat...), append(eraseRead, read...)
				// Not timed: the proof that nothing is left.
				if err := verify(ctx, url, eraser, victim, er); err != nil {
					return err
				}
			}
			if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
				return err
			}
		}
	}
	plain, erase := median(plains), median(erases)
	fmt.Printf("%-60s %s\n", "plain DELETE (one transaction: segments, transcripts, …, calls)", runs(plains))
	fmt.Printf("%-60s %s\n", fmt.Sprintf("callscribe Erase (batches of %d calls, ledger, audit)", batch), runs(erases))
	fmt.Printf("(autovacuum off in the copies: the dead rows' cleanup, the same for both, is not timed)\n")
	fmt.Printf("time (medians of %d runs each): Erase %.2f s / plain DELETE %.2f s = %.2fx (target <= 1.50x)\n",
		rounds, erase.Seconds(), plain.Seconds(), erase.Seconds()/plain.Seconds())
	fmt.Printf("other users' writes meanwhile (%d writers; call + transcript + 10 segments per transaction):\n", writers)
	fmt.Printf("  during plain DELETE: %s\n", plainLat)
	fmt.Printf("  during Erase:        %s\n", eraseLat)
	fmt.Printf("other users' reads meanwhile (%d readers; a transcript with its segments, as the API reads it):\n", writers)
	fmt.Printf("  during plain DELETE: %s\n", plainRead)
	fmt.Printf("  during Erase:        %s\n", eraseRead)
	return nil
}

func setAutovacuum(ctx context.Context, url string, on bool) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, t := range []string{"segments", "transcripts", "summaries", "calls", "call_stages", "audio_deletion_receipts", "users", "consents"} {
		if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s SET (autovacuum_enabled = %t)", t, on)); err != nil {
			return err
		}
	}
	return nil
}

func verify(ctx context.Context, url string, eraser *privacy.Eraser, victim uuid.UUID, er privacy.Erasure) error {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	eraser.Store = db
	rep, err := eraser.VerifyErased(ctx, privacy.Subject{UserID: victim, CallIDs: er.CallIDs})
	if err != nil {
		return err
	}
	if !rep.Clean() || er.Entry.Counts["segments"] == 0 {
		return fmt.Errorf("erase left rows: %v (purged %v)", rep.Remaining, er.Entry.Counts)
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func runs(d []time.Duration) string {
	out := ""
	for _, x := range d {
		out += fmt.Sprintf(" %6.2f s", x.Seconds())
	}
	return out
}

// generate fills the database with set-based inserts and returns the erased user's id.
func generate(ctx context.Context, url string, calls, segments, others, otherCalls int) (uuid.UUID, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return uuid.Nil, err
	}
	defer conn.Close(ctx)
	var org, victim uuid.UUID
	if err := conn.QueryRow(ctx, `INSERT INTO organizations (name) VALUES ('bench') RETURNING id`).Scan(&org); err != nil {
		return uuid.Nil, err
	}
	if err := conn.QueryRow(ctx, `INSERT INTO users (organization_id, email, phone) VALUES ($1, 'erased@example.ru', '+79160000000') RETURNING id`, org).Scan(&victim); err != nil {
		return uuid.Nil, err
	}
	type step struct {
		sql  string
		args []any
	}
	const text = "hello my line is slow since the storm "
	steps := []step{
		{`INSERT INTO users (organization_id, email) SELECT $1, 'other' || g || '@example.ru' FROM generate_series(1, $2::int) g`, []any{org, others}},
		{`INSERT INTO consents (user_id, purpose, policy_version, granted_at)
		  SELECT id, p, '1', now() FROM users, unnest(ARRAY['transcription', 'summarization']) p`, nil},
		{`INSERT INTO calls (organization_id, owner_id, status, channels, duration_ms, created_at)
		  SELECT $1, $2, 'completed', '{agent,client}', 60000, now() - g * interval '1 minute' FROM generate_series(1, $3::int) g`,
			[]any{org, victim, calls}},
		{`INSERT INTO calls (organization_id, owner_id, status, channels, duration_ms, created_at)
		  SELECT $1, u.id, 'completed', '{agent,client}', 60000, now() - g * interval '1 minute'
		  FROM users u, generate_series(1, $3::int) g WHERE u.id <> $2`, []any{org, victim, otherCalls}},
		{`INSERT INTO call_stages (call_id, stage, object_key, bytes, sha256, staged_at, deleted_at, confirmed_at)
		  SELECT id, 'memory', 'calls/' || id, 960000, repeat('ab', 32), created_at, created_at, created_at FROM calls`, nil},
		{`INSERT INTO audio_deletion_receipts (call_id, stage, bytes, sha256, staged_at, deleted_at, confirmed_at)
		  SELECT call_id, stage, bytes, sha256, staged_at, deleted_at, confirmed_at FROM call_stages`, nil},
		{`INSERT INTO transcripts (call_id, engine, text) SELECT id, 'bench', repeat($1, $2::int) FROM calls`, []any{text, segments}},
		{`INSERT INTO segments (transcript_id, ord, channel, speaker, start_ms, end_ms, text, confidence)
		  SELECT t.id, g, g % 2, CASE WHEN g % 2 = 0 THEN 'agent' ELSE 'client' END, g * 1000, g * 1000 + 900, $1 || g, 0.8
		  FROM transcripts t, generate_series(0, $2::int - 1) g`, []any{text, segments}},
		{`INSERT INTO summaries (call_id, engine, text) SELECT id, 'bench', 'agent: line fault; technician visit' FROM calls`, nil},
		{`VACUUM ANALYZE`, nil},
	}
	for _, s := range steps {
		if _, err := conn.Exec(ctx, s.sql, s.args...); err != nil {
			return uuid.Nil, fmt.Errorf("%.60s…: %w", s.sql, err)
		}
	}
	return victim, nil
}

// plainDelete is the reference: the same rows deleted by plain statements in one
// transaction, children first.
func plainDelete(ctx context.Context, pool *pgxpool.Pool, user uuid.UUID) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM segments WHERE transcript_id IN (SELECT t.id FROM transcripts t JOIN calls c ON c.id = t.call_id WHERE c.owner_id = $1)`,
			`DELETE FROM transcripts WHERE call_id IN (SELECT id FROM calls WHERE owner_id = $1)`,
			`DELETE FROM summaries WHERE call_id IN (SELECT id FROM calls WHERE owner_id = $1)`,
			`DELETE FROM audio_deletion_receipts WHERE call_id IN (SELECT id FROM calls WHERE owner_id = $1)`,
			`DELETE FROM call_stages WHERE call_id IN (SELECT id FROM calls WHERE owner_id = $1)`,
			`DELETE FROM calls WHERE owner_id = $1`,
			`DELETE FROM consents WHERE user_id = $1`,
			`DELETE FROM users WHERE id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, user); err != nil {
				return err
			}
		}
		return nil
	})
}

type latencies []time.Duration

func (l latencies) String() string {
	if len(l) == 0 {
		return "none completed"
	}
	s := slices.Clone(l)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return fmt.Sprintf("%d, p50 %.1f ms, p99 %.1f ms, max %.1f ms", len(s),
		ms(q(0.5)), ms(q(0.99)), ms(s[len(s)-1]))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// measure times fn on the database at url while other users write and read, and returns
// fn's time and the latencies of their writes and of their reads.
func measure(ctx context.Context, url string, fn func(context.Context, *postgres.DB) error) (time.Duration, latencies, latencies, error) {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return 0, nil, nil, err
	}
	defer db.Close()
	rows, err := db.Pool().Query(ctx, `SELECT id, organization_id FROM users WHERE email LIKE 'other%' ORDER BY email LIMIT 4`)
	if err != nil {
		return 0, nil, nil, err
	}
	type user struct {
		id, org uuid.UUID
		calls   []uuid.UUID
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (user, error) {
		var u user
		return u, r.Scan(&u.id, &u.org)
	})
	if err != nil {
		return 0, nil, nil, err
	}
	users = users[:min(writers, len(users))]
	for i := range users {
		rows, err := db.Pool().Query(ctx, `SELECT id FROM calls WHERE owner_id = $1`, users[i].id)
		if err != nil {
			return 0, nil, nil, err
		}
		if users[i].calls, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return 0, nil, nil, err
		}
	}
	var (
		mu          sync.Mutex
		write, read latencies
		stop        atomic.Bool
		wg          sync.WaitGroup
		werr        error
	)
	// loop runs op until stopped, a pause of 5–15 ms between two, recording each time in *lat.
	loop := func(lat *latencies, op func() error) {
		defer wg.Done()
		for !stop.Load() {
			t0 := time.Now()
			err := op()
			d := time.Since(t0)
			mu.Lock()
			if err != nil && werr == nil {
				werr = err
			}
			*lat = append(*lat, d)
			mu.Unlock()
			time.Sleep(time.Duration(5+rand.IntN(10)) * time.Millisecond)
		}
	}
	for _, u := range users {
		wg.Add(2)
		go loop(&write, func() error {
			return pgx.BeginFunc(ctx, db.Pool(), func(tx pgx.Tx) error {
				var call, tr uuid.UUID
				if err := tx.QueryRow(ctx, `INSERT INTO calls (organization_id, owner_id, status) VALUES ($1, $2, 'completed') RETURNING id`, u.org, u.id).Scan(&call); err != nil {
					return err
				}
				if err := tx.QueryRow(ctx, `INSERT INTO transcripts (call_id, engine, text) VALUES ($1, 'w', 'a new call') RETURNING id`, call).Scan(&tr); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO segments (transcript_id, ord, channel, speaker, start_ms, end_ms, text)
					SELECT $1, g, 0, 'agent', g, g, 'words' FROM generate_series(0, 9) g`, tr)
				return err
			})
		})
		go loop(&read, func() error {
			t, err := db.Transcript(ctx, u.calls[rand.IntN(len(u.calls))])
			if err == nil && len(t.Segments) == 0 {
				err = fmt.Errorf("transcript of call %s read back without its segments", t.CallID)
			}
			return err
		})
	}
	time.Sleep(200 * time.Millisecond) // writers and readers warm up
	mu.Lock()
	write, read = write[:0], read[:0]
	mu.Unlock()
	t0 := time.Now()
	err = fn(ctx, db)
	took := time.Since(t0)
	stop.Store(true)
	wg.Wait()
	if err == nil {
		err = werr
	}
	return took, write, read, err
}

// withDatabase points a postgres:// URL at database db.
func withDatabase(server, db string) string {
	u, err := neturl.Parse(server)
	if err != nil || u.Scheme == "" {
		return server + " dbname=" + db
	}
	u.Path, u.RawPath = "/"+db, ""
	return u.String()
}
