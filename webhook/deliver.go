package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"callscribe"
	"callscribe/internal/openaihttp"
	"callscribe/internal/safehttp"
	"callscribe/privacy/residency"
)

// Queue is the River queue deliveries run in, apart from transcription so that a slow
// receiver never holds up a call. The River client must be configured with it.
const Queue = callscribe.WebhookQueue

// DeliverArgs is the deliver_webhook job: a delivery id and nothing else (River keeps
// job arguments as plain JSON). The transaction that ends a call enqueues it in Queue.
type DeliverArgs = callscribe.WebhookDeliverJob

// Worker runs deliver_webhook jobs: one attempt per run; a retry snoozes the job until
// the delivery's next attempt is due, so the delivery's own attempt count and backoff
// govern retries, not River's (River retries only when the database fails us).
type Worker struct {
	river.WorkerDefaults[DeliverArgs]
	w *Webhooks
}

// NewWorker returns the deliver_webhook worker, for river.AddWorker.
func NewWorker(w *Webhooks) *Worker { return &Worker{w: w} }

func (k *Worker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	// A job names its delivery by id alone: loading it is cross-organization system work.
	out, err := k.w.Deliver(callscribe.AsSystem(ctx), job.Args.DeliveryID)
	if err != nil {
		return err // the database failed us: River retries the job
	}
	if out.RetryIn > 0 {
		return river.JobSnooze(out.RetryIn)
	}
	return nil
}

// Timeout leaves the attempt its own timeout and time to record the outcome.
func (k *Worker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return k.w.cfg.Timeout + 30*time.Second
}

// Outcome is what one run of a delivery did.
type Outcome struct {
	DeliveryID uuid.UUID
	EndpointID uuid.UUID
	CallID     uuid.UUID
	Event      Event
	State      string        // delivered, retry, failed, or gone (nothing to do)
	Status     int           // the receiver's HTTP status; 0: no answer
	RetryIn    time.Duration // with State retry: when the next attempt is due
}

// Deliver makes one attempt at a delivery, unless it is delivered, failed or gone, and
// records the outcome: delivered on 2xx; retried later on 408, 429, 5xx or a network
// failure (after Retry-After when the receiver sends one, else exponential backoff with
// jitter) until MaxAttempts; failed at once on any other status, on a removed endpoint,
// a country no longer allowed or an address inside our network. The body sent is the
// stored payload, byte for byte the same on every attempt, signed anew each time.
func (w *Webhooks) Deliver(ctx context.Context, id uuid.UUID) (Outcome, error) {
	out := Outcome{DeliveryID: id}
	d, err := w.store.WebhookSend(ctx, id)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND || (err == nil && d.Done) {
		// Erased with its call, or finished by an earlier run.
		out.State = "gone"
		return out, nil
	}
	if err != nil {
		return out, err
	}
	out.EndpointID, out.Event, out.CallID = d.EndpointID, d.Event, d.CallID
	if d.Disabled {
		return w.record(ctx, out, d.Attempts, "failed", "endpoint removed")
	}
	if err := w.cfg.Allowed.Check(residency.Processor{Name: "the webhook endpoint", Variable: "country", URL: d.URL, Country: d.Country}); err != nil {
		return w.record(ctx, out, d.Attempts, "failed", err.Error())
	}

	attempts := d.Attempts + 1
	status, retryAfter, hasRetryAfter, sendErr := w.send(ctx, id, out.Event, d.URL, d.Secret, d.Payload)
	if ctx.Err() != nil {
		// Shutting down: this attempt does not count; River runs the job again.
		return out, fmt.Errorf("deliver webhook: %w", ctx.Err())
	}
	out.Status = status
	retryable := false
	var reason string
	switch {
	case sendErr == nil && status >= 200 && status < 300:
		return w.record(ctx, out, attempts, "delivered", "")
	case sendErr != nil:
		if r, refused := safehttp.Refused(sendErr); refused {
			reason = r.Error()
		} else {
			reason, retryable = sendErr.Error(), true
		}
	default:
		reason = fmt.Sprintf("%d %s", status, http.StatusText(status))
		retryable = status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
		if status >= 300 && status < 400 {
			reason += " (redirects are not followed)"
		}
	}
	if !retryable || attempts >= w.cfg.MaxAttempts {
		if retryable {
			reason = fmt.Sprintf("gave up after %d attempts: %s", attempts, reason)
		}
		return w.record(ctx, out, attempts, "failed", reason)
	}
	retry := openaihttp.Retry{Backoff: w.cfg.Backoff, MaxBackoff: w.cfg.MaxBackoff, Jitter: w.cfg.Jitter}
	out.RetryIn = retry.Delay(attempts - 1)
	if hasRetryAfter {
		out.RetryIn = min(max(retryAfter, time.Millisecond), w.cfg.MaxRetryAfter)
	}
	return w.record(ctx, out, attempts, "retry", reason)
}

// send makes one signed POST and returns the status and Retry-After; the response
// body is read a little (so the connection can be reused) and thrown away.
func (w *Webhooks) send(ctx context.Context, id uuid.UUID, event Event, target, secret string, body []byte) (status int, retryAfter time.Duration, hasRetryAfter bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, 0, false, err
	}
	now := w.cfg.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "callscribe-webhook")
	req.Header.Set(DeliveryHeader, id.String())
	req.Header.Set(EventHeader, string(event))
	req.Header.Set(SignatureHeader, Sign(secret, now, body))
	resp, err := w.client.Do(req)
	if err != nil {
		// url.Error prints the whole URL, which may carry a token: keep the cause only.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			if ue.Timeout() {
				return 0, 0, false, fmt.Errorf("no answer within %s", w.cfg.Timeout)
			}
			err = ue.Err
		}
		return 0, 0, false, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	retryAfter, hasRetryAfter = openaihttp.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
	return resp.StatusCode, retryAfter, hasRetryAfter, nil
}

// record writes an attempt's outcome to the delivery's row.
func (w *Webhooks) record(ctx context.Context, out Outcome, attempts int, state, reason string) (Outcome, error) {
	out.State = state
	now := w.cfg.Now()
	var status *int
	if out.Status > 0 {
		status = &out.Status
	}
	var next, delivered, failed *time.Time
	switch state {
	case "delivered":
		delivered = &now
	case "failed":
		failed = &now
	case "retry":
		t := now.Add(out.RetryIn)
		next = &t
	}
	if err := w.store.RecordWebhookAttempt(ctx, out.DeliveryID, callscribe.WebhookAttempt{Attempts: attempts,
		LastStatus: status, LastError: clip(reason), NextAttempt: next, DeliveredAt: delivered, FailedAt: failed}); err != nil {
		return out, err
	}
	if state == "failed" {
		// Given up for good: the operator is told, by ids (the reason may name the host),
		// and finds it again with `callscribe webhook deliveries --status failed`.
		w.cfg.Logger.WarnContext(ctx, "webhook delivery failed for good", "delivery_id", out.DeliveryID,
			"endpoint_id", out.EndpointID, "call_id", out.CallID, "event", string(out.Event), "attempts", attempts, "status", out.Status)
	}
	if w.cfg.Observe != nil {
		w.cfg.Observe(out)
	}
	return out, nil
}

// clip makes a failure reason one short line.
func clip(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "")), " ")
	const limit = 300
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
