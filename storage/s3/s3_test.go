package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"

	"callscribe"
	"callscribe/storage/s3"
	"callscribe/storage/s3test"
	"callscribe/storage/stagetest"
)

// TestConformance runs the stage suite against a real MinIO bucket.
func TestConformance(t *testing.T) {
	t.Parallel()
	stagetest.Run(t, func(t *testing.T) callscribe.Stage {
		st, _ := s3test.Stage(t)
		return st
	})
}

func random(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func readAll(t *testing.T, st *s3.Stage, key string) []byte {
	t.Helper()
	r, err := st.Open(context.Background(), key)
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

// uploads lists the unfinished uploads of key behind the stage's back.
func uploads(t *testing.T, b s3test.Bucket, key string) int {
	t.Helper()
	res, err := minio.Core{Client: b.Client}.ListMultipartUploads(context.Background(), b.Options.Bucket, key, "", "", "", 1000)
	if err != nil {
		t.Fatalf("list uploads: %v", err)
	}
	return len(res.Uploads)
}

// assertGone checks, behind the stage's back, that nothing at all is stored under key.
func assertGone(t *testing.T, st *s3.Stage, b s3test.Bucket, key string) {
	t.Helper()
	if ok, err := st.Exists(context.Background(), key); err != nil || ok {
		t.Errorf("Exists(%s) = %v, %v; want false, nil", key, ok, err)
	}
	for _, v := range s3test.Versions(t, b.Client, b.Options.Bucket) {
		if v.Key == key {
			t.Errorf("version %s (delete marker %v) of %s is still listed", v.VersionID, v.IsDeleteMarker, key)
		}
	}
	if n := uploads(t, b, key); n != 0 {
		t.Errorf("%d unfinished uploads of %s left", n, key)
	}
}

// TestMultipart: an input of unknown size larger than a part goes up in parts and reads
// back whole; so does one of known size.
func TestMultipart(t *testing.T) {
	t.Parallel()
	st, b := s3test.Stage(t)
	ctx := context.Background()
	want := random(t, 2*s3.PartSize+12345)
	for _, size := range []int64{-1, int64(len(want))} {
		key := "calls/multipart"
		n, err := st.Put(ctx, key, bytes.NewReader(want), size)
		if err != nil || n != int64(len(want)) {
			t.Fatalf("Put(size %d) = %d, %v; want %d", size, n, err, len(want))
		}
		if got := readAll(t, st, key); !bytes.Equal(got, want) {
			t.Errorf("size %d: read back %d bytes, not the ones put", size, len(got))
		}
		if err := st.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		assertGone(t, st, b, key)
	}
}

// TestDuplicateMultipartRefused: the conditional write also holds for an upload in parts,
// and the refused upload leaves no parts behind.
func TestDuplicateMultipartRefused(t *testing.T) {
	t.Parallel()
	st, b := s3test.Stage(t)
	ctx := context.Background()
	key := "calls/twice-big"
	first := random(t, 1000)
	if _, err := st.Put(ctx, key, bytes.NewReader(first), -1); err != nil {
		t.Fatal(err)
	}
	_, err := st.Put(ctx, key, bytes.NewReader(random(t, s3.PartSize+1)), -1)
	if got := callscribe.ErrorCode(err); got != callscribe.ECONFLICT {
		t.Fatalf("second Put in parts: code %q (%v), want %q", got, err, callscribe.ECONFLICT)
	}
	if got := readAll(t, st, key); !bytes.Equal(got, first) {
		t.Errorf("the first object was changed by a refused Put")
	}
	if n := uploads(t, b, key); n != 0 {
		t.Errorf("%d unfinished uploads after a refused Put", n)
	}
}

// cancelAfter cancels ctx once n bytes have been read, then keeps serving bytes.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	m, err := c.r.Read(p)
	c.n -= m
	if c.n <= 0 {
		c.cancel()
	}
	return m, err
}

// TestRefusedUploadsLeaveNothing: a cancelled upload, an input shorter or longer than
// its stated size — each is refused and leaves no object, version or part.
func TestRefusedUploadsLeaveNothing(t *testing.T) {
	t.Parallel()
	st, b := s3test.Stage(t)
	data := random(t, 3*s3.PartSize)
	tests := []struct {
		name string
		put  func(ctx context.Context, cancel func()) error
		code string // "" for any error
	}{
		{"cancelled in parts", func(ctx context.Context, cancel func()) error {
			_, err := st.Put(ctx, "calls/k", &cancelAfter{r: bytes.NewReader(data), n: 2 * s3.PartSize, cancel: cancel}, -1)
			return err
		}, ""},
		{"cancelled single put", func(ctx context.Context, cancel func()) error {
			_, err := st.Put(ctx, "calls/k", &cancelAfter{r: bytes.NewReader(data), n: s3.PartSize, cancel: cancel}, int64(len(data)))
			return err
		}, ""},
		{"shorter than stated", func(ctx context.Context, _ func()) error {
			_, err := st.Put(ctx, "calls/k", bytes.NewReader(data[:1000]), 2000)
			return err
		}, callscribe.EINVALID},
		{"longer than stated", func(ctx context.Context, _ func()) error {
			_, err := st.Put(ctx, "calls/k", bytes.NewReader(data[:2000]), 1000)
			return err
		}, callscribe.EINVALID},
		{"shorter than stated in parts", func(ctx context.Context, _ func()) error {
			_, err := st.Put(ctx, "calls/k", bytes.NewReader(data[:2*s3.PartSize]), 6<<30)
			return err
		}, callscribe.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := tt.put(ctx, cancel)
			if err == nil {
				t.Fatal("Put succeeded; want an error")
			}
			if tt.code != "" && callscribe.ErrorCode(err) != tt.code {
				t.Errorf("code %q (%v), want %q", callscribe.ErrorCode(err), err, tt.code)
			}
			assertGone(t, st, b, "calls/k")
		})
	}
}

