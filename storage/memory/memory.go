// Package memory is the stage of the embedded default: staged audio held in this
// process's memory, never on disk. It stores what it is given — the pipeline hands it
// ciphertext only — and zeroes every buffer it frees, so a deleted call leaves no bytes
// behind for a later allocation to read.
package memory

import (
	"bytes"
	"context"
	"io"
	"sync"

	"callscribe"
)

// chunkSize is the unit of allocation: large enough to keep the slice count low, small
// enough that an upload over the limit is refused after at most one chunk too many.
const chunkSize = 1 << 20

// Stage keeps staged objects in memory.
type Stage struct {
	maxBytes int64

	mu      sync.Mutex
	objects map[string][][]byte
	used    int64
}

// New returns an empty stage that holds at most maxBytes at once (0: no limit).
func New(maxBytes int64) *Stage {
	return &Stage{maxBytes: maxBytes, objects: map[string][][]byte{}}
}

// Name is the stage's name in receipts.
func (s *Stage) Name() string { return "memory" }

// Put stores r's bytes under key; size is only a hint here. A key already present is refused (ECONFLICT); going
// past the stage's limit refuses the object (ETOOLARGE) and frees what was read of it.
func (s *Stage) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	s.mu.Lock()
	if _, ok := s.objects[key]; ok {
		s.mu.Unlock()
		return 0, callscribe.Errorf(callscribe.ECONFLICT, "staged object %s already exists", key)
	}
	s.objects[key] = nil // reserve the key
	s.mu.Unlock()

	var chunks [][]byte
	var n int64
	fail := func(err error) (int64, error) {
		zero(chunks)
		s.mu.Lock()
		delete(s.objects, key)
		s.used -= n
		s.mu.Unlock()
		return 0, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		buf := make([]byte, chunkSize)
		m, err := io.ReadFull(r, buf)
		if m > 0 {
			s.mu.Lock()
			over := s.maxBytes > 0 && s.used+int64(m) > s.maxBytes
			if !over {
				s.used += int64(m)
			}
			s.mu.Unlock()
			if over {
				zero([][]byte{buf})
				return fail(callscribe.Errorf(callscribe.ETOOLARGE, "the memory stage holds at most %d bytes", s.maxBytes))
			}
			n += int64(m)
			chunks = append(chunks, buf[:m])
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return fail(err)
		}
	}
	s.mu.Lock()
	s.objects[key] = chunks
	s.mu.Unlock()
	return n, nil
}

// Open returns a reader of the object stored under key; ENOTFOUND if there is none.
// The reader stays valid until Delete.
func (s *Stage) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	chunks, ok := s.objects[key]
	if !ok {
		return nil, callscribe.Errorf(callscribe.ENOTFOUND, "no staged object %s", key)
	}
	readers := make([]io.Reader, len(chunks))
	for i, c := range chunks {
		readers[i] = bytes.NewReader(c)
	}
	return io.NopCloser(io.MultiReader(readers...)), nil
}

// Delete zeroes and frees the object stored under key. Deleting a missing key is not an
// error: deletion is retried and must be idempotent. Confirm with Exists.
func (s *Stage) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	chunks := s.objects[key]
	delete(s.objects, key)
	for _, c := range chunks {
		s.used -= int64(len(c))
	}
	s.mu.Unlock()
	zero(chunks)
	return nil
}

// Exists reports whether anything is stored under key.
func (s *Stage) Exists(ctx context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.objects[key]
	return ok, nil
}

// Keys lists the keys held now, for the sweeper and for tests.
func (s *Stage) Keys(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.objects))
	for k := range s.objects {
		keys = append(keys, k)
	}
	return keys, nil
}

// Bytes is the number of bytes held now.
func (s *Stage) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

func zero(chunks [][]byte) {
	for _, c := range chunks {
		clear(c[:cap(c)])
	}
}
