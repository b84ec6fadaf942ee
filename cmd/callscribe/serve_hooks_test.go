package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"callscribe/audio"
	"callscribe/internal/eventually"
	"callscribe/internal/testcall"
	"callscribe/webhook"
)

// served is a `callscribe serve` process of a test.
type served struct {
	base   string
	stderr *bytes.Buffer
}

// startServe runs `callscribe serve` with env and stops it (SIGTERM) when the test ends.
func startServe(t *testing.T, env []string) served {
	t.Helper()
	cmd := exec.Command(callscribeBinary(t), "serve")
	cmd.Env = processEnv(env)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("serve printed nothing; stderr:\n%s", stderr.String())
	}
	_, base, ok := strings.Cut(lines.Text(), "listening on ")
	if !ok {
		t.Fatalf("serve's first line %q does not say where it listens", lines.Text())
	}
	go io.Copy(io.Discard, stdout)
	return served{base: strings.Fields(base)[0], stderr: stderr}
}

// payloadKeys are the fields of a webhook payload the README documents.
var payloadKeys = map[string]bool{"id": true, "event": true, "created_at": true, "data": true,
	"data.call_id": true, "data.external_id": true, "data.status": true, "data.organization_id": true}

// delivery is a webhook request as the receiver got it.
type delivery struct {
	header http.Header
	body   []byte
}

