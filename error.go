// Package callscribe holds the domain types every layer shares and the one application
// error type. It imports nothing of the project: the arrows point here.
package callscribe

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status and one CLI exit status, in one table each
// (web and cmd/callscribe); the message of an Error is safe to show to the client.
const (
	EINTERNAL     = "internal"     // a fault of ours or of a dependency; details only in the log
	EINVALID      = "invalid"      // bad input: the message names what was wrong
	ENOCONSENT    = "no_consent"   // the user has not consented to the purpose
	EBLOCKED      = "blocked"      // the user is blocked: their data is kept but not shown or processed
	ENOTFOUND     = "not_found"    // no such object (or not visible to the caller)
	ECONFLICT     = "conflict"     // the object is in a state that forbids the action
	EUNREADABLE   = "unreadable"   // the audio cannot be decoded: the message says why
	ETOOLARGE     = "too_large"    // a size or duration limit was crossed
	EUNAVAILABLE  = "unavailable"  // a dependency is down; try again later
	EUNAUTHORIZED = "unauthorized" // missing or invalid credentials
	EUNFETCHABLE  = "unfetchable"  // a recording URL's host would not give the recording (a 4xx answer)
	ETIMEOUT      = "timeout"      // the client stopped sending its request: no byte came for too long
	EFORBIDDEN    = "forbidden"    // signed in, but the role does not allow the action
	ETHROTTLED    = "throttled"    // too many attempts (sign-in) in a while: try again later
)

// Error is the application error: a code for machines, a message safe for people.
// Internal causes are wrapped (Unwrap) for the operator's log, never shown to a client.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an application error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an application error with a code and a message that keeps err for the log.
func Wrap(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first application error in err's chain,
// EINTERNAL for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the client-safe message of err: the message of an application
// error, or a generic text for anything else (which may carry data we must not show).
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "internal error"
	}
}
