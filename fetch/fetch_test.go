package fetch

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/internal/safehttp"
)

func policy(t *testing.T, allow string) safehttp.Policy {
	t.Helper()
	p, err := safehttp.ParsePolicy("CALLSCRIBE_FETCH_ALLOW", allow)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wantCode(t *testing.T, err error, code string, mention ...string) {
	t.Helper()
	if callscribe.ErrorCode(err) != code {
		t.Fatalf("err = %v (code %q), want code %s", err, callscribe.ErrorCode(err), code)
	}
	for _, m := range mention {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("err = %q, want it to mention %q", err, m)
		}
	}
}

func TestRefusedAddresses(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "audio") }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	f := New(Config{Hosts: []string{"*"}, Policy: policy(t, ""), ConnectTimeout: time.Second})
	for _, url := range []string{
		srv.URL + "/rec.wav",
		"http://localhost" + port + "/rec.wav", // a name resolving to loopback: checked at dial
		"http://10.0.0.1/rec.wav",
		"http://192.168.1.10/rec.wav",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]" + port + "/rec.wav",
		"http://[::ffff:127.0.0.1]" + port + "/rec.wav",
		"http://100.64.1.1/rec.wav",
	} {
		t.Run(url, func(t *testing.T) {
			rc, err := f.Fetch(context.Background(), url)
			if err == nil {
				rc.Close()
			}
			wantCode(t, err, callscribe.EINVALID, "refused", "CALLSCRIBE_FETCH_ALLOW")
		})
	}
}

func TestAllowListed(t *testing.T) {
	t.Parallel()
	audio := bytes.Repeat([]byte("RIFF"), 5000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(audio) }))
	defer srv.Close()
	f := New(Config{Hosts: []string{"127.0.0.1"}, Policy: policy(t, "127.0.0.1"), MaxBytes: 1 << 20})
	rc, err := f.Fetch(context.Background(), srv.URL+"/rec.wav?token=abc")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, audio) {
		t.Errorf("read %d bytes, err %v; want the %d bytes served", len(got), err, len(audio))
	}
}

func TestUndeclaredHost(t *testing.T) {
	t.Parallel()
	f := New(Config{Hosts: []string{".records.example.ru"}, HostsVariable: "CALLSCRIBE_FETCH_HOSTS"})
	_, err := f.Fetch(context.Background(), "https://evil.example.com/a.wav")
	wantCode(t, err, callscribe.EINVALID, "evil.example.com", "CALLSCRIBE_FETCH_HOSTS")
	off := New(Config{HostsVariable: "CALLSCRIBE_FETCH_HOSTS"})
	_, err = off.Fetch(context.Background(), "https://records.example.ru/a.wav")
	wantCode(t, err, callscribe.EINVALID, "pull mode is off")
	for _, h := range []string{"records.example.ru", "a.records.example.ru"} {
		if !f.declared(h) {
			t.Errorf("%s not declared by .records.example.ru", h)
		}
	}
	if f.declared("xrecords.example.ru") {
		t.Errorf("xrecords.example.ru declared by .records.example.ru")
	}
	for _, url := range []string{"ftp://records.example.ru/a.wav", "file:///etc/passwd", "gopher://x", "not a url", "http:///nohost"} {
		_, err := f.Fetch(context.Background(), url)
		wantCode(t, err, callscribe.EINVALID, "http")
	}
}

func TestRedirectToLoopback(t *testing.T) {
	t.Parallel()
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret") }))
	defer inside.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inside.URL+"/admin", http.StatusFound)
	}))
	defer front.Close()
	port := front.URL[strings.LastIndex(front.URL, ":"):]
	// The front is allow-listed by name; the redirect goes to the loopback address.
	f := New(Config{Hosts: []string{"*"}, Policy: policy(t, "localhost")})
	_, err := f.Fetch(context.Background(), "http://localhost"+port+"/rec.wav")
	wantCode(t, err, callscribe.EINVALID, "127.0.0.1", "refused")
}

