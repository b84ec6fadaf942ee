// Package s3 is the object-store stage: staged audio held as temporary objects in an
// S3-compatible bucket (MinIO, Ceph RGW, Yandex Object Storage…) through minio-go, so
// that workers on other machines can read it.
//
// It stores what it is given — the pipeline hands it ciphertext only — and its deletion
// is a proof, not a request: Delete removes every version of a key (delete markers
// included) and every unfinished upload of it, and Exists says a key is gone only when
// a stat finds no such key and neither a listing of versions nor one of unfinished
// uploads shows it. It must never leave a refused or cancelled upload behind, and never
// let memory grow with the size of an object: Put holds at most one part of PartSize.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/lifecycle"

	"callscribe"
)

// PartSize is the part of an upload of unknown size held in memory at once: the smallest
// part S3 accepts (5 MiB), so an upload of unknown size takes at most this much memory.
// An upload of known size is streamed as one PUT and buffers nothing of its own.
const PartSize = 5 << 20

// maxParts is the most parts S3 accepts in one multipart upload.
const maxParts = 10000

// maxSinglePut is the largest object S3 accepts in one PUT (5 GiB).
const maxSinglePut = 5 << 30

// Rule ids of the bucket lifecycle rules EnsureBucket sets; other rules are kept.
const (
	ruleExpire        = "callscribe-expire-staged-audio"
	ruleDeleteMarkers = "callscribe-expire-delete-markers"
)

// Options configure a Stage.
type Options struct {
	Endpoint  string // host:port of the S3 API
	AccessKey string
	SecretKey string
	Bucket    string
	Secure    bool   // HTTPS
	Region    string // empty: the server's default
	// MaxRetries is how often a failed request is tried again (minio-go's backoff:
	// 200 ms doubling up to 1 s); 0 means minio-go's default of 10.
	MaxRetries int
	Now        func() time.Time // default time.Now
}

var _ callscribe.Stage = (*Stage)(nil)

// Stage keeps staged objects in one bucket.
type Stage struct {
	client *minio.Client
	core   minio.Core
	bucket string
	now    func() time.Time
	bufs   sync.Pool // *[]byte of PartSize, zeroed before they go back
}

// New returns a stage on the bucket; it does not talk to the server (see EnsureBucket).
func New(o Options) (*Stage, error) {
	if o.Endpoint == "" || o.Bucket == "" {
		return nil, callscribe.Errorf(callscribe.EINVALID, "s3: endpoint and bucket are required")
	}
	client, err := minio.New(o.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:     o.Secure,
		Region:     o.Region,
		MaxRetries: o.MaxRetries,
	})
	if err != nil {
		return nil, callscribe.Wrap(callscribe.EINVALID, err, "s3 endpoint %q is not valid", o.Endpoint)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Stage{client: client, core: minio.Core{Client: client}, bucket: o.Bucket, now: o.Now}
	s.bufs.New = func() any { b := make([]byte, PartSize); return &b }
	return s, nil
}

// Name is the stage's name in receipts.
func (s *Stage) Name() string { return "s3" }

// ProcessLocal is false: any process with the bucket's credentials reads the objects, so
// their encryption keys are recorded with the call for the worker that reads them.
func (s *Stage) ProcessLocal() bool { return false }

// Ready checks that the store answers and the bucket is there.
func (s *Stage) Ready(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3 bucket %s: %w", s.bucket, classify(err))
	}
	if !ok {
		return callscribe.Errorf(callscribe.EUNAVAILABLE, "s3 bucket %s does not exist", s.bucket)
	}
	return nil
}

// Bucket is the bucket the stage keeps its objects in.
func (s *Stage) Bucket() string { return s.bucket }

