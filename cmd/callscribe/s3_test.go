package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"callscribe"
	"callscribe/internal/testcall"
	"callscribe/storage/s3test"
)

// s3Env is the environment of a run that stages through a fresh bucket of the test
// MinIO; the bucket is not created beforehand (the binary's start-up does that).
func s3Env(t *testing.T) ([]string, s3test.Bucket) {
	o := s3test.Env(t)
	env := []string{
		"CALLSCRIBE_S3_ENDPOINT=" + o.Endpoint,
		"CALLSCRIBE_S3_ACCESS_KEY=" + o.AccessKey,
		"CALLSCRIBE_S3_BUCKET=" + o.Bucket,
		"CALLSCRIBE_S3_COUNTRY=RU",
	}
	// The secret through _FILE, as a deployment would pass it.
	secret := t.TempDir() + "/s3-secret"
	if err := os.WriteFile(secret, []byte(o.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(env, "CALLSCRIBE_S3_SECRET_KEY_FILE="+secret)
	return env, s3test.Bucket{Options: o, Client: s3test.NewClient(t, o)}
}

// TestTranscribeThroughS3: with CALLSCRIBE_S3_* set, transcribe stages the call in the
// object store, and when it is done the bucket holds nothing — no object, no version, no
// unfinished upload — and the receipt names the s3 stage.
func TestTranscribeThroughS3(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	s3vars, b := s3Env(t)
	env = append(env, s3vars...)
	mustRun(t, env, "consent", "grant", "--email", "local@localhost", "--purpose", "transcription")
	file := testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[1])
	var out output
	if err := json.Unmarshal([]byte(mustRun(t, env, "transcribe", "--json", file)), &out); err != nil {
		t.Fatalf("--json output: %v", err)
	}
	raw, _ := os.ReadFile(file)
	if out.Status != "completed" || len(out.Segments) == 0 {
		t.Errorf("status %s with %d segments; want completed with speech", out.Status, len(out.Segments))
	}
	if out.Audio.Stage != "s3" || out.Audio.ConfirmedAt == "" || out.Audio.Bytes != int64(len(raw)) {
		t.Errorf("audio = %+v; want %d bytes deleted from the s3 stage and confirmed", out.Audio, len(raw))
	}
	ctx := callscribe.AsSystem(context.Background())
	if ok, err := b.Client.BucketExists(ctx, b.Options.Bucket); err != nil || !ok {
		t.Fatalf("bucket %s was not created at start-up: %v, %v", b.Options.Bucket, ok, err)
	}
	if v := s3test.Versions(t, b.Client, b.Options.Bucket); len(v) != 0 {
		t.Errorf("bucket holds %d objects or versions after the call, want none: first %s", len(v), v[0].Key)
	}
	res, err := minio.Core{Client: b.Client}.ListMultipartUploads(ctx, b.Options.Bucket, "", "", "", "", 1000)
	if err != nil || len(res.Uploads) != 0 {
		t.Errorf("unfinished uploads after the call: %d, %v; want none", len(res.Uploads), err)
	}
	db := openDB(t, env)
	r, err := db.Receipt(ctx, uuid.MustParse(out.CallID))
	if err != nil || r.Stage != "s3" || r.SHA256 != out.Audio.SHA256 {
		t.Errorf("stored receipt = %+v, %v; want stage s3 and the printed sha256", r, err)
	}
}

// TestObjectLockedBucketRefusedAtStart: a bucket that could keep audio past its call is
// refused before anything is staged, with a message naming it.
func TestObjectLockedBucketRefusedAtStart(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	s3vars, b := s3Env(t)
	env = append(env, s3vars...)
	if err := b.Client.MakeBucket(callscribe.AsSystem(context.Background()), b.Options.Bucket, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "consent", "grant", "--email", "local@localhost", "--purpose", "transcription")
	file := testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[1])
	r := runCLI(t, env, "transcribe", file)
	if r.code == 0 || !strings.Contains(r.stderr, "object lock") || !strings.Contains(r.stderr, b.Options.Bucket) {
		t.Errorf("exit %d, stderr %q; want a failure naming the bucket and its object lock", r.code, r.stderr)
	}
	db := openDB(t, env)
	var calls int
	db.Pool().QueryRow(callscribe.AsSystem(context.Background()), "SELECT count(*) FROM calls").Scan(&calls)
	if calls != 0 {
		t.Errorf("%d calls recorded although the stage was refused", calls)
	}
}
