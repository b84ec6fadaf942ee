package web_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"callscribe"
	"callscribe/asr"
	"callscribe/internal/eventually"
	"callscribe/internal/testcall"
)

// failingFirst fails its first transcription with a fault that may pass (as a timed-out
// attempt does), then hears every call as one fixed segment.
type failingFirst struct{ calls atomic.Int32 }

func (f *failingFirst) Transcribe(ctx context.Context, pcm io.Reader) (asr.Result, error) {
	if _, err := io.Copy(io.Discard, pcm); err != nil {
		return asr.Result{}, err
	}
	if f.calls.Add(1) == 1 {
		return asr.Result{}, callscribe.Errorf(callscribe.EUNAVAILABLE, "the recogniser is unavailable")
	}
	return asr.Result{Engine: "fake", Segments: []asr.Segment{{StartMS: 0, EndMS: 1000, Text: "hello"}}}, nil
}

// retryInAnHour schedules every retry an hour away: the call waits long enough to be seen.
type retryInAnHour struct{}

func (retryInAnHour) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Hour) }

// TestRetryingCallShowsQueued: a call whose attempt failed and whose job waits for the
// next one is held by no worker: the API says queued, with the attempt it waits for and
// when, in GET /v1/calls/{id} and in the list (status=queued finds it, processing not).
// That holds whether the worker put the call back (it ended its attempt) or a worker
// died leaving the call recorded as processing while River rescheduled its job. (Issue
// 11: the call showed processing for the 256 s its job sat retryable.)
func TestRetryingCallShowsQueued(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{work: true, transcriber: &failingFirst{}, retryPolicy: retryInAnHour{}})
	orgID, key := h.org("acme")
	h.user(orgID, "ivanova@example.ru", true)
	audio, err := os.Open(testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer audio.Close()
	r := h.do("POST", "/v1/calls?owner=ivanova@example.ru&channels=agent", key, "audio/wav", audio)
	if r.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	ctx := callscribe.AsSystem(context.Background())
	var jobID int64
	eventually.True(t, time.Minute, "the call's job retryable after its failed attempt", func() bool {
		var state string
		err := h.db.Pool().QueryRow(ctx, `SELECT id, state::text FROM river_job WHERE kind = 'transcribe_call' AND args->>'call_id' = $1`, id).Scan(&jobID, &state)
		return err == nil && state == "retryable"
	})

	check := func(how string) {
		t.Helper()
		c := h.get("/v1/calls/"+id, key).json(t)
		if c["status"] != "queued" {
			t.Errorf("%s: GET status %v; want queued (no worker holds the call)", how, c["status"])
		}
		if c["attempt"] != 2.0 {
			t.Errorf("%s: attempt %v; want 2 (the next)", how, c["attempt"])
		}
		next, _ := time.Parse(time.RFC3339Nano, c["next_attempt_at"].(string))
		if until := time.Until(next); until < 50*time.Minute || until > time.Hour {
			t.Errorf("%s: next_attempt_at %v, %s away; want about an hour away (the retry policy)", how, c["next_attempt_at"], until.Round(time.Second))
		}
		for status, want := range map[string]bool{"queued": true, "processing": false} {
			listed := false
			for _, c := range h.get("/v1/calls?status="+status, key).json(t)["calls"].([]any) {
				listed = listed || c.(map[string]any)["id"] == id
			}
			if listed != want {
				t.Errorf("%s: listed under status=%s: %v; want %v", how, status, listed, want)
			}
		}
	}
	check("after the worker ended its attempt")
	// A worker that died mid-attempt leaves the call recorded as processing; River
	// reschedules its job all the same (the rescuer), and the call is queued again.
	if _, err := h.db.Pool().Exec(ctx, `UPDATE calls SET status = 'processing' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	check("recorded as processing by a worker that died")

	// The next attempt, brought forward, completes it: no attempt is shown once it ended.
	if _, err := h.queue.JobRetry(ctx, jobID); err != nil {
		t.Fatal(err)
	}
	c := h.waitEnded(key, id)
	if c["status"] != "completed" || c["attempt"] != nil || c["next_attempt_at"] != nil {
		t.Errorf("after the second attempt: status %v, attempt %v, next_attempt_at %v; want completed without them", c["status"], c["attempt"], c["next_attempt_at"])
	}
}
