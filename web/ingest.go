package web

import (
	"bufio"
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
	"external_id": true, "owner": true, "started_at": true, "channels": true, "phone": true,
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
func (s *Server) postCall(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	up, done, err := s.readUpload(r, key)
	if err != nil {
		return err
	}
	defer done()
	return s.acceptUpload(w, r, key, up)
}

// readUpload reads an upload's fields and finds its audio: the body, the multipart file,
// or the recording pull mode names. Nothing of the audio is read yet but the multipart
// parts before it; done ends a download begun in pull mode.
func (s *Server) readUpload(r *http.Request, key callscribe.APIKey) (up pipeline.Upload, done func(), err error) {
	fields := url.Values{}
	for name, v := range r.URL.Query() {
		if !uploadFields[name] {
			return up, nil, callscribe.Errorf(callscribe.EINVALID, "unknown field %q (known: external_id, owner, phone, started_at, channels, sample_rate, encoding, channel_count, recording_url)", name)
		}
		fields[name] = v
	}
	body, size, err := uploadBody(r, fields)
	if err != nil {
		return up, nil, err
	}
	if err := callscribe.PlainValues("field", fields); err != nil {
		return up, nil, err
	}
	pull := fields.Get("recording_url")
	if pull != "" && body != nil {
		return up, nil, callscribe.Errorf(callscribe.EINVALID, "send either the audio or a recording_url, not both")
	}
	if up, err = s.parseUpload(r, key, fields); err != nil {
		return up, nil, err
	}
	done = func() {}
	if pull != "" {
		p, err := s.pullMode(r.Context(), pull)
		if err != nil {
			return up, nil, err
		}
		body, done = p, func() { p.Close() }
	}
	up.Audio, up.Size = body, size
	return up, done, nil
}

// uploadBody finds the audio of a request by its Content-Type, reading the fields a
// multipart or form body carries into fields. It returns a nil reader for pull mode, and
// the audio's size when the request declares it (-1 otherwise).
func uploadBody(r *http.Request, fields url.Values) (io.Reader, int64, error) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mediaType == "application/x-www-form-urlencoded":
		// What curl --data-binary sends unless told otherwise: a body that is clearly
		// audio is taken as the audio, anything else must be a form.
		in := bufio.NewReaderSize(r.Body, 64)
		if clearlyAudio(in) {
			return in, r.ContentLength, nil
		}
		if err := formFields(in, fields); err != nil {
			return nil, 0, err
		}
		if fields.Get("recording_url") == "" {
			return nil, 0, callscribe.Errorf(callscribe.EINVALID,
				"a form post names its recording by recording_url (or Twilio's RecordingUrl); to send the audio itself use a raw body or multipart/form-data")
		}
		return nil, -1, nil
	case mediaType == "multipart/form-data":
		file, err := multipartFile(r, fields)
		return file, -1, err
	case fields.Get("recording_url") != "" && r.ContentLength == 0:
		return nil, -1, nil // pull mode with an empty body: whatever the Content-Type says
	case mediaType == "" || mediaType == "application/octet-stream" || strings.HasPrefix(mediaType, "audio/"):
		// No Content-Type at all: the pipeline sniffs the bytes, as it does every upload.
		return r.Body, r.ContentLength, nil
	}
	return nil, 0, callscribe.Errorf(callscribe.EUNREADABLE,
		"Content-Type %q is not audio: send the audio as the body (audio/wav, audio/mpeg, application/octet-stream…) or as the multipart field \"file\"", mediaType)
}

// multipartFile reads the fields before the part "file" and returns that part, unread:
// fields after it are not read. It returns nil without a file part when the fields name
// a recording_url.
func multipartFile(r *http.Request, fields url.Values) (io.Reader, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, callscribe.Wrap(callscribe.EINVALID, err, "the multipart body cannot be read")
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF && fields.Get("recording_url") != "" {
			return nil, nil // pull mode: no file part
		}
		if err == io.EOF {
			return nil, callscribe.Errorf(callscribe.EINVALID, `the multipart body has no "file" part (nor a recording_url)`)
		}
		if err != nil {
			if callscribe.ErrorCode(err) != callscribe.EINTERNAL {
				return nil, err // the body's own fault (clientBody named it)
			}
			return nil, callscribe.Wrap(callscribe.EINVALID, err, "the multipart body cannot be read")
		}
		name := part.FormName()
		if name == "file" {
			return part, nil
		}
		if !uploadFields[name] {
			return nil, callscribe.Errorf(callscribe.EINVALID, "unknown field %q (known: file, external_id, owner, phone, started_at, channels, sample_rate, encoding, channel_count, recording_url)", name)
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return nil, err
		}
		if len(b) > maxFieldBytes {
			return nil, callscribe.Errorf(callscribe.EINVALID, "field %q is longer than %d bytes", name, maxFieldBytes)
		}
		fields.Set(name, string(b))
	}
}

// clearlyAudio reports whether a body starts as a WAV or an MP3 does (a RIFF/RF64 WAVE
// header, an ID3 tag, an MPEG audio frame sync): no form field starts so.
func clearlyAudio(in *bufio.Reader) bool {
	head, _ := in.Peek(12)
	switch {
	case len(head) >= 12 && (string(head[:4]) == "RIFF" || string(head[:4]) == "RF64") && string(head[8:12]) == "WAVE":
		return true
	case len(head) >= 3 && string(head[:3]) == "ID3":
		return true
	case len(head) >= 2 && head[0] == 0xFF && head[1]&0xE0 == 0xE0:
		return true
	}
	return false
}

// acceptUpload hands the upload to the pipeline and answers: 202 for a new call, 200 with
// the first call's status for a repeat of its external id.
func (s *Server) acceptUpload(w http.ResponseWriter, r *http.Request, key callscribe.APIKey, up pipeline.Upload) error {
	ctx, stop := afterWholeBody(r)
	defer stop()
	acc, err := s.cfg.Ingester.Accept(ctx, up)
	if err != nil {
		return err
	}
	status := http.StatusAccepted
	answer := callAccepted{ID: acc.CallID.String(), Status: "queued", StatusURL: "/v1/calls/" + acc.CallID.String(), RetryOf: acc.RetryOf}
	if acc.Existing {
		status = http.StatusOK
		c, err := s.cfg.Store.Call(ctx, key.OrgID, acc.CallID)
		if err != nil {
			return err
		}
		answer.Status = c.Status.Public()
	}
	s.log.InfoContext(ctx, "upload answered", "call_id", acc.CallID, "key_id", key.ID, "existing", acc.Existing)
	writeJSON(w, status, answer)
	return nil
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
	if v := strings.TrimSpace(f.Get("phone")); v != "" {
		// The other party's number, stored in one form so that a search by any way of
		// writing it finds the call; the error does not repeat it.
		p, err := callscribe.NormalizePhone(v)
		if err != nil {
			return up, callscribe.Errorf(callscribe.EINVALID, "phone: %s", safeMessage(err))
		}
		up.Phone = p
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

func parseID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, callscribe.Errorf(callscribe.ENOTFOUND, "no call %q", r.PathValue("id"))
	}
	return id, nil
}
