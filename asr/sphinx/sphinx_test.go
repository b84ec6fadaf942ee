package sphinx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/asr"
	"callscribe/asr/asrtest"
	"callscribe/internal/testcall"
)

func newRecognizer(t testing.TB, cfg Config) *Recognizer {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestConformance(t *testing.T) {
	t.Parallel()
	asrtest.Run(t, func(t *testing.T) asr.Transcriber { return newRecognizer(t, Config{}) })
}

// cliWord is one line of `pocketsphinx_continuous -time yes`: word, start and end
// (seconds, the start of the first frame and of the last frame), confidence.
type cliWord struct {
	text       string
	start, end float64
	conf       float64
}

// runCLI decodes wav with pocketsphinx_continuous as its users run it and returns the
// hypothesis lines joined and the timed words (fillers dropped, suffixes kept).
func runCLI(t testing.TB, wav string) (string, []cliWord) {
	t.Helper()
	testcall.Require(t, "pocketsphinx_continuous")
	out, err := exec.Command("pocketsphinx_continuous", "-infile", wav, "-time", "yes", "-logfn", "/dev/null").Output()
	if err != nil {
		t.Fatalf("pocketsphinx_continuous -infile %s: %v", wav, err)
	}
	var hyps []string
	var words []cliWord
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 4 {
			s, err1 := strconv.ParseFloat(f[1], 64)
			e, err2 := strconv.ParseFloat(f[2], 64)
			c, err3 := strconv.ParseFloat(f[3], 64)
			if err1 == nil && err2 == nil && err3 == nil {
				if !isFiller(f[0]) {
					words = append(words, cliWord{f[0], s, e, c})
				}
				continue
			}
		}
		if len(f) > 0 {
			hyps = append(hyps, strings.Join(f, " "))
		}
	}
	return strings.Join(hyps, " "), words
}

// TestMatchesCLI checks that Transcribe decodes as pocketsphinx_continuous -infile does:
// the same words, at the same frames, with the same confidences, hence the same WER.
func TestMatchesCLI(t *testing.T) {
	t.Parallel()
	r := newRecognizer(t, Config{Decoders: 1}) // one decoder, reused: reuse must not show
	for _, voice := range []string{testcall.Agent, testcall.Client} {
		t.Run(voice, func(t *testing.T) {
			dir := t.TempDir()
			wav := testcall.Mono(t, dir, voice, 1.0, testcall.Sentences...)
			cliHyp, cliWords := runCLI(t, wav)
			res, err := r.Transcribe(t.Context(), bytes.NewReader(asrtest.PCM(t, wav)))
			if err != nil {
				t.Fatalf("Transcribe: %v", err)
			}
			ref := strings.Join(testcall.Sentences, " ")
			ours, cli := testcall.WER(ref, res.Text()), testcall.WER(ref, cliHyp)
			t.Logf("WER: ours %.3f, pocketsphinx_continuous %.3f", ours, cli)
			if ours > cli {
				t.Errorf("WER = %.3f, want <= pocketsphinx_continuous's %.3f", ours, cli)
			}
			var got []asr.Word
			for _, s := range res.Segments {
				got = append(got, s.Words...)
			}
			if len(got) != len(cliWords) {
				t.Fatalf("words = %d (%q), want pocketsphinx_continuous's %d (%q)", len(got), res.Text(), len(cliWords), cliHyp)
			}
			for i, w := range got {
				c := cliWords[i]
				// The CLI prints the last frame's start as the end; ours is that frame's end.
				wantStart, wantEnd := int64(math.Round(c.start*1000)), int64(math.Round(c.end*1000))+10
				if w.Text != baseWord(c.text) || w.StartMS != wantStart || w.EndMS != wantEnd ||
					math.Abs(w.Confidence-min(c.conf, 1)) > 1e-3 {
					t.Errorf("word %d = %s %d-%d ms conf %.4f, want pocketsphinx_continuous's %s %d-%d ms conf %.4f",
						i, w.Text, w.StartMS, w.EndMS, w.Confidence, baseWord(c.text), wantStart, wantEnd, min(c.conf, 1))
				}
			}
		})
	}
}

