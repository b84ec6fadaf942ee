package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/pipeline"
)

// Limits on what an upload's metadata may be.
const (
	maxFieldBytes    = 4 << 10
	maxExternalIDLen = 200
	maxRoles         = 8
)

// rawEncodings are the headerless encodings an upload may name.
// rawEncodings maps the encodings a headerless upload may name to the audio package's
// names; s16le is accepted as another name for s16.
var rawEncodings = map[string]string{"s16": "s16", "s16le": "s16", "ulaw": "ulaw", "alaw": "alaw", "gsm": "gsm"}

// uploadFields are the metadata fields of POST /v1/calls, as query parameters or as
// multipart fields before the file part.
var uploadFields = map[string]bool{
	"external_id": true, "owner": true, "started_at": true, "channels": true,
	"sample_rate": true, "encoding": true, "channel_count": true, "recording_url": true,
}

// callAccepted is the answer to an upload: 202 for a new call, 200 for a repeat of an
// external id (the first call, nothing queued again).
type callAccepted struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	StatusURL string     `json:"status_url"`
	RetryOf   *uuid.UUID `json:"retry_of,omitempty"` // a new call sending a failed one's external id again
}

// postCall ingests a call: the audio is the raw body (Content-Type audio/* or
// application/octet-stream) or the multipart field "file"; metadata come as query
// parameters or as multipart fields sent before the file. The body streams into the
// pipeline: it is never held whole in memory nor written to disk.
//
// In pull mode the audio is named instead by recording_url (a query parameter, a
// multipart field, or a form field: Twilio's recording callback posts RecordingUrl as
// application/x-www-form-urlencoded). It is fetched at once, once the owner's consent
// is known, and streamed into the pipeline as a body would be.
func (s *Server) postCall(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) {
	ctx := r.Context()
	if s.cfg.MaxBodyBytes > 0 {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	}
	fields := url.Values{}
	for name, v := range r.URL.Query() {
		if !uploadFields[name] {
			s.writeError(w, r, callscribe.Errorf(callscribe.EINVALID, "unknown field %q (known: external_id, owner, started_at, channels, sample_rate, encoding, channel_count, recording_url)", name))
			return
		}
		fields[name] = v
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var body io.Reader
	size := int64(-1)
	switch {
	case mediaType == "application/x-www-form-urlencoded":
		if err := formFields(w, r, fields); err != nil {
			s.writeError(w, r, err)
			return
		}
		if fields.Get("recording_url") == "" {
			s.writeError(w, r, callscribe.Errorf(callscribe.EINVALID,
				"a form post names its recording by recording_url (or Twilio's RecordingUrl); to send the audio itself use a raw body or multipart/form-data"))
			return
		}
	case mediaType == "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			s.writeError(w, r, callscribe.Wrap(callscribe.EINVALID, err, "the multipart body cannot be read"))
			return
		}
		for body == nil {
			part, err := mr.NextPart()
			if err == io.EOF && fields.Get("recording_url") != "" {
				break // pull mode: no file part
			}
			if err == io.EOF {
				s.writeError(w, r, callscribe.Errorf(callscribe.EINVALID, `the multipart body has no "file" part (nor a recording_url)`))
				return
			}
			if err != nil {
				s.writeError(w, r, callscribe.Wrap(callscribe.EINVALID, err, "the multipart body cannot be read"))
				return
			}
			name := part.FormName()
			if name == "file" {
				body = part // streamed: fields after the file are not read
				break
			}
			if !uploadFields[name] {
				s.writeError(w, r, callscribe.Errorf(callscribe.EINVALID, "unknown field %q (known: file, external_id, owner, started_at, channels, sample_rate, encoding, channel_count, recording_url)", name))
				return
			}
			b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if len(b) > maxFieldBytes {
				s.writeError(w, r, callscribe.Errorf(callscribe.EINVALID, "field %q is longer than %d bytes", name, maxFieldBytes))
				return
			}
			fields.Set(name, string(b))
		}
	case fields.Get("recording_url") != "" && r.ContentLength == 0:
		// Pull mode with an empty body: whatever the Content-Type says.
	case mediaType == "" || mediaType == "application/octet-stream" || strings.HasPrefix(mediaType, "audio/"):
		body, size = &declaredBody{r: r.Body, declared: r.ContentLength}, r.ContentLength
	default:
		s.writeError(w, r, callscribe.Errorf(callscribe.EUNREADABLE,
			"Content-Type %q is not audio: send the audio as the body (audio/wav, audio/mpeg, application/octet-stream…) or as the multipart field \"file\"", mediaType))
		return
	}

	pull := fields.Get("recording_url")
	if pull != "" && body != nil {
		s.writeError(w, r, callscribe.Errorf(callscribe.EINVALID, "send either the audio or a recording_url, not both"))
		return
	}

	up, err := s.parseUpload(r, key, fields)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if pull != "" {
		p, err := s.pullMode(ctx, pull)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defer p.Close()
		body = p
	}
	up.Audio, up.Size = body, size
	acc, err := s.cfg.Ingester.Accept(ctx, up)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusAccepted
	answer := callAccepted{ID: acc.CallID.String(), Status: "queued", StatusURL: "/v1/calls/" + acc.CallID.String(), RetryOf: acc.RetryOf}
	if acc.Existing {
		status = http.StatusOK
		c, err := s.cfg.Store.Call(ctx, key.OrgID, acc.CallID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		answer.Status = apiStatus(c.Status)
	}
	s.log.InfoContext(ctx, "upload answered", "call_id", acc.CallID, "key_id", key.ID, "existing", acc.Existing)
	writeJSON(w, status, answer)
}

// parseUpload checks the metadata of an upload and finds its owner in the key's
// organization. An owner that does not exist and an owner of another organization get
// the same answer (404), so a key learns nothing about other organizations.
func (s *Server) parseUpload(r *http.Request, key callscribe.APIKey, f url.Values) (pipeline.Upload, error) {
	var up pipeline.Upload
	email := strings.TrimSpace(f.Get("owner"))
	if email == "" {
		return up, callscribe.Errorf(callscribe.EINVALID, "owner is required: the email of a user of your organization")
	}
	up.ExternalID = strings.TrimSpace(f.Get("external_id"))
	if len(up.ExternalID) > maxExternalIDLen {
		return up, callscribe.Errorf(callscribe.EINVALID, "external_id is longer than %d characters", maxExternalIDLen)
	}
	if v := f.Get("started_at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return up, callscribe.Errorf(callscribe.EINVALID, "started_at %q is not an RFC 3339 time such as 2026-01-31T09:15:00+03:00", v)
		}
		up.StartedAt = &t
	}
	if v := f.Get("channels"); v != "" {
		roles := strings.Split(v, ",")
		if len(roles) > maxRoles {
			return up, callscribe.Errorf(callscribe.EINVALID, "channels names %d roles; at most %d", len(roles), maxRoles)
		}
		for i, role := range roles {
			roles[i] = strings.TrimSpace(role)
			if roles[i] == "" || len(roles[i]) > 64 {
				return up, callscribe.Errorf(callscribe.EINVALID, "channels %q: role %d is empty or too long", v, i+1)
			}
		}
		up.Roles = roles
	}
	raw, err := parseRaw(f)
	if err != nil {
		return up, err
	}
	up.Raw = raw
	u, err := s.cfg.Store.UserByEmail(r.Context(), key.OrgID, email)
	if err != nil {
		if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
			return up, callscribe.Errorf(callscribe.ENOTFOUND, "owner: no user with this email in your organization")
		}
		return up, err
	}
	up.Owner = u
	return up, nil
}