// Put stores r under key. With size known (≥ 0) the object goes up as one streamed PUT
// of exactly size bytes (a reader holding more or fewer is refused); with size -1 it goes
// up in parts of PartSize read into one buffer. A key already present is refused
// (ECONFLICT, by a conditional write the server checks); a refused, failed or cancelled
// upload leaves no object and no unfinished parts.
func (s *Stage) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	src := &sourceReader{r: r}
	var n int64
	var err error
	if size >= 0 && size <= maxSinglePut {
		n, err = s.putSingle(ctx, key, src, size)
	} else {
		n, err = s.putParts(ctx, key, src, size)
	}
	if err != nil {
		switch {
		case src.err != nil:
			// The input failed, not the store: report the input's error.
			return 0, fmt.Errorf("s3 put %s: read input: %w", key, src.err)
		case src.eof && size >= 0 && src.n < size:
			return 0, callscribe.Errorf(callscribe.EINVALID, "the input ended after %d of its stated %d bytes", src.n, size)
		}
		return 0, fmt.Errorf("s3 put %s: %w", key, err)
	}
	return n, nil
}

// putOptions send the body unsigned (UNSIGNED-PAYLOAD). Over plain HTTP minio-go would
// otherwise sign it chunk by chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): a SHA-256 and an
// HMAC of every 64 KiB on our side, and again on the server's to check them, which on the
// ingest path cost about a quarter of our CPU and a fifth of MinIO's. No integrity is
// lost: what is stored is sio ciphertext, whose AEAD authenticates every 64 KiB package
// with the call's own key, so a byte changed on the way or at rest fails decryption
// instead of being transcribed; the request itself (headers, key, length) stays signed.
// Over HTTPS minio-go sends UNSIGNED-PAYLOAD anyway.
func putOptions() minio.PutObjectOptions {
	o := minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true, DisableContentSha256: true}
	o.SetMatchETagExcept("*") // If-None-Match: *, a key is written once
	return o
}

// putSingle streams exactly size bytes in one PUT. The server stores nothing unless the
// whole body arrived, so a failure leaves nothing behind.
func (s *Stage) putSingle(ctx context.Context, key string, src *sourceReader, size int64) (int64, error) {
	info, err := s.client.PutObject(ctx, s.bucket, key, io.LimitReader(src, size), size, putOptions())
	if err != nil {
		return 0, classify(err)
	}
	if info.Size != size {
		s.discard(ctx, key)
		return 0, fmt.Errorf("stored %d bytes of %d", info.Size, size)
	}
	// A reader with more than size bytes would be cut short silently: refuse it.
	var one [1]byte
	if m, _ := io.ReadFull(src, one[:]); m > 0 {
		s.discard(ctx, key)
		return 0, callscribe.Errorf(callscribe.EINVALID, "the input is longer than its stated %d bytes", size)
	}
	if src.err != nil {
		s.discard(ctx, key)
		return 0, src.err
	}
	return size, nil
}

// putParts uploads r in parts of PartSize (larger only when size is known and would
// need more than maxParts), each read whole into one reused buffer first: S3 needs a
// part's length before its bytes. An input that fits in one part goes up as a single
// PUT. Any failure aborts the upload, which removes every part sent.
func (s *Stage) putParts(ctx context.Context, key string, src *sourceReader, size int64) (n int64, err error) {
	bp := s.bufs.Get().(*[]byte)
	defer func() { clear(*bp); s.bufs.Put(bp) }()
	buf := *bp
	if size > int64(PartSize)*maxParts {
		buf = make([]byte, (size+maxParts-1)/maxParts)
		defer clear(buf)
	}

	m, rerr := io.ReadFull(src, buf)
	if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
		return 0, rerr
	}
	if rerr != nil { // the whole input fits in one part
		if size >= 0 && int64(m) != size {
			return 0, callscribe.Errorf(callscribe.EINVALID, "the input has %d bytes, not its stated %d", m, size)
		}
		return s.putSingle(ctx, key, &sourceReader{r: bytes.NewReader(buf[:m])}, int64(m))
	}

	opts := putOptions()
	opts.DisableMultipart = false
	uploadID, err := s.core.NewMultipartUpload(ctx, s.bucket, key, opts)
	if err != nil {
		return 0, classify(err)
	}
	defer func() {
		if err != nil {
			// Even when ctx was cancelled: the parts sent must not stay behind.
			abortCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if aerr := s.core.AbortMultipartUpload(abortCtx, s.bucket, key, uploadID); aerr != nil {
				err = errors.Join(err, fmt.Errorf("abort upload: %w", classify(aerr)))
			}
		}
	}()
	var parts []minio.CompletePart
	for num := 1; ; num++ {
		if num > maxParts {
			return 0, callscribe.Errorf(callscribe.ETOOLARGE, "the object store takes at most %d parts of %d bytes", maxParts, len(buf))
		}
		p, err := s.core.PutObjectPart(ctx, s.bucket, key, uploadID, num, bytes.NewReader(buf[:m]), int64(m), minio.PutObjectPartOptions{DisableContentSha256: true})
		if err != nil {
			return 0, classify(err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: num, ETag: p.ETag})
		n += int64(m)
		if rerr != nil {
			break
		}
		m, rerr = io.ReadFull(src, buf)
		if rerr == io.EOF {
			break
		}
		if rerr != nil && rerr != io.ErrUnexpectedEOF {
			return 0, rerr
		}
	}
	if size >= 0 && n != size {
		return 0, callscribe.Errorf(callscribe.EINVALID, "the input has %d bytes, not its stated %d", n, size)
	}
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, key, uploadID, parts, opts); err != nil {
		return 0, classify(err)
	}
	return n, nil
}

