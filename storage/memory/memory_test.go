package memory

import (
	"bytes"
	"context"
	"testing"

	"callscribe"
	"callscribe/storage/stagetest"
)

var _ stagetest.Stage = (*Stage)(nil)

func TestConformance(t *testing.T) {
	stagetest.Run(t, func(t *testing.T) stagetest.Stage { return New(0) })
}

func TestLimit(t *testing.T) {
	s := New(2 << 20)
	ctx := context.Background()
	_, err := s.Put(ctx, "big", bytes.NewReader(make([]byte, 3<<20)), -1)
	if got := callscribe.ErrorCode(err); got != callscribe.ETOOLARGE {
		t.Fatalf("Put over the limit: code %q (%v), want %q", got, err, callscribe.ETOOLARGE)
	}
	if got := s.Bytes(); got != 0 {
		t.Errorf("bytes held after a refused Put = %d, want 0", got)
	}
	if _, err := s.Put(ctx, "fits", bytes.NewReader(make([]byte, 1<<20)), -1); err != nil {
		t.Errorf("Put under the limit after a refusal: %v", err)
	}
}

// TestDeleteZeroes checks that deletion overwrites the bytes it frees, so no later
// allocation can read a deleted call's (encrypted) audio.
func TestDeleteZeroes(t *testing.T) {
	s := New(0)
	ctx := context.Background()
	if _, err := s.Put(ctx, "k", bytes.NewReader(bytes.Repeat([]byte{0xAB}, 5000)), -1); err != nil {
		t.Fatal(err)
	}
	chunks := s.objects["k"]
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		if i := bytes.IndexFunc(c[:cap(c)], func(r rune) bool { return r != 0 }); i >= 0 {
			t.Fatalf("byte %d of a deleted object is not zero", i)
		}
	}
}
