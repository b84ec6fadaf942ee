package web_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"callscribe"
	"callscribe/asr"
	"callscribe/internal/eventually"
	"callscribe/internal/testcall"
)

// TestUploadTranscribeEndToEnd uploads a synthesised stereo call as a raw body, waits for
// the worker (real PocketSphinx) to finish it, and reads the transcript in every format,
// the receipt, and the empty stage; the logs of the whole journey hold no text.
func TestUploadTranscribeEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{work: true})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	dir := t.TempDir()
	path, spoken := testcall.Stereo(t, dir, 0.6, testcall.Dialogue(testcall.Sentences[:4]...))
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	r := h.do("POST", ownerQuery(u.Email, "&external_id=pbx-1&started_at=2026-01-31T09:15:00%2B03:00&channels=operator,customer"), key, "audio/wav", bytes.NewReader(file))
	if r.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s; want 202", r.status, r.body)
	}
	acc := r.json(t)
	id, _ := acc["id"].(string)
	if acc["status"] != "queued" || acc["status_url"] != "/v1/calls/"+id {
		t.Errorf("upload answer %v; want status queued and status_url /v1/calls/%s", acc, id)
	}
	c := h.waitEnded(key, id)
	if c["status"] != "completed" {
		t.Fatalf("call ended %v; want completed", c)
	}
	if c["external_id"] != "pbx-1" || c["owner"] != u.Email || c["started_at"] != "2026-01-31T06:15:00Z" && c["started_at"] != "2026-01-31T09:15:00+03:00" {
		t.Errorf("call %v: external_id, owner or started_at lost", c)
	}
	c = h.waitReceipt(key, id)
	if d, _ := c["duration_ms"].(float64); d < 3000 {
		t.Errorf("duration_ms %v; want the call's length (several seconds)", c["duration_ms"])
	}
	rc, _ := c["receipt"].(map[string]any)
	if rc == nil || rc["sha256"] != sha(file) || rc["bytes"] != float64(len(file)) || rc["confirmed_at"] == nil || rc["deleted_at"] == nil {
		t.Errorf("receipt %v; want bytes %d, sha256 %s, deleted and confirmed", rc, len(file), sha(file))
	}
	h.stageEmpty()

	tj := h.get("/v1/calls/"+id+"/transcript?format=json", key)
	if tj.status != http.StatusOK {
		t.Fatalf("transcript json: %d %s", tj.status, tj.body)
	}
	tr := tj.json(t)
	segs, _ := tr["segments"].([]any)
	speakers := map[string]string{}
	for _, s := range segs {
		seg := s.(map[string]any)
		speakers[seg["speaker"].(string)] += " " + seg["text"].(string)
		if seg["end_ms"].(float64) < seg["start_ms"].(float64) {
			t.Errorf("segment %v ends before it starts", seg)
		}
	}
	for ch, role := range []string{"operator", "customer"} {
		if w := testcall.WER(strings.Join(spoken[ch], " "), speakers[role]); w > 0.5 {
			t.Errorf("%s said %q, recognised %q: WER %.2f", role, spoken[ch], speakers[role], w)
		}
	}

	txt := h.get("/v1/calls/"+id+"/transcript?format=txt", key)
	// The CLI's text form (pipeline.WriteText): one line per turn, then the summary or a
	// line saying there is none (this owner did not consent to summaries).
	if !regexp.MustCompile(`(?m)\A(\[\d\d:\d\d\.\d\d (operator|customer)\] \S.*\n)+-- summary: none \(.*\)\n\z`).Match(txt.body) {
		t.Errorf("txt transcript not one [mm:ss.cc speaker] line per turn, then no summary:\n%s", txt.body)
	}
	srt := h.get("/v1/calls/"+id+"/transcript?format=srt", key)
	if !regexp.MustCompile(`\A1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n(operator|customer): \S.*\n\n`).Match(srt.body) {
		t.Errorf("srt transcript malformed:\n%s", srt.body)
	}
	if n := strings.Count(string(srt.body), " --> "); n != len(segs) {
		t.Errorf("srt has %d cues; want one per segment (%d)", n, len(segs))
	}
	vtt := h.get("/v1/calls/"+id+"/transcript?format=vtt", key)
	if !regexp.MustCompile(`\AWEBVTT\n\n\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n<v (operator|customer)>\S`).Match(vtt.body) {
		t.Errorf("vtt transcript malformed:\n%s", vtt.body)
	}
	if bad := h.get("/v1/calls/"+id+"/transcript?format=doc", key); bad.status != http.StatusBadRequest {
		t.Errorf("format=doc: %d; want 400", bad.status)
	}

	list := h.get("/v1/calls?status=completed&owner="+u.Email, key).json(t)
	if calls, _ := list["calls"].([]any); len(calls) != 1 || calls[0].(map[string]any)["id"] != id {
		t.Errorf("list of completed calls %v; want the one call", list)
	}

	logs := h.logs.String()
	for _, s := range append(spoken[0], spoken[1]...) {
		for _, phrase := range []string{s, s[:len(s)/2]} {
			if strings.Contains(logs, phrase) {
				t.Errorf("logs hold transcript text %q", phrase)
			}
		}
	}
	for _, pii := range []string{u.Email, u.Phone, "Ivanova"} {
		if strings.Contains(logs, pii) {
			t.Errorf("logs hold personal data %q", pii)
		}
	}
	if !strings.Contains(logs, id) {
		t.Errorf("logs never name the call %s; want ids in the logs", id)
	}
}

