// Package memory is the stage of the embedded default: staged audio held in this
// process's memory, never on disk. It stores what it is given — the pipeline hands it
// ciphertext only — and zeroes every buffer it frees, so a deleted call leaves no bytes
// behind for a later allocation to read.
//
// An object can be read while it is still being written (Start), and once sealed its
// chunks are freed as soon as every open reader has passed them: a call transcribed in
// this process streams through the stage and its memory does not grow with its length.
package memory

import (
	"context"
	"errors"
	"io"
	"sync"

	"callscribe"
)

// chunkSize is the unit of allocation: large enough to keep the slice count low, small
// enough that an upload over the limit is refused after at most one chunk too many.
const chunkSize = 1 << 20

// aheadChunks is how far an upload may run ahead of the slowest open reader before it
// waits for it: what bounds the memory of a call read while it is staged.
const aheadChunks = 4

var _ callscribe.Stage = (*Stage)(nil)

// Stage keeps staged objects in memory.
type Stage struct {
	maxBytes int64

	mu      sync.Mutex
	changed *sync.Cond // an object grew, ended, was released or deleted
	objects map[string]*object
	used    int64
}

type object struct {
	chunks  [][]byte // in order; nil once released
	done    bool     // the upload finished: no more chunks
	err     error    // the upload failed or the object was deleted: readers get it
	sealed  bool     // no new readers; chunks every reader passed are released
	readers map[*reader]bool
	// hold: the object is streamed (Start), so until its first reader opens or it is
	// sealed, the upload may not run more than aheadChunks ahead of that reader's start.
	hold bool
}

// New returns an empty stage that holds at most maxBytes at once (0: no limit).
func New(maxBytes int64) *Stage {
	s := &Stage{maxBytes: maxBytes, objects: map[string]*object{}}
	s.changed = sync.NewCond(&s.mu)
	return s
}

// Name is the stage's name in receipts.
func (s *Stage) Name() string { return "memory" }

var errDeleted = callscribe.Errorf(callscribe.ENOTFOUND, "the staged object was deleted")

// Put stores r's bytes under key; size is only a hint here. A key already present is
// refused (ECONFLICT); going past the stage's limit refuses the object and frees what was
// read of it: ETOOLARGE if the object alone is over the limit, EUNAVAILABLE if the other
// objects held leave no room for it now.
func (s *Stage) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	wait, err := s.start(ctx, key, r, false) // read later, by a worker: held whole
	if err != nil {
		return 0, err
	}
	return wait()
}

// Start creates the object under key at once, readable by Open from then on, and copies
// r into it in the background; wait returns when the copy ends, with Put's results.
//
// The object is meant to be read as it comes: the copy runs at most a few chunks ahead of
// the slowest open reader and, until the first reader opens, ahead of the start. So the
// caller must Open a reader or Seal the object before it waits for the copy to end.
func (s *Stage) Start(ctx context.Context, key string, r io.Reader) (wait func() (int64, error), err error) {
	return s.start(ctx, key, r, true)
}

func (s *Stage) start(ctx context.Context, key string, r io.Reader, hold bool) (wait func() (int64, error), err error) {
	s.mu.Lock()
	if _, ok := s.objects[key]; ok {
		s.mu.Unlock()
		return nil, callscribe.Errorf(callscribe.ECONFLICT, "staged object %s already exists", key)
	}
	obj := &object{readers: map[*reader]bool{}, hold: hold}
	s.objects[key] = obj
	s.mu.Unlock()

	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := s.fill(ctx, key, obj, r)
		done <- result{n, err}
	}()
	return func() (int64, error) {
		res := <-done
		done <- res // wait may be called again
		return res.n, res.err
	}, nil
}

