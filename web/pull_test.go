package web_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"callscribe"
	"callscribe/fetch"
	"callscribe/internal/safehttp"
	"callscribe/internal/testcall"
	"callscribe/web"
)

// recordings is a local recording host: /rec.wav is the recording, /moved redirects
// to the Location the test sets, anything else is 404. It counts the requests it gets.
type recordings struct {
	*httptest.Server
	audio    []byte
	hits     atomic.Int32
	location string
}

func newRecordings(t *testing.T, audio []byte) *recordings {
	t.Helper()
	rs := &recordings{audio: audio}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.hits.Add(1)
		switch r.URL.Path {
		case "/rec.wav":
			w.Header().Set("Content-Type", "audio/x-wav")
			w.Write(rs.audio)
		case "/moved":
			http.Redirect(w, r, rs.location, http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(rs.Close)
	return rs
}

func policy(t *testing.T, list string) safehttp.Policy {
	t.Helper()
	p, err := safehttp.ParsePolicy("CALLSCRIBE_FETCH_ALLOW", list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fetcher is the fetcher `serve` builds from CALLSCRIBE_FETCH_HOSTS and _ALLOW.
func fetcher(t *testing.T, hosts, allow string, maxBytes int64) *fetch.Fetcher {
	t.Helper()
	var hs []string
	if hosts != "" {
		hs = strings.Split(hosts, ",")
	}
	return fetch.New(fetch.Config{Hosts: hs, HostsVariable: "CALLSCRIBE_FETCH_HOSTS", Policy: policy(t, allow), MaxBytes: maxBytes})
}

// swappable lets one harness try several fetcher configurations.
type swappable struct {
	mu sync.Mutex
	f  web.Fetcher
}

func (s *swappable) set(f web.Fetcher) { s.mu.Lock(); s.f = f; s.mu.Unlock() }

func (s *swappable) Fetch(ctx context.Context, u string) (io.ReadCloser, error) {
	s.mu.Lock()
	f := s.f
	s.mu.Unlock()
	return f.Fetch(ctx, u)
}

// TestPullRecording: a call named by recording_url on an allow-listed local recording
// host is fetched, transcribed by PocketSphinx, and its audio deleted and receipted like
// an uploaded one.
func TestPullRecording(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := testcall.Mono(t, dir, "slt", 0.5, testcall.Sentences[:2]...)
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rs := newRecordings(t, file)
	h := newHarness(t, options{work: true, fetcher: fetcher(t, "127.0.0.1", "127.0.0.1", 64<<20)})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)

	r := h.do("POST", ownerQuery(u.Email, "&external_id=pull-1&recording_url="+url.QueryEscape(rs.URL+"/rec.wav")), key, "", nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("pull: %d %s; want 202", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	if c := h.waitEnded(key, id); c["status"] != "completed" {
		t.Fatalf("pulled call ended %v; want completed", c)
	}
	c := h.waitReceipt(key, id)
	if rc, _ := c["receipt"].(map[string]any); rc == nil || rc["sha256"] != sha(file) || rc["bytes"] != float64(len(file)) || rc["confirmed_at"] == nil {
		t.Errorf("receipt %v; want the fetched %d bytes (sha256 %s), deleted and confirmed", rc, len(file), sha(file))
	}
	h.stageEmpty()
	tr := h.get("/v1/calls/"+id+"/transcript?format=txt", key)
	spoken := strings.Join(testcall.Sentences[:2], " ")
	var heard []string
	for _, line := range strings.Split(strings.TrimSpace(string(tr.body)), "\n") {
		if _, words, ok := strings.Cut(line, "] "); ok {
			heard = append(heard, words)
		}
	}
	if w := testcall.WER(spoken, strings.Join(heard, " ")); w > 0.5 {
		t.Errorf("spoken %q, transcript %q: WER %.2f", spoken, tr.body, w)
	}
	if n := rs.hits.Load(); n != 1 {
		t.Errorf("the recording host got %d requests; want 1", n)
	}
}

// TestPullRefused: every refusal of pull mode is a 4xx that names what was wrong, and
// leaves no call row and nothing staged.
func TestPullRefused(t *testing.T) {
	t.Parallel()
	rs := newRecordings(t, silence(8000))
	sw := &swappable{}
	h := newHarness(t, options{fetcher: sw})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	refuser := h.user(org, "petrov@example.ru", false)

	for _, tt := range []struct {
		name     string
		f        *fetch.Fetcher
		owner    string
		target   string // recording_url
		location string // where /moved redirects
		status   int
		code     string
		want     []string // in the message
		hits     int32    // requests the recording host may get
	}{
		{"loopback without the allow-list", fetcher(t, "127.0.0.1", "", 0), u.Email, rs.URL + "/rec.wav", "",
			400, callscribe.EINVALID, []string{"127.0.0.1", "loopback", "CALLSCRIBE_FETCH_ALLOW"}, 0},
		{"undeclared host", fetcher(t, "records.example.ru", "127.0.0.1", 0), u.Email, rs.URL + "/rec.wav", "",
			400, callscribe.EINVALID, []string{"127.0.0.1", "not a declared recording host", "CALLSCRIBE_FETCH_HOSTS"}, 0},
		{"no recording host declared", fetcher(t, "", "", 0), u.Email, rs.URL + "/rec.wav", "",
			400, callscribe.EINVALID, []string{"pull mode is off", "CALLSCRIBE_FETCH_HOSTS"}, 0},
		{"not http", fetcher(t, "*", "127.0.0.1", 0), u.Email, "file:///etc/passwd", "",
			400, callscribe.EINVALID, []string{"http"}, 0},
		{"remote 404", fetcher(t, "127.0.0.1", "127.0.0.1", 0), u.Email, rs.URL + "/gone.wav", "",
			422, callscribe.EUNFETCHABLE, []string{"127.0.0.1", "404"}, 1},
		{"redirect to cloud metadata", fetcher(t, "*", "127.0.0.1", 0), u.Email, rs.URL + "/moved", "http://169.254.169.254/latest/meta-data/",
			400, callscribe.EINVALID, []string{"169.254.169.254", "link-local"}, 1},
		{"redirect to a private address", fetcher(t, "*", "127.0.0.1", 0), u.Email, rs.URL + "/moved", "http://10.1.2.3/rec.wav",
			400, callscribe.EINVALID, []string{"10.1.2.3", "private"}, 1},
		{"redirect to an undeclared host", fetcher(t, "127.0.0.1", "127.0.0.1", 0), u.Email, rs.URL + "/moved", "http://localhost:1/rec.wav",
			400, callscribe.EINVALID, []string{"localhost", "not a declared recording host"}, 1},
		{"larger than the limit", fetcher(t, "127.0.0.1", "127.0.0.1", 1000), u.Email, rs.URL + "/rec.wav", "",
			413, callscribe.ETOOLARGE, []string{"1000"}, 1},
		{"no consent: nothing fetched", fetcher(t, "127.0.0.1", "127.0.0.1", 0), refuser.Email, rs.URL + "/rec.wav", "",
			403, callscribe.ENOCONSENT, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sw.set(tt.f)
			rs.location = tt.location
			before := rs.hits.Load()
			r := h.do("POST", ownerQuery(tt.owner, "&recording_url="+url.QueryEscape(tt.target)), key, "", nil)
			msg, _ := r.json(t)["error"].(map[string]any)["message"].(string)
			if r.status != tt.status || r.errorCode(t) != tt.code {
				t.Errorf("got %d %s; want %d %s", r.status, r.body, tt.status, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not mention %q", msg, w)
				}
			}
			if strings.Contains(msg, "/moved") || strings.Contains(msg, "rec.wav") {
				t.Errorf("message %q repeats the URL's path; want the host only", msg)
			}
			if n := rs.hits.Load() - before; n != tt.hits {
				t.Errorf("the recording host got %d requests; want %d", n, tt.hits)
			}
			if n := h.count(`SELECT count(*) FROM calls`); n != 0 {
				t.Errorf("%d call rows; want none", n)
			}
			h.stageEmpty()
		})
	}

	sw.set(fetcher(t, "127.0.0.1", "127.0.0.1", 0))
	r := h.do("POST", ownerQuery(u.Email, "&recording_url="+url.QueryEscape(rs.URL+"/rec.wav")), key, "audio/wav", strings.NewReader(string(silence(800))))
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "not both") {
		t.Errorf("audio and recording_url: %d %s; want 400 saying not both", r.status, r.body)
	}

	off := newHarness(t, options{})
	org, key = off.org("acme")
	u = off.user(org, "ivanova@example.ru", true)
	r = off.do("POST", ownerQuery(u.Email, "&recording_url="+url.QueryEscape(rs.URL+"/rec.wav")), key, "", nil)
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "pull mode is off") {
		t.Errorf("pull mode unconfigured: %d %s; want 400 saying pull mode is off", r.status, r.body)
	}
}

// TestTwilioRecordingCallback: Twilio's recording status callback, a form post with the
// key as the basic-auth password and the owner in the callback URL's query, queues the
// recording under its RecordingSid; Twilio's retry of the callback gets the same call
// and fetches nothing again.
func TestTwilioRecordingCallback(t *testing.T) {
	t.Parallel()
	rs := newRecordings(t, silence(16000))
	h := newHarness(t, options{fetcher: fetcher(t, "127.0.0.1", "127.0.0.1", 64<<20)})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)

	form := url.Values{
		"AccountSid":         {"AC0123456789abcdef0123456789abcdef"},
		"CallSid":            {"CA11111111111111111111111111111111"},
		"RecordingSid":       {"RE22222222222222222222222222222222"},
		"RecordingUrl":       {rs.URL + "/rec.wav"},
		"RecordingStatus":    {"completed"},
		"RecordingDuration":  {"2"},
		"RecordingChannels":  {"1"},
		"RecordingSource":    {"DialVerb"},
		"RecordingStartTime": {"Thu, 26 Nov 2026 09:15:00 +0000"},
	}
	post := func(query string, f url.Values, auth func(*http.Request)) reply {
		t.Helper()
		req, err := http.NewRequest("POST", h.server.URL+"/v1/calls"+query, strings.NewReader(f.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		auth(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return reply{resp.StatusCode, b}
	}
	basic := func(req *http.Request) { req.SetBasicAuth("twilio", key) }
	query := "?owner=" + url.QueryEscape(u.Email)

	r := post(query, form, basic)
	if r.status != http.StatusAccepted {
		t.Fatalf("Twilio callback: %d %s; want 202", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	c := h.get("/v1/calls/"+id, key).json(t)
	if c["external_id"] != "RE22222222222222222222222222222222" || c["started_at"] != "2026-11-26T09:15:00Z" || c["owner"] != u.Email {
		t.Errorf("call %v; want external_id the RecordingSid, started_at from RecordingStartTime, owner from the query", c)
	}
	if rc, _ := c["receipt"].(map[string]any); rc == nil || rc["bytes"] != float64(len(rs.audio)) {
		t.Errorf("receipt %v; want the %d bytes fetched staged", c["receipt"], len(rs.audio))
	}

	again := post(query, form, basic)
	if again.status != http.StatusOK || again.json(t)["id"] != id {
		t.Errorf("retried callback: %d %s; want 200 with call %s", again.status, again.body, id)
	}
	if n := rs.hits.Load(); n != 1 {
		t.Errorf("the recording was fetched %d times; want once", n)
	}

	noRec := url.Values{"CallSid": {"CA3"}, "RecordingUrl": {rs.URL + "/rec.wav"}}
	if r := post(query, noRec, basic); r.status != http.StatusAccepted {
		t.Errorf("callback without RecordingSid: %d %s; want 202", r.status, r.body)
	} else if c := h.get("/v1/calls/"+r.json(t)["id"].(string), key).json(t); c["external_id"] != "CA3" {
		t.Errorf("callback without RecordingSid: external_id %v; want the CallSid", c["external_id"])
	}

	// recording_url as a multipart field, with no file part.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("owner", u.Email)
	mw.WriteField("external_id", "mp-1")
	mw.WriteField("recording_url", rs.URL+"/rec.wav")
	mw.Close()
	if r := h.do("POST", "/v1/calls", key, mw.FormDataContentType(), &mp); r.status != http.StatusAccepted {
		t.Errorf("multipart recording_url: %d %s; want 202", r.status, r.body)
	}

	for _, tt := range []struct {
		name   string
		query  string
		form   url.Values
		auth   func(*http.Request)
		status int
		want   string
	}{
		{"no owner", "", form, basic, 400, "owner is required"},
		{"no RecordingUrl", query, url.Values{"CallSid": {"CA4"}}, basic, 400, "RecordingUrl"},
		{"bad start time", query, url.Values{"RecordingUrl": {rs.URL + "/rec.wav"}, "RecordingStartTime": {"yesterday"}}, basic, 400, "RecordingStartTime"},
		{"wrong password", query, form, func(r *http.Request) { r.SetBasicAuth("twilio", key+"x") }, 401, "unauthorized"},
		{"no credentials", query, form, func(*http.Request) {}, 401, "unauthorized"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := post(tt.query, tt.form, tt.auth); r.status != tt.status || !strings.Contains(string(r.body), tt.want) {
				t.Errorf("%d %s; want %d mentioning %q", r.status, r.body, tt.status, tt.want)
			}
		})
	}
	if n := h.count(`SELECT count(*) FROM calls`); n != 3 {
		t.Errorf("%d calls; want 3 (the recording, the one without RecordingSid, the multipart one)", n)
	}
}