// TestMultipartUpload streams the multipart field "file": the staged bytes are the file's.
func TestMultipartUpload(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	file := silence(16000)
	ct, body := multipartBody(t, map[string]string{"owner": u.Email, "external_id": "mp-1"}, file)
	r := h.do("POST", "/v1/calls", key, ct, body)
	if r.status != http.StatusAccepted {
		t.Fatalf("multipart upload: %d %s; want 202", r.status, r.body)
	}
	c := h.get("/v1/calls/"+r.json(t)["id"].(string), key).json(t)
	rc, _ := c["receipt"].(map[string]any)
	if c["external_id"] != "mp-1" || rc == nil || rc["sha256"] != sha(file) || rc["confirmed_at"] != nil {
		t.Errorf("call %v; want external_id mp-1 and staged audio of sha256 %s, not yet deleted", c, sha(file))
	}
	if n := h.count(`SELECT count(*) FROM river_job WHERE kind = 'transcribe_call'`); n != 1 {
		t.Errorf("%d jobs queued; want 1", n)
	}
	ct, body = multipartBody(t, map[string]string{"owner": u.Email}, nil)
	if r := h.do("POST", "/v1/calls", key, ct, body); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("empty file part: %d %s; want 415", r.status, r.body)
	}
}

// TestAuthentication refuses a missing, malformed, unknown or revoked key with 401 and a
// JSON error, and admits a live one.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	keys, err := h.db.APIKeys(callscribe.AsSystem(context.Background()), org)
	if err != nil || len(keys) != 1 {
		t.Fatalf("APIKeys = %v, %v", keys, err)
	}
	_, revoked := h.org("acme")
	keys, _ = h.db.APIKeys(callscribe.AsSystem(context.Background()), org)
	for _, k := range keys {
		if k.ID.String() == revoked[4:40] {
			if err := h.db.RevokeAPIKey(callscribe.AsSystem(context.Background()), k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	forged := key[:len(key)-4] + "AAAA"
	for name, k := range map[string]string{"missing": "", "garbage": "hello", "forged secret": forged, "revoked": revoked} {
		r := h.get("/v1/calls", k)
		if r.status != http.StatusUnauthorized || r.errorCode(t) != callscribe.EUNAUTHORIZED {
			t.Errorf("%s key: %d %s; want 401 unauthorized", name, r.status, r.body)
		}
		up := h.do("POST", ownerQuery("x@example.ru"), k, "audio/wav", bytes.NewReader(silence(100)))
		if up.status != http.StatusUnauthorized {
			t.Errorf("%s key upload: %d; want 401", name, up.status)
		}
	}
	if r := h.get("/v1/calls", key); r.status != http.StatusOK {
		t.Errorf("live key: %d %s; want 200", r.status, r.body)
	}
}

// TestNoConsentStagesNothing: 403 with the reason, no call row, no job, nothing staged.
func TestNoConsentStagesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", false)
	r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(silence(8000)))
	if r.status != http.StatusForbidden || r.errorCode(t) != callscribe.ENOCONSENT {
		t.Fatalf("upload without consent: %d %s; want 403 no_consent", r.status, r.body)
	}
	if msg := r.json(t)["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "transcription") {
		t.Errorf("message %q does not say which consent is missing", msg)
	}
	if n := h.count(`SELECT count(*) FROM calls`); n != 0 {
		t.Errorf("%d call rows; want none", n)
	}
	if n := h.count(`SELECT count(*) FROM river_job`); n != 0 {
		t.Errorf("%d jobs; want none", n)
	}
	h.stageEmpty()
}