func TestRedirectToUndeclaredHost(t *testing.T) {
	t.Parallel()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "audio") }))
	defer other.Close()
	port := other.URL[strings.LastIndex(other.URL, ":"):]
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost"+port+"/rec.wav", http.StatusFound)
	}))
	defer front.Close()
	// Both are reachable; only the front host is declared.
	f := New(Config{Hosts: []string{"127.0.0.1"}, HostsVariable: "CALLSCRIBE_FETCH_HOSTS", Policy: policy(t, "127.0.0.1,localhost")})
	_, err := f.Fetch(context.Background(), front.URL)
	wantCode(t, err, callscribe.EINVALID, "localhost", "not a declared recording host")
	declared := New(Config{Hosts: []string{"127.0.0.1", "localhost"}, Policy: policy(t, "127.0.0.1,localhost")})
	rc, err := declared.Fetch(context.Background(), front.URL)
	if err != nil {
		t.Fatalf("redirect to a declared, allowed host: %v", err)
	}
	rc.Close()
}

func TestStatus(t *testing.T) {
	t.Parallel()
	status := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, "+79031234567 not found") // must not reach the error
	}))
	defer srv.Close()
	f := New(Config{Hosts: []string{"127.0.0.1"}, Policy: policy(t, "127.0.0.0/8")})
	for _, tt := range []struct {
		status int
		code   string
	}{
		{404, callscribe.EUNFETCHABLE}, {403, callscribe.EUNFETCHABLE}, {500, callscribe.EUNAVAILABLE},
		{503, callscribe.EUNAVAILABLE}, {429, callscribe.EUNAVAILABLE},
	} {
		status = tt.status
		_, err := f.Fetch(context.Background(), srv.URL+"/rec.wav")
		wantCode(t, err, tt.code, "127.0.0.1", http.StatusText(tt.status))
		if strings.Contains(err.Error(), "+7903") {
			t.Errorf("error carries the server's body: %q", err)
		}
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 100 << 10
	var declare bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		if declare {
			w.Header().Set("Content-Length", "10485760")
		}
		for range 320 { // 10 MiB, far past the limit
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	f := New(Config{Hosts: []string{"127.0.0.1"}, Policy: policy(t, "127.0.0.1"), MaxBytes: limit})
	rc, err := f.Fetch(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	wantCode(t, err, callscribe.ETOOLARGE, "102400")
	if n != limit {
		t.Errorf("read %d bytes before the error, want exactly the limit %d", n, limit)
	}
	declare = true
	_, err = f.Fetch(context.Background(), srv.URL)
	wantCode(t, err, callscribe.ETOOLARGE, "10485760")
}

func TestTimeLimit(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/silent" {
			select {
			case <-done:
			case <-r.Context().Done():
			}
			return
		}
		for { // a trickle: headers at once, then a byte now and then
			if _, err := w.Write([]byte{0}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-done:
				return
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}))
	defer srv.Close()
	defer close(done)
	f := New(Config{Hosts: []string{"127.0.0.1"}, Policy: policy(t, "127.0.0.1"), Timeout: 300 * time.Millisecond})
	_, err := f.Fetch(context.Background(), srv.URL+"/silent")
	wantCode(t, err, callscribe.EUNAVAILABLE, "within 300ms")
	rc, err := f.Fetch(context.Background(), srv.URL+"/trickle")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	wantCode(t, err, callscribe.EUNAVAILABLE, "within 300ms")
	if n == 0 {
		t.Errorf("no byte of the trickle arrived: the test proves nothing about the body's time limit")
	}
}

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	var gotOther string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotOther = r.Header.Get("Authorization")
		io.WriteString(w, "audio")
	}))
	defer other.Close()
	port := other.URL[strings.LastIndex(other.URL, ":"):]
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "AC123" || p != "tok" {
			http.Error(w, "auth", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "http://localhost"+port+"/media.wav", http.StatusFound)
	}))
	defer front.Close()
	creds, err := ParseBasicAuth("# twilio\n127.0.0.1 AC123:tok\n")
	if err != nil {
		t.Fatal(err)
	}
	f := New(Config{Hosts: []string{"*"}, Policy: policy(t, "127.0.0.1,localhost"), BasicAuth: creds})
	rc, err := f.Fetch(context.Background(), front.URL+"/rec")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if gotOther != "" {
		t.Errorf("the credentials followed a redirect to another host: %q", gotOther)
	}
	_, err = New(Config{Hosts: []string{"*"}, Policy: policy(t, "127.0.0.1")}).Fetch(context.Background(), front.URL+"/rec")
	wantCode(t, err, callscribe.EUNFETCHABLE, "401")
	if _, err := ParseBasicAuth("127.0.0.1 secretwithoutcolon"); err == nil || strings.Contains(err.Error(), "secretwithoutcolon") {
		t.Errorf("ParseBasicAuth of a bad line = %v, want an error naming the line only", err)
	}
}
