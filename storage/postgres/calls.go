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

// CreateCall records a new call of owner's in status received.
func (db *DB) CreateCall(ctx context.Context, orgID, ownerID uuid.UUID, channels []string) (uuid.UUID, error) {
	var id uuid.UUID
	if channels == nil {
		channels = []string{}
	}
	err := db.pool.QueryRow(ctx, `
		INSERT INTO calls (organization_id, owner_id, status, channels)
		VALUES ($1, $2, 'received', $3) RETURNING id`, orgID, ownerID, channels).Scan(&id)
	if err != nil {
		return uuid.Nil, fmt.Errorf("create call: %w", err)
	}
	return id, nil
}

// RecordStaging records where the call's audio is staged and moves a received call to
// status staged.
func (db *DB) RecordStaging(ctx context.Context, callID uuid.UUID, s callscribe.Staging) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO call_stages (call_id, stage, object_key, key, bytes, sha256, staged_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			callID, s.Stage, s.ObjectKey, s.Key, s.Bytes, s.SHA256, s.StagedAt); err != nil {
			return err
		}
		// A call recognised while it was staged (streaming) is processing already.
		_, err := tx.Exec(ctx, `UPDATE calls SET status = 'staged', updated_at = now() WHERE id = $1 AND status = 'received'`, callID)
		return err
	})
	if err != nil {
		return fmt.Errorf("record staging: %w", err)
	}
	return nil
}

// SetProcessing moves a call to processing: a staged call, or a received one whose audio
// is recognised while it is staged. It refuses (ECONFLICT) a call that has already
// ended, so a discarded call is never picked up again.
func (db *DB) SetProcessing(ctx context.Context, callID uuid.UUID) error {
	tag, err := db.pool.Exec(ctx, `
		UPDATE calls SET status = 'processing', updated_at = now()
		WHERE id = $1 AND status IN ('received', 'staged', 'processing')`, callID)
	if err != nil {
		return fmt.Errorf("start processing: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return callscribe.Errorf(callscribe.ECONFLICT, "call %s is not waiting to be processed", callID)
	}
	return nil
}

// RequeueCall moves a call that was processing back to staged (the API's queued) once
// its attempt has failed and another will come: no worker holds it until then. A call
// that has ended meanwhile keeps its status.
func (db *DB) RequeueCall(ctx context.Context, callID uuid.UUID) error {
	if _, err := db.pool.Exec(ctx, `
		UPDATE calls SET status = 'staged', updated_at = now()
		WHERE id = $1 AND status = 'processing'`, callID); err != nil {
		return fmt.Errorf("requeue call: %w", err)
	}
	return nil
}

// EndCall ends a call that will not be transcribed (status failed or discarded), with a
// code and a client-safe message, and erases its staging key in the same transaction.
// A call that has already ended keeps its status.
func (db *DB) EndCall(ctx context.Context, callID uuid.UUID, status callscribe.CallStatus, code, message string) error {
	if err := db.inTx(ctx, func(tx pgx.Tx) error {
		return db.endCall(ctx, tx, callID, status, code, message)
	}); err != nil {
		return fmt.Errorf("end call: %w", err)
	}
	return nil
}

func (db *DB) endCall(ctx context.Context, tx pgx.Tx, callID uuid.UUID, status callscribe.CallStatus, code, message string) error {
	tag, err := tx.Exec(ctx, `
		UPDATE calls SET status = $2, error_code = $3, error_message = $4, updated_at = now()
		WHERE id = $1 AND status NOT IN ('completed', 'discarded', 'failed')`,
		callID, string(status), code, message)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		if err := db.callEnded(ctx, tx, callID); err != nil {
			return err
		}
	}
	return eraseKey(ctx, tx, callID)
}

