package memory

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/storage/stagetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	stagetest.Run(t, func(t *testing.T) callscribe.Stage { return New(0) })
}

func TestLimit(t *testing.T) {
	t.Parallel()
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
	// One that would fit alone but not beside what is held: the stage is busy, not the
	// object too large; what it staged is freed, what was held is kept.
	_, err = s.Put(ctx, "later", bytes.NewReader(make([]byte, 3<<19)), -1)
	if got := callscribe.ErrorCode(err); got != callscribe.EUNAVAILABLE {
		t.Errorf("Put that fits alone but not now: code %q (%v), want %q", got, err, callscribe.EUNAVAILABLE)
	}
	if got := s.Bytes(); got != 1<<20 {
		t.Errorf("bytes held after the busy refusal = %d, want the %d of the object kept", got, 1<<20)
	}
	if err := s.Delete(ctx, "fits"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "later", bytes.NewReader(make([]byte, 3<<19)), -1); err != nil {
		t.Errorf("the same Put once the stage emptied: %v", err)
	}
}

// TestDeleteZeroes checks that deletion overwrites the bytes it frees, so no later
// allocation can read a deleted call's (encrypted) audio.
func TestDeleteZeroes(t *testing.T) {
	t.Parallel()
	s := New(0)
	ctx := context.Background()
	if _, err := s.Put(ctx, "k", bytes.NewReader(bytes.Repeat([]byte{0xAB}, 5000)), -1); err != nil {
		t.Fatal(err)
	}
	chunks := append([][]byte(nil), s.objects["k"].chunks...)
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		if i := bytes.IndexFunc(c[:cap(c)], func(r rune) bool { return r != 0 }); i >= 0 {
			t.Fatalf("byte %d of a deleted object is not zero", i)
		}
	}
}

// TestStreamThroughSealed: an object read while it is written, with the stage sealed,
// never holds much more than the readers lag behind — memory does not grow with the
// object's length — and every reader still gets every byte.
func TestStreamThroughSealed(t *testing.T) {
	t.Parallel()
	s := New(0)
	ctx := context.Background()
	src, w := io.Pipe()
	wait, err := s.Start(ctx, "call", src)
	if err != nil {
		t.Fatal(err)
	}
	readers := make([]io.ReadCloser, 2)
	for i := range readers {
		if readers[i], err = s.Open(ctx, "call"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Seal(ctx, "call"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, "call"); callscribe.ErrorCode(err) != callscribe.ECONFLICT {
		t.Errorf("Open after Seal: %v, want ECONFLICT", err)
	}
	const total = 40 << 20
	go func() {
		block := bytes.Repeat([]byte{7}, 64<<10)
		for i := 0; i < total/len(block); i++ {
			w.Write(block)
		}
		w.Close()
	}()
	var peak int64
	got := make([]int64, len(readers))
	done := make(chan int)
	for i, r := range readers {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := r.Read(buf)
				got[i] += int64(n)
				if err != nil {
					break
				}
			}
			r.Close()
			done <- i
		}()
	}
	for range readers {
		for waiting := true; waiting; {
			select {
			case <-done:
				waiting = false
			case <-time.After(time.Millisecond):
				peak = max(peak, s.Bytes())
			}
		}
	}
	if n, err := wait(); err != nil || n != total {
		t.Fatalf("upload = %d, %v; want %d", n, err, total)
	}
	for i, n := range got {
		if n != total {
			t.Errorf("reader %d got %d bytes, want %d", i, n, total)
		}
	}
	if peak > total/4 {
		t.Errorf("stage held up to %d bytes of a %d-byte stream read as it came", peak, total)
	}
	if b := s.Bytes(); b != 0 {
		t.Errorf("%d bytes held after every reader finished", b)
	}
	if ok, _ := s.Exists(ctx, "call"); !ok {
		t.Error("a sealed, fully read object must exist until Delete")
	}
	s.Delete(ctx, "call")
}

