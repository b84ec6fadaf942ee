// Package stagetest is the conformance suite every stage (memory, object store) passes:
// what is put can be read back whole, deletion is idempotent and confirmed by Exists,
// and a refused or cancelled upload leaves nothing behind.
package stagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"callscribe"
)

// Run runs the suite against stages made by newStage (the contract is callscribe.Stage);
// each subtest gets a fresh one.
func Run(t *testing.T, newStage func(t *testing.T) callscribe.Stage) {
	ctx := context.Background()

	t.Run("Ready", func(t *testing.T) {
		s := newStage(t)
		if err := s.Ready(ctx); err != nil {
			t.Errorf("Ready() of a working stage = %v, want nil", err)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStage(t)
		if s.Name() == "" {
			t.Error("Name() is empty; receipts need it")
		}
		for _, size := range []int{1, 4096, 3<<20 + 17} {
			want := random(t, size)
			key := "calls/roundtrip-" + string(rune('a'+size%26))
			n, err := s.Put(ctx, key, bytes.NewReader(want), int64(size))
			if err != nil {
				t.Fatalf("Put(%d bytes): %v", size, err)
			}
			if n != int64(size) {
				t.Errorf("Put(%d bytes) = %d", size, n)
			}
			got := read(t, s, key)
			if !bytes.Equal(got, want) {
				t.Errorf("Open after Put(%d bytes): got %d bytes, not the ones put", size, len(got))
			}
			mustDelete(t, s, key)
		}
	})

	t.Run("UnknownSize", func(t *testing.T) {
		s := newStage(t)
		want := random(t, 100_000)
		if _, err := s.Put(ctx, "calls/unknown-size", bytes.NewReader(want), -1); err != nil {
			t.Fatalf("Put(size -1): %v", err)
		}
		if got := read(t, s, "calls/unknown-size"); !bytes.Equal(got, want) {
			t.Errorf("got %d bytes back, want the %d put", len(got), len(want))
		}
		mustDelete(t, s, "calls/unknown-size")
	})

	t.Run("DeleteIsConfirmedAndIdempotent", func(t *testing.T) {
		s := newStage(t)
		key := "calls/delete-me"
		if _, err := s.Put(ctx, key, bytes.NewReader(random(t, 1000)), 1000); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Exists(ctx, key); err != nil || !ok {
			t.Fatalf("Exists before Delete = %v, %v; want true, nil", ok, err)
		}
		mustDelete(t, s, key)
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("second Delete: %v; want nil (deletion is retried)", err)
		}
		if _, err := s.Open(ctx, key); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
			t.Errorf("Open after Delete: err = %v, want code %s", err, callscribe.ENOTFOUND)
		}
		if err := s.Delete(ctx, "calls/never-existed"); err != nil {
			t.Errorf("Delete of a key never put: %v", err)
		}
	})

	t.Run("DuplicateKeyRefused", func(t *testing.T) {
		s := newStage(t)
		key := "calls/twice"
		if _, err := s.Put(ctx, key, bytes.NewReader([]byte("first")), 5); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, key, bytes.NewReader([]byte("second")), 6); err == nil {
			t.Error("second Put under the same key succeeded; want an error")
		}
		if got := read(t, s, key); string(got) != "first" {
			t.Errorf("after a refused Put the object reads %q, want %q", got, "first")
		}
		mustDelete(t, s, key)
	})

	t.Run("FailedUploadLeavesNothing", func(t *testing.T) {
		s := newStage(t)
		key := "calls/broken-upload"
		broken := io.MultiReader(bytes.NewReader(random(t, 2<<20)), errReader{})
		if _, err := s.Put(ctx, key, broken, -1); err == nil {
			t.Fatal("Put of a failing reader succeeded")
		}
		if ok, err := s.Exists(ctx, key); err != nil || ok {
			t.Errorf("Exists after a failed Put = %v, %v; want false, nil", ok, err)
		}
	})
}

var errBroken = errors.New("connection reset")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func read(t *testing.T, s callscribe.Stage, key string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func mustDelete(t *testing.T, s callscribe.Stage, key string) {
	t.Helper()
	ctx := context.Background()
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete(%s): %v", key, err)
	}
	if ok, err := s.Exists(ctx, key); err != nil || ok {
		t.Fatalf("Exists after Delete(%s) = %v, %v; want false, nil", key, ok, err)
	}
}