// discard deletes what a refused Put stored, even when ctx was cancelled.
func (s *Stage) discard(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_ = s.Delete(ctx, key) // the caller returns the first error; the sweeper retries
}

// Open returns a reader of the object under key, streamed from the store; ENOTFOUND if
// there is none.
func (s *Stage) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, _, _, err := s.core.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("s3 open %s: %w", key, classify(err))
	}
	return rc, nil
}

// Delete removes every version of key, its delete markers included, and every
// unfinished upload of it, each by its id: a plain delete of a missing key succeeds
// without doing anything, and in a versioned bucket it only adds a delete marker.
// Deleting a missing key is not an error. Confirm with Exists.
func (s *Stage) Delete(ctx context.Context, key string) error {
	versions, err := s.versions(ctx, key)
	if err != nil {
		return fmt.Errorf("s3 delete %s: %w", key, err)
	}
	for _, v := range versions {
		if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: v.VersionID}); err != nil {
			return fmt.Errorf("s3 delete %s version %s: %w", key, v.VersionID, classify(err))
		}
	}
	uploads, err := s.uploads(ctx, key)
	if err != nil {
		return fmt.Errorf("s3 delete %s: %w", key, err)
	}
	for _, u := range uploads {
		if err := s.core.AbortMultipartUpload(ctx, s.bucket, key, u.UploadID); err != nil && !isCode(err, "NoSuchUpload") {
			return fmt.Errorf("s3 delete %s: abort upload: %w", key, classify(err))
		}
	}
	return nil
}

// Exists reports whether anything is still stored under key: the current object, any
// version or delete marker, or an unfinished upload. It reports false only when a stat
// finds no such key and both listings find nothing named exactly key.
func (s *Stage) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	switch {
	case err == nil:
		return true, nil
	case !isCode(err, "NoSuchKey"):
		return false, fmt.Errorf("s3 stat %s: %w", key, classify(err))
	}
	versions, err := s.versions(ctx, key)
	if err != nil {
		return false, fmt.Errorf("s3 exists %s: %w", key, err)
	}
	if len(versions) > 0 {
		return true, nil
	}
	uploads, err := s.uploads(ctx, key)
	if err != nil {
		return false, fmt.Errorf("s3 exists %s: %w", key, err)
	}
	return len(uploads) > 0, nil
}

// versions lists every version and delete marker named exactly key.
func (s *Stage) versions(ctx context.Context, key string) ([]minio.ObjectInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine when we return early
	var out []minio.ObjectInfo
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list versions: %w", classify(o.Err))
		}
		if o.Key == key {
			out = append(out, o)
		}
	}
	return out, nil
}