// TestOversizedUpload: over CALLSCRIBE_MAX_CALL_BYTES is 413, refused before reading when
// the length is declared and as soon as the limit is crossed when it is not; nothing
// stays staged and what was staged has its receipt.
func TestOversizedUpload(t *testing.T) {
	t.Parallel()
	const limit = 50_000
	h := newHarness(t, options{maxBytes: limit})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	file := silence(100_000) // 200 KB

	r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(file))
	if r.status != http.StatusRequestEntityTooLarge || r.errorCode(t) != callscribe.ETOOLARGE {
		t.Errorf("declared oversized upload: %d %s; want 413 too_large", r.status, r.body)
	}
	if n := h.count(`SELECT count(*) FROM calls`); n != 0 {
		t.Errorf("declared oversized upload left %d call rows; want none (refused before reading)", n)
	}

	r = h.do("POST", ownerQuery(u.Email), key, "audio/wav", unsized{bytes.NewReader(file)})
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversized upload: %d %s; want 413", r.status, r.body)
	}
	h.stageEmpty()
	if n := h.count(`SELECT count(*) FROM calls WHERE status <> 'failed'`); n != 0 {
		t.Errorf("%d live calls after a refused upload; want none", n)
	}
	if n := h.count(`SELECT count(*) FROM river_job`); n != 0 {
		t.Errorf("%d jobs after a refused upload; want none", n)
	}
	var bytesStaged int64
	if err := h.db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `SELECT bytes FROM audio_deletion_receipts`).Scan(&bytesStaged); err != nil {
		t.Fatalf("no receipt for the partly staged upload: %v", err)
	}
	if bytesStaged <= 0 || bytesStaged > limit {
		t.Errorf("receipt covers %d bytes; want what was staged, 1..%d", bytesStaged, limit)
	}
}

// TestIdempotentExternalID: concurrent uploads of one external id make one call and one
// job; every answer names that call; a later repeat answers 200 without a new job.
func TestIdempotentExternalID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	file := silence(40_000)
	const n = 4
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = h.do("POST", ownerQuery(u.Email, "&external_id=dup-1"), key, "audio/wav", bytes.NewReader(file))
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	accepted := 0
	for _, r := range replies {
		if r.status != http.StatusAccepted && r.status != http.StatusOK {
			t.Fatalf("upload: %d %s; want 202 or 200", r.status, r.body)
		}
		if r.status == http.StatusAccepted {
			accepted++
		}
		ids[r.json(t)["id"].(string)] = true
	}
	if len(ids) != 1 || accepted != 1 {
		t.Errorf("%d uploads answered ids %v with %d accepted; want one id, one 202", n, ids, accepted)
	}
	if c := h.count(`SELECT count(*) FROM calls WHERE external_id = 'dup-1'`); c != 1 {
		t.Errorf("%d calls with the external id; want 1", c)
	}
	if c := h.count(`SELECT count(*) FROM river_job`); c != 1 {
		t.Errorf("%d jobs; want 1", c)
	}
	if keys, _ := h.stage.Keys(callscribe.AsSystem(context.Background())); len(keys) != 1 {
		t.Errorf("stage holds %d objects; want the one call's (the losers' deleted)", len(keys))
	}
	if c := h.count(`SELECT count(*) FROM call_stages s LEFT JOIN audio_deletion_receipts r USING (call_id) WHERE s.call_id NOT IN (SELECT id FROM calls WHERE external_id = 'dup-1') AND r.confirmed_at IS NULL`); c != 0 {
		t.Errorf("%d losing uploads staged without a receipt; want none", c)
	}
	again := h.do("POST", ownerQuery(u.Email, "&external_id=dup-1"), key, "audio/wav", bytes.NewReader(file))
	if again.status != http.StatusOK || !ids[again.json(t)["id"].(string)] {
		t.Errorf("repeat: %d %s; want 200 with the same id", again.status, again.body)
	}
}

