package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"callscribe"
)

// CreateRequest records a received data-subject request and its first event in one
// transaction.
func (db *DB) CreateRequest(ctx context.Context, r callscribe.Request, ev callscribe.RequestEvent) (callscribe.Request, error) {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO privacy_requests (organization_id, user_id, kind, status, received_at, due_at, notes)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			r.OrgID, r.UserID, string(r.Kind), string(r.Status), r.ReceivedAt, r.DueAt.In(time.UTC), r.Notes).Scan(&r.ID)
		if err != nil {
			return err
		}
		if err := requestEvent(ctx, tx, r.ID, ev); err != nil {
			return err
		}
		return db.notice(ctx, tx, callscribe.Notice{Kind: callscribe.NoticeRequestReceived, UserIDs: []uuid.UUID{r.UserID}, RequestID: r.ID})
	})
	if err != nil {
		return callscribe.Request{}, fmt.Errorf("create request: %w", err)
	}
	return r, nil
}

// Request reads one request; ENOTFOUND when there is none.
func (db *DB) Request(ctx context.Context, id uuid.UUID) (callscribe.Request, error) {
	r, err := scanRequest(db.pool.QueryRow(ctx, requestQuery+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, callscribe.Errorf(callscribe.ENOTFOUND, "no request %s", id)
	}
	if err != nil {
		return r, fmt.Errorf("read request: %w", err)
	}
	return r, nil
}

// Requests lists the requests f selects, the earliest due first.
func (db *DB) Requests(ctx context.Context, f callscribe.RequestFilter) ([]callscribe.Request, error) {
	statuses := make([]string, len(f.Statuses))
	for i, s := range f.Statuses {
		statuses[i] = string(s)
	}
	var dueBy *time.Time
	if f.DueBy != nil {
		d := f.DueBy.In(time.UTC)
		dueBy = &d
	}
	rows, err := db.pool.Query(ctx, requestQuery+`
		WHERE ($1 = '00000000-0000-0000-0000-000000000000'::uuid OR organization_id = $1)
		  AND ($2 = '00000000-0000-0000-0000-000000000000'::uuid OR user_id = $2)
		  AND (cardinality($3::text[]) = 0 OR status = ANY ($3))
		  AND ($4::date IS NULL OR coalesce(extended_due_at, due_at) <= $4)
		ORDER BY coalesce(extended_due_at, due_at), received_at, id`,
		f.OrgID, f.UserID, statuses, dueBy)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.Request, error) { return scanRequest(row) })
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	return out, nil
}

// RequestTx is the transaction that changes a request, as the effects of closing one
// use it. It is privacy.RequestTx: both are aliases of this one interface type, so that
// UpdateRequest matches privacy's store without this package importing privacy.
type RequestTx = interface {
	BlockUser(ctx context.Context, userID uuid.UUID, at time.Time) error
	WithdrawAllConsents(ctx context.Context, userID uuid.UUID, channel callscribe.ConsentChannel, at time.Time) error
	EraseSubject(ctx context.Context, userID, requestID uuid.UUID, at time.Time) error
}

// requestTx carries out the effects of closing a request in the closing transaction.
type requestTx struct {
	tx   pgx.Tx
	jobs JobInserter // nil: no job queue, and no erasure can be enqueued
}

// BlockUser blocks the user (see BlockUser).
func (r requestTx) BlockUser(ctx context.Context, userID uuid.UUID, at time.Time) error {
	_, err := blockUser(ctx, r.tx, userID, at)
	return err
}

// WithdrawAllConsents withdraws every consent of the user in force, recording each
// withdrawal as an event (see WithdrawConsent).
func (r requestTx) WithdrawAllConsents(ctx context.Context, userID uuid.UUID, channel callscribe.ConsentChannel, at time.Time) error {
	if err := lockUser(ctx, r.tx, userID, "UPDATE"); err != nil {
		return err
	}
	for _, p := range callscribe.Purposes {
		if _, err := withdrawConsent(ctx, r.tx, userID, p, channel, at); err != nil {
			return err
		}
	}
	return nil
}

