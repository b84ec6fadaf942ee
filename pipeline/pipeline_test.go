package pipeline_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/asr"
	"callscribe/asr/sphinx"
	"callscribe/audio"
	"callscribe/internal/testcall"
	"callscribe/pipeline"
	"callscribe/storage/memory"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
	"callscribe/summarize"
	"callscribe/summarize/extractive"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, postgres.Migrate)) }

var recognizer = sync.OnceValues(func() (*sphinx.Recognizer, error) { return sphinx.New(sphinx.Config{}) })

// env is one test's world: a fresh database, an empty memory stage, a user.
type env struct {
	db    *postgres.DB
	stage *memory.Stage
	user  callscribe.User
}

func newEnv(t *testing.T, purposes ...callscribe.Purpose) *env {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	db, err := postgres.Open(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	org, err := db.EnsureOrganization(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(ctx, callscribe.User{OrgID: org, Email: "ivanova@example.ru", Surname: "Ivanova", FirstName: "Anna", Phone: "+79161234567"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range purposes {
		if _, err := db.GrantConsent(ctx, u.ID, p, "2026-01", callscribe.ConsentViaCLI, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return &env{db: db, stage: memory.New(0), user: u}
}

func (e *env) pipeline(t *testing.T, tr asr.Transcriber, s summarize.Summarizer) *pipeline.Pipeline {
	t.Helper()
	if tr == nil {
		r, err := recognizer()
		if err != nil {
			t.Fatal(err)
		}
		tr = r
	}
	return pipeline.New(pipeline.Config{
		Store: e.db, Stream: e.stage, Decode: decode, Transcriber: tr, Summarizer: s,
		ConsentPoll: 50 * time.Millisecond,
	})
}

func decode(ctx context.Context, r io.Reader, ch int) (int, io.ReadCloser, error) {
	d, err := audio.Open(r)
	if err != nil {
		return 0, nil, err
	}
	return d.Format().Channels, audio.Channel(ctx, d, ch, asr.SampleRate), nil
}

// assertAudioGone checks the promise every staged call ends with: nothing left in the
// stage, and a receipt whose deletion the stage confirmed.
func (e *env) assertAudioGone(t *testing.T, res pipeline.Result, wantBytes int64) {
	t.Helper()
	keys, _ := e.stage.Keys(callscribe.AsSystem(context.Background()))
	if len(keys) != 0 || e.stage.Bytes() != 0 {
		t.Errorf("stage still holds %d objects, %d bytes after the call ended", len(keys), e.stage.Bytes())
	}
	r, err := e.db.Receipt(callscribe.AsSystem(context.Background()), res.CallID)
	if err != nil {
		t.Fatalf("receipt: %v", err)
	}
	if r != res.Receipt {
		t.Errorf("stored receipt %+v differs from the one returned %+v", r, res.Receipt)
	}
	if r.Bytes != wantBytes || len(r.SHA256) != 64 || r.Stage != "memory" {
		t.Errorf("receipt = %+v, want %d bytes, a sha256, stage memory", r, wantBytes)
	}
	if r.ConfirmedAt.IsZero() || r.ConfirmedAt.Before(r.DeletedAt) || r.DeletedAt.Before(r.StagedAt) {
		t.Errorf("receipt times out of order: staged %v, deleted %v, confirmed %v", r.StagedAt, r.DeletedAt, r.ConfirmedAt)
	}
}

func TestStereoCallEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, callscribe.PurposeTranscription, callscribe.PurposeSummarization)
	dir := t.TempDir()
	path, spoken := testcall.Stereo(t, dir, 0.6, testcall.Dialogue(testcall.Sentences[:4]...))
	wav, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.pipeline(t, nil, extractive.New(extractive.Config{})).Run(callscribe.AsSystem(context.Background()),
		pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav))})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Status != callscribe.CallCompleted {
		t.Fatalf("status = %s, want completed", res.Status)
	}
	tr := res.Transcript
	if got, want := strings.Join(tr.Channels, ","), "agent,client"; got != want {
		t.Errorf("channels = %s, want %s", got, want)
	}
	if want := int64(testcall.Duration(t, path) * 1000); tr.DurationMS < want-50 || tr.DurationMS > want+50 {
		t.Errorf("duration = %d ms, want %d ± 50", tr.DurationMS, want)
	}
	for ch, speaker := range []string{"agent", "client"} {
		var words []string
		for _, s := range tr.Segments {
			if s.Channel == ch {
				if s.Speaker != speaker {
					t.Errorf("channel %d segment under speaker %q, want %q", ch, s.Speaker, speaker)
				}
				words = append(words, s.Text)
			}
		}
		ref := strings.Join(spoken[ch], " ")
		if wer := testcall.WER(ref, strings.Join(words, " ")); wer > 0.5 {
			t.Errorf("channel %d WER = %.2f, want ≤ 0.5 (the comparison with pocketsphinx_continuous is in cmd/callscribe)\nref: %s\nhyp: %s", ch, wer, ref, strings.Join(words, " "))
		}
	}
	for i := 1; i < len(tr.Segments); i++ {
		if tr.Segments[i].StartMS < tr.Segments[i-1].StartMS {
			t.Errorf("segment %d starts at %d, before segment %d at %d", i, tr.Segments[i].StartMS, i-1, tr.Segments[i-1].StartMS)
		}
	}
	if tr.Summary == nil || tr.Summary.Engine != "extractive" || tr.Summary.Text == "" {
		t.Errorf("summary = %+v, want an extractive summary", tr.Summary)
	}
	stored, err := e.db.Transcript(callscribe.AsSystem(context.Background()), res.CallID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Segments) != len(tr.Segments) || stored.Text != tr.Text || stored.Summary == nil {
		t.Errorf("stored transcript (%d segments, summary %v) differs from the result (%d segments)", len(stored.Segments), stored.Summary, len(tr.Segments))
	}
	e.assertAudioGone(t, res, int64(len(wav)))
}

func TestNoConsentStagesNothing(t *testing.T) {
	t.Parallel()
	for _, withdrawn := range []bool{false, true} {
		t.Run(map[bool]string{false: "never granted", true: "withdrawn"}[withdrawn], func(t *testing.T) {
			e := newEnv(t)
			ctx := callscribe.AsSystem(context.Background())
			if withdrawn {
				e.db.GrantConsent(ctx, e.user.ID, callscribe.PurposeTranscription, "1", callscribe.ConsentViaCLI, time.Now())
				e.db.WithdrawConsent(ctx, e.user.ID, callscribe.PurposeTranscription, callscribe.ConsentViaCLI, time.Now())
			}
			audio := &spyReader{r: bytes.NewReader(make([]byte, 1000))}
			_, err := e.pipeline(t, failingTranscriber{}, nil).Run(ctx, pipeline.Input{Owner: e.user, Audio: audio, Size: 1000})
			if got := callscribe.ErrorCode(err); got != callscribe.ENOCONSENT {
				t.Fatalf("Run: code %q (%v), want %q", got, err, callscribe.ENOCONSENT)
			}
			if msg := callscribe.ErrorMessage(err); !strings.Contains(msg, e.user.Email) || !strings.Contains(msg, "transcription") {
				t.Errorf("message %q should name the user and the purpose", msg)
			}
			if audio.read {
				t.Error("the audio was read although there is no consent")
			}
			if n := count(t, e.db, "calls"); n != 0 {
				t.Errorf("%d calls recorded, want 0", n)
			}
		})
	}
}

func TestWithdrawalInFlightDiscards(t *testing.T) {
	t.Parallel()
	e := newEnv(t, callscribe.PurposeTranscription, callscribe.PurposeSummarization)
	ctx := callscribe.AsSystem(context.Background())
	started := make(chan struct{})
	slow := blockingTranscriber{started: started}
	wav := speech(t)
	done := make(chan struct{})
	var res pipeline.Result
	var err error
	go func() {
		defer close(done)
		res, err = e.pipeline(t, slow, extractive.New(extractive.Config{})).Run(ctx,
			pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav))})
	}()
	<-started
	withdrawnAt := time.Now()
	if _, werr := e.db.WithdrawConsent(ctx, e.user.ID, callscribe.PurposeTranscription, callscribe.ConsentViaCLI, time.Now()); werr != nil {
		t.Fatal(werr)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the call was still running 10 s after consent was withdrawn")
	}
	if got := callscribe.ErrorCode(err); got != callscribe.ENOCONSENT {
		t.Fatalf("Run: code %q (%v), want %q", got, err, callscribe.ENOCONSENT)
	}
	if res.Status != callscribe.CallDiscarded {
		t.Errorf("status = %s, want discarded", res.Status)
	}
	if st, _ := e.db.CallStatus(ctx, res.CallID); st != callscribe.CallDiscarded {
		t.Errorf("stored status = %s, want discarded", st)
	}
	for _, table := range []string{"transcripts", "segments", "summaries"} {
		if n := count(t, e.db, table); n != 0 {
			t.Errorf("%d rows in %s after withdrawal, want 0", n, table)
		}
	}
	e.assertAudioGone(t, res, int64(len(wav)))
	if res.Receipt.ConfirmedAt.Sub(withdrawnAt) > 5*time.Second {
		t.Errorf("audio confirmed deleted %v after withdrawal, want within seconds", res.Receipt.ConfirmedAt.Sub(withdrawnAt))
	}
}

