package pipeline_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"callscribe"
	"callscribe/internal/testcall"
	"callscribe/pipeline"
)

// TestTruncatedRecordingIsTranscribed: a WAV cut short (its header still promises the
// whole call) is transcribed by PocketSphinx up to the cut, and the call completes with
// its transcript marked truncated, in the result and as stored; the same call whole is
// not marked. A recording cut before any audio stays unreadable.
func TestTruncatedRecordingIsTranscribed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	said := testcall.Sentences[0]
	firstSecs := testcall.Duration(t, testcall.Speak(t, dir, testcall.Agent, said))
	whole, err := os.ReadFile(testcall.Mono(t, dir, testcall.Agent, 0.5, said, testcall.Sentences[4]))
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Index(whole, []byte("data")) + 8
	if data < 8 || binary.LittleEndian.Uint32(whole[data-4:]) != uint32(len(whole)-data) {
		t.Fatalf("flite and sox made an unexpected WAV: data chunk at %d", data)
	}
	// The stream stops 0.3 s into the second sentence.
	cutSecs := firstSecs + 0.5 + 0.3
	cut := whole[:data+int(cutSecs*16000)*2]

	t.Run("cut short", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, callscribe.PurposeTranscription)
		ctx := callscribe.AsSystem(context.Background())
		res, err := e.pipeline(t, nil, nil).Run(ctx, pipeline.Input{Owner: e.user, Audio: bytes.NewReader(cut), Size: int64(len(cut)), Roles: []string{"agent"}})
		if err != nil {
			t.Fatalf("Run of a truncated WAV: %v; want the part that is there transcribed", err)
		}
		tr := res.Transcript
		if res.Status != callscribe.CallCompleted || !tr.Truncated {
			t.Fatalf("status %s, truncated %v; want completed, truncated", res.Status, tr.Truncated)
		}
		if want := int64(cutSecs * 1000); tr.DurationMS < want-100 || tr.DurationMS > want+100 {
			t.Errorf("duration %d ms, want the %d ms before the cut", tr.DurationMS, want)
		}
		if wer := testcall.WER(said, tr.Text); wer > 0.5 {
			t.Errorf("WER against the sentence before the cut = %.2f, want ≤ 0.5\nref: %s\nhyp: %s", wer, said, tr.Text)
		}
		stored, err := e.db.Transcript(ctx, res.CallID)
		if err != nil || !stored.Truncated || stored.Text != tr.Text {
			t.Errorf("stored transcript: truncated %v, same text %v, err %v; want it stored and marked truncated", stored.Truncated, stored.Text == tr.Text, err)
		}
		e.assertAudioGone(t, res, int64(len(cut)))
	})
	t.Run("whole", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, callscribe.PurposeTranscription)
		res, err := e.pipeline(t, fixedTranscriber{}, nil).Run(callscribe.AsSystem(context.Background()),
			pipeline.Input{Owner: e.user, Audio: bytes.NewReader(whole), Size: int64(len(whole))})
		if err != nil || res.Transcript.Truncated {
			t.Errorf("Run of the whole WAV: truncated %v, err %v; want not truncated", res.Transcript.Truncated, err)
		}
	})
	t.Run("cut before any audio", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, callscribe.PurposeTranscription)
		res, err := e.pipeline(t, fixedTranscriber{}, nil).Run(callscribe.AsSystem(context.Background()),
			pipeline.Input{Owner: e.user, Audio: bytes.NewReader(whole[:data+1]), Size: int64(data + 1)})
		if callscribe.ErrorCode(err) != callscribe.EUNREADABLE || !strings.Contains(callscribe.ErrorMessage(err), "truncated") {
			t.Errorf("Run of a WAV cut inside its first sample: %v; want unreadable, truncated", err)
		}
		e.assertAudioGone(t, res, int64(data+1))
	})
}