// EraseSubject marks the user erased (see MarkErased), under the user row's exclusive
// lock, and enqueues the purge of their data (an erase_subject job naming the request):
// from the commit on every read leaves the user and their calls out, and a worker purges
// them.
func (r requestTx) EraseSubject(ctx context.Context, userID, requestID uuid.UUID, at time.Time) error {
	if r.jobs == nil {
		return errors.New("erase subject: no job queue configured to purge them")
	}
	tag, err := r.tx.Exec(ctx, `
		UPDATE users SET erased_at = coalesce(erased_at, $2), erasure_request = coalesce(erasure_request, $3)
		WHERE id = $1`, userID, at, requestID.String())
	if err != nil {
		return fmt.Errorf("mark user erased: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no user with id %s", userID)
	}
	if _, err := r.jobs.InsertTx(ctx, r.tx, callscribe.EraseSubjectJob{RequestID: requestID},
		&river.InsertOpts{Queue: callscribe.EraseQueue, UniqueOpts: river.UniqueOpts{ByArgs: true}}); err != nil {
		return fmt.Errorf("enqueue erasure: %w", err)
	}
	return nil
}

// UpdateRequest changes a request in one transaction that holds its row lock: change
// gets the request as stored and returns it as it must be stored and the event that
// records the transition; then effect, when given, runs in the same transaction (so
// that what closing a request does commits with the close, or not at all). On a DB
// without a job queue an erasure cannot be enqueued: use Queued's.
func (db *DB) UpdateRequest(ctx context.Context, id uuid.UUID,
	change func(callscribe.Request) (callscribe.Request, callscribe.RequestEvent, error),
	effect func(ctx context.Context, tx RequestTx, r callscribe.Request) error,
) (callscribe.Request, error) {
	return db.updateRequest(ctx, nil, id, change, effect)
}

// UpdateRequest is DB.UpdateRequest whose effects can enqueue jobs (an erasure's purge).
func (q *Queued) UpdateRequest(ctx context.Context, id uuid.UUID,
	change func(callscribe.Request) (callscribe.Request, callscribe.RequestEvent, error),
	effect func(ctx context.Context, tx RequestTx, r callscribe.Request) error,
) (callscribe.Request, error) {
	return q.updateRequest(ctx, q.Jobs, id, change, effect)
}