func (s *Stage) fill(ctx context.Context, key string, obj *object, r io.Reader) (int64, error) {
	var n int64
	fail := func(err error) (int64, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if obj.err == nil {
			obj.err = err
		}
		s.free(obj)
		if s.objects[key] == obj {
			delete(s.objects, key)
		}
		s.changed.Broadcast()
		return 0, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		s.mu.Lock()
		for obj.err == nil && runAhead(obj) >= aheadChunks {
			s.changed.Wait()
		}
		s.mu.Unlock()
		buf := make([]byte, chunkSize)
		m, err := io.ReadFull(r, buf)
		if m > 0 {
			s.mu.Lock()
			if obj.err != nil { // deleted meanwhile
				s.mu.Unlock()
				clear(buf)
				return fail(obj.err)
			}
			if s.maxBytes > 0 && s.used+int64(m) > s.maxBytes {
				s.mu.Unlock()
				clear(buf)
				if n+int64(m) > s.maxBytes { // this object alone would never fit
					return fail(callscribe.Errorf(callscribe.ETOOLARGE, "the memory stage holds at most %d bytes", s.maxBytes))
				}
				// Other calls fill the stage: this one fits once they have gone.
				return fail(callscribe.Errorf(callscribe.EUNAVAILABLE, "the memory stage is full with other calls (at most %d bytes); try again later", s.maxBytes))
			}
			s.used += int64(m)
			n += int64(m)
			obj.chunks = append(obj.chunks, buf[:m])
			s.release(obj)
			s.changed.Broadcast()
			s.mu.Unlock()
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return fail(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if obj.err != nil {
		return 0, obj.err
	}
	obj.done = true
	s.changed.Broadcast()
	return n, nil
}

// Open returns a reader of the object under key from its start; ENOTFOUND if there is
// none, ECONFLICT once it is sealed. While the object is still being written, Read waits
// for more. The reader stays valid until Delete.
func (s *Stage) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.objects[key]
	if !ok {
		return nil, callscribe.Errorf(callscribe.ENOTFOUND, "no staged object %s", key)
	}
	if obj.sealed {
		return nil, callscribe.Errorf(callscribe.ECONFLICT, "staged object %s is sealed: its start is gone", key)
	}
	r := &reader{s: s, obj: obj}
	obj.readers[r] = true
	obj.hold = false // from now on the readers bound the upload
	return r, nil
}

// Seal says no reader will be opened on key again: from now on the chunks that every
// open reader has passed are zeroed and freed, and chunks that arrive with no reader
// left are freed at once. The object exists (Exists) until Delete.
func (s *Stage) Seal(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.objects[key]
	if !ok {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no staged object %s", key)
	}
	obj.sealed, obj.hold = true, false
	s.release(obj)
	s.changed.Broadcast() // an upload held for a first reader goes on
	return nil
}

// release frees the chunks of a sealed object that no open reader still needs.
// Callers hold s.mu.
func (s *Stage) release(obj *object) {
	if !obj.sealed {
		return
	}
	for i := range slowest(obj) {
		if c := obj.chunks[i]; c != nil {
			s.used -= int64(len(c))
			clear(c[:cap(c)])
			obj.chunks[i] = nil
		}
	}
}

// runAhead is how many chunks the upload of obj is ahead of what bounds it: the slowest
// open reader, or the start while obj is held for its first reader; 0 when nothing bounds
// it. Callers hold s.mu.
func runAhead(obj *object) int {
	switch {
	case obj.hold:
		return len(obj.chunks)
	case len(obj.readers) > 0:
		return len(obj.chunks) - slowest(obj)
	}
	return 0
}

// slowest is the chunk the slowest open reader of obj is on (all chunks when none is
// open). Callers hold s.mu.
func slowest(obj *object) int {
	upto := len(obj.chunks)
	for r := range obj.readers {
		upto = min(upto, r.idx)
	}
	return upto
}

// free zeroes and frees every chunk of obj. Callers hold s.mu.
func (s *Stage) free(obj *object) {
	for i, c := range obj.chunks {
		if c != nil {
			s.used -= int64(len(c))
			clear(c[:cap(c)])
			obj.chunks[i] = nil
		}
	}
}

// Delete zeroes and frees the object stored under key; readers still open get an
// error. Deleting a missing key is not an error: deletion is retried and must be
// idempotent. Confirm with Exists.
func (s *Stage) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.objects[key]
	if !ok {
		return nil
	}
	delete(s.objects, key)
	if obj.err == nil {
		obj.err = errDeleted
	}
	s.free(obj)
	s.changed.Broadcast()
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

// reader reads one object from its start.
type reader struct {
	s      *Stage
	obj    *object
	idx    int // chunk being read
	off    int // offset in it
	closed bool
}

func (r *reader) Read(p []byte) (int, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		switch {
		case r.closed:
			return 0, io.ErrClosedPipe
		case r.obj.err != nil:
			return 0, r.obj.err
		case r.idx < len(r.obj.chunks):
			c := r.obj.chunks[r.idx]
			if c == nil {
				return 0, errors.New("memory stage: chunk released before it was read")
			}
			n := copy(p, c[r.off:])
			r.off += n
			if r.off == len(c) {
				r.idx, r.off = r.idx+1, 0
				s.release(r.obj)
				s.changed.Broadcast() // an upload may be waiting for the slowest reader
			}
			return n, nil
		case r.obj.done:
			return 0, io.EOF
		}
		s.changed.Wait()
	}
}

// Close ends the reader; a sealed object frees what no other reader still needs.
func (r *reader) Close() error {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !r.closed {
		r.closed = true
		delete(r.obj.readers, r)
		s.release(r.obj)
		s.changed.Broadcast()
	}
	return nil
}

// ProcessLocal reports that objects live in this process only: the pipeline keeps their
// encryption keys in memory and never records them.
func (s *Stage) ProcessLocal() bool { return true }

// Ready reports whether the stage can take uploads: memory is always there, so only a
// cancelled or expired ctx makes it not ready.
func (s *Stage) Ready(ctx context.Context) error { return ctx.Err() }
