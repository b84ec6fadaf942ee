// Command searchbench measures the calls list and the full-text search on a generated
// organization (by default 100,000 calls, 2,000,000 segments of Russian and English
// text): the p95 of postgres.DB.SearchCalls with a text query beside the p95 of the bare
// SQL that finds the same ranked page (the reference), and the p95 of the list without
// a query. It also times migration 00013 (the search columns and their indexes) on the
// generated rows. scripts/bench.sh runs it against a throwaway server; it is not part
// of `make test`.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	neturl "net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"callscribe"
	"callscribe/migrations"
	"callscribe/storage/postgres"
)

// searchMigration is the migration that adds the search columns: timed on the rows.
const searchMigration = 13

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
		if err := migrateTo(ctx, url, searchMigration-1); err != nil {
			return err
		}
		start := time.Now()
		if err := generate(ctx, url, calls, segments); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		fmt.Printf("generated: %d calls, %d segments of Russian and English text, by COPY (%.1f s)\n",
			calls, calls*segments, time.Since(start).Seconds())
		start = time.Now()
		if err := migrateTo(ctx, url, searchMigration); err != nil {
			return err
		}
		fmt.Printf("migration %05d (tsvector columns and GIN indexes, calls.phone) on these rows: %.1f s\n",
			searchMigration, time.Since(start).Seconds())
		if err := postgres.Migrate(callscribe.AsSystem(ctx), url); err != nil {
			return err
		}
		if err := phones(ctx, url); err != nil {
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

// migrateTo applies the embedded migrations up to version.
func migrateTo(ctx context.Context, url string, version int64) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	cfg.RuntimeParams["callscribe.system"] = "on"
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// The organization's people and numbers.
const (
	owners = 50
	// numbers the other parties call from: each has about calls/numbers calls.
	numbers = 20000
)

// generate fills the database (migrated to just before the search columns) with one
// organization's calls, by COPY, triggers off (the organization ids are written as the
// triggers would write them).
func generate(ctx context.Context, url string, calls, segments int) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		return err
	}
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
	callIDs, transcriptIDs := make([]uuid.UUID, calls), make([]uuid.UUID, calls)
	for i := range callIDs {
		callIDs[i], transcriptIDs[i] = uuid.New(), uuid.New()
	}
	now := time.Now().UTC().Truncate(time.Second)
	created := func(i int) time.Time { return now.Add(-time.Duration(i) * 5 * time.Minute) }
	copyRows := func(table string, cols []string, n int, row func(i int) []any) error {
		i := 0
		_, err := conn.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			return row(i - 1), nil
		}))
		if err != nil {
			return fmt.Errorf("copy %s: %w", table, err)
		}
		return nil
	}
	if err := copyRows("calls", []string{"id", "organization_id", "owner_id", "status", "channels", "duration_ms", "created_at", "updated_at"}, calls,
		func(i int) []any {
			return []any{callIDs[i], org, users[i%owners], "completed", []string{"agent", "client"}, int64(segments) * 6000, created(i), created(i)}
		}); err != nil {
		return err
	}
	if err := copyRows("audio_deletion_receipts", []string{"call_id", "organization_id", "stage", "bytes", "sha256", "staged_at", "deleted_at", "confirmed_at"}, calls,
		func(i int) []any {
			at := created(i)
			return []any{callIDs[i], org, "s3", int64(960000), strings.Repeat("ab", 32), at, at.Add(time.Minute), at.Add(time.Minute)}
		}); err != nil {
		return err
	}
	if err := copyRows("transcripts", []string{"id", "call_id", "organization_id", "engine", "text", "created_at"}, calls,
		func(i int) []any {
			return []any{transcriptIDs[i], callIDs[i], org, "bench", strings.Join(callText(i, segments), " "), created(i)}
		}); err != nil {
		return err
	}
	var text []string
	if err := copyRows("segments", []string{"transcript_id", "organization_id", "ord", "channel", "speaker", "start_ms", "end_ms", "text", "confidence"}, calls*segments,
		func(k int) []any {
			i, s := k/segments, k%segments
			if s == 0 {
				text = callText(i, segments)
			}
			return []any{transcriptIDs[i], org, int32(s), int32(s % 2), []string{"agent", "client"}[s%2], int64(s) * 6000, int64(s)*6000 + 5000, text[s], float32(0.8)}
		}); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `VACUUM ANALYZE`)
	return err
}