func eraseKey(ctx context.Context, tx pgx.Tx, callID uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE call_stages SET key = NULL WHERE call_id = $1 AND key IS NOT NULL`, callID)
	return err
}

// CallStatus returns the status of a call.
func (db *DB) CallStatus(ctx context.Context, callID uuid.UUID) (callscribe.CallStatus, error) {
	var s string
	err := db.pool.QueryRow(ctx, `SELECT status FROM calls WHERE id = $1`, callID).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", callscribe.Errorf(callscribe.ENOTFOUND, "no call %s", callID)
	}
	if err != nil {
		return "", fmt.Errorf("call status: %w", err)
	}
	return callscribe.CallStatus(s), nil
}

// AcceptCall records a staged call in one transaction: the call row (status staged), its
// staging record and its transcription job. A call with the same external id in the same
// organization that has not failed wins: then nothing is inserted and AcceptCall returns
// that call's id with existing true; the unique index on (organization, external id) of
// the calls that have not failed makes this hold under concurrent uploads. The job is
// unique by its arguments, so a call never has two.
func (q *Queued) AcceptCall(ctx context.Context, c callscribe.NewCall, s callscribe.Staging) (id uuid.UUID, existing bool, err error) {
	if q.Jobs == nil {
		return uuid.Nil, false, errors.New("accept call: no job queue configured")
	}
	err = q.inTx(ctx, func(tx pgx.Tx) error {
		existing = false
		err := tx.QueryRow(ctx, `
			INSERT INTO calls (id, organization_id, owner_id, status, channels, external_id, started_at, raw_format, retry_of, phone)
			VALUES ($1, $2, $3, 'staged', $4, nullif($5, ''), $6, $7, $8, nullif($9, ''))
			ON CONFLICT (organization_id, external_id) WHERE external_id IS NOT NULL AND status <> 'failed' DO NOTHING
			RETURNING id`,
			c.ID, c.OrgID, c.OwnerID, nonNil(c.Channels), c.ExternalID, c.StartedAt, c.Raw, c.RetryOf, c.Phone).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			existing = true
			return tx.QueryRow(ctx, externalIDQuery, c.OrgID, c.ExternalID).Scan(&id, new(string))
		}
		if err != nil {
			return err
		}
		if err := insertStaging(ctx, tx, c.ID, s); err != nil {
			return err
		}
		opts := &river.InsertOpts{MaxAttempts: q.MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
		_, err = q.Jobs.InsertTx(ctx, tx, callscribe.TranscribeJob{CallID: c.ID}, opts)
		return err
	})
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("accept call: %w", err)
	}
	return id, existing, nil
}

func insertStaging(ctx context.Context, tx pgx.Tx, callID uuid.UUID, s callscribe.Staging) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO call_stages (call_id, stage, object_key, key, bytes, sha256, staged_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		callID, s.Stage, s.ObjectKey, s.Key, s.Bytes, s.SHA256, s.StagedAt)
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// RecordRejected records an upload that was partly or wholly staged and then refused (over
// a limit, cut off, a duplicate that lost the race): a failed call without external id,
// its staging record and the receipt of its deletion, in one transaction. The caller has
// deleted the staged object and confirmed it gone.
func (db *DB) RecordRejected(ctx context.Context, c callscribe.NewCall, s callscribe.Staging, code, message string, deletedAt, confirmedAt time.Time) (callscribe.Receipt, error) {
	var r callscribe.Receipt
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO calls (id, organization_id, owner_id, status, channels, started_at, raw_format, error_code, error_message, phone)
			VALUES ($1, $2, $3, 'failed', $4, $5, $6, $7, $8, nullif($9, ''))`,
			c.ID, c.OrgID, c.OwnerID, nonNil(c.Channels), c.StartedAt, c.Raw, code, message, c.Phone); err != nil {
			return err
		}
		s.Key = nil
		if err := insertStaging(ctx, tx, c.ID, s); err != nil {
			return err
		}
		return writeReceipt(ctx, tx, c.ID, deletedAt, confirmedAt, &r)
	})
	if err != nil {
		return callscribe.Receipt{}, fmt.Errorf("record rejected upload: %w", err)
	}
	return r, nil
}

// externalIDQuery finds the call an external id names: the one that has not failed,
// else the latest that failed.
const externalIDQuery = `
	SELECT id, status FROM calls WHERE organization_id = $1 AND external_id = $2
	ORDER BY status = 'failed', created_at DESC, id DESC LIMIT 1`

