package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of every delivery.
const (
	SignatureHeader = "Callscribe-Signature" // t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
	DeliveryHeader  = "Callscribe-Delivery"  // the delivery id: the same on every retry, for de-duplication
	EventHeader     = "Callscribe-Event"     // the event, as in the payload
)

// DefaultTolerance is how old a signature Verify accepts when given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: no v1 signature in the Callscribe-Signature header")
	ErrBadSignature = errors.New("webhook: signature does not match the body")
	ErrTooOld       = errors.New("webhook: signature timestamp outside the tolerance")
)

// Sign returns the Callscribe-Signature header value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with secret>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks, for a receiver, that body came from callscribe: header is the
// Callscribe-Signature value, body the raw request body (before any JSON decoding),
// secret the endpoint's secret. It refuses a signature older or newer than tolerance
// (DefaultTolerance when 0), which stops replays of old deliveries. Several v1 values
// are accepted, any of which may match.
func Verify(secret, header string, body []byte, tolerance time.Duration) error {
	return verifyAt(time.Now(), secret, header, body, tolerance)
}

func verifyAt(now time.Time, secret, header string, body []byte, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTooOld
	}
	want := []byte(mac(secret, ts, body))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			return nil
		}
	}
	return ErrBadSignature
}
