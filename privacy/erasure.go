package privacy

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"callscribe"
)

// ErasureStore is what erasure needs of the database.
type ErasureStore interface {
	MarkErased(ctx context.Context, userID uuid.UUID, requestID string, at time.Time) (callscribe.User, error)
	SubjectCalls(ctx context.Context, userID uuid.UUID) ([]uuid.UUID, error)
	PurgeCalls(ctx context.Context, userID uuid.UUID, callIDs []uuid.UUID, counts map[string]int64) error
	FinishErasure(ctx context.Context, userID uuid.UUID, entry callscribe.ErasureEntry, counts map[string]int64,
		beforeCommit func(callscribe.ErasureEntry) error) (callscribe.ErasureEntry, error)
	VerifyErased(ctx context.Context, userID uuid.UUID, callIDs []uuid.UUID) (map[string]int64, error)
	ErasureLedger(ctx context.Context) ([]callscribe.ErasureEntry, error)
	ImportLedger(ctx context.Context, entries []callscribe.ErasureEntry) (int, error)
	Subjects(ctx context.Context, fn func(callscribe.Subject) error) error
}

// DefaultEraseBatch is how many calls one purge transaction takes: small enough that
// its locks are short (other users never wait long), large enough that the per-batch
// overhead stays a few percent of the work.
const DefaultEraseBatch = 500

// Eraser erases data subjects: every row about them, in every table registered in
// storage/postgres (erasure.go), and records what it did in the erasure ledger, in the
// database and in a ledger file outside it.
//
// An erasure first marks the user erased (one short transaction): from then on they are
// invisible to readers and nothing more is stored for them. Their calls are then purged
// in batches, each its own short transaction, so other users' reads and writes never
// wait behind one long lock; the last transaction deletes the user row and writes the
// ledger. An erasure interrupted half-way leaves a user marked erased, whom Reapply
// finishes. Seen from outside, the subject is gone at the first commit.
type Eraser struct {
	Store  ErasureStore
	Hasher *SubjectHasher
	Ledger *LedgerFile // the copy of the ledger that outlives a database restore; required
	Now    func() time.Time
	Batch  int // calls per purge transaction; default DefaultEraseBatch
}

// Erasure is what one erasure did.
type Erasure struct {
	Entry   callscribe.ErasureEntry
	CallIDs []uuid.UUID // the subject's calls, for VerifyErased; kept only in memory
}

// Subject names what VerifyErased looks for.
type Subject struct {
	UserID  uuid.UUID
	CallIDs []uuid.UUID
}

// Report counts the rows still about a subject, per table.
type Report struct {
	Remaining map[string]int64
}

// Clean reports whether no row about the subject remains.
func (r Report) Clean() bool {
	for _, n := range r.Remaining {
		if n != 0 {
			return false
		}
	}
	return true
}

// Erase purges everything held about the user and records the erasure under requestID.
func (e *Eraser) Erase(ctx context.Context, userID uuid.UUID, requestID string) (Erasure, error) {
	return e.erase(ctx, userID, requestID, false)
}

func (e *Eraser) erase(ctx context.Context, userID uuid.UUID, requestID string, reapplied bool) (Erasure, error) {
	if e.Hasher == nil || e.Ledger == nil {
		return Erasure{}, errors.New("erase: the eraser needs a subject hasher and a ledger file")
	}
	if strings.TrimSpace(requestID) == "" {
		return Erasure{}, callscribe.Errorf(callscribe.EINVALID, "an erasure needs the id of the request that ordered it")
	}
	now := e.now()
	u, err := e.Store.MarkErased(ctx, userID, requestID, now)
	if err != nil {
		return Erasure{}, fmt.Errorf("erase: %w", err)
	}
	calls, err := e.Store.SubjectCalls(ctx, userID)
	if err != nil {
		return Erasure{}, fmt.Errorf("erase: %w", err)
	}
	batch := e.Batch
	if batch <= 0 {
		batch = DefaultEraseBatch
	}
	counts := map[string]int64{}
	for i := 0; i < len(calls); i += batch {
		if err := e.Store.PurgeCalls(ctx, userID, calls[i:min(i+batch, len(calls))], counts); err != nil {
			return Erasure{}, fmt.Errorf("erase: %w", err)
		}
	}
	entry := callscribe.ErasureEntry{
		ID:          uuid.New(),
		RequestID:   requestID,
		SubjectHash: e.Hasher.Subject(u.ID),
		EmailHash:   e.Hasher.Email(u.Email),
		PhoneHash:   e.Hasher.Phone(u.Phone),
		Reapplied:   reapplied,
		ErasedAt:    e.now(),
	}
	entry, err = e.Store.FinishErasure(ctx, userID, entry, counts, e.Ledger.Append)
	if err != nil {
		return Erasure{}, fmt.Errorf("erase: %w", err)
	}
	return Erasure{Entry: entry, CallIDs: calls}, nil
}