// TestStoringTransactionRechecksConsent withdraws consent after recognition, just before
// the storing transaction: the re-check inside it must discard the call.
func TestStoringTransactionRechecksConsent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		withdraw    callscribe.Purpose
		wantStatus  callscribe.CallStatus
		wantSummary bool
	}{
		{"transcription withdrawn", callscribe.PurposeTranscription, callscribe.CallDiscarded, false},
		{"summarization withdrawn", callscribe.PurposeSummarization, callscribe.CallCompleted, false},
		{"nothing withdrawn", "", callscribe.CallCompleted, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, callscribe.PurposeTranscription, callscribe.PurposeSummarization)
			store := &withdrawBeforeStore{DB: e.db, user: e.user.ID, purpose: tt.withdraw}
			p := pipeline.New(pipeline.Config{Store: store, Stream: e.stage, Decode: decode,
				Transcriber: fixedTranscriber{}, Summarizer: extractive.New(extractive.Config{}), ConsentPoll: time.Hour})
			wav := speech(t)
			res, _ := p.Run(callscribe.AsSystem(context.Background()), pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav))})
			if res.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", res.Status, tt.wantStatus)
			}
			if got := count(t, e.db, "summaries"); (got == 1) != tt.wantSummary {
				t.Errorf("summaries stored = %d, want summary %v", got, tt.wantSummary)
			}
			if got := count(t, e.db, "transcripts"); (got == 1) != (tt.wantStatus == callscribe.CallCompleted) {
				t.Errorf("transcripts stored = %d with status %s", got, tt.wantStatus)
			}
			e.assertAudioGone(t, res, int64(len(wav)))
		})
	}
}

func TestNoSummaryWithoutSummarizationConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, callscribe.PurposeTranscription)
	spy := &spySummarizer{}
	wav := speech(t)
	res, err := e.pipeline(t, fixedTranscriber{}, spy).Run(callscribe.AsSystem(context.Background()),
		pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav))})
	if err != nil {
		t.Fatal(err)
	}
	if res.Transcript.Summary != nil || count(t, e.db, "summaries") != 0 {
		t.Errorf("a summary was kept without consent to summarization")
	}
	if spy.calls.Load() != 0 {
		t.Errorf("the summarizer was sent the call %d times without consent", spy.calls.Load())
	}
}

func TestUnreadableAudioFailsAndIsDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, callscribe.PurposeTranscription)
	junk := make([]byte, 5000)
	rand.Read(junk)
	res, err := e.pipeline(t, fixedTranscriber{}, nil).Run(callscribe.AsSystem(context.Background()),
		pipeline.Input{Owner: e.user, Audio: bytes.NewReader(junk), Size: int64(len(junk))})
	if got := callscribe.ErrorCode(err); got != callscribe.EUNREADABLE {
		t.Fatalf("Run: code %q (%v), want %q", got, err, callscribe.EUNREADABLE)
	}
	if st, _ := e.db.CallStatus(callscribe.AsSystem(context.Background()), res.CallID); st != callscribe.CallFailed {
		t.Errorf("status = %s, want failed", st)
	}
	e.assertAudioGone(t, res, int64(len(junk)))
}

// TestStagedAudioIsEncrypted records every byte handed to the stage, by both the
// streaming path (Run through the memory stage) and the plain one (Put): none of it
// may be the audio.
func TestStagedAudioIsEncrypted(t *testing.T) {
	t.Parallel()
	for _, streaming := range []bool{true, false} {
		t.Run(map[bool]string{true: "streaming", false: "put"}[streaming], func(t *testing.T) {
			e := newEnv(t, callscribe.PurposeTranscription)
			wav := speech(t)
			rec := &recordingStage{Stage: e.stage}
			cfg := pipeline.Config{Store: e.db, Stage: rec, Decode: decode, Transcriber: fixedTranscriber{}}
			if streaming {
				cfg.Stream = rec
			}
			p := pipeline.New(cfg)
			res, err := p.Run(callscribe.AsSystem(context.Background()), pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav))})
			if err != nil {
				t.Fatal(err)
			}
			staged := rec.bytes()
			if len(staged) < len(wav) {
				t.Fatalf("the stage was given %d bytes, want at least the %d of the audio", len(staged), len(wav))
			}
			if window := wav[len(wav)/2 : len(wav)/2+64]; bytes.Contains(staged, window) || bytes.Contains(staged, wav[:12]) {
				t.Error("the stage was given plaintext audio")
			}
			e.assertAudioGone(t, res, int64(len(wav)))
		})
	}
}