// TestOrganizationsAreWalledOff: a key of org B cannot read org A's call, nor upload for
// A's user, and is told exactly what it would be told for a call or user that does not exist.
func TestOrganizationsAreWalledOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	orgA, keyA := h.org("a")
	orgB, keyB := h.org("b")
	ua := h.user(orgA, "anna@example.ru", true)
	h.user(orgB, "boris@example.ru", true)
	r := h.do("POST", ownerQuery(ua.Email), keyA, "audio/wav", bytes.NewReader(silence(8000)))
	if r.status != http.StatusAccepted {
		t.Fatalf("upload by A: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	for _, path := range []string{"/v1/calls/" + id, "/v1/calls/" + id + "/transcript"} {
		got := h.get(path, keyB)
		if got.status != http.StatusNotFound {
			t.Errorf("B reads %s: %d %s; want 404", path, got.status, got.body)
		}
	}
	if list := h.get("/v1/calls", keyB).json(t); len(list["calls"].([]any)) != 0 {
		t.Errorf("B lists %v; want none of A's calls", list)
	}
	foreign := h.do("POST", ownerQuery(ua.Email), keyB, "audio/wav", bytes.NewReader(silence(8000)))
	unknown := h.do("POST", ownerQuery("nobody@example.ru"), keyB, "audio/wav", bytes.NewReader(silence(8000)))
	if foreign.status != http.StatusNotFound || string(foreign.body) != string(unknown.body) {
		t.Errorf("B uploads for A's user: %d %s; want 404 identical to an unknown owner's %s", foreign.status, foreign.body, unknown.body)
	}
	if n := h.count(`SELECT count(*) FROM calls`); n != 1 {
		t.Errorf("%d calls; want only A's", n)
	}
}

// TestUnreadableAudio: bytes that are not audio are refused before staging (415); audio
// whose header passes but whose body is cut short fails at the worker at once — the job
// cancelled, not retried — and its audio is deleted with a receipt.
func TestUnreadableAudio(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{work: true})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)

	r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", strings.NewReader("this is a text file, not a recording of a call"))
	if r.status != http.StatusUnsupportedMediaType || r.errorCode(t) != callscribe.EUNREADABLE {
		t.Errorf("text as audio: %d %s; want 415 unreadable", r.status, r.body)
	}
	if n := h.count(`SELECT count(*) FROM calls`); n != 0 {
		t.Errorf("text upload left %d calls; want none", n)
	}

	truncated := append(wavHeader(16000, 1, 1_000_000), make([]byte, 3000)...)
	r = h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(truncated))
	if r.status != http.StatusAccepted {
		t.Fatalf("truncated wav: %d %s; want 202 (its header is sound)", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	h.waitEnded(key, id)
	c := h.waitReceipt(key, id)
	// What is there is transcribed, and the transcript says the recording was cut short.
	if c["status"] != "completed" || c["error"] != nil {
		t.Errorf("truncated call ended %v; want completed", c)
	}
	if tr := h.get("/v1/calls/"+id+"/transcript", key); tr.status != http.StatusOK || tr.json(t)["truncated"] != true {
		t.Errorf("truncated call's transcript: %d %s; want 200 with \"truncated\": true", tr.status, tr.body)
	}
	if rc, _ := c["receipt"].(map[string]any); rc == nil || rc["confirmed_at"] == nil {
		t.Errorf("truncated call's receipt %v; want its deletion confirmed", c["receipt"])
	}
	h.stageEmpty()
	var state string
	var attempt int
	eventually.True(t, 10*time.Second, "job that is no longer running", func() bool {
		if err := h.db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `SELECT state::text, attempt FROM river_job WHERE args->>'call_id' = $1`, id).Scan(&state, &attempt); err != nil {
			t.Fatal(err)
		}
		return state != "running"
	})
	if state != "completed" || attempt != 1 {
		t.Errorf("job %s after %d attempts; want completed after 1", state, attempt)
	}
	var errs string
	h.db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `SELECT errors::text FROM river_job WHERE args->>'call_id' = $1`, id).Scan(&errs)
	if strings.Contains(errs, u.Email) {
		t.Errorf("job errors hold the owner's email: %s", errs)
	}
}

// failing is a recogniser that fails as a dependency does (a fault that may pass).
type failing struct{ calls atomic.Int32 }

func (f *failing) Transcribe(ctx context.Context, pcm io.Reader) (asr.Result, error) {
	f.calls.Add(1)
	io.Copy(io.Discard, pcm)
	return asr.Result{}, errors.New("recogniser connection reset")
}

