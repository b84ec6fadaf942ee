package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"callscribe"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
	"callscribe/storage/s3"
	"callscribe/storage/s3test"
	"callscribe/web"
)

// freezer is a TCP proxy to PostgreSQL that can stop forwarding: the connections stay
// open and nothing comes back, as from a database that froze.
type freezer struct {
	frozen chan struct{} // closed by freeze
}

// newFreezer proxies to the unix socket of the database dbURL names and returns the
// URL of the same database through the proxy.
func newFreezer(t *testing.T, dbURL string) (*freezer, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	socket := filepath.Join(q.Get("host"), ".s.PGSQL."+q.Get("port"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{frozen: make(chan struct{})}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("unix", socket)
			if err != nil {
				c.Close()
				continue
			}
			pipe := func(dst, src net.Conn) {
				defer dst.Close()
				defer src.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						select {
						case <-f.frozen: // hold the bytes until the test ends
							<-done
							return
						default:
						}
						if _, err := dst.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
	q.Set("host", "127.0.0.1")
	q.Set("port", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	u.RawQuery = q.Encode()
	return f, u.String()
}

func (f *freezer) freeze() { close(f.frozen) }

// TestReadyzNamesWhatIsNotReady: /readyz answers 200 while PostgreSQL and the object
// store answer; with the object store frozen (SIGSTOP) or PostgreSQL frozen (a proxy
// that stops forwarding), it answers 503 naming the one not ready, within its checks'
// deadline instead of hanging.
func TestReadyzNamesWhatIsNotReady(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	proxy, dbURL := newFreezer(t, pgtest.DB(t))
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	minio := s3test.StartServer(t)
	stage, err := s3.New(minio.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stage.EnsureBucket(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	api := web.New(web.Config{Store: db, Stage: stage})
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = api.HTTPServer()
	srv.Listener = web.Listener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)

	client := &http.Client{Timeout: 20 * time.Second}
	readyz := func(name string, wantStatus int, want map[string]string) {
		t.Helper()
		began := time.Now()
		resp, err := client.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatalf("%s: /readyz: %v after %s; want an answer within its checks' deadline", name, err, time.Since(began))
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		took := time.Since(began)
		var got map[string]string
		json.Unmarshal(b, &got)
		t.Logf("%s: %d %s in %s", name, resp.StatusCode, b, took.Round(time.Millisecond))
		if resp.StatusCode != wantStatus || got["database"] != want["database"] || got["stage"] != want["stage"] {
			t.Errorf("%s: %d %s; want %d %v", name, resp.StatusCode, b, wantStatus, want)
		}
		if took > 10*time.Second {
			t.Errorf("%s: answered after %s; want within a few seconds (each check has 2 s)", name, took)
		}
	}
	readyz("all up", http.StatusOK, map[string]string{"database": "ok", "stage": "ok"})
	minio.Pause()
	readyz("object store frozen", http.StatusServiceUnavailable, map[string]string{"database": "ok", "stage": "unavailable"})
	minio.Resume()
	readyz("object store back", http.StatusOK, map[string]string{"database": "ok", "stage": "ok"})
	proxy.freeze()
	readyz("database frozen", http.StatusServiceUnavailable, map[string]string{"database": "unavailable", "stage": "ok"})
}