// CallByExternalID finds the call an organization uploaded under its own id, with its
// status: the call that has not failed, or else the latest one that did (which a new
// upload may send again); ENOTFOUND when there is none.
func (db *DB) CallByExternalID(ctx context.Context, orgID uuid.UUID, externalID string) (uuid.UUID, callscribe.CallStatus, error) {
	var id uuid.UUID
	var status string
	err := db.pool.QueryRow(ctx, externalIDQuery, orgID, externalID).Scan(&id, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, "", callscribe.Errorf(callscribe.ENOTFOUND, "no call with that external id")
	}
	if err != nil {
		return uuid.Nil, "", fmt.Errorf("find call by external id: %w", err)
	}
	return id, callscribe.CallStatus(status), nil
}

// callStatus is a call's status as far as anyone outside the worker can tell: a call
// recorded as processing whose job is waiting for its next attempt (its worker's attempt
// timed out, failed or died and River has since rescheduled it) is held by no worker, so
// it is staged (queued). The job is the call's latest transcription job (j, joined by
// callFrom).
const callStatus = `CASE WHEN c.status = 'processing' AND j.state IN ('available', 'scheduled', 'retryable', 'pending')
	THEN 'staged' ELSE c.status END`

// callJob joins a call's latest transcription job, found through the index on the call
// id in its args.
const callJob = `
	LEFT JOIN LATERAL (
		SELECT state::text AS state, attempt, scheduled_at FROM river_job
		WHERE kind = 'transcribe_call' AND args ->> 'call_id' = c.id::text
		ORDER BY id DESC LIMIT 1) j ON true`

const callColumns = `
	c.id, c.organization_id, c.owner_id, u.email, coalesce(c.external_id, ''), coalesce(c.phone, ''), ` + callStatus + `, c.channels,
	c.duration_ms, c.started_at, coalesce(c.error_code, ''), coalesce(c.error_message, ''), c.raw_format,
	c.created_at, c.updated_at, c.retry_of,
	s.stage, s.object_key, s.key, s.bytes, s.sha256, s.staged_at,
	r.stage, r.bytes, r.sha256, r.staged_at, r.deleted_at, r.confirmed_at,
	j.state, j.attempt, j.scheduled_at`

const callFrom = `
	FROM calls c JOIN users u ON u.id = c.owner_id
	LEFT JOIN call_stages s ON s.call_id = c.id
	LEFT JOIN audio_deletion_receipts r ON r.call_id = c.id` + callJob

// scanCall scans the callColumns of row, then into extra the columns a query selects
// after them.
func scanCall(row pgx.Row, extra ...any) (callscribe.Call, error) {
	var c callscribe.Call
	var status string
	var (
		sStage, sObject *string
		sKey            []byte
		sBytes          *int64
		sSHA            *string
		sAt             *time.Time
		rStage, rSHA    *string
		rBytes          *int64
		rStaged, rDel   *time.Time
		rConf           *time.Time
		jState          *string
		jAttempt        *int
		jScheduled      *time.Time
	)
	err := row.Scan(append([]any{&c.ID, &c.OrgID, &c.OwnerID, &c.OwnerEmail, &c.ExternalID, &c.Phone, &status, &c.Channels,
		&c.DurationMS, &c.StartedAt, &c.ErrorCode, &c.ErrorMessage, &c.Raw, &c.CreatedAt, &c.UpdatedAt, &c.RetryOf,
		&sStage, &sObject, &sKey, &sBytes, &sSHA, &sAt,
		&rStage, &rBytes, &rSHA, &rStaged, &rDel, &rConf,
		&jState, &jAttempt, &jScheduled}, extra...)...)
	if err != nil {
		return c, err
	}
	c.Status = callscribe.CallStatus(status)
	if jState != nil && !c.Status.Ended() {
		switch {
		case *jState == "running":
			c.Attempt = *jAttempt
		case *jAttempt > 0:
			// Waiting after a failed attempt: the next one is due at scheduled_at.
			c.Attempt, c.NextAttemptAt = *jAttempt+1, jScheduled
		}
	}
	if sStage != nil {
		c.Staging = &callscribe.Staging{Stage: *sStage, ObjectKey: *sObject, Key: sKey, Bytes: *sBytes, SHA256: *sSHA, StagedAt: *sAt}
	}
	if rStage != nil {
		c.Receipt = &callscribe.Receipt{CallID: c.ID, Stage: *rStage, Bytes: *rBytes, SHA256: *rSHA, StagedAt: *rStaged, DeletedAt: *rDel, ConfirmedAt: *rConf}
	}
	return c, nil
}

