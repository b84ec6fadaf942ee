package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"callscribe"
)

// NoticeTx is the transaction in which something users are to be told about happened,
// as the notices component records the deliveries it calls for. It is notify.NoticeTx:
// both are aliases of this one interface type.
type NoticeTx = interface {
	NoticeRecipients(ctx context.Context, userIDs []uuid.UUID) ([]callscribe.NoticeRecipient, error)
	AddNoticeDeliveries(ctx context.Context, ds []callscribe.NewNoticeDelivery) error
	UsersToTell(ctx context.Context, orgID uuid.UUID) ([]uuid.UUID, error)
	SubscribedEndpoints(ctx context.Context, orgID uuid.UUID, event callscribe.WebhookEvent) ([]uuid.UUID, error)
	AddWebhookDeliveries(ctx context.Context, ds []callscribe.NewWebhookDelivery) error
}

type noticeHook struct {
	record func(ctx context.Context, tx NoticeTx, n callscribe.Notice) error
	jobs   JobInserter
}

// NoticeOn sets what records a notice: it runs in the transaction that makes the
// event — a call completed, a request received, extended or closed, a consent
// withdrawn — so that the notice's deliveries and their deliver_notice jobs commit with
// the event or not at all, whichever path (API, CLI, bot, web, worker) made it. Jobs are
// enqueued through jobs (nil: the River client of the job the event happens in). Set it
// before the DB is in use.
func (db *DB) NoticeOn(record func(ctx context.Context, tx NoticeTx, n callscribe.Notice) error, jobs JobInserter) {
	db.notices = noticeHook{record: record, jobs: jobs}
}

// notice records n in tx, when a recorder is set.
func (db *DB) notice(ctx context.Context, tx pgx.Tx, n callscribe.Notice) error {
	if db.notices.record == nil {
		return nil
	}
	if err := db.notices.record(ctx, noticeTx{tx: tx, jobs: db.notices.jobs}, n); err != nil {
		return fmt.Errorf("record notice %s: %w", n.Kind, err)
	}
	return nil
}

// transcriptReady records the transcript-ready notice of a call that ended completed.
func (db *DB) transcriptReady(ctx context.Context, tx pgx.Tx, callID uuid.UUID) error {
	if db.notices.record == nil {
		return nil
	}
	var owner uuid.UUID
	var status string
	if err := tx.QueryRow(ctx, `SELECT owner_id, status FROM calls WHERE id = $1`, callID).Scan(&owner, &status); err != nil {
		return fmt.Errorf("read ended call: %w", err)
	}
	if callscribe.CallStatus(status) != callscribe.CallCompleted {
		return nil
	}
	return db.notice(ctx, tx, callscribe.Notice{Kind: callscribe.NoticeTranscriptReady, UserIDs: []uuid.UUID{owner}, CallID: callID})
}

// noticeTx is NoticeTx over a transaction.
type noticeTx struct {
	tx   pgx.Tx
	jobs JobInserter
}

// SubscribedEndpoints lists the organization's active endpoints subscribed to event.
func (n noticeTx) SubscribedEndpoints(ctx context.Context, orgID uuid.UUID, event callscribe.WebhookEvent) ([]uuid.UUID, error) {
	return callEndTx(n).SubscribedEndpoints(ctx, orgID, event)
}

// AddWebhookDeliveries records the deliveries with their deliver_webhook jobs.
func (n noticeTx) AddWebhookDeliveries(ctx context.Context, ds []callscribe.NewWebhookDelivery) error {
	return callEndTx(n).AddWebhookDeliveries(ctx, ds)
}

