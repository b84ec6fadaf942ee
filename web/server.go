// Package web is callscribe's HTTP side: the ingestion endpoint telephony systems upload
// calls to, the JSON read API, and the health and metrics endpoints. Every request of the
// API is authenticated by an organization's API key and sees that organization's calls
// only.
//
// It never reads an upload into memory or onto disk (the body streams into the pipeline),
// never shows a client an internal error's text, and never logs a transcript, an email or
// a phone number: log lines carry ids and codes.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"callscribe"
	"callscribe/metrics"
	"callscribe/pipeline"
	"callscribe/privacy"
)

// Store is what the API reads of the database.
type Store interface {
	Authenticate(ctx context.Context, token string) (callscribe.APIKey, error)
	UserByEmail(ctx context.Context, orgID uuid.UUID, email string) (callscribe.User, error)
	Call(ctx context.Context, orgID, callID uuid.UUID) (callscribe.Call, error)
	Calls(ctx context.Context, f callscribe.CallFilter) ([]callscribe.Call, error)
	// SearchCalls lists calls by the filter, with a text query's ranked hits: the one
	// method GET /v1/calls and the pages list and search through.
	SearchCalls(ctx context.Context, f callscribe.CallFilter) ([]callscribe.CallHit, error)
	Transcript(ctx context.Context, callID uuid.UUID) (callscribe.Transcript, error)
	UserInOrg(ctx context.Context, orgID, id uuid.UUID) (callscribe.User, error)
	Ping(ctx context.Context) error
}

// Ingester accepts uploads: the pipeline.
type Ingester interface {
	Accept(ctx context.Context, up pipeline.Upload) (pipeline.Accepted, error)
	// DiscardQueued ends the owner's queued calls after a withdrawal, their audio deleted
	// and confirmed, and says how many.
	DiscardQueued(ctx context.Context, ownerID uuid.UUID) (int, error)
}

// Readier is a dependency that can say whether it is ready (a stage, say).
type Readier interface {
	Ready(ctx context.Context) error
}

// Config wires a Server.
type Config struct {
	Store    Store
	Ingester Ingester
	// Fetcher, when set, fetches the recording a call names by recording_url (pull
	// mode); nil: pull mode is off.
	Fetcher Fetcher
	// Stage, when set, is checked by /readyz.
	Stage Readier
	// MaxBodyBytes bounds a request body; the pipeline refuses audio over its own limit
	// first, this catches what surrounds it (multipart headers and fields).
	MaxBodyBytes int64
	// UploadIdleTimeout drops a request whose body sends nothing for this long (0:
	// DefaultUploadIdleTimeout); what it staged is deleted.
	UploadIdleTimeout time.Duration
	Logger            *slog.Logger
	// Consents and Requests serve the privacy API: consents over channel api, and
	// data-subject requests. Their stores are scoped like every query of a request.
	Consents *privacy.Consents
	Requests *privacy.Requests
	// Exporter answers a user's access request; Editor rectifies a transcript's segment;
	// AuditLog records every read of a transcript, export and change made through the API.
	Exporter *privacy.Exporter
	Editor   SegmentEditor
	AuditLog privacy.AuditLog
	// Pages, when set, serves every path the API does not: the web app (package webapp).
	Pages http.Handler
	// Metrics is served on /metrics: the process's registry, which the pipeline and the
	// webhook deliverer count on; nil: a registry of the Go and process collectors only.
	Metrics *metrics.Metrics
}

// SegmentEditor rectifies one segment of a call's transcript (ord from 0), keeping the
// before and after, auditing the change and bringing the summary up to date
// (privacy.Corrections, the CLI's path too).
type SegmentEditor interface {
	EditSegment(ctx context.Context, callID uuid.UUID, ord int, text, speaker *string, actor string) (privacy.Correction, error)
}

// Server serves the API.
type Server struct {
	cfg Config
	log *slog.Logger
}

// New returns a Server.
func New(cfg Config) *Server {
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	return &Server{cfg: cfg, log: logger(cfg.Logger)}
}

// Route is one endpoint of the HTTP API.
type Route struct {
	Method, Pattern string
	// Keyed routes need an API key, and their handler sees the key's organization only.
	Keyed bool
}

// route is a Route and its handler.
type route struct {
	Route
	h http.Handler
}

