// Package asrtest is the conformance suite every asr.Transcriber adapter runs: flite
// speaks known sentences with known silences between them, and the suite checks what
// the adapter heard against what was said and where. It owns the suite and the small
// PCM helpers tests share; it must never be imported outside tests, and it never
// writes audio anywhere but the test's temporary directory.
package asrtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"callscribe/asr"
	"callscribe/internal/testcall"
)

// WERBound is the word error rate the suite allows on flite's clear speech. PocketSphinx
// 5prealpha with the en-us model measures 0.03 to 0.09 on these clips (slt and rms);
// the bound leaves room for an engine or a voice that does a little worse.
const WERBound = 0.35

// TimeToleranceMS is how far a word's start may be from where its sentence's speech
// really starts, and how far past a sentence's end its last word may run. PocketSphinx
// measures within 70 ms at 10 ms frames.
const TimeToleranceMS = 150

// CancelWithin is how soon after its context is cancelled Transcribe must return.
const CancelWithin = 2 * time.Second

// Run runs the conformance suite against the Transcriber that newT returns. newT is
// called once; the Transcriber it returns serves every subtest, two of them at once
// in "Concurrent". newT registers its own cleanup with t.
func Run(t *testing.T, newT func(t *testing.T) asr.Transcriber) {
	t.Helper()
	testcall.Require(t, "flite")
	tr := newT(t)
	if tr == nil {
		t.Fatal("newT returned a nil Transcriber")
	}
	sp := newSpeaker(t)

	t.Run("Accuracy", func(t *testing.T) {
		for _, tc := range []struct {
			voice     string
			sentences []string
		}{
			{testcall.Agent, testcall.Sentences[0:3]},
			{testcall.Client, testcall.Sentences[3:6]},
		} {
			t.Run(tc.voice, func(t *testing.T) {
				c := sp.call(t, []int{500, 1000, 1000, 500}, tc.voice, tc.sentences...)
				res, err := tr.Transcribe(t.Context(), bytes.NewReader(c.pcm))
				if err != nil {
					t.Fatalf("Transcribe: %v", err)
				}
				checkWellFormed(t, res, c.durMS())
				ref := strings.Join(tc.sentences, " ")
				if got := testcall.WER(ref, res.Text()); got > WERBound {
					t.Errorf("heard %q, WER = %.3f against %q, want <= %.2f", res.Text(), got, ref, WERBound)
				} else {
					t.Logf("WER = %.3f (%s)", got, tc.voice)
				}
			})
		}
	})

	t.Run("Timing", func(t *testing.T) {
		// Three sentences, by both voices, at known places: 3 s of silence, the first,
		// 0.4 s (a pause inside an utterance), the second, 2.5 s, the third, 0.5 s.
		said := []string{testcall.Sentences[1], testcall.Sentences[3], testcall.Sentences[5]}
		c := sp.join([]int{3000, 400, 2500, 500},
			sp.say(t, testcall.Agent, said[0]),
			sp.say(t, testcall.Client, said[1]),
			sp.say(t, testcall.Agent, said[2]))
		res, err := tr.Transcribe(t.Context(), bytes.NewReader(c.pcm))
		if err != nil {
			t.Fatalf("Transcribe: %v", err)
		}
		checkWellFormed(t, res, c.durMS())
		// Each word belongs to the sentence whose gap midpoints bracket its start.
		groups := make([][]asr.Word, len(said))
		for _, w := range timedWords(res) {
			i := 0
			for i+1 < len(c.spans) && w.StartMS >= (c.spans[i].endMS+c.spans[i+1].startMS)/2 {
				i++
			}
			groups[i] = append(groups[i], w)
		}
		for i, ws := range groups {
			sp := c.spans[i]
			if len(ws) == 0 {
				t.Errorf("sentence %d (speech at %d-%d ms): no words heard", i, sp.startMS, sp.endMS)
				continue
			}
			if got := testcall.WER(said[i], joinWords(ws)); got > WERBound {
				t.Errorf("sentence %d (speech at %d-%d ms): heard %q, WER = %.3f against %q, want <= %.2f",
					i, sp.startMS, sp.endMS, joinWords(ws), got, said[i], WERBound)
			}
			if d := ws[0].StartMS - sp.startMS; d < -TimeToleranceMS || d > TimeToleranceMS {
				t.Errorf("sentence %d: first word starts at %d ms, want %d ms ± %d (where its speech starts)",
					i, ws[0].StartMS, sp.startMS, TimeToleranceMS)
			} else {
				t.Logf("sentence %d: first word at %d ms, speech at %d ms (%+d ms)", i, ws[0].StartMS, sp.startMS, d)
			}
			if end := ws[len(ws)-1].EndMS; end > sp.endMS+TimeToleranceMS {
				t.Errorf("sentence %d: last word ends at %d ms, want <= %d ms (its speech ends at %d ms)",
					i, end, sp.endMS+TimeToleranceMS, sp.endMS)
			}
			if i > 0 {
				for _, w := range ws {
					if prev := c.spans[i-1].endMS; w.StartMS < prev {
						t.Errorf("sentence %d: word starts at %d ms, before sentence %d ends (%d ms)", i, w.StartMS, i-1, prev)
					}
				}
			}
		}
	})

	t.Run("Silence", func(t *testing.T) {
		res, err := tr.Transcribe(t.Context(), bytes.NewReader(Silence(5000)))
		if err != nil {
			t.Fatalf("Transcribe(5 s of silence): %v, want no error", err)
		}
		checkWellFormed(t, res, 5000)
		if len(res.Segments) != 0 {
			t.Errorf("Transcribe(5 s of silence) = %d segments (%d words), want 0", len(res.Segments), countWords(res))
		}
	})

	t.Run("Empty", func(t *testing.T) {
		res, err := tr.Transcribe(t.Context(), bytes.NewReader(nil))
		if err != nil {
			t.Fatalf("Transcribe(no audio): %v, want no error", err)
		}
		checkWellFormed(t, res, 0)
		if len(res.Segments) != 0 {
			t.Errorf("Transcribe(no audio) = %d segments, want 0", len(res.Segments))
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		speech := sp.say(t, testcall.Agent, testcall.Sentences[0])
		t.Run("before", func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			start := time.Now()
			_, err := tr.Transcribe(ctx, bytes.NewReader(speech.pcm))
			took := time.Since(start)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Transcribe(cancelled ctx) error = %v, want one wrapping context.Canceled", err)
			}
			if took > CancelWithin {
				t.Errorf("Transcribe(cancelled ctx) took %v, want <= %v", took, CancelWithin)
			}
		})
		t.Run("during", func(t *testing.T) {
			// Two minutes of speech, made as it is read; the context is cancelled once
			// the first second has been read. Decoding it all would take far longer
			// than CancelWithin.
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var cancelled time.Time
			r := &loopReader{clip: append(speech.pcm, Silence(700)...), left: 2 * 120 * asr.SampleRate,
				after: 2 * asr.SampleRate, hook: func() { cancelled = time.Now(); cancel() }}
			_, err := tr.Transcribe(ctx, r)
			if cancelled.IsZero() {
				t.Fatalf("Transcribe returned (%v) before reading 1 s of audio", err)
			}
			took := time.Since(cancelled)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Transcribe cancelled mid-stream: error = %v, want one wrapping context.Canceled", err)
			}
			if took > CancelWithin {
				t.Errorf("Transcribe returned %v after cancel, want <= %v", took, CancelWithin)
			}
		})
	})

	t.Run("Concurrent", func(t *testing.T) {
		// Two channels of one call, decoded at once, must each get their own words.
		calls := [2]struct {
			ref  string
			clip clip
		}{
			{testcall.Sentences[0] + " " + testcall.Sentences[2],
				sp.call(t, []int{300, 800, 300}, testcall.Agent, testcall.Sentences[0], testcall.Sentences[2])},
			{testcall.Sentences[1] + " " + testcall.Sentences[4],
				sp.call(t, []int{300, 800, 300}, testcall.Client, testcall.Sentences[1], testcall.Sentences[4])},
		}
		started := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		type out struct {
			res asr.Result
			err error
		}
		var got [2]out
		done := make(chan struct{})
		for i := range calls {
			go func() {
				defer func() { done <- struct{}{} }()
				// Each reader holds its first read until the other call is reading too,
				// so the two calls overlap for certain.
				r := &gateReader{r: bytes.NewReader(calls[i].clip.pcm), mine: started[i], other: started[1-i]}
				got[i].res, got[i].err = tr.Transcribe(t.Context(), r)
			}()
		}
		<-done
		<-done
		for i, c := range calls {
			if got[i].err != nil {
				t.Errorf("call %d: Transcribe: %v", i, got[i].err)
				continue
			}
			checkWellFormed(t, got[i].res, c.clip.durMS())
			text := got[i].res.Text()
			if w := testcall.WER(c.ref, text); w > WERBound {
				t.Errorf("call %d: WER against its own sentences = %.3f, want <= %.2f", i, w, WERBound)
			}
			if w := testcall.WER(calls[1-i].ref, text); w < 0.6 {
				t.Errorf("call %d: WER against the other call's sentences = %.3f, want >= 0.6 (words crossed between calls?)", i, w)
			}
		}
	})
}

