package callscribe

import (
	"context"
	"io"
)

// Stage holds a call's staged audio between ingestion and recognition: ciphertext only,
// one object per call. storage/memory and storage/s3 implement it, each asserting so at
// compile time, and storage/stagetest is the conformance suite both pass.
type Stage interface {
	// Name is the stage's name in receipts: "memory", "s3".
	Name() string
	// Put stores r under key; size is r's length when known, -1 otherwise. A key already
	// present is refused (ECONFLICT); a refused, failed or cancelled Put leaves nothing.
	Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error)
	// Open reads the object under key from its start; ENOTFOUND when there is none.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes key (every version of it); deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Exists reports whether anything (any version) is still stored under key.
	Exists(ctx context.Context, key string) (bool, error)
	// ProcessLocal reports whether the objects live in this process only (the memory
	// stage): their encryption keys then stay in process memory and are never recorded,
	// and the objects die with the process.
	ProcessLocal() bool
	// Ready reports whether the stage can take calls now (the readiness probe).
	Ready(ctx context.Context) error
}
