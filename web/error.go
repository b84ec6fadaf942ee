package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"callscribe"
)

// statuses maps application error codes to HTTP statuses: the API's one table.
var statuses = map[string]int{
	callscribe.EINVALID:      http.StatusBadRequest,
	callscribe.EUNAUTHORIZED: http.StatusUnauthorized,
	callscribe.ENOCONSENT:    http.StatusForbidden,
	callscribe.EBLOCKED:      http.StatusForbidden,
	callscribe.ENOTFOUND:     http.StatusNotFound,
	callscribe.ECONFLICT:     http.StatusConflict,
	callscribe.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	callscribe.EUNREADABLE:   http.StatusUnsupportedMediaType,
	callscribe.EUNFETCHABLE:  http.StatusUnprocessableEntity,
	callscribe.EUNAVAILABLE:  http.StatusServiceUnavailable,
	callscribe.ETIMEOUT:      http.StatusRequestTimeout,
	callscribe.EFORBIDDEN:    http.StatusForbidden,
	callscribe.ETHROTTLED:    http.StatusTooManyRequests,
	callscribe.EINTERNAL:     http.StatusInternalServerError,
}

// HTTPStatus is the HTTP status that answers err: the one table, for the API and the web
// app's pages alike.
func HTTPStatus(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	if status, ok := statuses[callscribe.ErrorCode(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// errorBody is what a client gets for any error: a code for machines and a message safe
// for people, never the internal cause.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers err. A fault of ours is logged for the operator with the request's
// ids; the client gets only the code and the safe message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = callscribe.Wrap(callscribe.ETOOLARGE, err, "the request body is larger than the limit of %d bytes", mbe.Limit)
	}
	code := callscribe.ErrorCode(err)
	status := HTTPStatus(err)
	msg := callscribe.ErrorMessage(err)
	if code == callscribe.EINTERNAL || code == callscribe.EUNAVAILABLE {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "code", code, "err", err)
		if code == callscribe.EINTERNAL {
			msg = "internal error"
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="callscribe"`)
	}
	writeJSON(w, status, errorBody{errorDetail{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// logger returns l or a logger that drops everything.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