func (db *DB) updateRequest(ctx context.Context, jobs JobInserter, id uuid.UUID,
	change func(callscribe.Request) (callscribe.Request, callscribe.RequestEvent, error),
	effect func(ctx context.Context, tx RequestTx, r callscribe.Request) error,
) (callscribe.Request, error) {
	var out callscribe.Request
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		r, err := scanRequest(tx.QueryRow(ctx, requestQuery+` WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no request %s", id)
		}
		if err != nil {
			return err
		}
		r, ev, err := change(r)
		if err != nil {
			return err
		}
		var extended *time.Time
		if r.ExtendedDueAt != nil {
			d := r.ExtendedDueAt.In(time.UTC)
			extended = &d
		}
		if _, err := tx.Exec(ctx, `
			UPDATE privacy_requests SET status = $2, extended_due_at = $3, extension_reason = $4,
				notice_text = $5, notice_at = $6, reason = $7, notes = $8, closed_at = $9
			WHERE id = $1`,
			id, string(r.Status), extended, nullString(r.ExtensionReason), nullString(r.NoticeText), r.NoticeAt,
			r.Reason, r.Notes, r.ClosedAt); err != nil {
			return err
		}
		if err := requestEvent(ctx, tx, id, ev); err != nil {
			return err
		}
		if effect != nil {
			if err := effect(ctx, requestTx{tx: tx, jobs: jobs}, r); err != nil {
				return err
			}
		}
		if kind, ok := requestNotice[ev.Action]; ok && r.UserID != uuid.Nil {
			if err := db.notice(ctx, tx, callscribe.Notice{Kind: kind, UserIDs: []uuid.UUID{r.UserID}, RequestID: id}); err != nil {
				return err
			}
		}
		out = r
		return nil
	})
	if err != nil {
		return callscribe.Request{}, fmt.Errorf("update request %s: %w", id, err)
	}
	return out, nil
}

// requestNotice is the notice each transition of a request sends its subject; taking
// a request into work sends none.
var requestNotice = map[string]callscribe.NoticeKind{
	"extended":  callscribe.NoticeRequestExtended,
	"completed": callscribe.NoticeRequestClosed,
	"rejected":  callscribe.NoticeRequestClosed,
}

// RequestEvents lists a request's transitions, oldest first.
func (db *DB) RequestEvents(ctx context.Context, id uuid.UUID) ([]callscribe.RequestEvent, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT action, status, actor, note, at FROM privacy_request_events
		WHERE request_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("list request events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.RequestEvent, error) {
		var e callscribe.RequestEvent
		var st string
		err := row.Scan(&e.Action, &st, &e.Actor, &e.Note, &e.At)
		e.Status = callscribe.RequestStatus(st)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list request events: %w", err)
	}
	return out, nil
}

// RequestCounts counts the open requests of each kind, and those of them whose due day
// (extended when extended) is before today. Every kind is listed, with zeros.
func (db *DB) RequestCounts(ctx context.Context, today callscribe.Date) ([]callscribe.RequestCount, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT k.kind,
		       count(r.id),
		       count(r.id) FILTER (WHERE coalesce(r.extended_due_at, r.due_at) < $2)
		FROM unnest($1::text[]) AS k (kind)
		LEFT JOIN privacy_requests r ON r.kind = k.kind AND r.status IN ('received', 'in_progress')
		GROUP BY k.kind ORDER BY k.kind`, kindNames(), today.In(time.UTC))
	if err != nil {
		return nil, fmt.Errorf("count requests: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.RequestCount, error) {
		var c callscribe.RequestCount
		var k string
		err := row.Scan(&k, &c.Open, &c.Overdue)
		c.Kind = callscribe.RequestKind(k)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("count requests: %w", err)
	}
	return out, nil
}

const requestQuery = `
	SELECT id, organization_id, coalesce(user_id, '00000000-0000-0000-0000-000000000000'), kind, status, received_at, due_at, extended_due_at,
	       coalesce(extension_reason, ''), coalesce(notice_text, ''), notice_at, reason, notes, closed_at
	FROM privacy_requests`

func scanRequest(row pgx.Row) (callscribe.Request, error) {
	var r callscribe.Request
	var kind, status string
	var due time.Time
	var extended *time.Time
	err := row.Scan(&r.ID, &r.OrgID, &r.UserID, &kind, &status, &r.ReceivedAt, &due, &extended,
		&r.ExtensionReason, &r.NoticeText, &r.NoticeAt, &r.Reason, &r.Notes, &r.ClosedAt)
	if err != nil {
		return r, err
	}
	r.Kind, r.Status = callscribe.RequestKind(kind), callscribe.RequestStatus(status)
	r.DueAt = callscribe.DateOf(due)
	if extended != nil {
		d := callscribe.DateOf(*extended)
		r.ExtendedDueAt = &d
	}
	return r, nil
}

func requestEvent(ctx context.Context, tx pgx.Tx, id uuid.UUID, ev callscribe.RequestEvent) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO privacy_request_events (request_id, action, status, actor, note, at)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, ev.Action, string(ev.Status), ev.Actor, ev.Note, ev.At)
	return err
}

func kindNames() []string {
	out := make([]string, len(callscribe.RequestKinds))
	for i, k := range callscribe.RequestKinds {
		out[i] = string(k)
	}
	return out
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