// TestReuseIsFresh checks that a decoder's earlier calls leave no trace: the same audio
// gives the same result on a fresh decoder and on one that has heard other audio.
func TestReuseIsFresh(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	x := asrtest.PCM(t, testcall.Mono(t, dir, testcall.Agent, 0.8, testcall.Sentences[0], testcall.Sentences[1]))
	y := asrtest.PCM(t, testcall.Speak(t, dir, testcall.Client, testcall.Sentences[5]))
	r := newRecognizer(t, Config{Decoders: 1})
	var got []asr.Result
	for _, pcm := range [][]byte{x, y, x} {
		res, err := r.Transcribe(t.Context(), bytes.NewReader(pcm))
		if err != nil {
			t.Fatalf("Transcribe: %v", err)
		}
		got = append(got, res)
	}
	if !reflect.DeepEqual(got[0], got[2]) {
		t.Errorf("same audio after other audio = %+v, want as on a fresh decoder %+v", got[2], got[0])
	}
	fresh, err := newRecognizer(t, Config{Decoders: 1}).Transcribe(t.Context(), bytes.NewReader(y))
	if err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	if !reflect.DeepEqual(got[1], fresh) {
		t.Errorf("audio after other audio = %+v, want as on a fresh decoder %+v", got[1], fresh)
	}
}

func TestNewMissingModel(t *testing.T) {
	t.Parallel()
	missing := t.TempDir() + "/missing"
	tests := []struct {
		name string
		cfg  Config
		path string
	}{
		{"model dir", Config{ModelDir: missing}, missing},
		{"model dir without mdef", Config{ModelDir: t.TempDir()}, "mdef"},
		{"dictionary", Config{Dict: missing + ".dict"}, missing + ".dict"},
		{"language model", Config{LM: missing + ".lm.bin"}, missing + ".lm.bin"},
		{"dictionary is a directory", Config{Dict: t.TempDir()}, "dictionary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.cfg)
			if err == nil {
				r.Close()
				t.Fatalf("New(%+v) = nil error, want one naming %s", tt.cfg, tt.path)
			}
			if got := callscribe.ErrorCode(err); got != callscribe.EINVALID {
				t.Errorf("error code = %q, want %q", got, callscribe.EINVALID)
			}
			msg := callscribe.ErrorMessage(err)
			if !strings.Contains(msg, tt.path) || !strings.Contains(msg, "pocketsphinx-en-us") {
				t.Errorf("error message = %q, want it to name %s and the package pocketsphinx-en-us", msg, tt.path)
			}
		})
	}
}

func TestProgress(t *testing.T) {
	t.Parallel()
	pcm := asrtest.PCM(t, testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[2]))
	var got []int64
	r := newRecognizer(t, Config{Progress: func(ms int64) { got = append(got, ms) }})
	if _, err := r.Transcribe(t.Context(), bytes.NewReader(pcm)); err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	if len(got) == 0 {
		t.Fatal("Progress was never called")
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("Progress reports %v, want increasing", got)
		}
	}
	if want := asrtest.DurationMS(pcm); got[len(got)-1] != want {
		t.Errorf("last Progress = %d ms, want the audio's %d ms", got[len(got)-1], want)
	}
}

// errAfter returns err after n bytes of r.
type errAfter struct {
	r   io.Reader
	n   int
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, e.err
	}
	n, err := e.r.Read(p[:min(len(p), e.n)])
	e.n -= n
	return n, err
}

func TestReadError(t *testing.T) {
	t.Parallel()
	pcm := asrtest.PCM(t, testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[3]))
	r := newRecognizer(t, Config{Decoders: 1})
	bad := callscribe.Errorf(callscribe.EUNREADABLE, "truncated stage")
	_, err := r.Transcribe(t.Context(), &errAfter{bytes.NewReader(pcm), len(pcm) / 2, bad})
	if !errors.Is(err, bad) {
		t.Fatalf("Transcribe(reader failing half-way) error = %v, want one wrapping %v", err, bad)
	}
	if got := callscribe.ErrorCode(err); got != callscribe.EUNREADABLE {
		t.Errorf("error code = %q, want the reader's %q", got, callscribe.EUNREADABLE)
	}
	// The decoder, left mid-utterance, serves the next call as if fresh.
	res, err := r.Transcribe(t.Context(), bytes.NewReader(pcm))
	if err != nil {
		t.Fatalf("Transcribe after a failed call: %v", err)
	}
	if w := testcall.WER(testcall.Sentences[3], res.Text()); w > asrtest.WERBound {
		t.Errorf("Transcribe after a failed call: WER = %.3f, want <= %.2f", w, asrtest.WERBound)
	}
}

