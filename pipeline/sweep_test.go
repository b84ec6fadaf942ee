package pipeline_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"callscribe"
	"callscribe/pipeline"
	"callscribe/storage/s3"
	"callscribe/storage/s3test"
)

var _ pipeline.SweepStage = (*s3.Stage)(nil)

// TestSweeper runs the sweeper against the real database and a real MinIO bucket holding
// one of each kind of object: a live call's (staging recorded, and not yet recorded), an
// ended call's whose deletion was never confirmed, an orphan of no call, an object of a
// key the pipeline does not make, and an unfinished upload. A first pass at "now" may
// only finish the ended call's proof; a pass two hours later removes the rest but the
// live calls' objects.
func TestSweeper(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := s3test.NewBucket(t, minio.MakeBucketOptions{})
	var shift time.Duration
	now := func() time.Time { return time.Now().Add(shift) }
	o := b.Options
	o.Now = now
	st, err := s3.New(o)
	if err != nil {
		t.Fatal(err)
	}
	put := func(key string) {
		t.Helper()
		if _, err := st.Put(ctx, key, bytes.NewReader([]byte("ciphertext of "+key)), -1); err != nil {
			t.Fatal(err)
		}
	}
	newCall := func() uuid.UUID {
		t.Helper()
		id, err := e.db.CreateCall(ctx, e.user.OrgID, e.user.ID, []string{"agent"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	stage := func(id uuid.UUID) {
		t.Helper()
		key := "calls/" + id.String()
		put(key)
		if err := e.db.RecordStaging(ctx, id, callscribe.Staging{Stage: st.Name(), ObjectKey: key, Bytes: 10,
			SHA256: strings.Repeat("cd", 32), StagedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}

	staged := newCall() // live: staged, waiting for a worker
	stage(staged)
	uploading := newCall() // live: received, its staging not recorded yet
	put("calls/" + uploading.String())
	ended := newCall() // failed, audio never deleted (the worker died in finish)
	stage(ended)
	if err := e.db.EndCall(ctx, ended, callscribe.CallFailed, callscribe.EINTERNAL, "internal error"); err != nil {
		t.Fatal(err)
	}
	orphan := "calls/" + uuid.NewString() // no call row at all
	put(orphan)
	put("junk/not-a-call")
	core := minio.Core{Client: b.Client}
	half := "calls/" + uuid.NewString() // an upload that never finished
	uploadID, err := core.NewMultipartUpload(ctx, o.Bucket, half, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.PutObjectPart(ctx, o.Bucket, half, uploadID, 1, bytes.NewReader([]byte("part")), 4, minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}

	sw := pipeline.Sweeper{Store: e.db, Stage: st, Now: now, Grace: 10 * time.Minute}
	r, err := sw.SweepOnce(ctx)
	if err != nil {
		t.Fatalf("first pass: %v", err)
	}
	if want := (pipeline.SweepReport{Confirmed: 1, Young: 2}); r != want {
		t.Errorf("first pass = %+v, want %+v (the ended call confirmed; the orphans too young to touch)", r, want)
	}
	receipt, err := e.db.Receipt(ctx, ended)
	if err != nil {
		t.Fatalf("ended call has no receipt after the sweep: %v", err)
	}
	if receipt.Stage != "s3" || receipt.ConfirmedAt.IsZero() || receipt.ConfirmedAt.Before(receipt.DeletedAt) {
		t.Errorf("receipt = %+v, want stage s3, confirmed after deleted", receipt)
	}
	assertKeys(t, b, "calls/"+staged.String(), "calls/"+uploading.String(), orphan, "junk/not-a-call")

	shift = 2 * time.Hour
	r, err = sw.SweepOnce(ctx)
	if err != nil {
		t.Fatalf("second pass: %v", err)
	}
	if want := (pipeline.SweepReport{Orphans: 2, Incomplete: 1}); r != want {
		t.Errorf("second pass = %+v, want %+v", r, want)
	}
	assertKeys(t, b, "calls/"+staged.String(), "calls/"+uploading.String())
	if res, err := core.ListMultipartUploads(ctx, o.Bucket, "", "", "", "", 1000); err != nil || len(res.Uploads) != 0 {
		t.Errorf("unfinished uploads after the sweep: %d, %v; want none", len(res.Uploads), err)
	}
	for _, id := range []uuid.UUID{staged, uploading} {
		if status, _ := e.db.CallStatus(ctx, id); status == callscribe.CallFailed || status == callscribe.CallDiscarded {
			t.Errorf("live call %s was ended by the sweeper: %s", id, status)
		}
	}

	// Once the live calls end, their audio is no one's: the next pass takes it too.
	for _, id := range []uuid.UUID{staged, uploading} {
		if err := e.db.EndCall(ctx, id, callscribe.CallDiscarded, callscribe.ENOCONSENT, "withdrawn"); err != nil {
			t.Fatal(err)
		}
	}
	r, err = sw.SweepOnce(ctx)
	if err != nil {
		t.Fatalf("third pass: %v", err)
	}
	// The staged one is confirmed with a receipt; the one never recorded as staged is an
	// orphan (there is nothing to write a receipt from).
	if want := (pipeline.SweepReport{Confirmed: 1, Orphans: 1}); r != want {
		t.Errorf("third pass = %+v, want %+v", r, want)
	}
	assertKeys(t, b)
	if _, err := e.db.Receipt(ctx, staged); err != nil {
		t.Errorf("no receipt for the staged call after it ended and was swept: %v", err)
	}
}

// assertKeys checks behind the stage's back that the bucket holds exactly want (any
// version of them) and nothing else.
func assertKeys(t *testing.T, b s3test.Bucket, want ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, v := range s3test.Versions(t, b.Client, b.Options.Bucket) {
		got[v.Key] = true
	}
	for _, k := range want {
		if !got[k] {
			t.Errorf("%s is gone from the bucket; it must stay", k)
		}
		delete(got, k)
	}
	for k := range got {
		t.Errorf("%s is still in the bucket", k)
	}
}
