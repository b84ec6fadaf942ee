package pipeline_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/pipeline"
	"callscribe/storage/memory"
	"callscribe/storage/postgres"
)

// putFails is the memory stage with a Put that reads part of the audio and then fails,
// as a stage that breaks mid-upload does.
type putFails struct{ *memory.Stage }

func (s putFails) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	io.CopyN(io.Discard, r, 1000)
	return 0, callscribe.Errorf(callscribe.EUNAVAILABLE, "the stage broke")
}

// queued is the database with a job queue that only inserts: what Accept needs.
func queued(t *testing.T, e *env) *postgres.Queued {
	t.Helper()
	jobs, err := river.NewClient(riverpgxv5.New(e.db.Pool()), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &postgres.Queued{DB: e.db, Jobs: jobs}
}

// TestOneStagingPath: the CLI (Run) and the API (Accept) stage through the same code, so
// the same fault ends the same way on both: a size the encryption cannot hold is
// refused as too large before a byte is staged (the API's copy once ignored that error
// and staged it anyway), and a stage that fails mid-upload leaves nothing staged and no
// key recorded.
func TestOneStagingPath(t *testing.T) {
	t.Parallel()
	wav := speech(t)
	paths := map[string]func(p *pipeline.Pipeline, owner callscribe.User, audio io.Reader, size int64) (uuid.UUID, error){
		"Run": func(p *pipeline.Pipeline, owner callscribe.User, audio io.Reader, size int64) (uuid.UUID, error) {
			res, err := p.Run(callscribe.AsSystem(context.Background()), pipeline.Input{Owner: owner, Audio: audio, Size: size})
			return res.CallID, err
		},
		"Accept": func(p *pipeline.Pipeline, owner callscribe.User, audio io.Reader, size int64) (uuid.UUID, error) {
			acc, err := p.Accept(callscribe.AsSystem(context.Background()), pipeline.Upload{Owner: owner, Audio: audio, Size: size})
			return acc.CallID, err
		},
	}
	faults := []struct {
		name  string
		size  int64
		stage func(*memory.Stage) callscribe.Stage
		code  string
	}{
		{"size beyond the encryption", 1 << 50, func(m *memory.Stage) callscribe.Stage { return m }, callscribe.ETOOLARGE},
		{"stage fails mid-upload", int64(len(wav)), func(m *memory.Stage) callscribe.Stage { return putFails{m} }, callscribe.EUNAVAILABLE},
	}
	for name, stage := range paths {
		for _, f := range faults {
			t.Run(name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, callscribe.PurposeTranscription)
				q := queued(t, e)
				p := pipeline.New(pipeline.Config{Store: q, Service: q, Stage: f.stage(e.stage), Decode: decode, Transcriber: fixedTranscriber{}})
				id, err := stage(p, e.user, bytes.NewReader(wav), f.size)
				if got := callscribe.ErrorCode(err); got != f.code {
					t.Errorf("%s: code %q (%v), want %q", name, got, err, f.code)
				}
				if keys, _ := e.stage.Keys(context.Background()); len(keys) != 0 || e.stage.Bytes() != 0 {
					t.Errorf("the stage holds %d objects, %d bytes; want nothing", len(keys), e.stage.Bytes())
				}
				var keyed int
				if err := e.db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `SELECT count(*) FROM call_stages WHERE key IS NOT NULL`).Scan(&keyed); err != nil {
					t.Fatal(err)
				}
				if keyed != 0 {
					t.Errorf("%d staging keys recorded, want none", keyed)
				}
				if id != uuid.Nil {
					if st, _ := e.db.CallStatus(callscribe.AsSystem(context.Background()), id); st != callscribe.CallFailed {
						t.Errorf("call %s is %s, want failed", id, st)
					}
				}
			})
		}
	}
}