// VerifyErased counts the rows still about the subject in every registered table.
func (e *Eraser) VerifyErased(ctx context.Context, s Subject) (Report, error) {
	n, err := e.Store.VerifyErased(ctx, s.UserID, s.CallIDs)
	if err != nil {
		return Report{}, err
	}
	return Report{Remaining: n}, nil
}

// Reapply makes the database agree with the ledger: it imports the ledger file's entries
// the database lacks (a restored backup predates them), then erases again every user
// whose keyed id hash is in the ledger, and finishes erasures left half-done. It reads
// every user once and hashes them in memory (10,000 users take milliseconds); the
// ledger's hashes are a set. It returns the erasures it made.
func (e *Eraser) Reapply(ctx context.Context) ([]Erasure, error) {
	fromFile, err := e.Ledger.Read()
	if err != nil {
		return nil, err
	}
	if _, err := e.Store.ImportLedger(ctx, fromFile); err != nil {
		return nil, err
	}
	ledger, err := e.Store.ErasureLedger(ctx)
	if err != nil {
		return nil, err
	}
	requestOf := make(map[string]string, len(ledger))
	for _, l := range ledger {
		requestOf[l.SubjectHash] = l.RequestID
	}
	type todo struct {
		id      uuid.UUID
		request string
		again   bool
	}
	var work []todo
	err = e.Store.Subjects(ctx, func(s callscribe.Subject) error {
		if req, ok := requestOf[e.Hasher.Subject(s.ID)]; ok {
			work = append(work, todo{s.ID, req, true})
		} else if s.ErasureRequest != "" {
			work = append(work, todo{s.ID, s.ErasureRequest, false})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var done []Erasure
	for _, w := range work {
		er, err := e.erase(ctx, w.id, w.request, w.again)
		if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
			continue // erased meanwhile by another process re-applying the same ledger
		}
		if err != nil {
			return done, fmt.Errorf("reapply erasure (request %s): %w", w.request, err)
		}
		done = append(done, er)
	}
	return done, nil
}

func (e *Eraser) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// SubjectHasher computes the ledger's keyed hashes: HMAC-SHA256 under a key kept outside
// the database, so that neither the ledger nor a stolen backup can be matched against a
// list of emails or phone numbers by whoever lacks the key.
type SubjectHasher struct {
	key []byte
}

// MinLedgerKeyBytes is the shortest ledger key accepted.
const MinLedgerKeyBytes = 32

// NewSubjectHasher returns a hasher under key (at least MinLedgerKeyBytes bytes).
func NewSubjectHasher(key []byte) (*SubjectHasher, error) {
	if len(key) < MinLedgerKeyBytes {
		return nil, callscribe.Errorf(callscribe.EINVALID, "the ledger key has %d bytes; it needs at least %d", len(key), MinLedgerKeyBytes)
	}
	return &SubjectHasher{key: append([]byte(nil), key...)}, nil
}

func (h *SubjectHasher) sum(kind, v string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("callscribe-ledger-v1\x00" + kind + "\x00" + v))
	return hex.EncodeToString(m.Sum(nil))
}

// Subject is the keyed hash of a user id: what Reapply matches on (ids never change,
// while a restored backup may hold an email or phone since rectified).
func (h *SubjectHasher) Subject(id uuid.UUID) string { return h.sum("user", id.String()) }

// Email is the keyed hash of an email, trimmed and lower-cased.
func (h *SubjectHasher) Email(email string) string {
	return h.sum("email", strings.ToLower(strings.TrimSpace(email)))
}

// Phone is the keyed hash of a phone number's digits; "" when it has none.
func (h *SubjectHasher) Phone(phone string) string {
	d := NormalizePhone(phone)
	if d == "" {
		return ""
	}
	return h.sum("phone", d)
}

// NormalizePhone keeps a phone number's digits, a leading 8 of a Russian 11-digit number
// read as 7: "+7 (916) 123-45-67" and "89161234567" are one number.
func NormalizePhone(phone string) string {
	var b strings.Builder
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if len(d) == 11 && d[0] == '8' {
		d = "7" + d[1:]
	}
	return d
}

// LedgerFile is the erasure ledger's copy outside the database: one JSON entry per line,
// only ever appended to and synced before the erasure commits. Keep it where a database
// restore does not reach (the data dir, or storage backed up apart from the database):
// after a restore, Reapply reads it and purges the restored subjects again.
type LedgerFile struct {
	Path string
	mu   sync.Mutex
}

// Append adds entry to the file and syncs it.
func (l *LedgerFile) Append(entry callscribe.ErasureEntry) error {
	b, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(l.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open ledger file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("append to ledger file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync ledger file: %w", err)
	}
	return f.Close()
}

// Read returns every entry of the file; a missing file has none.
func (l *LedgerFile) Read() ([]callscribe.ErasureEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.Open(l.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open ledger file: %w", err)
	}
	defer f.Close()
	var out []callscribe.ErasureEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var e callscribe.ErasureEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// A damaged line stops Reapply: skipping it could skip an erasure.
			return nil, callscribe.Wrap(callscribe.EINVALID, err, "ledger file %s: line %d is not a ledger entry", l.Path, line)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ledger file: %w", err)
	}
	return out, nil
}