// parseRaw reads the format of headerless audio; nil when none of its fields is given.
func parseRaw(f url.Values) (*callscribe.RawFormat, error) {
	rate, enc, chans := f.Get("sample_rate"), f.Get("encoding"), f.Get("channel_count")
	if rate == "" && enc == "" && chans == "" {
		return nil, nil
	}
	raw := &callscribe.RawFormat{Encoding: enc, Channels: 1}
	var err error
	if raw.SampleRate, err = strconv.Atoi(rate); err != nil || raw.SampleRate < 1000 || raw.SampleRate > 384000 {
		return nil, callscribe.Errorf(callscribe.EINVALID, "sample_rate %q: raw audio needs a sample rate in Hz between 1000 and 384000", rate)
	}
	if raw.Encoding = rawEncodings[enc]; raw.Encoding == "" {
		return nil, callscribe.Errorf(callscribe.EINVALID, "encoding %q: raw audio needs one of s16 (or s16le), ulaw, alaw, gsm", enc)
	}
	if chans != "" {
		if raw.Channels, err = strconv.Atoi(chans); err != nil || raw.Channels < 1 || raw.Channels > maxRoles {
			return nil, callscribe.Errorf(callscribe.EINVALID, "channel_count %q: want 1 to %d", chans, maxRoles)
		}
	}
	return raw, nil
}

// apiStatus is a call's status as the API names it: a staged call is "queued".
func apiStatus(s callscribe.CallStatus) string {
	if s == callscribe.CallStaged || s == callscribe.CallReceived {
		return "queued"
	}
	return string(s)
}

func parseID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, callscribe.Errorf(callscribe.ENOTFOUND, "no call %q", r.PathValue("id"))
	}
	return id, nil
}

// declaredBody reads a raw body and names one that ends before its declared
// Content-Length (the server's reader says only io.ErrUnexpectedEOF).
type declaredBody struct {
	r              io.Reader
	declared, read int64
}

func (b *declaredBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = callscribe.Errorf(callscribe.EINVALID, "the body ended after %d of its %d declared bytes (Content-Length)", b.read, b.declared)
	}
	return n, err
}