// NoticeRecipients reads, for each user that exists, whether they are erased or
// blocked, whether their consent to notifications is in force, and the preferences they
// changed.
func (n noticeTx) NoticeRecipients(ctx context.Context, userIDs []uuid.UUID) ([]callscribe.NoticeRecipient, error) {
	rows, err := n.tx.Query(ctx, `
		SELECT u.id, u.organization_id, u.erased_at IS NOT NULL, u.blocked_at IS NOT NULL,
		       EXISTS (SELECT 1 FROM consents c WHERE c.user_id = u.id AND c.purpose = 'notifications' AND c.withdrawn_at IS NULL),
		       coalesce((SELECT array_agg(p.channel || ':' || p.event || ':' || p.enabled::text) FROM notice_preferences p WHERE p.user_id = u.id), '{}')
		FROM users u WHERE u.id = ANY ($1) ORDER BY u.id`, userIDs)
	if err != nil {
		return nil, fmt.Errorf("read notice recipients: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.NoticeRecipient, error) {
		var r callscribe.NoticeRecipient
		var prefs []string
		if err := row.Scan(&r.UserID, &r.OrgID, &r.Erased, &r.Blocked, &r.Notifications, &prefs); err != nil {
			return r, err
		}
		r.Choices = choices(prefs)
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read notice recipients: %w", err)
	}
	return out, nil
}

func choices(prefs []string) map[callscribe.NoticeChannel]map[callscribe.NoticeKind]bool {
	out := map[callscribe.NoticeChannel]map[callscribe.NoticeKind]bool{}
	for _, p := range prefs {
		parts := strings.SplitN(p, ":", 3)
		if len(parts) != 3 {
			continue
		}
		ch := callscribe.NoticeChannel(parts[0])
		if out[ch] == nil {
			out[ch] = map[callscribe.NoticeKind]bool{}
		}
		out[ch][callscribe.NoticeKind(parts[1])] = parts[2] == "true"
	}
	return out
}

// UsersToTell lists the users of the organization (every organization's with uuid.Nil)
// who are not erased.
func (n noticeTx) UsersToTell(ctx context.Context, orgID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := n.tx.Query(ctx, `
		SELECT id FROM users WHERE erased_at IS NULL AND ($1::uuid IS NULL OR organization_id = $1) ORDER BY id`, nullUUID(orgID))
	if err != nil {
		return nil, fmt.Errorf("list users to tell: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("list users to tell: %w", err)
	}
	return ids, nil
}

// manyInserter inserts many jobs at once: a *river.Client[pgx.Tx].
type manyInserter interface {
	InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// AddNoticeDeliveries records the deliveries and a deliver_notice job for each, in the
// transaction.
func (n noticeTx) AddNoticeDeliveries(ctx context.Context, ds []callscribe.NewNoticeDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	// One statement over arrays (COPY is refused under row-level security); the trigger
	// gives each row its user's organization.
	k := len(ds)
	ids, notices, users := make([]uuid.UUID, k), make([]uuid.UUID, k), make([]uuid.UUID, k)
	kinds, channels, details := make([]string, k), make([]string, k), make([]string, k)
	calls, requests, incidents := make([]*uuid.UUID, k), make([]*uuid.UUID, k), make([]*uuid.UUID, k)
	created := make([]time.Time, k)
	ref := func(id uuid.UUID) *uuid.UUID {
		if id == uuid.Nil {
			return nil
		}
		return &id
	}
	for i, d := range ds {
		ids[i], notices[i], users[i], kinds[i], channels[i], details[i] = d.ID, d.NoticeID, d.UserID, string(d.Kind), string(d.Channel), d.Detail
		calls[i], requests[i], incidents[i], created[i] = ref(d.CallID), ref(d.RequestID), ref(d.IncidentID), d.CreatedAt
	}
	if _, err := n.tx.Exec(ctx, `
		INSERT INTO notice_deliveries (id, notice_id, user_id, event, channel, call_id, request_id, incident_id, detail, created_at)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::uuid[], $7::uuid[], $8::uuid[], $9::text[], $10::timestamptz[])`,
		ids, notices, users, kinds, channels, calls, requests, incidents, details, created); err != nil {
		return fmt.Errorf("record notice deliveries: %w", err)
	}
	jobs := n.jobs
	if jobs == nil {
		client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
		if err != nil {
			return fmt.Errorf("enqueue notice deliveries: no job client given and none in the context: %w", err)
		}
		jobs = client
	}
	opts := &river.InsertOpts{Queue: callscribe.NoticeQueue}
	if many, ok := jobs.(manyInserter); ok && len(ds) > 1 {
		params := make([]river.InsertManyParams, len(ds))
		for i, d := range ds {
			params[i] = river.InsertManyParams{Args: callscribe.NoticeDeliverJob{DeliveryID: d.ID}, InsertOpts: opts}
		}
		if _, err := many.InsertManyTx(ctx, n.tx, params); err != nil {
			return fmt.Errorf("enqueue notice deliveries: %w", err)
		}
		return nil
	}
	for _, d := range ds {
		if _, err := jobs.InsertTx(ctx, n.tx, callscribe.NoticeDeliverJob{DeliveryID: d.ID}, opts); err != nil {
			return fmt.Errorf("enqueue notice deliveries: %w", err)
		}
	}
	return nil
}

const noticeDeliveryColumns = `d.id, d.notice_id, d.user_id, coalesce(d.organization_id, '00000000-0000-0000-0000-000000000000'), d.event, d.channel,
	coalesce(d.call_id, '00000000-0000-0000-0000-000000000000'), coalesce(d.request_id, '00000000-0000-0000-0000-000000000000'),
	coalesce(d.incident_id, '00000000-0000-0000-0000-000000000000'), d.detail, d.state, d.attempts, coalesce(d.last_error, ''),
	d.created_at, d.finished_at`

func scanNoticeDelivery(row pgx.Row, extra ...any) (callscribe.NoticeDelivery, error) {
	var d callscribe.NoticeDelivery
	var kind, channel string
	dest := append([]any{&d.ID, &d.NoticeID, &d.UserID, &d.OrgID, &kind, &channel, &d.CallID, &d.RequestID, &d.IncidentID,
		&d.Detail, &d.State, &d.Attempts, &d.LastError, &d.CreatedAt, &d.FinishedAt}, extra...)
	err := row.Scan(dest...)
	d.Kind, d.Channel = callscribe.NoticeKind(kind), callscribe.NoticeChannel(channel)
	return d, err
}

// NoticeSend reads what an attempt at a delivery needs: the delivery, its user's
// address and language, and what the notice is about as it is now; ENOTFOUND when the
// delivery is gone (erased with its user).
func (db *DB) NoticeSend(ctx context.Context, id uuid.UUID) (callscribe.NoticeSend, error) {
	var s callscribe.NoticeSend
	var callExists bool
	d, err := scanNoticeDelivery(db.pool.QueryRow(ctx, `
		SELECT `+noticeDeliveryColumns+`, u.email, u.language, u.erased_at IS NOT NULL,
		       EXISTS (SELECT 1 FROM consents c WHERE c.user_id = u.id AND c.purpose = 'notifications' AND c.withdrawn_at IS NULL),
		       EXISTS (SELECT 1 FROM calls c WHERE c.id = d.call_id),
		       coalesce((SELECT o.access_answer FROM organizations o WHERE o.id = u.organization_id), 'file')
		FROM notice_deliveries d JOIN users u ON u.id = d.user_id
		WHERE d.id = $1`, id), &s.Email, &s.Language, &s.Erased, &s.Notifications, &callExists, &s.AccessAnswer)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, callscribe.Errorf(callscribe.ENOTFOUND, "no notice delivery %s", id)
	}
	if err != nil {
		return s, fmt.Errorf("load notice delivery: %w", err)
	}
	s.NoticeDelivery = d
	s.CallGone = d.Kind == callscribe.NoticeTranscriptReady && !callExists
	if d.RequestID != uuid.Nil {
		r, err := db.Request(ctx, d.RequestID)
		if err != nil && callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
			return s, err
		}
		if err == nil {
			s.Request = &r
		}
	}
	if d.IncidentID != uuid.Nil {
		inc, err := db.Breach(ctx, d.IncidentID)
		if err != nil {
			return s, err
		}
		s.Incident = &inc
	}
	return s, nil
}

// RecordNoticeAttempt writes an attempt's outcome on the delivery: its state, the
// attempts made, the reason of a failure (never the message), and when it finished.
func (db *DB) RecordNoticeAttempt(ctx context.Context, id uuid.UUID, state string, attempts int, reason string, at time.Time) error {
	var finished *time.Time
	if state != callscribe.NoticePending {
		finished = &at
	}
	_, err := db.pool.Exec(ctx, `
		UPDATE notice_deliveries SET state = $2, attempts = $3, last_error = nullif($4, ''), finished_at = $5
		WHERE id = $1`, id, state, attempts, reason, finished)
	if err != nil {
		return fmt.Errorf("record notice attempt: %w", err)
	}
	return nil
}

// NoticeDeliveries lists the deliveries f selects, oldest first.
func (db *DB) NoticeDeliveries(ctx context.Context, f callscribe.NoticeDeliveryFilter) ([]callscribe.NoticeDelivery, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT `+noticeDeliveryColumns+` FROM notice_deliveries d
		WHERE ($1::uuid IS NULL OR d.user_id = $1) AND ($2::uuid IS NULL OR d.incident_id = $2)
		  AND ($3::uuid IS NULL OR d.notice_id = $3) AND ($4::uuid IS NULL OR d.call_id = $4)
		  AND ($5::uuid IS NULL OR d.request_id = $5)
		ORDER BY d.created_at, d.user_id, d.channel`,
		nullUUID(f.UserID), nullUUID(f.IncidentID), nullUUID(f.NoticeID), nullUUID(f.CallID), nullUUID(f.RequestID))
	if err != nil {
		return nil, fmt.Errorf("list notice deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.NoticeDelivery, error) { return scanNoticeDelivery(row) })
	if err != nil {
		return nil, fmt.Errorf("list notice deliveries: %w", err)
	}
	return out, nil
}

// NoticeChoices reads the notice preferences the user changed; ENOTFOUND when there is
// no such user.
func (db *DB) NoticeChoices(ctx context.Context, userID uuid.UUID) (map[callscribe.NoticeChannel]map[callscribe.NoticeKind]bool, error) {
	var prefs []string
	err := db.pool.QueryRow(ctx, `
		SELECT coalesce((SELECT array_agg(p.channel || ':' || p.event || ':' || p.enabled::text) FROM notice_preferences p WHERE p.user_id = u.id), '{}')
		FROM users u WHERE u.id = $1 AND u.erased_at IS NULL`, userID).Scan(&prefs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, callscribe.Errorf(callscribe.ENOTFOUND, "no user with id %s", userID)
	}
	if err != nil {
		return nil, fmt.Errorf("read notice preferences: %w", err)
	}
	return choices(prefs), nil
}

// SetNoticeChoice records whether the user wants notices of kind on channel.
func (db *DB) SetNoticeChoice(ctx context.Context, userID uuid.UUID, kind callscribe.NoticeKind, channel callscribe.NoticeChannel, enabled bool, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `
		INSERT INTO notice_preferences (user_id, event, channel, enabled, updated_at)
		SELECT id, $2, $3, $4, $5 FROM users WHERE id = $1 AND erased_at IS NULL
		ON CONFLICT (user_id, event, channel) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = EXCLUDED.updated_at`,
		userID, string(kind), string(channel), enabled, at)
	if err != nil {
		return fmt.Errorf("set notice preference: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no user with id %s", userID)
	}
	return nil
}
