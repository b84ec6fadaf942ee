package web

import (
	"context"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"callscribe"
)

// Fetcher downloads a recording named by URL (pull mode): package fetch, which reaches
// only declared recording hosts and never an address inside the network.
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string) (io.ReadCloser, error)
}

// maxFormBytes bounds a form post (Twilio's recording callback is well under 2 KiB).
const maxFormBytes = 64 << 10

// twilioFields are the fields of a Twilio recording status callback that callscribe
// reads. Twilio sends more (AccountSid, RecordingStatus, RecordingDuration, …); a form
// post's other fields are ignored, since a telephony cloud decides what it sends.
//
// The external id is the RecordingSid: external_id is the idempotency key, and what
// callscribe transcribes is one recording. A call may have several recordings (a <Record>
// and a conference recording, say); keyed by CallSid the second would be taken for a
// repeat of the first and silently dropped. A retried callback carries the same
// RecordingSid and gets the first call back. Without a RecordingSid, the CallSid is used.
func twilioFields(form url.Values, fields url.Values) error {
	set := func(name, v string) {
		if v = strings.TrimSpace(v); v != "" && fields.Get(name) == "" {
			fields.Set(name, v)
		}
	}
	set("recording_url", form.Get("RecordingUrl"))
	set("external_id", form.Get("RecordingSid"))
	set("external_id", form.Get("CallSid"))
	if v := strings.TrimSpace(form.Get("RecordingStartTime")); v != "" && fields.Get("started_at") == "" {
		// Twilio writes times as RFC 1123 with a numeric zone.
		t, err := time.Parse(time.RFC1123Z, v)
		if err != nil {
			return callscribe.Errorf(callscribe.EINVALID, "RecordingStartTime %q is not a time such as Mon, 16 Aug 2010 03:45:01 +0000", v)
		}
		fields.Set("started_at", t.Format(time.RFC3339))
	}
	return nil
}

// formFields reads an application/x-www-form-urlencoded body into fields: the upload
// fields by their own names, Twilio's by theirs; fields already given in the query win.
// A body over maxFormBytes or with bytes no form holds is taken for audio sent with the
// wrong type (curl --data-binary's default), and refused with the type to send.
func formFields(body io.Reader, fields url.Values) error {
	b, err := io.ReadAll(io.LimitReader(body, maxFormBytes+1))
	if err != nil {
		return err // the body's own fault, named by clientBody
	}
	if len(b) > maxFormBytes || !formText(b) {
		return callscribe.Errorf(callscribe.EUNREADABLE,
			"the body is sent as a form (Content-Type: application/x-www-form-urlencoded, what curl --data-binary sends unless told otherwise) but is not one: "+
				"send the audio with Content-Type: audio/wav (audio/mpeg, application/octet-stream…), e.g. curl -H \"Content-Type: audio/wav\" --data-binary @call.wav")
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return callscribe.Wrap(callscribe.EINVALID, err, "the form body is not application/x-www-form-urlencoded")
	}
	for name, v := range form {
		if uploadFields[name] && fields.Get(name) == "" && len(v) > 0 {
			fields.Set(name, v[0])
		}
	}
	return twilioFields(form, fields)
}

// formText reports whether b can be a form body: UTF-8 text without control characters
// (line ends and tabs aside, which some clients leave in).
func formText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\r' && c != '\n' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// pulled is a recording fetched when first read: after the pipeline has checked the
// owner's consent and block, so nothing is downloaded for a call that would be refused.
// Its errors (a refused address, a 4xx, the size limit) reach the client through the
// pipeline unchanged.
type pulled struct {
	ctx context.Context
	f   Fetcher
	url string
	rc  io.ReadCloser
	err error
}

func (p *pulled) Read(b []byte) (int, error) {
	if p.rc == nil && p.err == nil {
		p.rc, p.err = p.f.Fetch(p.ctx, p.url)
	}
	if p.err != nil {
		return 0, p.err
	}
	return p.rc.Read(b)
}

// Close ends the download, if one began.
func (p *pulled) Close() error {
	if p.rc != nil {
		return p.rc.Close()
	}
	return nil
}

// pullMode returns the reader of the recording at rawURL, or an error when pull mode is
// not configured.
func (s *Server) pullMode(ctx context.Context, rawURL string) (*pulled, error) {
	if s.cfg.Fetcher == nil {
		return nil, callscribe.Errorf(callscribe.EINVALID, "recording_url: pull mode is off on this server: send the audio as the body")
	}
	return &pulled{ctx: ctx, f: s.cfg.Fetcher, url: rawURL}, nil
}