// blockReader blocks its first Read until release is closed.
type blockReader struct {
	reading chan struct{}
	release chan struct{}
}

func (b *blockReader) Read(p []byte) (int, error) {
	close(b.reading)
	<-b.release
	return 0, io.EOF
}

func TestWaitForDecoderHonoursContext(t *testing.T) {
	t.Parallel()
	r := newRecognizer(t, Config{Decoders: 1})
	b := &blockReader{reading: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error)
	go func() {
		_, err := r.Transcribe(context.Background(), b)
		done <- err
	}()
	<-b.reading // the one decoder is taken
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Transcribe(ctx, bytes.NewReader(asrtest.Silence(100)))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Transcribe while the only decoder is busy: error = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Transcribe waited %v for a decoder past its 200 ms deadline", took)
	}
	close(b.release)
	if err := <-done; err != nil {
		t.Errorf("first Transcribe: %v", err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Transcribe(t.Context(), bytes.NewReader(asrtest.Silence(300))); err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := r.Transcribe(t.Context(), bytes.NewReader(asrtest.Silence(300))); err == nil {
		t.Errorf("Transcribe after Close = nil error, want one")
	}
}

func TestBaseWordAndFiller(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, base string
		filler   bool
	}{
		{"good(2)", "good", false},
		{"for", "for", false},
		{"<s>", "<s>", true},
		{"</s>", "</s>", true},
		{"<sil>", "<sil>", true},
		{"[NOISE]", "[NOISE]", true},
		{"++GARBAGE++", "++GARBAGE++", true},
	} {
		if got := baseWord(tt.in); got != tt.base {
			t.Errorf("baseWord(%q) = %q, want %q", tt.in, got, tt.base)
		}
		if got := isFiller(tt.in); got != tt.filler {
			t.Errorf("isFiller(%q) = %v, want %v", tt.in, got, tt.filler)
		}
	}
}

// BenchmarkTranscribe decodes a 60-second call with Transcribe (a warm decoder) and
// with pocketsphinx_continuous (which loads the model each run), side by side.
func BenchmarkTranscribe(b *testing.B) {
	dir := b.TempDir()
	var said []string
	for i := 0; len(said) < 16; i++ { // 16 sentences + 1 s gaps: about 60 s
		said = append(said, testcall.Sentences[i%len(testcall.Sentences)])
	}
	wav := testcall.Mono(b, dir, testcall.Agent, 1.0, said...)
	secs := testcall.Duration(b, wav)
	pcm := asrtest.PCM(b, wav)
	ref := strings.Join(said, " ")

	loadStart := time.Now()
	r := newRecognizer(b, Config{Decoders: 1})
	if _, err := r.Transcribe(context.Background(), bytes.NewReader(asrtest.Silence(100))); err != nil {
		b.Fatal(err)
	}
	load := time.Since(loadStart) // the first call loads the model

	var ours, cli time.Duration
	var oursWER, cliWER float64
	var segments int
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		res, err := r.Transcribe(context.Background(), bytes.NewReader(pcm))
		if err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		oursWER = testcall.WER(ref, res.Text())
		segments = len(res.Segments)

		start = time.Now()
		hyp, _ := runCLI(b, wav)
		cli += time.Since(start)
		cliWER = testcall.WER(ref, hyp)
	}
	n := float64(b.N)
	b.ReportMetric(secs, "audio-s")
	b.ReportMetric(float64(load.Milliseconds()), "load-ms")
	b.ReportMetric(float64(ours.Milliseconds())/n, "transcribe-ms")
	b.ReportMetric(float64(cli.Milliseconds())/n, "cli-ms")
	b.ReportMetric(oursWER, "wer")
	b.ReportMetric(cliWER, "cli-wer")
	b.ReportMetric(float64(segments), "segments")
	fmt.Fprintf(os.Stderr, "60 s call (%.1f s): Transcribe %.0f ms, pocketsphinx_continuous %.0f ms; WER %.3f vs %.3f; model load %v\n",
		secs, float64(ours.Milliseconds())/n, float64(cli.Milliseconds())/n, oursWER, cliWER, load)
}