// recordingStage keeps a copy of every byte handed to the memory stage.
type recordingStage struct {
	*memory.Stage
	mu  sync.Mutex
	got bytes.Buffer
}

func (r *recordingStage) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got.Write(p)
}

func (r *recordingStage) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.got.Bytes())
}

func (r *recordingStage) Put(ctx context.Context, key string, src io.Reader, size int64) (int64, error) {
	return r.Stage.Put(ctx, key, io.TeeReader(src, r), size)
}

func (r *recordingStage) Start(ctx context.Context, key string, src io.Reader) (func() (int64, error), error) {
	return r.Stage.Start(ctx, key, io.TeeReader(src, r))
}

// TestRunStreamsThroughTheStage: a call run through the memory stage is recognised
// while it is staged, and the stage frees what the channels have read, so the memory
// it holds does not grow with the length of the call; the receipt still covers every byte.
func TestRunStreamsThroughTheStage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, callscribe.PurposeTranscription)
	const seconds = 300
	n := seconds * 16000 * 2 // stereo frames
	samples := make([]byte, 2*n)
	for i := range n {
		v := int16(3000 * ((i / 40) % 2)) // a square wave: not silence, not compressible away
		samples[2*i], samples[2*i+1] = byte(v), byte(v>>8)
	}
	wav := append(audio.WAVHeader(16000, 2, int64(len(samples))), samples...)
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				peak.Store(max(peak.Load(), e.stage.Bytes()))
			}
		}
	}()
	res, err := e.pipeline(t, fixedTranscriber{}, nil).Run(callscribe.AsSystem(context.Background()),
		pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav))})
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	// The memory stage runs at most a few 1 MiB chunks ahead of the slowest channel.
	if p := peak.Load(); p > 6<<20 {
		t.Errorf("the stage held up to %d bytes of a %d-byte call, want at most 6 MiB at a time", p, len(wav))
	}
	if res.Transcript.DurationMS != seconds*1000 {
		t.Errorf("duration %d ms, want %d: a channel missed audio", res.Transcript.DurationMS, seconds*1000)
	}
	e.assertAudioGone(t, res, int64(len(wav)))
}

// --- helpers ---

func speech(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[1]))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func count(t *testing.T, db *postgres.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Pool().QueryRow(callscribe.AsSystem(context.Background()), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

type spyReader struct {
	r    io.Reader
	read bool
}

func (s *spyReader) Read(p []byte) (int, error) { s.read = true; return s.r.Read(p) }

// drain reads a channel to the end, as a recogniser would.
func drain(ctx context.Context, pcm io.Reader) error {
	buf := make([]byte, 4096)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := pcm.Read(buf); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// fixedTranscriber reads the audio and "hears" one fixed sentence: for tests of the
// pipeline's own logic, where recognition quality is not the point.
type fixedTranscriber struct{}

func (fixedTranscriber) Transcribe(ctx context.Context, pcm io.Reader) (asr.Result, error) {
	if err := drain(ctx, pcm); err != nil {
		return asr.Result{}, err
	}
	return asr.Result{Engine: "fixed", Segments: []asr.Segment{{StartMS: 100, EndMS: 900, Text: "the order will arrive on monday"}}}, nil
}

type failingTranscriber struct{}

func (failingTranscriber) Transcribe(context.Context, io.Reader) (asr.Result, error) {
	return asr.Result{}, callscribe.Errorf(callscribe.EUNAVAILABLE, "must not be called")
}

// blockingTranscriber stands for a long recognition: it blocks until cancelled.
type blockingTranscriber struct{ started chan struct{} }

func (b blockingTranscriber) Transcribe(ctx context.Context, pcm io.Reader) (asr.Result, error) {
	select {
	case b.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return asr.Result{}, ctx.Err()
}

type spySummarizer struct{ calls atomic.Int32 }

func (s *spySummarizer) Summarize(ctx context.Context, turns []summarize.Turn) (summarize.Summary, error) {
	s.calls.Add(1)
	return summarize.Summary{Engine: "spy", Text: "summary"}, nil
}

// withdrawBeforeStore withdraws a consent just before the storing transaction starts.
type withdrawBeforeStore struct {
	*postgres.DB
	user    uuid.UUID
	purpose callscribe.Purpose
}

func (w *withdrawBeforeStore) CompleteCall(ctx context.Context, owner uuid.UUID, t callscribe.Transcript) (callscribe.Completion, error) {
	if w.purpose != "" {
		if _, err := w.DB.WithdrawConsent(ctx, w.user, w.purpose, callscribe.ConsentViaCLI, time.Now()); err != nil {
			return callscribe.Completion{}, err
		}
	}
	return w.DB.CompleteCall(ctx, owner, t)
}
