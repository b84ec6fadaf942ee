package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"callscribe"
	"callscribe/mail"
	"callscribe/privacy"
)

// Queue is the River queue notices are delivered in. The River client must work it.
const Queue = callscribe.NoticeQueue

// DeliverArgs is the deliver_notice job: a delivery id and nothing else.
type DeliverArgs = callscribe.NoticeDeliverJob

// errGone: what the notice is about no longer exists (a request erased).
var errGone = errors.New("notify: nothing to tell any more")

// Outcome is what one run of a delivery did.
type Outcome struct {
	DeliveryID uuid.UUID
	UserID     uuid.UUID
	Kind       callscribe.NoticeKind
	Channel    callscribe.NoticeChannel
	CallID     uuid.UUID
	State      string // sent, failed, no_channel, skipped, pending (to retry), gone (nothing to do)
	Attempts   int
	Reason     string        // why it failed or waits: a code, never the message
	RetryIn    time.Duration // with State pending: when to try again
	At         time.Time
}

// Worker runs deliver_notice jobs: one attempt per run; a retry snoozes the job until
// it is due (the delivery's own attempt count and backoff govern retries, and a
// channel's retry_after is honoured to the second); River retries the job only when
// the database fails us.
type Worker struct {
	river.WorkerDefaults[DeliverArgs]
	n *Notices
}

// NewWorker returns the deliver_notice worker, for river.AddWorker.
func NewWorker(n *Notices) *Worker { return &Worker{n: n} }

func (w *Worker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	// A job names its delivery by id alone: loading it is cross-organization system work.
	out, err := w.n.Deliver(callscribe.AsSystem(ctx), job.Args.DeliveryID)
	if err != nil {
		return err
	}
	if out.State == callscribe.NoticePending {
		return river.JobSnooze(out.RetryIn)
	}
	return nil
}

// Timeout leaves one send its time and the outcome's record.
func (w *Worker) Timeout(*river.Job[DeliverArgs]) time.Duration { return 2 * time.Minute }

// Deliver makes one attempt at a delivery unless it is finished, and records the
// outcome: sent; no_channel when the user cannot be reached on the channel; skipped when
// there is nothing to tell any more (the user erased, the call erased, the consent to
// notifications withdrawn meanwhile); pending with a wait when the channel asks for one
// or a transient failure is retried; failed on a permanent refusal or after
// MaxAttempts. The message is rendered now, in the user's language, and forgotten.
func (n *Notices) Deliver(ctx context.Context, id uuid.UUID) (Outcome, error) {
	out := Outcome{DeliveryID: id, At: n.cfg.Now()}
	s, err := n.cfg.Store.NoticeSend(ctx, id)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND || (err == nil && s.State != callscribe.NoticePending) {
		out.State = "gone"
		return out, nil
	}
	if err != nil {
		return out, err
	}
	out.UserID, out.Kind, out.Channel, out.CallID, out.Attempts = s.UserID, s.Kind, s.Channel, s.CallID, s.Attempts
	switch {
	case s.Erased && !toErased(s.Kind):
		return n.record(ctx, out, callscribe.NoticeSkipped, "user erased")
	case s.CallGone:
		return n.record(ctx, out, callscribe.NoticeSkipped, "call erased")
	case NeedsConsent(s.Kind) && !s.Notifications:
		return n.record(ctx, out, callscribe.NoticeSkipped, "no consent to notifications")
	}
	m, err := render(s, n.cfg.BaseURL)
	if errors.Is(err, errGone) {
		return n.record(ctx, out, callscribe.NoticeSkipped, "subject of the notice erased")
	}
	if err != nil {
		return n.record(ctx, out, callscribe.NoticeFailed, "render: "+err.Error())
	}
	out.Attempts++
	sendErr := n.attach(ctx, s, &m)
	if sendErr == nil {
		sendErr = n.send(ctx, s, m)
	}
	if ctx.Err() != nil && sendErr != nil {
		// Shutting down: this attempt does not count; River runs the job again.
		return out, fmt.Errorf("deliver notice: %w", ctx.Err())
	}
	var retry *RetryAfterError
	var perm *PermanentError
	switch {
	case sendErr == nil && !delivers(n.cfg.Mail, s.Channel):
		return n.record(ctx, out, callscribe.NoticeNoChannel, "no SMTP server: written to the log")
	case sendErr == nil:
		return n.record(ctx, out, callscribe.NoticeSent, "")
	case errors.Is(sendErr, ErrUnreachable):
		return n.record(ctx, out, callscribe.NoticeNoChannel, "not linked")
	case errors.As(sendErr, &retry):
		// The channel's own wait, not a failure: it does not use up an attempt.
		out.Attempts--
		out.RetryIn = min(max(retry.After, time.Millisecond), n.cfg.MaxRetryAfter)
		return n.record(ctx, out, callscribe.NoticePending, "rate limited")
	case errors.As(sendErr, &perm), mail.Permanent(sendErr), callscribe.ErrorCode(sendErr) == callscribe.EINVALID:
		return n.record(ctx, out, callscribe.NoticeFailed, reasonOf(sendErr))
	case out.Attempts >= n.cfg.MaxAttempts:
		return n.record(ctx, out, callscribe.NoticeFailed, fmt.Sprintf("gave up after %d attempts: %s", out.Attempts, reasonOf(sendErr)))
	}
	out.RetryIn = n.backoff(out.Attempts)
	return n.record(ctx, out, callscribe.NoticePending, reasonOf(sendErr))
}