// TestDeleteWakesWaitingReader: a reader waiting for an upload that is deleted ends with
// an error instead of waiting forever.
func TestDeleteWakesWaitingReader(t *testing.T) {
	t.Parallel()
	s := New(0)
	ctx := context.Background()
	src, w := io.Pipe()
	defer w.Close()
	if _, err := s.Start(ctx, "call", src); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, "call")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := r.Read(make([]byte, 10)); errc <- err }()
	// Delete once the reader waits (its goroutine is parked on the stage's condition):
	// were Delete first, Read would fail all the same and prove nothing.
	eventually.True(t, 5*time.Second, "reader waiting for the upload", func() bool {
		buf := make([]byte, 1<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "sync.(*Cond).Wait") && strings.Contains(g, "TestDeleteWakesWaitingReader.func") {
				return true
			}
		}
		return false
	})
	s.Delete(ctx, "call")
	select {
	case err := <-errc:
		if err == nil {
			t.Error("Read after Delete returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reader still waiting 5 s after Delete")
	}
}

// TestReleaseZeroes: chunks freed because every reader passed them are overwritten, as
// deleted ones are.
func TestReleaseZeroes(t *testing.T) {
	t.Parallel()
	s := New(0)
	ctx := context.Background()
	wait, err := s.Start(ctx, "k", bytes.NewReader(bytes.Repeat([]byte{0xCD}, 3<<20)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wait(); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	chunks := append([][]byte(nil), s.objects["k"].chunks...)
	s.mu.Unlock()
	if err := s.Seal(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if got := s.Bytes(); got != 0 {
		t.Errorf("%d bytes held after the only reader read everything", got)
	}
	for i, c := range chunks {
		if j := bytes.IndexFunc(c[:cap(c)], func(r rune) bool { return r != 0 }); j >= 0 {
			t.Fatalf("byte %d of released chunk %d is not zero", j, i)
		}
	}
}

// TestStartHoldsForFirstReader: a streamed object (Start) is not copied more than a few
// chunks ahead before its first reader opens, however late that is, and the copy goes on
// once a reader opens or the object is sealed. Put, for objects read later, holds the
// whole object without any reader.
func TestStartHoldsForFirstReader(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const total = 40 << 20
	held := func(s *Stage) int64 { // the most the copy holds over 300 ms (40 MiB take ~20)
		var most int64
		for range 15 {
			time.Sleep(20 * time.Millisecond)
			most = max(most, s.Bytes())
		}
		return most
	}
	for _, tt := range []struct {
		name string
		go_  func(s *Stage) io.ReadCloser // lets the copy go on; a reader to drain, or nil
	}{
		{"until a reader opens", func(s *Stage) io.ReadCloser {
			r, err := s.Open(ctx, "call")
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"until it is sealed", func(s *Stage) io.ReadCloser {
			if err := s.Seal(ctx, "call"); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := New(0)
			wait, err := s.Start(ctx, "call", bytes.NewReader(make([]byte, total)))
			if err != nil {
				t.Fatal(err)
			}
			if b := held(s); b > aheadChunks*chunkSize {
				t.Errorf("with no reader yet the stage holds %d bytes, want at most %d", b, aheadChunks*chunkSize)
			}
			var got int64
			if r := tt.go_(s); r != nil {
				got, _ = io.Copy(io.Discard, r)
				r.Close()
			}
			if n, err := wait(); err != nil || n != total {
				t.Fatalf("upload = %d, %v; want %d", n, err, total)
			}
			if tt.name == "until a reader opens" && got != total {
				t.Errorf("the reader got %d bytes, want %d", got, total)
			}
			s.Delete(ctx, "call")
		})
	}
	s := New(0)
	if n, err := s.Put(ctx, "queued", bytes.NewReader(make([]byte, total)), total); err != nil || n != total {
		t.Fatalf("Put with no reader = %d, %v; want the whole %d bytes", n, err, total)
	}
}