// TestRetriesThenFails: a fault that may pass leaves the call staged for the next
// attempt; the last attempt fails the call and deletes its audio with a receipt.
func TestRetriesThenFails(t *testing.T) {
	t.Parallel()
	tr := &failing{}
	h := newHarness(t, options{work: true, transcriber: tr, maxAttempts: 2})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(silence(8000)))
	if r.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	h.waitEnded(key, id)
	c := h.waitReceipt(key, id)
	if c["status"] != "failed" {
		t.Errorf("call ended %v; want failed", c["status"])
	}
	if rc, _ := c["receipt"].(map[string]any); rc == nil || rc["confirmed_at"] == nil {
		t.Errorf("receipt %v; want the deletion confirmed", c["receipt"])
	}
	// One mono channel per attempt: two attempts, two calls to the recogniser.
	if n := tr.calls.Load(); n != 2 {
		t.Errorf("recogniser called %d times; want 2 (one per attempt)", n)
	}
	h.stageEmpty()
	if e, _ := c["error"].(map[string]any); e == nil || e["code"] != callscribe.EINTERNAL || strings.Contains(e["message"].(string), "reset") {
		t.Errorf("error %v; want code internal with a generic message", c["error"])
	}
}

// TestLostMemoryCallsFailAtStart: a call staged in the memory of a process that is gone
// is marked failed at the next start, with a receipt saying its audio is gone.
func TestLostMemoryCallsFailAtStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(silence(8000)))
	id := r.json(t)["id"].(string)
	lost, err := h.db.FailLostCalls(callscribe.AsSystem(context.Background()), "memory", time.Now())
	if err != nil || len(lost) != 1 || lost[0].String() != id {
		t.Fatalf("FailLostCalls = %v, %v; want [%s]", lost, err, id)
	}
	c := h.get("/v1/calls/"+id, key).json(t)
	e, _ := c["error"].(map[string]any)
	if c["status"] != "failed" || e == nil || !strings.Contains(e["message"].(string), "stopped") {
		t.Errorf("lost call %v; want failed with a message saying the process stopped", c)
	}
	if rc, _ := c["receipt"].(map[string]any); rc == nil || rc["confirmed_at"] == nil {
		t.Errorf("lost call's receipt %v; want one", c["receipt"])
	}
}

// TestDurationLimit: a WAV whose size and byte rate show it is over the limit is refused
// at once; one under it is accepted.
func TestDurationLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{maxDuration: 2 * time.Second})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(silence(5*8000)))
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.body), "CALLSCRIBE_MAX_CALL_DURATION") {
		t.Errorf("5 s call over a 2 s limit: %d %s; want 413 naming CALLSCRIBE_MAX_CALL_DURATION", r.status, r.body)
	}
	if n := h.count(`SELECT count(*) FROM calls`); n != 0 {
		t.Errorf("%d calls; want none", n)
	}
	h.stageEmpty()
	if r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(silence(8000))); r.status != http.StatusAccepted {
		t.Errorf("1 s call: %d %s; want 202", r.status, r.body)
	}
}

// blocking is a recogniser that works until its call is cancelled.
type blocking struct{ started chan struct{} }

func (b *blocking) Transcribe(ctx context.Context, pcm io.Reader) (asr.Result, error) {
	select {
	case b.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return asr.Result{}, ctx.Err()
}

// TestWithdrawalDiscardsQueuedCall: consent withdrawn while a queued call is being
// recognised discards it — found by the pipeline's polling, not by cancelling the job —
// deletes its audio with a receipt, and the job is cancelled, not retried.
func TestWithdrawalDiscardsQueuedCall(t *testing.T) {
	t.Parallel()
	tr := &blocking{started: make(chan struct{}, 1)}
	h := newHarness(t, options{work: true, transcriber: tr})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(silence(8000)))
	if r.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	select {
	case <-tr.started:
	case <-time.After(time.Minute):
		t.Fatal("the worker never started the call")
	}
	if _, err := h.db.WithdrawConsent(callscribe.AsSystem(context.Background()), u.ID, callscribe.PurposeTranscription, callscribe.ConsentViaAPI, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.waitEnded(key, id)
	c := h.waitReceipt(key, id)
	if c["status"] != "discarded" {
		t.Errorf("call %v; want discarded", c["status"])
	}
	if rc, _ := c["receipt"].(map[string]any); rc == nil || rc["confirmed_at"] == nil {
		t.Errorf("receipt %v; want the deletion confirmed", c["receipt"])
	}
	h.stageEmpty()
	var state string
	eventually.True(t, 10*time.Second, "job that is no longer running", func() bool {
		h.db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `SELECT state::text FROM river_job WHERE args->>'call_id' = $1`, id).Scan(&state)
		return state != "" && state != "running"
	})
	if state != "cancelled" {
		t.Errorf("job %s; want cancelled", state)
	}
}
