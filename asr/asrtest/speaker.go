package asrtest

import (
	"bytes"
	"encoding/binary"
	"testing"

	"callscribe/asr"
	"callscribe/internal/testcall"
)

// speechLevel is the sample magnitude above which a clip counts as speech: 1% of full
// scale, as `sox silence ... 1%` measures it. flite's own lead-in and tail are quieter.
const speechLevel = 328

// span is where speech is, in milliseconds from the start of a clip.
type span struct{ startMS, endMS int64 }

// clip is s16le PCM and where its sentences are.
type clip struct {
	pcm   []byte
	spans []span
}

func (c clip) durMS() int64 { return DurationMS(c.pcm) }

// speaker makes clips with flite, in the test's temporary directory, once per sentence.
// It is used from one goroutine at a time.
type speaker struct {
	dir   string
	cache map[[2]string]clip
}

func newSpeaker(t *testing.T) *speaker {
	return &speaker{dir: t.TempDir(), cache: map[[2]string]clip{}}
}

// say returns text spoken by voice, with the one span where its speech is.
func (s *speaker) say(t testing.TB, voice, text string) clip {
	t.Helper()
	key := [2]string{voice, text}
	if c, ok := s.cache[key]; ok {
		return c
	}
	pcm := PCM(t, testcall.Speak(t, s.dir, voice, text))
	first, last := -1, -1
	for i := 0; i+1 < len(pcm); i += 2 {
		v := int16(binary.LittleEndian.Uint16(pcm[i:]))
		if v > speechLevel || v < -speechLevel {
			if first < 0 {
				first = i / 2
			}
			last = i / 2
		}
	}
	if first < 0 {
		t.Fatalf("flite -voice %s spoke nothing above 1%% of full scale", voice)
	}
	c := clip{pcm: pcm, spans: []span{{
		startMS: int64(first) * 1000 / asr.SampleRate,
		endMS:   int64(last+1) * 1000 / asr.SampleRate,
	}}}
	s.cache[key] = c
	return c
}

// join puts clips one after another with silence around them: silenceMS[0] before
// the first clip, silenceMS[i] between clip i-1 and clip i, silenceMS[len(clips)] after
// the last. The spans move with their clips.
func (s *speaker) join(silenceMS []int, clips ...clip) clip {
	if len(silenceMS) != len(clips)+1 {
		panic("asrtest: join wants one silence more than clips")
	}
	var buf bytes.Buffer
	var out clip
	for i, c := range clips {
		buf.Write(Silence(silenceMS[i]))
		at := DurationMS(buf.Bytes())
		for _, sp := range c.spans {
			out.spans = append(out.spans, span{sp.startMS + at, sp.endMS + at})
		}
		buf.Write(c.pcm)
	}
	buf.Write(Silence(silenceMS[len(clips)]))
	out.pcm = buf.Bytes()
	return out
}

// call is join of the sentences spoken by one voice.
func (s *speaker) call(t testing.TB, silenceMS []int, voice string, sentences ...string) clip {
	t.Helper()
	clips := make([]clip, len(sentences))
	for i, text := range sentences {
		clips[i] = s.say(t, voice, text)
	}
	return s.join(silenceMS, clips...)
}
