package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"callscribe/web"
)

// TestListenerLeavesHandlersAnswersAlone: a handler's own plain-text 400 with
// Connection: close (the headers net/http's own answers carry) goes out as the handler
// wrote it; only net/http's answers are rewritten.
func TestListenerLeavesHandlersAnswersAlone(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "400 Bad Request")
	}))
	srv.Listener = web.Listener(srv.Listener)
	srv.Start()
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 400 || ct != "text/plain; charset=utf-8" || string(b) != "400 Bad Request" {
		t.Errorf("handler's answer came out %d %s %q; want it as written: 400 text/plain \"400 Bad Request\"", resp.StatusCode, ct, b)
	}
}