// Call returns a call of the organization with its staging record and receipt;
// ENOTFOUND for a call that does not exist, belongs to another organization or to a
// user being erased (the message names the call id only).
// The staging key is left out: only CallForWork reads it.
func (db *DB) Call(ctx context.Context, orgID, callID uuid.UUID) (callscribe.Call, error) {
	c, err := scanCall(db.pool.QueryRow(ctx, `SELECT `+callColumns+callFrom+`
		WHERE c.id = $1 AND c.organization_id = $2 AND u.erased_at IS NULL`, callID, orgID))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, callscribe.Errorf(callscribe.ENOTFOUND, "no call %s", callID)
	}
	if err != nil {
		return c, fmt.Errorf("read call: %w", err)
	}
	if c.Staging != nil {
		c.Staging.Key = nil
	}
	return c, nil
}

// CallForWork returns a call, its staging record (with the encryption key while the call
// is live on a shared stage) and its owner, for the worker that transcribes it.
func (db *DB) CallForWork(ctx context.Context, callID uuid.UUID) (callscribe.Call, callscribe.User, error) {
	var u callscribe.User
	c, err := scanCall(db.pool.QueryRow(ctx, `SELECT `+callColumns+callFrom+` WHERE c.id = $1`, callID))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, u, callscribe.Errorf(callscribe.ENOTFOUND, "no call %s", callID)
	}
	if err != nil {
		return c, u, fmt.Errorf("read call: %w", err)
	}
	u, err = scanUser(db.pool.QueryRow(ctx, `
		SELECT `+userColumns+`
		FROM users WHERE id = $1`, c.OwnerID))
	if err != nil {
		return c, u, fmt.Errorf("read call owner: %w", err)
	}
	return c, u, nil
}

// Calls lists an organization's calls as SearchCalls does, without their hits.
func (db *DB) Calls(ctx context.Context, f callscribe.CallFilter) ([]callscribe.Call, error) {
	hits, err := db.SearchCalls(ctx, f)
	if err != nil {
		return nil, err
	}
	calls := make([]callscribe.Call, len(hits))
	for i, h := range hits {
		calls[i] = h.Call
	}
	return calls, nil
}