// checkWellFormed checks the promises of asr.Result that hold for any audio of durMS.
func checkWellFormed(t *testing.T, res asr.Result, durMS int64) {
	t.Helper()
	if res.Engine == "" {
		t.Errorf("Result.Engine is empty, want the engine's name")
	}
	var prevEnd int64
	for i, s := range res.Segments {
		if s.StartMS < 0 || s.StartMS >= s.EndMS || s.EndMS > durMS {
			t.Errorf("segment %d spans %d-%d ms, want 0 <= start < end <= %d (the audio's length)", i, s.StartMS, s.EndMS, durMS)
		}
		if s.StartMS < prevEnd {
			t.Errorf("segment %d starts at %d ms, before segment %d ends (%d ms): want time order", i, s.StartMS, i-1, prevEnd)
		}
		prevEnd = s.EndMS
		if strings.TrimSpace(s.Text) == "" {
			t.Errorf("segment %d has no text", i)
		}
		if s.Confidence < 0 || s.Confidence > 1 {
			t.Errorf("segment %d confidence = %v, want 0..1", i, s.Confidence)
		}
		prevWordEnd := s.StartMS
		for j, w := range s.Words {
			if w.StartMS < prevWordEnd || w.StartMS >= w.EndMS || w.EndMS > s.EndMS {
				t.Errorf("segment %d (%d-%d ms) word %d spans %d-%d ms, previous word ends at %d ms: want words in order inside their segment",
					i, s.StartMS, s.EndMS, j, w.StartMS, w.EndMS, prevWordEnd)
			}
			prevWordEnd = w.EndMS
			if strings.TrimSpace(w.Text) == "" || strings.ContainsAny(w.Text, " <>[]()") {
				t.Errorf("segment %d word %d = %q, want a plain word", i, j, w.Text)
			}
			if w.Confidence < 0 || w.Confidence > 1 {
				t.Errorf("segment %d word %d confidence = %v, want 0..1", i, j, w.Confidence)
			}
		}
	}
}

