// Package testcall makes the calls tests listen to: flite speaks known sentences, sox
// turns them into the formats a PBX writes. Nothing here is committed audio; every file
// is made in the test's own temporary directory.
package testcall

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Voices flite speaks well enough for PocketSphinx to recognise.
const (
	Agent  = "slt"
	Client = "rms"
)

// Sentences are plain, recognisable sentences of a support call. Tests that need words
// the code has not seen compose their own; these are for the common cases.
var Sentences = []string{
	"good morning thank you for calling how can i help you today",
	"i would like to check the status of my order please",
	"of course can you tell me your order number",
	"the number is four five six seven",
	"thank you your order will arrive on monday",
	"that is great thank you very much goodbye",
}

// Turn is one sentence spoken on one channel of a call.
type Turn struct {
	Channel int    // 0 or 1
	Voice   string // Agent or Client
	Text    string
}

// Dialogue alternates sentences between channel 0 (Agent's voice) and channel 1
// (Client's voice), starting with the agent.
func Dialogue(sentences ...string) []Turn {
	turns := make([]Turn, len(sentences))
	for i, s := range sentences {
		turns[i] = Turn{Channel: i % 2, Voice: Agent, Text: s}
		if i%2 == 1 {
			turns[i].Voice = Client
		}
	}
	return turns
}

// Require fails the test when a tool the speech tests need is missing. It never skips:
// `make test` installs these, and a test that skipped would pass without checking.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (make test installs it): %v", tool, err)
		}
	}
}

// Speak writes text spoken by voice as a 16 kHz, 16-bit mono WAV in dir and returns its path.
func Speak(t testing.TB, dir, voice, text string) string {
	t.Helper()
	Require(t, "flite")
	f, err := os.CreateTemp(dir, "speak-*.wav")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	run(t, "flite", "-voice", voice, "-t", text, "-o", f.Name())
	return f.Name()
}

// Stereo writes a two-channel 16 kHz, 16-bit WAV of the turns in dir: each turn is heard
// on its own channel while the other is silent, with gap seconds of silence between turns.
// It returns the path and, per channel, the sentences spoken on it in order.
func Stereo(t testing.TB, dir string, gap float64, turns []Turn) (string, [2][]string) {
	t.Helper()
	Require(t, "flite", "sox")
	var spoken [2][]string
	var tracks [2][]string
	for i, turn := range turns {
		if turn.Channel != 0 && turn.Channel != 1 {
			t.Fatalf("turn %d: channel %d, want 0 or 1", i, turn.Channel)
		}
		speech := Speak(t, dir, turn.Voice, turn.Text)
		secs := Duration(t, speech) + gap
		padded := filepath.Join(dir, fmt.Sprintf("turn-%d.wav", i))
		sox(t, speech, padded, "pad", "0", strconv.FormatFloat(gap, 'f', 3, 64))
		silence := filepath.Join(dir, fmt.Sprintf("silence-%d.wav", i))
		sox(t, "-n", "-r", "16000", "-b", "16", "-c", "1", silence, "trim", "0", strconv.FormatFloat(secs, 'f', 3, 64))
		tracks[turn.Channel] = append(tracks[turn.Channel], padded)
		tracks[1-turn.Channel] = append(tracks[1-turn.Channel], silence)
		spoken[turn.Channel] = append(spoken[turn.Channel], turn.Text)
	}
	var chans [2]string
	for c := range tracks {
		chans[c] = filepath.Join(dir, fmt.Sprintf("channel-%d.wav", c))
		if len(tracks[c]) == 1 {
			sox(t, tracks[c][0], chans[c])
			continue
		}
		sox(t, append(tracks[c], chans[c])...)
	}
	out := filepath.Join(dir, "call-stereo.wav")
	sox(t, "-M", chans[0], chans[1], out)
	return out, spoken
}

// Mono writes the sentences spoken one after another by voice, gap seconds apart, as a
// 16 kHz, 16-bit mono WAV in dir.
func Mono(t testing.TB, dir, voice string, gap float64, sentences ...string) string {
	t.Helper()
	Require(t, "flite", "sox")
	parts := make([]string, len(sentences))
	for i, s := range sentences {
		speech := Speak(t, dir, voice, s)
		parts[i] = filepath.Join(dir, fmt.Sprintf("mono-part-%d.wav", i))
		sox(t, speech, parts[i], "pad", "0", strconv.FormatFloat(gap, 'f', 3, 64))
	}
	out := filepath.Join(dir, "call-mono.wav")
	if len(parts) == 1 {
		sox(t, parts[0], out)
	} else {
		sox(t, append(parts, out)...)
	}
	return out
}

// Convert runs `sox in [args...] out`, e.g. Convert(t, in, out, "-r", "8000") or an
// MP3 out path (sox needs libsox-fmt-mp3, which make test installs).
func Convert(t testing.TB, in, out string, args ...string) string {
	t.Helper()
	Require(t, "sox")
	// sox options for the output file go between the input and output names.
	sox(t, append(append([]string{in}, args...), out)...)
	return out
}

// Duration returns the length of an audio file in seconds, as sox reads it.
func Duration(t testing.TB, path string) float64 {
	t.Helper()
	out, err := exec.Command("soxi", "-D", path).Output()
	if err != nil {
		t.Fatalf("soxi -D %s: %v", path, err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("soxi -D %s: %q: %v", path, out, err)
	}
	return d
}

// sox runs sox in repeatable mode (-R). sox dithers whenever it writes 16-bit samples
// it made itself, the generated silence included, and seeds that dither at random by
// default: the same call would then differ by a least significant bit from run to run,
// and PocketSphinx, whose voice detector and cepstral mean hear that noise, would
// recognise it differently (a customer's first sentence came out at WER 0.56 in one
// run of eight).
func sox(t testing.TB, args ...string) {
	t.Helper()
	run(t, "sox", append([]string{"-R"}, args...)...)
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
