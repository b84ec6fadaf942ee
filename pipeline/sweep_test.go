package pipeline_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/asr"
	"callscribe/internal/eventually"
	"callscribe/pipeline"
	"callscribe/storage/postgres"
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
	t.Parallel()
	e := newEnv(t)
	ctx := callscribe.AsSystem(context.Background())
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

// stopStore transcribes with tr (nil: hears a fixed sentence, like fixedTranscriber),
// then stops the object store: the call completes, but its audio cannot be deleted.
type stopStore struct {
	srv *s3test.Server
	tr  asr.Transcriber
}

func (s stopStore) Transcribe(ctx context.Context, pcm io.Reader) (asr.Result, error) {
	var tr asr.Transcriber = fixedTranscriber{}
	if s.tr != nil {
		tr = s.tr
	}
	res, err := tr.Transcribe(ctx, pcm)
	s.srv.Stop()
	return res, err
}

// TestStoreDownAtDeletionIsSweptLater: when the object store is down as a call ends,
// no receipt is written (nothing was confirmed) and the error says the store is
// unavailable; once it is back, the sweeper deletes the audio, confirms it and writes
// the receipt.
func TestStoreDownAtDeletionIsSweptLater(t *testing.T) {
	t.Parallel()
	e := newEnv(t, callscribe.PurposeTranscription)
	ctx := callscribe.AsSystem(context.Background())
	srv := s3test.StartServer(t)
	st, err := s3.New(srv.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureBucket(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(pipeline.Config{Store: e.db, Stage: st, Decode: decode, Transcriber: stopStore{srv: srv}, ConsentPoll: 50 * time.Millisecond})
	audio := speech(t)
	res, err := p.Run(ctx, pipeline.Input{Owner: e.user, Audio: bytes.NewReader(audio), Size: int64(len(audio)), Roles: []string{"agent"}})
	if callscribe.ErrorCode(err) != callscribe.EUNAVAILABLE {
		t.Fatalf("Run with the store down at deletion: %v (code %q), want %s", err, callscribe.ErrorCode(err), callscribe.EUNAVAILABLE)
	}
	if !res.Receipt.ConfirmedAt.IsZero() {
		t.Errorf("a receipt was returned although deletion failed: %+v", res.Receipt)
	}
	if _, err := e.db.Receipt(ctx, res.CallID); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("stored receipt while the audio is still staged: %v", err)
	}

	srv.Start()
	if ok, err := st.Exists(ctx, "calls/"+res.CallID.String()); err != nil || !ok {
		t.Fatalf("staged audio after restart: exists %v, %v; want it still there", ok, err)
	}
	r, err := pipeline.Sweeper{Store: e.db, Stage: st}.SweepOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Confirmed != 1 {
		t.Errorf("sweep = %+v, want the call's deletion confirmed", r)
	}
	receipt, err := e.db.Receipt(ctx, res.CallID)
	if err != nil {
		t.Fatalf("no receipt after the sweep: %v", err)
	}
	if receipt.Bytes != int64(len(audio)) || receipt.Stage != "s3" {
		t.Errorf("receipt = %+v, want %d bytes from stage s3", receipt, len(audio))
	}
	if ok, err := st.Exists(ctx, "calls/"+res.CallID.String()); err != nil || ok {
		t.Errorf("after the sweep: exists %v, %v; want gone", ok, err)
	}
}

// TestStoreDownAtDeletionOfAQueuedCall is TestStoreDownAtDeletionIsSweptLater on the
// service's path, where the per-call key is recorded so that another process can read
// the audio: accepted by one pipeline, recognised by another (a worker elsewhere, which
// has only the recorded key) with the real PocketSphinx, the object store stopped as
// recognition ends. The transcript is stored and the key erased in the same transaction
// at once, whatever the store; the attempt reports the store unavailable and writes no
// receipt; once the store is back the sweeper deletes the audio, confirms it and writes
// the receipt; the job's retry finds the call ended and changes nothing.
func TestStoreDownAtDeletionOfAQueuedCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, callscribe.PurposeTranscription)
	ctx := callscribe.AsSystem(context.Background())
	srv := s3test.StartServer(t)
	st, err := s3.New(srv.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureBucket(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	jobs, err := river.NewClient(riverpgxv5.New(e.db.Pool()), &river.Config{}) // inserts only
	if err != nil {
		t.Fatal(err)
	}
	queued := &postgres.Queued{DB: e.db, Jobs: jobs, MaxAttempts: 3}
	rec, err := recognizer()
	if err != nil {
		t.Fatal(err)
	}
	ingest := pipeline.New(pipeline.Config{Store: queued, Service: queued, Stage: st, Decode: decode, Transcriber: rec})
	audio := speech(t)
	acc, err := ingest.Accept(ctx, pipeline.Upload{Owner: e.user, Roles: []string{"agent"}, Audio: bytes.NewReader(audio), Size: int64(len(audio))})
	if err != nil {
		t.Fatal(err)
	}
	id := acc.CallID
	keyBytes := func() int {
		t.Helper()
		var n int
		if err := e.db.Pool().QueryRow(ctx, `SELECT coalesce(length(key), 0) FROM call_stages WHERE call_id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := keyBytes(); n != 32 {
		t.Fatalf("accepted call's recorded key: %d bytes, want 32 (a worker in another process needs it)", n)
	}

	worker := pipeline.New(pipeline.Config{Store: queued, Service: queued, Stage: st, Decode: decode,
		Transcriber: stopStore{srv: srv, tr: rec}, ConsentPoll: 50 * time.Millisecond})
	err = worker.ProcessQueued(ctx, id, false)
	if callscribe.ErrorCode(err) != callscribe.EUNAVAILABLE || !pipeline.Retryable(err) {
		t.Fatalf("ProcessQueued with the store down at deletion: %v (code %q), want a retryable %s", err, callscribe.ErrorCode(err), callscribe.EUNAVAILABLE)
	}
	if status, _ := e.db.CallStatus(ctx, id); status != callscribe.CallCompleted {
		t.Errorf("call is %s, want completed (the transcript was stored before deletion was tried)", status)
	}
	if n := keyBytes(); n != 0 {
		t.Errorf("the key is still recorded (%d bytes) with the store down; want it erased with the transcript", n)
	}
	if n := count(t, e.db, "transcripts"); n != 1 {
		t.Errorf("%d transcripts, want 1", n)
	}
	if _, err := e.db.Receipt(ctx, id); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("receipt while the audio is still staged: %v", err)
	}

	srv.Start()
	key := "calls/" + id.String()
	if ok, err := st.Exists(ctx, key); err != nil || !ok {
		t.Fatalf("staged audio after restart: exists %v, %v; want still there", ok, err)
	}
	if r, err := (pipeline.Sweeper{Store: e.db, Stage: st}).SweepOnce(ctx); err != nil || r.Confirmed != 1 {
		t.Fatalf("sweep = %+v, %v; want the call's deletion confirmed", r, err)
	}
	receipt, err := e.db.Receipt(ctx, id)
	if err != nil || receipt.Bytes != int64(len(audio)) || receipt.Stage != "s3" {
		t.Fatalf("receipt after the sweep = %+v, %v; want %d bytes from stage s3", receipt, err, len(audio))
	}
	if v := s3test.Versions(t, s3test.NewClient(t, srv.Options), srv.Options.Bucket); len(v) != 0 {
		t.Errorf("bucket holds %d objects or versions after the sweep, want none", len(v))
	}

	// River runs the job again (the attempt failed): the call has ended, nothing changes.
	if err := worker.ProcessQueued(ctx, id, false); err != nil {
		t.Errorf("retry of an ended call: %v, want nil", err)
	}
	if n := count(t, e.db, "transcripts"); n != 1 {
		t.Errorf("%d transcripts after the retry, want 1", n)
	}
	if again, _ := e.db.Receipt(ctx, id); again != receipt {
		t.Errorf("receipt changed by the retry: %+v, was %+v", again, receipt)
	}
}

// TestSweeperRun: Run sweeps at once, then waits for the next tick or the end of ctx.
func TestSweeperRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st, b := s3test.Stage(t)
	ctx, cancel := context.WithCancel(callscribe.AsSystem(context.Background()))
	defer cancel()
	orphan := "calls/" + uuid.NewString()
	if _, err := st.Put(ctx, orphan, bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		done <- pipeline.Sweeper{Store: e.db, Stage: st, Every: time.Hour,
			Now: func() time.Time { return time.Now().Add(time.Hour) }}.Run(ctx)
	}()
	eventually.True(t, 20*time.Second, "sweep of the orphan once Run started", func() bool {
		return len(s3test.Versions(t, b.Client, b.Options.Bucket)) == 0
	})
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run after cancel = %v, want context.Canceled", err)
	}
}
