package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// userChannel is the PostgreSQL notification channel on which a transaction that
// withdraws a consent or blocks a user announces it, on commit. The payload is the
// user's id and nothing else.
const userChannel = "callscribe_user_changed"

func notifyUser(ctx context.Context, tx pgx.Tx, userID uuid.UUID) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, userChannel, userID.String())
	return err
}

// WatchUser returns a channel that receives a value soon after a consent of the user is
// withdrawn or the user is blocked, and a function that stops the watch. It returns
// once the process listens (or after listenWait, if the database does not let it): a
// change committed after that wakes the channel. The message is a hint to look again,
// never the proof: a caller must keep polling, since a lost connection loses messages.
//
// One connection, opened while anyone watches, listens for the whole DB.
func (db *DB) WatchUser(ctx context.Context, userID uuid.UUID) (<-chan struct{}, func()) {
	return db.watch.subscribe(ctx, db, userID)
}

const listenWait = 2 * time.Second

type watchers struct {
	mu     sync.Mutex
	subs   map[uuid.UUID]map[chan struct{}]struct{}
	n      int
	cancel context.CancelFunc
	ready  chan struct{} // closed once the current listener listens
}

func (w *watchers) subscribe(ctx context.Context, db *DB, userID uuid.UUID) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.subs == nil {
		w.subs = map[uuid.UUID]map[chan struct{}]struct{}{}
	}
	if w.subs[userID] == nil {
		w.subs[userID] = map[chan struct{}]struct{}{}
	}
	w.subs[userID][ch] = struct{}{}
	w.n++
	if w.n == 1 {
		lctx, cancel := context.WithCancel(context.Background())
		w.cancel, w.ready = cancel, make(chan struct{})
		go w.listen(lctx, db, w.ready)
	}
	ready := w.ready
	w.mu.Unlock()

	select {
	case <-ready:
	case <-ctx.Done():
	case <-time.After(listenWait):
	}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			delete(w.subs[userID], ch)
			if len(w.subs[userID]) == 0 {
				delete(w.subs, userID)
			}
			if w.n--; w.n == 0 {
				w.cancel()
			}
		})
	}
}

// listen holds a connection of its own (not one of the pool's) listening on
// userChannel until ctx ends, reconnecting after failures.
func (w *watchers) listen(ctx context.Context, db *DB, ready chan struct{}) {
	var once sync.Once
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN "+userChannel); err == nil {
				once.Do(func() { close(ready) })
				for err == nil {
					var n *pgconn.Notification
					n, err = conn.WaitForNotification(ctx)
					if err == nil {
						w.wake(n.Payload)
					}
				}
			}
			conn.Close(context.WithoutCancel(ctx))
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (w *watchers) wake(payload string) {
	id, err := uuid.Parse(payload)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.subs[id] {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}