// TestServeWebhooksPullAndMetrics runs `callscribe serve` as an operator does, with a
// webhook endpoint on a local receiver (allow-listed by CALLSCRIBE_WEBHOOK_ALLOW) and a
// local recording host (CALLSCRIBE_FETCH_HOSTS, _ALLOW): a call pulled by recording_url
// completes and the receiver gets call.completed, signed, with ids and no words; an
// unreadable upload fails and the receiver gets call.failed. Then /metrics shows every
// family with values that follow from those two calls, and no label or value anywhere
// holds an email, a phone number or a word of the call.
func TestServeWebhooksPullAndMetrics(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []delivery
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	dir := t.TempDir()
	path := testcall.Mono(t, dir, "slt", 0.5, testcall.Sentences[:2]...)
	speech, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recordings := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rec.wav" {
			http.NotFound(w, r)
			return
		}
		w.Write(speech)
	}))
	defer recordings.Close()

	env := append(dbEnv(t), "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0", "CALLSCRIBE_LOG_LEVEL=info",
		"CALLSCRIBE_WEBHOOK_ALLOW=127.0.0.1",
		"CALLSCRIBE_FETCH_HOSTS=127.0.0.1", "CALLSCRIBE_FETCH_COUNTRY=RU", "CALLSCRIBE_FETCH_ALLOW=127.0.0.1")
	const email, phone = "ivanova@example.ru", "+79161234567"
	mustRun(t, env, "users", "add", "--org", "acme", "--email", email, "--phone", phone)
	mustRun(t, env, "consent", "grant", "--org", "acme", "--email", email, "--purpose", "transcription")
	mustRun(t, env, "requests", "add", "--org", "acme", "--kind", "access", "--email", email, "--received", time.Now().Format("2006-01-02"))
	out := strings.Split(strings.TrimSpace(mustRun(t, env, "apikey", "create", "--org", "acme")), "\n")
	key := out[len(out)-1]
	var ep struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(mustRun(t, env, "webhook", "add", "--org", "acme", "--url", receiver.URL+"/hooks", "--country", "RU")), &ep); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, env)

	call := func(method, path, contentType string, body io.Reader) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, s.base+path, body)
		req.Header.Set("Authorization", "Bearer "+key)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	accept := func(path, contentType string, body io.Reader) string {
		t.Helper()
		code, b := call("POST", path, contentType, body)
		if code != http.StatusAccepted {
			t.Fatalf("POST %s: %d %s; want 202", path, code, b)
		}
		var acc struct{ ID string }
		json.Unmarshal(b, &acc)
		return acc.ID
	}
	owner := "owner=" + url.QueryEscape(email)
	pulled := accept("/v1/calls?"+owner+"&external_id=pull-e2e&recording_url="+url.QueryEscape(recordings.URL+"/rec.wav"), "", nil)
	// A sound WAV header over a body cut inside its first sample: accepted, then
	// unreadable at the worker (a recording cut later is transcribed up to the cut).
	truncated := append(audio.WAVHeader(16000, 1, 1_000_000), 0)
	broken := accept("/v1/calls?"+owner+"&external_id=broken-e2e", "audio/wav", bytes.NewReader(truncated))

	// A refused pull: the recording host answers 404; no call, counted by its code.
	if code, b := call("POST", "/v1/calls?"+owner+"&recording_url="+url.QueryEscape(recordings.URL+"/gone.wav"), "", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("pull of a missing recording: %d %s; want 422", code, b)
	}

	// Wait for both calls to end with their deletion confirmed, and both deliveries.
	want := map[string]struct{ status, event, externalID string }{
		pulled: {"completed", "call.completed", "pull-e2e"},
		broken: {"failed", "call.failed", "broken-e2e"},
	}
	for id, w := range want {
		var last []byte
		eventually.True(t, 3*time.Minute, fmt.Sprintf("end of call %s with a confirmed deletion", id), func() bool {
			_, b := call("GET", "/v1/calls/"+id, "", nil)
			var c struct {
				Status  string
				Receipt *struct {
					ConfirmedAt *time.Time `json:"confirmed_at"`
				}
			}
			json.Unmarshal(b, &c)
			last = b
			return c.Receipt != nil && c.Receipt.ConfirmedAt != nil && c.Status != "queued" && c.Status != "processing"
		})
		var c struct{ Status string }
		json.Unmarshal(last, &c)
		if c.Status != w.status {
			t.Errorf("call %s ended %s; want %s\n%s", id, c.Status, w.status, last)
		}
	}
	eventually.True(t, 3*time.Minute, "two webhook deliveries at the receiver", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	})

	mu.Lock()
	deliveries := append([]delivery(nil), got...)
	mu.Unlock()
	seen := map[string]bool{}
	for _, d := range deliveries {
		if err := webhook.Verify(ep.Secret, d.header.Get("Callscribe-Signature"), d.body, 5*time.Minute); err != nil {
			t.Errorf("delivery %s: signature does not verify: %v", d.body, err)
		}
		if err := webhook.Verify(ep.Secret+"x", d.header.Get("Callscribe-Signature"), d.body, 5*time.Minute); err == nil {
			t.Errorf("delivery verifies with a wrong secret")
		}
		var p webhook.Payload
		if err := json.Unmarshal(d.body, &p); err != nil {
			t.Fatalf("delivery body %q: %v", d.body, err)
		}
		w, ok := want[p.Data.CallID.String()]
		if !ok {
			t.Errorf("delivery about call %s, which is neither of ours", p.Data.CallID)
			continue
		}
		seen[p.Data.CallID.String()] = true
		if string(p.Event) != w.event || p.Data.Status != w.status || p.Data.ExternalID != w.externalID {
			t.Errorf("delivery %s; want event %s, status %s, external id %s", d.body, w.event, w.status, w.externalID)
		}
		if d.header.Get("Callscribe-Delivery") != p.ID.String() || d.header.Get("Callscribe-Event") != w.event {
			t.Errorf("headers %v; want Callscribe-Delivery %s and Callscribe-Event %s", d.header, p.ID, w.event)
		}
		// The payload's keys are the documented ones; its values hold no personal data.
		var doc map[string]any
		json.Unmarshal(d.body, &doc)
		var values []string
		var walk func(prefix string, m map[string]any)
		walk = func(prefix string, m map[string]any) {
			for k, v := range m {
				if !payloadKeys[prefix+k] {
					t.Errorf("delivery has the undocumented field %s%s: %s", prefix, k, d.body)
				}
				switch v := v.(type) {
				case map[string]any:
					walk(prefix+k+".", v)
				case string:
					values = append(values, strings.ToLower(v))
				}
			}
		}
		walk("", doc)
		body := strings.Join(values, " ")
		for _, pii := range []string{email, phone, "ivanova"} {
			if strings.Contains(body, pii) {
				t.Errorf("delivery holds %q: %s", pii, d.body)
			}
		}
		for _, sentence := range testcall.Sentences[:2] {
			for _, word := range strings.Fields(strings.ToLower(sentence)) {
				if len(word) >= 5 && strings.Contains(body, word) {
					t.Errorf("delivery holds the spoken word %q: %s", word, d.body)
				}
			}
		}
	}
	if len(seen) != 2 {
		t.Errorf("deliveries %d about %v; want one about each call", len(deliveries), seen)
	}

	// The delivery counter moves after the receiver has answered, and River marks a job
	// completed a moment after it returns: poll for both.
	var metrics string
	eventually.True(t, 3*time.Minute, "both deliveries counted and no job running in /metrics", func() bool {
		code, b := call("GET", "/metrics", "", nil)
		if code != http.StatusOK {
			t.Fatalf("/metrics: %d", code)
		}
		metrics = string(b)
		return sample(metrics, `callscribe_webhook_deliveries_total{event="call.failed",outcome="delivered"}`) >= 1 &&
			sample(metrics, `callscribe_webhook_deliveries_total{event="call.completed",outcome="delivered"}`) >= 1 &&
			sample(metrics, `callscribe_queue_jobs{state="running"}`) == 0
	})
	for _, tt := range []struct {
		series   string
		min, max float64
	}{
		{`callscribe_calls{status="completed"}`, 1, 1},
		{`callscribe_calls{status="failed"}`, 1, 1},
		{`callscribe_calls{status="queued"}`, 0, 0}, // the API's word, not staged
		{`callscribe_calls_accepted_total`, 2, 2},
		{`callscribe_calls_refused_total{code="unfetchable"}`, 1, 1},
		{`callscribe_calls_ended_total{status="completed"}`, 1, 1},
		{`callscribe_calls_ended_total{status="failed"}`, 1, 1},
		{`callscribe_step_seconds_count{step="staging"}`, 2, 2},
		{`callscribe_step_seconds_count{step="recognition"}`, 1, 2},
		{`callscribe_step_seconds_count{step="deletion"}`, 2, 2},
		{`callscribe_step_seconds_sum{step="recognition"}`, 0.01, 600},
		{`callscribe_staged_bytes`, 0, 0}, // both deletions confirmed
		{`callscribe_deletions_confirmed_total`, 2, 2},
		{`callscribe_queue_jobs{state="available"}`, 0, 0},
		{`callscribe_queue_jobs{state="running"}`, 0, 0},
		{`callscribe_privacy_requests_open{kind="access"}`, 1, 1},
		{`callscribe_privacy_requests_overdue{kind="access"}`, 0, 0},
		{`callscribe_webhook_deliveries_total{event="call.completed",outcome="delivered"}`, 1, 1},
		{`callscribe_webhook_deliveries_total{event="call.failed",outcome="delivered"}`, 1, 1},
	} {
		if v := sample(metrics, tt.series); v < tt.min || v > tt.max {
			t.Errorf("%s = %v; want %v to %v", tt.series, v, tt.min, tt.max)
		}
	}
	// Labels of callscribe's own families hold statuses, steps, states, kinds and events.
	label := regexp.MustCompile(`^(callscribe_\w+)\{(.*)\} `)
	value := regexp.MustCompile(`="([^"]*)"`)
	for _, line := range strings.Split(metrics, "\n") {
		m := label.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, v := range value.FindAllStringSubmatch(m[2], -1) {
			if !regexp.MustCompile(`^[a-z_.]*$|^\+Inf$|^[0-9.e+-]+$`).MatchString(v[1]) || strings.Contains(v[1], "@") {
				t.Errorf("%s: label value %q is not a status, step, state, kind or event", m[1], v[1])
			}
		}
	}
	lower := strings.ToLower(metrics)
	for _, pii := range []string{email, phone, "ivanova", pulled, broken} {
		if strings.Contains(lower, pii) {
			t.Errorf("/metrics holds %q", pii)
		}
	}
	for _, sentence := range testcall.Sentences[:2] {
		if strings.Contains(lower, strings.ToLower(sentence[:len(sentence)/2])) {
			t.Errorf("/metrics holds the spoken %q", sentence[:len(sentence)/2])
		}
	}
}

// sample returns the value of one series in a Prometheus text exposition; -1 when the
// series is missing.
func sample(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}
