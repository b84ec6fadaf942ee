package pgtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Scan looks for each needle (case-insensitively) in every row of every table of the
// database at url, generically: each row cast to text, whatever the schema. It returns
// "table: needle" for each hit: the proof that an erasure left nothing, which no list
// of tables kept by hand can give.
func Scan(t testing.TB, url string, needles []string) []string {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	// Every organization's rows: row-level security admits the system scope.
	cfg.RuntimeParams["callscribe.system"] = "on"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	type table struct{ schema, name string }
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var tb table
		return tb, r.Scan(&tb.schema, &tb.name)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 10 {
		t.Fatalf("found %d tables; the scan would prove nothing", len(tables))
	}
	var hits []string
	for _, tb := range tables {
		rows, err := conn.Query(ctx, "SELECT t::text FROM "+pgx.Identifier{tb.schema, tb.name}.Sanitize()+" t")
		if err != nil {
			t.Fatalf("scan %s: %v", tb.name, err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("scan %s: %v", tb.name, err)
		}
		for _, row := range texts {
			low := strings.ToLower(row)
			for _, n := range needles {
				if strings.Contains(low, strings.ToLower(n)) {
					hits = append(hits, tb.name+": "+n)
				}
			}
		}
	}
	return hits
}