// keyedHandler serves a keyed route for the key's organization; openHandler an open one.
// Both return their error instead of writing it: handle writes it, in one place.
type (
	keyedHandler func(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error
	openHandler  func(w http.ResponseWriter, r *http.Request) error
)

// routes is every endpoint, in one table: Handler serves it and Routes lists it, so the
// test that calls every route with another organization's ids cannot miss a new one.
func (s *Server) routes() []route {
	keyed := func(method, pattern string, h keyedHandler) route {
		return route{Route{method, pattern, true}, s.handle(s.auth(h))}
	}
	open := func(method, pattern string, h http.Handler) route { return route{Route{method, pattern, false}, h} }
	return []route{
		keyed("POST", "/v1/calls", s.postCall),
		keyed("GET", "/v1/calls", s.listCalls),
		keyed("GET", "/v1/calls/{id}", s.getCall),
		keyed("GET", "/v1/calls/{id}/transcript", s.getTranscript),
		keyed("PATCH", "/v1/calls/{id}/transcript/segments/{n}", s.editSegment),
		keyed("GET", "/v1/users/{id}/export", s.exportUser),
		keyed("GET", "/v1/users/{id}/consents", s.getConsents),
		keyed("POST", "/v1/users/{id}/consents", s.postConsents),
		keyed("POST", "/v1/requests", s.postRequest),
		keyed("GET", "/v1/requests", s.listRequests),
		keyed("GET", "/v1/requests/{id}", s.getRequest),
		keyed("POST", "/v1/requests/{id}/start", s.startRequest),
		keyed("POST", "/v1/requests/{id}/extend", s.extendRequest),
		keyed("POST", "/v1/requests/{id}/close", s.closeRequest),
		open("GET", "/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		})),
		open("GET", "/readyz", http.HandlerFunc(s.ready)),
		open("GET", "/metrics", promhttp.HandlerFor(s.cfg.Metrics.Registry, promhttp.HandlerOpts{})),
	}
}

// Routes lists every endpoint the Handler serves.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.routes() {
		out = append(out, r.Route)
	}
	return out
}

// Handler routes every endpoint.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.routes() {
		mux.Handle(r.Method+" "+r.Pattern, r.h)
	}
	notFound := s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
	if s.cfg.Pages == nil {
		mux.Handle("/", notFound)
	} else {
		// The API's own paths answer in JSON; the rest is the web app's.
		mux.Handle("/v1/", notFound)
		mux.Handle("/", s.cfg.Pages)
	}
	return s.guard(mux)
}

// handle serves h and writes the error it returns: the one place an error is answered.
func (s *Server) handle(h openHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := plainQuery(r.URL.RawQuery)
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// auth admits requests that carry a live API key ("Authorization: Bearer csk_…", or the
// key as a basic-authentication password) and hands the key's organization to the
// handler.
func (s *Server) auth(h keyedHandler) openHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			// Basic authentication with the key as the password: what a telephony cloud
			// can send when the key is in its callback URL (https://callscribe:KEY@host/…).
			_, token, ok = r.BasicAuth()
		}
		if !ok || strings.TrimSpace(token) == "" {
			return callscribe.Errorf(callscribe.EUNAUTHORIZED, "an API key is required: Authorization: Bearer <key> (or basic authentication with the key as the password)")
		}
		key, err := s.cfg.Store.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		// From here on the database sees this organization's rows only (row-level security).
		return h(w, r.WithContext(callscribe.WithOrg(r.Context(), key.OrgID)), key)
	}
}

// readyTimeout bounds each check of /readyz: a dependency that does not answer within it
// is not ready, and the probe gets its answer instead of hanging with it.
const readyTimeout = 2 * time.Second

// ready answers /readyz: the database and the stage, checked at once, each within
// readyTimeout; 503 names the one not ready.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	checks := map[string]func(context.Context) error{"database": s.cfg.Store.Ping}
	if s.cfg.Stage != nil {
		checks["stage"] = s.cfg.Stage.Ready
	}
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(checks))
	for name, check := range checks {
		go func() {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			results <- result{name, check(ctx)}
		}()
	}
	answer, status := map[string]string{}, http.StatusOK
	for range checks {
		res := <-results
		answer[res.name] = "ok"
		if res.err != nil {
			s.log.WarnContext(r.Context(), "not ready", "dependency", res.name, "err", res.err)
			answer[res.name], status = "unavailable", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, status, answer)
}