// TestVersionedBucket: EnsureBucket warns about versioning, and deletion still removes
// every version and delete marker, where a plain delete would only have hidden them.
func TestVersionedBucket(t *testing.T) {
	t.Parallel()
	b := s3test.NewBucket(t, minio.MakeBucketOptions{})
	ctx := context.Background()
	if err := b.Client.EnableVersioning(ctx, b.Options.Bucket); err != nil {
		t.Fatal(err)
	}
	st, err := s3.New(b.Options)
	if err != nil {
		t.Fatal(err)
	}
	warnings, err := st.EnsureBucket(ctx, 24*time.Hour)
	if err != nil {
		t.Fatalf("EnsureBucket on a versioned bucket: %v", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "versioning") {
		t.Errorf("warnings = %q, want one about versioning", warnings)
	}
	key := "calls/versioned"
	if _, err := st.Put(ctx, key, bytes.NewReader(random(t, 1000)), 1000); err != nil {
		t.Fatal(err)
	}
	// Behind the stage's back: a second version, then a plain delete (a delete marker).
	if _, err := b.Client.PutObject(ctx, b.Options.Bucket, key, bytes.NewReader([]byte("v2")), 2, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Client.RemoveObject(ctx, b.Options.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := len(s3test.Versions(t, b.Client, b.Options.Bucket)); n != 3 {
		t.Fatalf("%d versions listed, want 3 (two objects and a delete marker)", n)
	}
	// The stat alone says the key is gone; Exists must not be fooled.
	if ok, err := st.Exists(ctx, key); err != nil || !ok {
		t.Fatalf("Exists with only noncurrent versions left = %v, %v; want true", ok, err)
	}
	if err := st.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	assertGone(t, st, b, key)
	if v := s3test.Versions(t, b.Client, b.Options.Bucket); len(v) != 0 {
		t.Errorf("%d versions left in the bucket after Delete", len(v))
	}
}

func TestObjectLockedBucketRefused(t *testing.T) {
	t.Parallel()
	b := s3test.NewBucket(t, minio.MakeBucketOptions{ObjectLocking: true})
	st, err := s3.New(b.Options)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.EnsureBucket(context.Background(), time.Hour)
	if callscribe.ErrorCode(err) != callscribe.EINVALID || !strings.Contains(err.Error(), "object lock") || !strings.Contains(err.Error(), b.Options.Bucket) {
		t.Errorf("EnsureBucket on an object-locked bucket: %v; want EINVALID naming the bucket and object lock", err)
	}
}

// TestEnsureBucket: a missing bucket is created with the lifecycle backstop; running it
// again changes nothing, and a rule of someone else's is kept.
func TestEnsureBucket(t *testing.T) {
	t.Parallel()
	o := s3test.Env(t)
	client := s3test.NewClient(t, o)
	ctx := context.Background()
	st, err := s3.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if w, err := st.EnsureBucket(ctx, 25*time.Hour); err != nil || len(w) != 0 {
		t.Fatalf("EnsureBucket on a missing bucket = %q, %v; want no warnings, nil", w, err)
	}
	if ok, err := client.BucketExists(ctx, o.Bucket); err != nil || !ok {
		t.Fatalf("bucket not created: %v, %v", ok, err)
	}
	cfg, err := client.GetBucketLifecycle(ctx, o.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Rules = append(cfg.Rules, lifecycle.Rule{ID: "theirs", Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: "other/"},
		Expiration: lifecycle.Expiration{Days: 30}})
	if err := client.SetBucketLifecycle(ctx, o.Bucket, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureBucket(ctx, 25*time.Hour); err != nil {
		t.Fatalf("second EnsureBucket: %v", err)
	}
	cfg, err = client.GetBucketLifecycle(ctx, o.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]lifecycle.Rule{}
	for _, r := range cfg.Rules {
		if _, dup := rules[r.ID]; dup {
			t.Errorf("rule %s twice", r.ID)
		}
		rules[r.ID] = r
	}
	if len(rules) != 3 {
		t.Errorf("%d rules, want ours (2) and theirs: %+v", len(rules), cfg.Rules)
	}
	var expire, markers bool
	for _, r := range cfg.Rules {
		switch {
		case r.ID == "theirs":
		case r.Expiration.Days == 2 && r.NoncurrentVersionExpiration.NoncurrentDays == 1 && r.Status == "Enabled":
			expire = true // 25 h rounds up to 2 days
		case bool(r.Expiration.DeleteMarker) && r.Status == "Enabled":
			markers = true
		}
	}
	if !expire || !markers {
		t.Errorf("lifecycle rules %+v: want objects expiring after 2 days with noncurrent versions after 1, and expired delete markers removed", cfg.Rules)
	}
}

func TestLifecycleDays(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		ttl  time.Duration
		want int
	}{{time.Minute, 1}, {24 * time.Hour, 1}, {24*time.Hour + time.Second, 2}, {72 * time.Hour, 3}} {
		if got := s3.LifecycleDays(tt.ttl); got != tt.want {
			t.Errorf("LifecycleDays(%s) = %d, want %d", tt.ttl, got, tt.want)
		}
	}
}

// TestIncompleteUploads: an unfinished upload counts as something stored under its key,
// Delete aborts it, and ClearIncomplete aborts those older than asked.
func TestIncompleteUploads(t *testing.T) {
	t.Parallel()
	st, b := s3test.Stage(t)
	ctx := context.Background()
	core := minio.Core{Client: b.Client}
	start := func(key string) {
		t.Helper()
		id, err := core.NewMultipartUpload(ctx, b.Options.Bucket, key, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := core.PutObjectPart(ctx, b.Options.Bucket, key, id, 1, bytes.NewReader(random(t, 1000)), 1000, minio.PutObjectPartOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	start("calls/half")
	if ok, err := st.Exists(ctx, "calls/half"); err != nil || !ok {
		t.Errorf("Exists with an unfinished upload = %v, %v; want true", ok, err)
	}
	if err := st.Delete(ctx, "calls/half"); err != nil {
		t.Fatal(err)
	}
	assertGone(t, st, b, "calls/half")

	start("calls/a")
	start("calls/b")
	if n, err := st.ClearIncomplete(ctx, time.Hour); err != nil || n != 0 {
		t.Errorf("ClearIncomplete(1h) of fresh uploads = %d, %v; want 0 (they are in progress)", n, err)
	}
	later, err := s3.New(func() s3.Options {
		o := b.Options
		o.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		return o
	}())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := later.ClearIncomplete(ctx, time.Hour); err != nil || n != 2 {
		t.Errorf("ClearIncomplete(1h) two hours later = %d, %v; want 2", n, err)
	}
	for _, k := range []string{"calls/a", "calls/b"} {
		if n := uploads(t, b, k); n != 0 {
			t.Errorf("%d unfinished uploads of %s after ClearIncomplete", n, k)
		}
	}
}

// TestStoppedDuringDeletion: with the store down, Delete and Exists fail as unavailable
// (never report success); once it is back, deletion completes and is confirmed.
func TestStoppedDuringDeletion(t *testing.T) {
	t.Parallel()
	srv := s3test.StartServer(t)
	st, err := s3.New(srv.Options)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.EnsureBucket(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	key := "calls/interrupted"
	if _, err := st.Put(ctx, key, bytes.NewReader(random(t, 5000)), 5000); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := st.Delete(ctx, key); callscribe.ErrorCode(err) != callscribe.EUNAVAILABLE {
		t.Errorf("Delete with the store stopped: %v (code %q); want %s", err, callscribe.ErrorCode(err), callscribe.EUNAVAILABLE)
	}
	if ok, err := st.Exists(ctx, key); callscribe.ErrorCode(err) != callscribe.EUNAVAILABLE {
		t.Errorf("Exists with the store stopped = %v, %v; want an %s error", ok, err, callscribe.EUNAVAILABLE)
	}
	srv.Start()
	if ok, err := st.Exists(ctx, key); err != nil || !ok {
		t.Fatalf("after restart Exists = %v, %v; want the object still there", ok, err)
	}
	if err := st.Delete(ctx, key); err != nil {
		t.Fatalf("Delete after restart: %v", err)
	}
	if ok, err := st.Exists(ctx, key); err != nil || ok {
		t.Errorf("Exists after Delete = %v, %v; want false, nil", ok, err)
	}
}

// TestOpenMissing: Open of a key never put is ENOTFOUND, not a stream that fails later.
func TestOpenMissing(t *testing.T) {
	t.Parallel()
	st, _ := s3test.Stage(t)
	_, err := st.Open(context.Background(), "calls/none")
	if callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("Open of a missing key: %v, want %s", err, callscribe.ENOTFOUND)
	}
}

// endless is an input of n zero-cost bytes that allocates nothing itself.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	m := int(min(int64(len(p)), e.n))
	clear(p[:m])
	e.n -= int64(m)
	return m, nil
}

// TestPutMemoryBounded: the heap during an upload does not grow with the object: a
// 64 MiB upload, of known or unknown size, keeps the heap within a few parts.
func TestPutMemoryBounded(t *testing.T) {
	// Not parallel: it weighs the heap, which other tests would share.
	st, _ := s3test.Stage(t)
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	const total = 64 << 20
	for _, size := range []int64{-1, total} {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		done := make(chan error)
		go func() {
			_, err := st.Put(context.Background(), "calls/big", &endless{n: total}, size)
			done <- err
		}()
		var peak uint64
		samples := 0
		for waiting := true; waiting; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Put(size %d): %v", size, err)
				}
				waiting = false
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				samples++
				peak = max(peak, ms.HeapInuse-min(base, ms.HeapInuse))
			}
		}
		t.Logf("Put of %d MiB, size %d: heap grew by at most %.1f MiB (%d samples)", total>>20, size, float64(peak)/(1<<20), samples)
		if peak > 24<<20 {
			t.Errorf("Put of %d MiB (size %d): heap grew by %d MiB; want it bounded by a few %d MiB parts", total>>20, size, peak>>20, s3.PartSize>>20)
		}
		if err := st.Delete(context.Background(), "calls/big"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReady: the stage is ready only while the store answers and has the bucket, so
// /readyz says when staged audio could not be taken (it once could not tell: the stage
// had no Ready).
func TestReady(t *testing.T) {
	t.Parallel()
	srv := s3test.StartServer(t)
	o := srv.Options
	o.MaxRetries = 1
	st, err := s3.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Ready(ctx); callscribe.ErrorCode(err) != callscribe.EUNAVAILABLE {
		t.Errorf("Ready before the bucket exists: %v; want %s", err, callscribe.EUNAVAILABLE)
	}
	if _, err := st.EnsureBucket(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := st.Ready(ctx); err != nil {
		t.Errorf("Ready with the bucket: %v; want nil", err)
	}
	srv.Stop()
	if err := st.Ready(ctx); callscribe.ErrorCode(err) != callscribe.EUNAVAILABLE {
		t.Errorf("Ready with the store stopped: %v (code %q); want %s", err, callscribe.ErrorCode(err), callscribe.EUNAVAILABLE)
	}
	srv.Start()
}
