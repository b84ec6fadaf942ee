package pgtest_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"callscribe/storage/pgtest"
)

var migrations atomic.Int32

// migrate is a trivial migration set. It leaves its connection open on
// purpose: Main must cope with migrate funcs that do.
func migrate(ctx context.Context, url string) error {
	migrations.Add(1)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);
		INSERT INTO notes VALUES (1, 'seed')`)
	return err
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, migrate)) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func count(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM notes").Scan(&n); err != nil {
		t.Fatalf("count notes: %v", err)
	}
	return n
}

func TestDBsAreMigratedAndIndependent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	urlA, urlB := pgtest.DB(t), pgtest.DB(t)
	if urlA == urlB {
		t.Fatalf("DB returned the same URL twice: %s", urlA)
	}
	a, b := connect(t, urlA), connect(t, urlB)

	var seed string
	if err := a.QueryRow(ctx, "SELECT body FROM notes WHERE id = 1").Scan(&seed); err != nil || seed != "seed" {
		t.Fatalf("migrated row in A: got %q, %v; want \"seed\", nil", seed, err)
	}
	if _, err := a.Exec(ctx, "INSERT INTO notes VALUES (2, 'only in A')"); err != nil {
		t.Fatalf("insert into A: %v", err)
	}
	if got, want := count(t, a), 2; got != want {
		t.Errorf("rows in A: got %d, want %d", got, want)
	}
	if got, want := count(t, b), 1; got != want {
		t.Errorf("rows in B after inserting into A: got %d, want %d (databases not independent)", got, want)
	}
	var dbA, dbB string
	a.QueryRow(ctx, "SELECT current_database()").Scan(&dbA)
	b.QueryRow(ctx, "SELECT current_database()").Scan(&dbB)
	if dbA == dbB {
		t.Errorf("current_database(): both %q, want two databases", dbA)
	}
}

func TestMigrateRunsOnce(t *testing.T) {
	t.Parallel()
	for range 3 {
		pgtest.DB(t)
	}
	if got := migrations.Load(); got != 1 {
		t.Errorf("migrate calls after several DB calls: got %d, want 1", got)
	}
}

func TestDBDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var name string
	t.Run("user", func(t *testing.T) {
		conn := connect(t, pgtest.DB(t))
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatalf("current_database: %v", err)
		}
		// The open connection must not stop the drop.
	})
	conn := connect(t, pgtest.DB(t))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatalf("look up %s: %v", name, err)
	}
	if exists {
		t.Errorf("database %s still exists after its test finished; want dropped", name)
	}
}

func TestParallelDBs(t *testing.T) {
	t.Parallel()
	for i := range 6 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			conn := connect(t, pgtest.DB(t))
			if _, err := conn.Exec(context.Background(), "INSERT INTO notes VALUES ($1, 'x')", 100+i); err != nil {
				t.Fatalf("insert: %v", err)
			}
			if got, want := count(t, conn), 2; got != want {
				t.Errorf("rows: got %d, want %d (seed + own row)", got, want)
			}
		})
	}
}