// timedWords returns the result's words, or one pseudo-word per segment when the engine
// gives no word timings.
func timedWords(res asr.Result) []asr.Word {
	var ws []asr.Word
	for _, s := range res.Segments {
		if len(s.Words) > 0 {
			ws = append(ws, s.Words...)
			continue
		}
		ws = append(ws, asr.Word{Text: s.Text, StartMS: s.StartMS, EndMS: s.EndMS})
	}
	return ws
}

func joinWords(ws []asr.Word) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.Text
	}
	return strings.Join(parts, " ")
}

func countWords(res asr.Result) int { return len(strings.Fields(res.Text())) }

// loopReader plays clip over and over until left bytes have been read, calling hook
// once after the first `after` bytes. Memory stays one clip however long it plays.
type loopReader struct {
	clip        []byte
	pos         int
	left, after int
	read        int
	hook        func()
}

func (r *loopReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if r.pos == len(r.clip) {
		r.pos = 0
	}
	n := copy(p[:min(len(p), r.left)], r.clip[r.pos:])
	r.pos += n
	r.left -= n
	before := r.read
	r.read += n
	if r.hook != nil && before < r.after && r.read >= r.after {
		r.hook()
	}
	return n, nil
}

// gateReader closes mine on its first Read and waits (up to 10 s) for other to close.
type gateReader struct {
	r           io.Reader
	mine, other chan struct{}
	opened      bool
}

func (g *gateReader) Read(p []byte) (int, error) {
	if !g.opened {
		g.opened = true
		close(g.mine)
		select {
		case <-g.other:
		case <-time.After(10 * time.Second):
			return 0, fmt.Errorf("asrtest: the other call did not start reading within 10 s: Transcribe calls do not run at once")
		}
	}
	return g.r.Read(p)
}