// uploads lists the unfinished multipart uploads of key (prefix "" for all of them).
func (s *Stage) uploads(ctx context.Context, key string) ([]minio.ObjectMultipartInfo, error) {
	var out []minio.ObjectMultipartInfo
	keyMarker, idMarker := "", ""
	for {
		res, err := s.core.ListMultipartUploads(ctx, s.bucket, key, keyMarker, idMarker, "", 1000)
		if err != nil {
			return nil, fmt.Errorf("list uploads: %w", classify(err))
		}
		for _, u := range res.Uploads {
			if key == "" || u.Key == key {
				out = append(out, u)
			}
		}
		if !res.IsTruncated || (res.NextKeyMarker == keyMarker && res.NextUploadIDMarker == idMarker) {
			return out, nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

// Keys lists every key under which an object, a version or a delete marker is stored,
// for the sweeper.
func (s *Stage) Keys(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var keys []string
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("s3 list: %w", classify(o.Err))
		}
		if !seen[o.Key] {
			seen[o.Key] = true
			keys = append(keys, o.Key)
		}
	}
	return keys, nil
}

// ModTime is when anything under key (any version or delete marker) was last written;
// ENOTFOUND when nothing is.
func (s *Stage) ModTime(ctx context.Context, key string) (time.Time, error) {
	versions, err := s.versions(ctx, key)
	if err != nil {
		return time.Time{}, fmt.Errorf("s3 mod time %s: %w", key, err)
	}
	if len(versions) == 0 {
		return time.Time{}, callscribe.Errorf(callscribe.ENOTFOUND, "nothing stored under %s", key)
	}
	var t time.Time
	for _, v := range versions {
		if v.LastModified.After(t) {
			t = v.LastModified
		}
	}
	return t, nil
}

// ClearIncomplete aborts the unfinished multipart uploads started more than olderThan
// ago and returns how many it aborted. MinIO lists only the uploads started since it
// last started when asked for all of them; its own stale-upload cleanup (24 h by
// default) and the bucket's lifecycle rule cover the rest.
func (s *Stage) ClearIncomplete(ctx context.Context, olderThan time.Duration) (int, error) {
	uploads, err := s.uploads(ctx, "")
	if err != nil {
		return 0, fmt.Errorf("s3 clear uploads: %w", err)
	}
	cutoff := s.now().Add(-olderThan)
	n := 0
	for _, u := range uploads {
		if u.Initiated.After(cutoff) {
			continue
		}
		if err := s.core.AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID); err != nil && !isCode(err, "NoSuchUpload") {
			return n, fmt.Errorf("s3 clear uploads: abort %s: %w", u.Key, classify(err))
		}
		n++
	}
	return n, nil
}

// EnsureBucket readies the bucket at start-up. It creates it when missing; refuses one
// with object lock enabled (locked objects cannot be deleted, so no deletion could be
// proven); returns a warning when versioning is on (deletion still removes every
// version, but each delete costs a listing and the bucket keeps more than it needs);
// and sets lifecycle rules as the last backstop: objects expire ttl after they were
// written (rounded up to whole days, at least one: S3 counts in days), noncurrent
// versions one day after they became noncurrent, expired delete markers are removed,
// and unfinished uploads are aborted a day after they began. Rules of other ids are
// kept. MinIO ignores the abort rule; it drops stale uploads by itself after 24 h.
func (s *Stage) EnsureBucket(ctx context.Context, ttl time.Duration) (warnings []string, err error) {
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s: %w", s.bucket, classify(err))
	}
	if !exists {
		err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{})
		if err != nil && !isCode(err, "BucketAlreadyOwnedByYou") {
			return nil, fmt.Errorf("s3 create bucket %s: %w", s.bucket, classify(err))
		}
	}
	lock, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
	switch {
	case err != nil && !isCode(err, "ObjectLockConfigurationNotFoundError"):
		return nil, fmt.Errorf("s3 bucket %s: object lock: %w", s.bucket, classify(err))
	case err == nil && lock == "Enabled":
		return nil, callscribe.Errorf(callscribe.EINVALID,
			"bucket %s has object lock enabled: locked objects cannot be deleted, so staged audio could outlive its call; use a bucket without object lock", s.bucket)
	}
	v, err := s.client.GetBucketVersioning(ctx, s.bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s: versioning: %w", s.bucket, classify(err))
	}
	if v.Enabled() || v.Suspended() {
		warnings = append(warnings, fmt.Sprintf(
			"bucket %s has versioning %s: every version is deleted by id and confirmed, but an unversioned bucket is simpler to keep empty", s.bucket, strings.ToLower(v.Status)))
	}
	if err := s.setLifecycle(ctx, ttl); err != nil {
		return warnings, fmt.Errorf("s3 bucket %s: lifecycle: %w", s.bucket, err)
	}
	return warnings, nil
}