// TestPrunedDictDecodesSame checks the promise that lets decoders load a dictionary
// pruned to the LM's words: on the same audio they give exactly the Result that the
// full dictionary gives, words, times and confidences alike.
func TestPrunedDictDecodesSame(t *testing.T) {
	t.Parallel()
	pruned := newRecognizer(t, Config{Decoders: 1})
	if pruned.dictFile == nil || pruned.dict == DefaultDict {
		t.Fatalf("New left the dictionary unpruned (dict %s)", pruned.dict)
	}
	prunedText, err := os.ReadFile(pruned.dict)
	if err != nil {
		t.Fatalf("read the pruned dictionary: %v", err)
	}
	fullText, err := os.ReadFile(DefaultDict)
	if err != nil {
		t.Fatal(err)
	}
	p, f := bytes.Count(prunedText, []byte("\n")), bytes.Count(fullText, []byte("\n"))
	t.Logf("dictionary: %d of %d entries kept", p, f)
	if p == 0 || p >= f {
		t.Fatalf("pruned dictionary has %d entries, want fewer than the full one's %d, and some", p, f)
	}
	full := newRecognizer(t, Config{Decoders: 1})
	full.dictFile.Close()
	full.dictFile, full.dict = nil, DefaultDict

	// The support-call sentences, and one of names the LM may not know.
	said := append(slices.Clone(testcall.Sentences), "my name is siobhan kowalczyk and i live in reykjavik")
	for _, voice := range []string{testcall.Agent, testcall.Client} {
		t.Run(voice, func(t *testing.T) {
			pcm := asrtest.PCM(t, testcall.Mono(t, t.TempDir(), voice, 1.0, said...))
			want, err := full.Transcribe(t.Context(), bytes.NewReader(pcm))
			if err != nil {
				t.Fatalf("Transcribe with the full dictionary: %v", err)
			}
			got, err := pruned.Transcribe(t.Context(), bytes.NewReader(pcm))
			if err != nil {
				t.Fatalf("Transcribe with the pruned dictionary: %v", err)
			}
			if len(want.Segments) == 0 {
				t.Fatalf("the full dictionary heard nothing in %d sentences", len(said))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("with the pruned dictionary = %+v,\nwant as with the full one %+v", got, want)
			}
		})
	}
}

func TestPruneDict(t *testing.T) {
	t.Parallel()
	dict := strings.Join([]string{
		"read R IY D",
		"read(2) R EH D",
		"zzqxvw Z K S",
		"zzqxvw(2) Z K S W",
		"the DH AH",
		"<sil> SIL",
		"",
		"[NOISE] +NSN+",
		"thé T EY",
		"hello(2) HH EH L OW", // an alternate whose base word the LM knows
	}, "\n") // no newline at the end: the last line counts too
	want := strings.Join([]string{
		"read R IY D",
		"read(2) R EH D",
		"the DH AH",
		"<sil> SIL",
		"[NOISE] +NSN+",
		"hello(2) HH EH L OW",
	}, "\n")

	t.Run("with a word list", func(t *testing.T) {
		lm := map[string]bool{"read": true, "the": true, "hello": true}
		var out strings.Builder
		n, err := pruneDict(&out, strings.NewReader(dict), func(w []byte) bool { return lm[string(w)] })
		if err != nil {
			t.Fatalf("pruneDict: %v", err)
		}
		if out.String() != want {
			t.Errorf("pruneDict kept\n%s\nwant\n%s", out.String(), want)
		}
		if n != 6 {
			t.Errorf("pruneDict kept %d lines, want 6", n)
		}
	})

	t.Run("with the LM", func(t *testing.T) {
		path := t.TempDir() + "/tiny.dict"
		if err := os.WriteFile(path, []byte(dict), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := prunedDict(DefaultLM, path)
		if err != nil {
			t.Fatalf("prunedDict: %v", err)
		}
		defer f.Close()
		// Read it as ps_init does, through /proc/self/fd.
		got, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
		if err != nil {
			t.Fatalf("read the pruned dictionary: %v", err)
		}
		if string(got) != want {
			t.Errorf("prunedDict kept\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("unreadable LM", func(t *testing.T) {
		path := t.TempDir() + "/not.lm.bin"
		if err := os.WriteFile(path, []byte("not a language model\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if f, err := prunedDict(path, DefaultDict); err == nil {
			f.Close()
			t.Errorf("prunedDict(an LM that is not one) = nil error, want one")
		}
	})
}

// BenchmarkPrunedDict times what pruning adds to New: reading the LM and filtering the
// dictionary into a memfd.
func BenchmarkPrunedDict(b *testing.B) {
	for b.Loop() {
		f, err := prunedDict(DefaultLM, DefaultDict)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
