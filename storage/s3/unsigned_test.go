package s3_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"callscribe/storage/s3"
	"callscribe/storage/s3test"
)

// TestPutSendsUnsignedPayload: over plain HTTP the stage sends every PUT (a single one and
// each part of a multipart upload) as UNSIGNED-PAYLOAD, not minio-go's default chunk-signed
// stream, whose SHA-256 of every byte on both ends the ciphertext's own AEAD makes
// redundant; the request itself stays signed, and what was stored reads back whole. The
// PUTs go to the real MinIO through a proxy that notes their X-Amz-Content-Sha256.
func TestPutSendsUnsignedPayload(t *testing.T) {
	t.Parallel()
	b := s3test.NewBucket(t, minio.MakeBucketOptions{})
	target, err := url.Parse("http://" + b.Options.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string // X-Amz-Content-Sha256 of each PUT
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			mu.Lock()
			seen = append(seen, r.Header.Get("X-Amz-Content-Sha256"))
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	o := b.Options
	o.Endpoint = strings.TrimPrefix(srv.URL, "http://")
	st, err := s3.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		size     int // of the object
		stated   int64
		wantPUTs int
	}{
		{"known size, one PUT", 3 << 20, 3 << 20, 1},
		{"unknown size, two parts", s3.PartSize + 1<<20, -1, 2},
	} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		data := random(t, tc.size)
		key := "calls/" + strings.ReplaceAll(tc.name, " ", "-")
		if _, err := st.Put(ctx, key, bytes.NewReader(data), tc.stated); err != nil {
			t.Fatalf("%s: put: %v", tc.name, err)
		}
		mu.Lock()
		got := append([]string(nil), seen...)
		mu.Unlock()
		if len(got) != tc.wantPUTs {
			t.Errorf("%s: %d PUTs, want %d", tc.name, len(got), tc.wantPUTs)
		}
		for i, h := range got {
			if h != "UNSIGNED-PAYLOAD" {
				t.Errorf("%s: PUT %d has X-Amz-Content-Sha256 %q, want UNSIGNED-PAYLOAD", tc.name, i+1, h)
			}
		}
		rc, err := st.Open(ctx, key)
		if err != nil {
			t.Fatalf("%s: open: %v", tc.name, err)
		}
		back, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(back, data) {
			t.Errorf("%s: read back %d bytes (%v), want the %d put", tc.name, len(back), err, len(data))
		}
	}
}