// phones gives each call the other party's number, as an upload's phone field does.
func phones(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE calls SET phone = '+7916' || lpad((abs(hashtext(id::text)) % $1)::text, 7, '0')`, numbers); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `VACUUM ANALYZE calls`)
	return err
}

// callText is call i's segments: the same every time it is asked for (COPY of
// transcripts and of segments), 70% of calls mostly Russian, the rest mostly English,
// words drawn as speech draws them (a few very common, most rare).
func callText(i, segments int) []string {
	r := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	ru := r.IntN(10) < 7
	zr := rand.NewZipf(r, 1.1, 4, uint64(len(russian)-1))
	ze := rand.NewZipf(r, 1.1, 4, uint64(len(english)-1))
	out := make([]string, segments)
	var b strings.Builder
	for s := range out {
		b.Reset()
		lang := ru
		if r.IntN(10) == 0 {
			lang = !lang
		}
		n := 6 + r.IntN(10)
		for w := range n {
			if w > 0 {
				b.WriteByte(' ')
			}
			if lang {
				b.WriteString(russian[zr.Uint64()])
			} else {
				b.WriteString(english[ze.Uint64()])
			}
		}
		out[s] = b.String()
	}
	return out
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
	{"name (ru, a few calls)", russian[20000]},
}

// measure times our search and the bare SQL alternately, then the list.
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

// Words of the calls, most common first (the Zipf draw favours the start of each
// list): everyday and business words, the Russian ones in several inflections as speech
// has them, then a long tail of rarer words (names, places, products: made of
// syllables), so that the index holds a vocabulary of a real size.
var russian = append(strings.Fields(`
и в не на я что вы мы это да нет вот так у вас по с как он она по-моему здравствуйте спасибо пожалуйста
заказ заказа заказу заказом заказы заказов номер номера номеру доставка доставки доставку доставкой
договор договора договору договором договоры договоров счёт счета счету счётом оплата оплаты оплату
клиент клиента клиенту клиентом менеджер менеджера менеджеру звонок звонка звонку звонили позвоню
товар товара товару товаром товары товаров склад склада складе курьер курьера курьеру курьером
адрес адреса адресу неделя недели неделю понедельник вторник среду четверг пятницу утром вечером
скидка скидки скидку скидкой цена цены цену стоимость стоимости возврат возврата возвратом
подтвердить подтверждаю подтвердили отправить отправили отправим получить получили получу
проблема проблемы проблему вопрос вопроса вопросу ответ ответа ответить помочь помогу поможем
документы документов документами акт акта накладная накладной счёт-фактура поставка поставки
поставку поставкой оборудование оборудования оборудованием сервис сервиса ремонт ремонта
гарантия гарантии гарантию претензия претензии претензию рекламация рекламации жалоба жалобы
компания компании компанию офис офиса офисе директор директора бухгалтерия бухгалтерии
сегодня завтра вчера сейчас потом быстро срочно хорошо отлично понятно конечно минуту секунду
`), tail([]string{"ка", "ро", "ми", "та", "ле", "ну", "зо", "пи", "ва", "не", "ду", "ся", "гор", "вин", "ст", "ол"})...)

var english = append(strings.Fields(`
the to and you i a is it that of for your we on can this have be with please thank yes no
order orders number account call calling support help today tomorrow week monday friday
delivery deliveries shipped shipping address invoice invoices payment payments card bank
refund refunds policy policies return returns price prices discount contract contracts
customer customers manager service line internet router technician visit repair broken
problem problems issue question answer confirm confirmed send sent receive received
warranty complaint complaints claim claims office director accounting documents signed
morning afternoon evening quickly urgent fine great sure minute moment goodbye hello
`), tail([]string{"ka", "ro", "mi", "ta", "le", "nu", "zo", "pi", "va", "ne", "du", "sy", "gor", "vin", "st", "ol"})...)

// tail makes 16^4 = 65,536 words of four syllables.
func tail(syllables []string) []string {
	var out []string
	for a := range syllables {
		for b := range syllables {
			for c := range syllables {
				for d := range syllables {
					out = append(out, syllables[a]+syllables[b]+syllables[c]+syllables[d])
				}
			}
		}
	}
	// Deterministically shuffled, so that rank in the Zipf draw does not follow the
	// syllables' order.
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