// CallsOf lists the user's calls, oldest first, with their staging records (without the
// key) and receipts.
func (db *DB) CallsOf(ctx context.Context, userID uuid.UUID) ([]callscribe.Call, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+callColumns+callFrom+`
		WHERE c.owner_id = $1 AND u.erased_at IS NULL ORDER BY c.created_at, c.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (callscribe.Call, error) {
		c, err := scanCall(r)
		if c.Staging != nil {
			c.Staging.Key = nil
		}
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	return out, nil
}

// CallOwner returns the owner and organization of a call whose owner is not being erased.
func (db *DB) CallOwner(ctx context.Context, callID uuid.UUID) (owner, org uuid.UUID, err error) {
	err = db.pool.QueryRow(ctx, `
		SELECT c.owner_id, c.organization_id FROM calls c JOIN users u ON u.id = c.owner_id
		WHERE c.id = $1 AND u.erased_at IS NULL`, callID).Scan(&owner, &org)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, uuid.Nil, callscribe.Errorf(callscribe.ENOTFOUND, "no call %s", callID)
	}
	if err != nil {
		return uuid.Nil, uuid.Nil, fmt.Errorf("find call: %w", err)
	}
	return owner, org, nil
}

// FailLostCalls ends the queued calls whose audio was staged on a process-local stage
// (the memory stage) by a process that is gone: the audio died with that process, so
// each such call is marked failed with a message saying so, and its receipt records the
// deletion as happening, and confirmed, at now. Only calls with a transcription job (the
// service's) are touched, so a CLI transcription in flight elsewhere is left alone.
func (db *DB) FailLostCalls(ctx context.Context, stage string, now time.Time) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT c.id FROM calls c JOIN call_stages s ON s.call_id = c.id
			WHERE s.stage = $1 AND s.confirmed_at IS NULL
			  AND c.status IN ('received', 'staged', 'processing')
			  AND EXISTS (SELECT 1 FROM river_job j WHERE j.kind = 'transcribe_call' AND j.args->>'call_id' = c.id::text)
			FOR UPDATE OF c`, stage)
		if err != nil {
			return err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return err
		}
		for _, id := range ids {
			if err := db.endCall(ctx, tx, id, callscribe.CallFailed, callscribe.EUNAVAILABLE,
				"the call's audio was held in the memory of a server process that stopped before transcribing it; the audio is gone with that process; upload the call again"); err != nil {
				return err
			}
			var r callscribe.Receipt
			if err := writeReceipt(ctx, tx, id, now, now, &r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fail lost calls: %w", err)
	}
	return ids, nil
}

// CallCountsByStatus counts calls by status (as callStatus tells it), across
// organizations, for metrics.
func (db *DB) CallCountsByStatus(ctx context.Context) (map[string]int64, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+callStatus+`, count(*) FROM calls c`+callJob+` GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("count calls: %w", err)
	}
	out := map[string]int64{}
	var s string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&s, &n}, func() error {
		out[s] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count calls: %w", err)
	}
	return out, nil
}

// DiscardQueuedCalls ends, as discarded, every call of the owner still waiting for the
// worker (received or staged), erasing their staging keys, and returns their ids; the
// caller deletes their staged audio. A worker that takes one of them afterwards finds it
// ended and leaves it; one already processing is stopped by its own consent watcher.
func (db *DB) DiscardQueuedCalls(ctx context.Context, ownerID uuid.UUID, code, message string) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			UPDATE calls SET status = 'discarded', error_code = $2, error_message = $3, updated_at = now()
			WHERE owner_id = $1 AND status IN ('received', 'staged') RETURNING id`, ownerID, code, message)
		if err != nil {
			return err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return err
		}
		for _, id := range ids {
			if err := db.callEnded(ctx, tx, id); err != nil {
				return err
			}
			if err := eraseKey(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discard queued calls: %w", err)
	}
	return ids, nil
}