// LifecycleDays is the expiry, in whole days, of a staging ttl: rounded up, at least 1.
func LifecycleDays(ttl time.Duration) int {
	days := int((ttl + 24*time.Hour - 1) / (24 * time.Hour))
	return max(days, 1)
}

func (s *Stage) setLifecycle(ctx context.Context, ttl time.Duration) error {
	cfg, err := s.client.GetBucketLifecycle(ctx, s.bucket)
	if err != nil {
		if !isCode(err, "NoSuchLifecycleConfiguration") {
			return classify(err)
		}
		cfg = lifecycle.NewConfiguration()
	}
	rules := cfg.Rules[:0]
	for _, r := range cfg.Rules {
		if r.ID != ruleExpire && r.ID != ruleDeleteMarkers {
			rules = append(rules, r)
		}
	}
	rules = append(rules,
		lifecycle.Rule{
			ID:                             ruleExpire,
			Status:                         "Enabled",
			Expiration:                     lifecycle.Expiration{Days: lifecycle.ExpirationDays(LifecycleDays(ttl))},
			NoncurrentVersionExpiration:    lifecycle.NoncurrentVersionExpiration{NoncurrentDays: 1},
			AbortIncompleteMultipartUpload: lifecycle.AbortIncompleteMultipartUpload{DaysAfterInitiation: 1},
		},
		// S3 allows an expired-delete-marker action only in a rule without days.
		lifecycle.Rule{
			ID:         ruleDeleteMarkers,
			Status:     "Enabled",
			Expiration: lifecycle.Expiration{DeleteMarker: true},
		},
	)
	cfg.Rules = rules
	return classify(s.client.SetBucketLifecycle(ctx, s.bucket, cfg))
}

// sourceReader remembers the error of the input it reads, so that Put can tell a broken
// input from a broken store: the HTTP client reports both the same way.
type sourceReader struct {
	r   io.Reader
	n   int64 // bytes read
	eof bool
	err error // the first error other than io.EOF
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	switch {
	case err == io.EOF:
		s.eof = true
	case err != nil && s.err == nil:
		s.err = err
	}
	return n, err
}

func isCode(err error, code string) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && resp.Code == code
}

// classify gives a store error its application code: a missing key is ENOTFOUND, a
// refused conditional write ECONFLICT, a store that does not answer or says it is busy
// or broken EUNAVAILABLE. Anything else is returned as it is (internal).
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == "NoSuchKey" || resp.Code == "NoSuchVersion":
			return callscribe.Wrap(callscribe.ENOTFOUND, err, "no such staged object")
		case resp.Code == "PreconditionFailed" || resp.StatusCode == http.StatusPreconditionFailed:
			return callscribe.Wrap(callscribe.ECONFLICT, err, "a staged object with this key already exists")
		case resp.Code == "SlowDown" || resp.Code == "ServiceUnavailable" || resp.Code == "RequestTimeout" ||
			resp.Code == "XMinioServerNotInitialized" || resp.StatusCode >= 500:
			return callscribe.Wrap(callscribe.EUNAVAILABLE, err, "the object store is unavailable")
		}
		return err
	}
	var netErr net.Error
	var urlErr *url.Error
	if errors.As(err, &netErr) || errors.As(err, &urlErr) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) {
		return callscribe.Wrap(callscribe.EUNAVAILABLE, err, "the object store does not answer")
	}
	return err
}
