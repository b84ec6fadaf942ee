package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"callscribe"
)

// DefaultUploadIdleTimeout is how long a request body may send nothing before the request
// is dropped, when Config.UploadIdleTimeout is zero.
const DefaultUploadIdleTimeout = 30 * time.Second

// Header limits. net/http answers a header over headerCeiling itself, in plain text,
// before any handler runs; below it the API answers over maxHeaderBytes in JSON.
const (
	maxHeaderBytes = 64 << 10
	headerCeiling  = 1 << 20
)

// clientBody is a request body read on the client's terms: a body that sends nothing for
// idle is cut off (its read deadline moves with every read, so a stalled upload cannot
// hold staged bytes for longer), and every read error is named as the client's fault
// with a 4xx code — the body comes from the client, so nothing that goes wrong reading it
// is ours.
type clientBody struct {
	rc       io.ReadCloser
	ctl      *http.ResponseController
	idle     time.Duration
	declared int64 // Content-Length; -1 for a chunked body
	read     int64
	err      error       // the first error, returned again on later reads
	whole    atomic.Bool // the body was read to its end (io.EOF): it arrived whole
}

func (b *clientBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	_ = b.ctl.SetReadDeadline(time.Now().Add(b.idle)) // not supported: no deadline, as before
	n, err := b.rc.Read(p)
	b.read += int64(n)
	switch {
	case err == io.EOF:
		// The body is done: the server reads the connection again (for the next
		// request, or to notice the client going away) with deadlines of its own.
		_ = b.ctl.SetReadDeadline(time.Time{})
		b.err = err
		b.whole.Store(true)
	case err != nil:
		// The deadline stays as it is: a connection that stalled is not read again.
		err = b.fault(err)
		b.err = err
	}
	return n, err
}

func (b *clientBody) Close() error { return b.rc.Close() }

// afterWholeBody is the context an upload is accepted under: r's, except that a client
// that closes its side of the connection once its body has arrived whole (a half-close
// after the last byte, or hanging up while it waits for the answer) no longer cancels it.
// net/http cancels the request's context as soon as it reads the connection's end after
// the body; the call was sent whole, so it is accepted or refused for what it is, never
// failed as our fault. A body cut short still cancels: it was never whole. stop releases
// the context.
func afterWholeBody(r *http.Request) (ctx context.Context, stop func()) {
	b, ok := r.Body.(*clientBody)
	if !ok {
		return r.Context(), func() {}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	unwatch := context.AfterFunc(r.Context(), func() {
		if !b.whole.Load() {
			cancel()
		}
	})
	return ctx, func() { unwatch(); cancel() }
}

// fault names a body read error for the client. Only fixed texts of net/http (the
// chunked decoder's) reach the message, which is also kept with a refused call's
// receipt; a network error's text (addresses) and a quoted trailer line do not.
func (b *clientBody) fault(err error) error {
	var app *callscribe.Error
	var mbe *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &app):
		return err
	case errors.As(err, &mbe):
		return callscribe.Wrap(callscribe.ETOOLARGE, err, "the request body is larger than the limit of %d bytes", mbe.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return callscribe.Wrap(callscribe.ETIMEOUT, err, "no byte of the body came for %s (after %d bytes): the request was dropped", b.idle, b.read)
	case errors.Is(err, io.ErrUnexpectedEOF) && b.declared >= 0:
		return callscribe.Wrap(callscribe.EINVALID, err, "the body ended after %d of its %d declared bytes (Content-Length)", b.read, b.declared)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return callscribe.Wrap(callscribe.EINVALID, err, "the chunked body ended after %d bytes, before its last (zero-length) chunk", b.read)
	case errors.As(err, &netErr):
		return callscribe.Wrap(callscribe.EINVALID, err, "the connection failed after %d bytes of the body", b.read)
	default:
		// net/http's chunked decoder says what is wrong in fixed words; a trailer's
		// parser quotes the line after a colon, and the client's text is not echoed.
		what := strings.TrimPrefix(err.Error(), "http: ")
		if strings.ContainsAny(what, ":\"'") {
			what = "malformed chunked encoding or trailer"
		}
		return callscribe.Wrap(callscribe.EINVALID, err, "the body is malformed after %d bytes: %s", b.read, what)
	}
}

// guard is what every request passes first: a header over maxHeaderBytes is refused in
// JSON (431, code too_large), and the body becomes a clientBody bounded by MaxBodyBytes.
func (s *Server) guard(next http.Handler) http.Handler {
	idle := s.cfg.UploadIdleTimeout
	if idle <= 0 {
		idle = DefaultUploadIdleTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerBytes(r) > maxHeaderBytes {
			// Its own status, not the code's 413: the header, not the body, is too large.
			writeJSON(w, http.StatusRequestHeaderFieldsTooLarge, errorBody{errorDetail{Code: callscribe.ETOOLARGE,
				Message: fmt.Sprintf("the request header is larger than the limit of %d bytes", maxHeaderBytes)}})
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			var body io.ReadCloser = r.Body
			if s.cfg.MaxBodyBytes > 0 {
				body = http.MaxBytesReader(w, body, s.cfg.MaxBodyBytes)
			}
			// On a copy of the request: the server's own keeps its body, which it checks
			// (without reading a stalled one) before it answers.
			r = r.WithContext(r.Context())
			r.Body = &clientBody{rc: body, ctl: http.NewResponseController(w), idle: idle, declared: r.ContentLength}
		}
		next.ServeHTTP(w, r)
	})
}

// headerBytes is the size of the request line and header as sent, near enough.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Host) + 16
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// HTTPServer returns the http.Server for the Handler: what `callscribe serve` runs and
// what the tests start. A header is read within 10 s; a body is bounded by the idle
// timeout (clientBody), not by a whole-request deadline, so a long call on a slow link
// is not cut off while it keeps coming.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    headerCeiling,
	}
}