// errExport: the export answering an access request could not be made (retried).
var errExport = errors.New("notify: export failed")

// attach adds to m, on a messenger, the export that answers a completed (not rejected)
// access request when the user's organization answers with the file. Email carries the
// link only: a mailbox is not the confidential channel a linked chat is. The export is
// made now, from what is held now, and forgotten once sent.
func (n *Notices) attach(ctx context.Context, s callscribe.NoticeSend, m *Message) error {
	r := s.Request
	if s.Channel == callscribe.NoticeEmail || s.Kind != callscribe.NoticeRequestClosed || r == nil ||
		r.Kind != callscribe.RequestAccess || r.Status != callscribe.RequestCompleted ||
		s.AccessAnswer == callscribe.AccessAnswerLink || n.cfg.Exporter == nil || s.Erased {
		return nil
	}
	var b bytes.Buffer
	if err := n.cfg.Exporter.Export(ctx, &b, s.UserID); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %w", errExport, err)
	}
	moscow := privacy.Moscow
	m.Attachment = &Attachment{Name: "callscribe-export-" + n.cfg.Now().In(moscow).Format(time.DateOnly) + ".json",
		ContentType: "application/json", Content: b.Bytes()}
	return nil
}

// delivers reports whether a message sent on channel reaches the user: not by email
// through a sender that only logs (the embedded default without an SMTP server).
func delivers(sender mail.Sender, channel callscribe.NoticeChannel) bool {
	if channel != callscribe.NoticeEmail {
		return true
	}
	d, ok := sender.(interface{ Delivers() bool })
	return !ok || d.Delivers()
}

// send sends m on the delivery's channel.
func (n *Notices) send(ctx context.Context, s callscribe.NoticeSend, m Message) error {
	if s.Channel == callscribe.NoticeEmail {
		if n.cfg.Mail == nil {
			return ErrUnreachable
		}
		if s.Email == "" {
			return ErrUnreachable
		}
		return n.cfg.Mail.Send(ctx, mail.Message{To: s.Email, Subject: m.Subject, Text: m.Text})
	}
	ch := n.channels[s.Channel]
	if ch == nil {
		return ErrUnreachable
	}
	return ch.Send(ctx, s.UserID, m)
}

// backoff is the wait after the attempt-th failure: Backoff doubled each time, at most
// MaxBackoff, with up to a fifth of jitter so that a burst of failures does not retry as
// one burst.
func (n *Notices) backoff(attempt int) time.Duration {
	d := n.cfg.Backoff
	for i := 1; i < attempt && d < n.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, n.cfg.MaxBackoff)
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// reasonOf names a failure without what it may quote (a server's reply can repeat the
// address): a status code or a class of failure.
func reasonOf(err error) string {
	var me *mail.Error
	var perm *PermanentError
	var ne net.Error
	switch {
	case errors.As(err, &me):
		return fmt.Sprintf("smtp %d", me.Code)
	case errors.As(err, &perm):
		return perm.Reason
	case errors.Is(err, errExport):
		return "export failed"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &ne):
		if ne.Timeout() {
			return "network timeout"
		}
		return "network error"
	case callscribe.ErrorCode(err) == callscribe.EINVALID:
		return "invalid address"
	}
	return "send failed"
}

// record writes the outcome on the delivery.
func (n *Notices) record(ctx context.Context, out Outcome, state, reason string) (Outcome, error) {
	out.State, out.Reason = state, reason
	if len(reason) > 300 {
		reason = reason[:300]
	}
	if err := n.cfg.Store.RecordNoticeAttempt(ctx, out.DeliveryID, state, out.Attempts, reason, n.cfg.Now()); err != nil {
		return out, err
	}
	if state == callscribe.NoticeFailed {
		n.cfg.Logger.WarnContext(ctx, "notice delivery failed for good", "delivery_id", out.DeliveryID, "user_id", out.UserID,
			"event", string(out.Kind), "channel", string(out.Channel), "attempts", out.Attempts, "reason", reason)
	}
	if out.Kind == callscribe.NoticeBreach && state != callscribe.NoticePending && n.cfg.AuditLog != nil {
		if err := (&privacy.Audit{}).Record(ctx, n.cfg.AuditLog, callscribe.AuditEntry{At: n.cfg.Now(), Actor: "system:notify",
			Action: ActionBreachNotice, ObjectType: "notice_delivery", ObjectID: out.DeliveryID.String(), SubjectID: out.UserID,
			Detail: map[string]any{"channel": string(out.Channel), "state": state}}); err != nil {
			return out, err
		}
	}
	if n.cfg.Observe != nil {
		n.cfg.Observe(out)
	}
	return out, nil
}
