package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"callscribe"
	"callscribe/internal/testcall"
	"callscribe/pipeline"
	"callscribe/summarize/extractive"
)

// TestOneSidedCallHasNoEmptySpeaker: a stereo call whose second channel carries no speech
// (digital silence, or the faint line noise of a real idle channel) comes out with the
// speaking channel's turns only: no segment, turn or summary line for the silent speaker,
// and no empty segment, in the result and in what is stored.
func TestOneSidedCallHasNoEmptySpeaker(t *testing.T) {
	t.Parallel()
	testcall.Require(t, "sox")
	dir := t.TempDir()
	agent := testcall.Mono(t, dir, testcall.Agent, 0.5, testcall.Sentences[0], testcall.Sentences[4])
	secs := testcall.Duration(t, agent)
	dur := strconv.FormatFloat(secs, 'f', 3, 64)
	for _, idle := range []struct {
		name   string
		opts   []string // sox's global options: -D writes true zeros, -R repeats the noise
		effect []string // sox effect making the idle channel, as long as the agent's
	}{
		{"digital silence", []string{"-D"}, []string{"trim", "0", dur}},
		{"line noise", []string{"-R"}, []string{"synth", dur, "whitenoise", "vol", "0.003"}},
	} {
		t.Run(idle.name, func(t *testing.T) {
			d := t.TempDir()
			quiet := filepath.Join(d, "quiet.wav")
			args := append(append(idle.opts, "-n", "-r", "16000", "-b", "16", "-c", "1", quiet), idle.effect...)
			if msg, err := exec.Command("sox", args...).CombinedOutput(); err != nil {
				t.Fatalf("sox %v: %v\n%s", args, err, msg)
			}
			call := filepath.Join(d, "call.wav")
			if msg, err := exec.Command("sox", "-M", agent, quiet, call).CombinedOutput(); err != nil {
				t.Fatalf("sox -M: %v\n%s", err, msg)
			}
			wav, err := os.ReadFile(call)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, callscribe.PurposeTranscription, callscribe.PurposeSummarization)
			res, err := e.pipeline(t, nil, extractive.New(extractive.Config{})).Run(callscribe.AsSystem(context.Background()),
				pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav))})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			stored, err := e.db.Transcript(callscribe.AsSystem(context.Background()), res.CallID)
			if err != nil {
				t.Fatal(err)
			}
			for name, tr := range map[string]callscribe.Transcript{"result": res.Transcript, "stored": stored} {
				if len(tr.Segments) == 0 {
					t.Fatalf("%s: no segments: the agent's speech was not recognised, so the test proves nothing", name)
				}
				for _, s := range tr.Segments {
					if s.Channel != 0 || s.Speaker != "agent" || strings.TrimSpace(s.Text) == "" {
						t.Errorf("%s: segment %+v; want only non-empty agent segments on channel 0", name, s)
					}
				}
				for _, turn := range pipeline.Turns(tr.Segments) {
					if turn.Speaker != "agent" {
						t.Errorf("%s: a turn of %q: %+v", name, turn.Speaker, turn)
					}
				}
				if tr.Summary != nil && strings.Contains(tr.Summary.Text, "client") {
					t.Errorf("%s: the summary names the silent speaker:\n%s", name, tr.Summary.Text)
				}
			}
			e.assertAudioGone(t, res, int64(len(wav)))
		})
	}
}