// Activity counts an organization's calls per day in [from, to) (days in zone loc), and
// the talk time of their transcripts per channel; ownerID, when set, only
// that owner's calls. Erased and blocked owners' calls are left out, as every listing
// leaves them out.
func (db *DB) Activity(ctx context.Context, orgID uuid.UUID, ownerID *uuid.UUID, from, to time.Time, loc *time.Location) ([]callscribe.DayActivity, error) {
	const picked = `
		WITH c AS (
			SELECT c.id, (c.created_at AT TIME ZONE $5)::date AS day
			FROM calls c JOIN users u ON u.id = c.owner_id
			WHERE c.organization_id = $1 AND ($2::uuid IS NULL OR c.owner_id = $2)
			  AND c.created_at >= $3 AND c.created_at < $4
			  AND u.erased_at IS NULL AND u.blocked_at IS NULL)`
	var out []callscribe.DayActivity
	byDay := map[time.Time]int{}
	at := func(day time.Time) *callscribe.DayActivity {
		day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
		i, ok := byDay[day]
		if !ok {
			i = len(out)
			byDay[day] = i
			out = append(out, callscribe.DayActivity{Day: day, Talk: map[int]int64{}})
		}
		return &out[i]
	}
	args := []any{orgID, ownerID, from, to, loc.String()}
	rows, err := db.pool.Query(ctx, picked+` SELECT day, count(*) FROM c GROUP BY day ORDER BY day`, args...)
	if err != nil {
		return nil, fmt.Errorf("read activity: %w", err)
	}
	for rows.Next() {
		var day time.Time
		var n int
		if err := rows.Scan(&day, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read activity: %w", err)
		}
		at(day).Calls = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read activity: %w", err)
	}
	// Each transcript's talk time per channel (migration 00018), not its segments: a
	// month of 100,000 calls is 100,000 rows, not 2,000,000.
	rows, err = db.pool.Query(ctx, picked+`
		SELECT c.day, x.ch - 1, sum(x.ms)::bigint
		FROM c JOIN transcripts t ON t.call_id = c.id, unnest(t.talk_ms) WITH ORDINALITY AS x(ms, ch)
		GROUP BY c.day, x.ch`, args...)
	if err != nil {
		return nil, fmt.Errorf("read activity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day time.Time
		var ch int
		var ms int64
		if err := rows.Scan(&day, &ch, &ms); err != nil {
			return nil, fmt.Errorf("read activity: %w", err)
		}
		at(day).Talk[ch] += ms
	}
	return out, rows.Err()
}

// liveStatuses are the statuses of a call whose staged audio is still needed.
const liveStatuses = `('received', 'staged', 'processing')`

// LiveObjectKeys returns those of keys that are the recorded staged object of a live
// call (received, staged or processing): objects the sweeper must leave alone.
func (db *DB) LiveObjectKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	live := map[string]bool{}
	if len(keys) == 0 {
		return live, nil
	}
	rows, err := db.pool.Query(ctx, `
		SELECT s.object_key FROM call_stages s JOIN calls c ON c.id = s.call_id
		WHERE s.object_key = ANY($1) AND c.status IN `+liveStatuses, keys)
	if err != nil {
		return nil, fmt.Errorf("live object keys: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("live object keys: %w", err)
	}
	for _, k := range found {
		live[k] = true
	}
	return live, nil
}

// LiveCalls returns those of ids whose calls are live (received, staged or processing),
// staging recorded or not: a call is recorded before its audio is staged, and its
// staging only after the upload ends.
func (db *DB) LiveCalls(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	live := map[uuid.UUID]bool{}
	if len(ids) == 0 {
		return live, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT id FROM calls WHERE id = ANY($1) AND status IN `+liveStatuses, ids)
	if err != nil {
		return nil, fmt.Errorf("live calls: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("live calls: %w", err)
	}
	for _, id := range found {
		live[id] = true
	}
	return live, nil
}

// EndAbandonedCalls ends, as failed with its key erased, every live call staged in stage
// whose transcription job has finished for good (River discarded, cancelled or
// completed it) without the call having ended: no attempt will ever end it. A worker
// killed during the call's last attempt leaves this (River's rescuer then discards the
// job), as does a last attempt that could not record the call's end. It returns the
// calls it ended; their audio is then an unconfirmed deletion like any ended call's.
func (db *DB) EndAbandonedCalls(ctx context.Context, stage string) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT c.id FROM calls c JOIN call_stages s ON s.call_id = c.id
			WHERE s.stage = $1 AND s.confirmed_at IS NULL AND c.status IN `+liveStatuses+`
			  AND EXISTS (SELECT 1 FROM river_job j WHERE j.kind = 'transcribe_call' AND j.args->>'call_id' = c.id::text
			              AND j.state IN ('discarded', 'cancelled', 'completed'))
			  AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.kind = 'transcribe_call' AND j.args->>'call_id' = c.id::text
			              AND j.state NOT IN ('discarded', 'cancelled', 'completed'))
			FOR UPDATE OF c SKIP LOCKED`, stage)
		if err != nil {
			return err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return err
		}
		for _, id := range ids {
			if err := db.endCall(ctx, tx, id, callscribe.CallFailed, callscribe.EINTERNAL,
				"the call's last attempt stopped before it ended (the worker stopped); its audio was deleted; upload the call again"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("end abandoned calls: %w", err)
	}
	return ids, nil
}
