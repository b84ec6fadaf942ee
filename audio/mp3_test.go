package audio

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/internal/testcall"
)

// soxDecode returns sox's decoding of path (libmad for MP3) as interleaved samples, with
// the rate and channel count soxi reports.
func soxDecode(t testing.TB, path string) (rate, channels int, samples []int16) {
	t.Helper()
	testcall.Require(t, "sox", "soxi")
	out, err := exec.Command("sox", path, "-t", "raw", "-e", "signed", "-b", "16", "-L", "-").Output()
	if err != nil {
		t.Fatalf("sox %s -t raw -: %v", filepath.Base(path), err)
	}
	return soxiInt(t, "-r", path), soxiInt(t, "-c", path), pcmSamples(out)
}

func soxiInt(t testing.TB, flag, path string) int {
	t.Helper()
	out, err := exec.Command("soxi", flag, path).Output()
	if err != nil {
		t.Fatalf("soxi %s %s: %v", flag, filepath.Base(path), err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("soxi %s %s: %q: %v", flag, filepath.Base(path), out, err)
	}
	return n
}

// channel returns channel c of interleaved samples.
func channel(s []int16, c, channels int) []int16 {
	out := make([]int16, 0, len(s)/channels)
	for i := c; i < len(s); i += channels {
		out = append(out, s[i])
	}
	return out
}

// id3v2 returns an ID3v2.3 tag whose body is size bytes of a private frame.
func id3v2(size int, rng *rand.Rand) []byte {
	body := make([]byte, size)
	copy(body, "PRIV")
	for i := 10; i < size; i++ {
		body[i] = byte(rng.Uint32())
	}
	fs := size - 10
	body[4], body[5], body[6], body[7] = byte(fs>>24), byte(fs>>16), byte(fs>>8), byte(fs)
	h := []byte{'I', 'D', '3', 3, 0, 0, byte(size >> 21 & 0x7F), byte(size >> 14 & 0x7F), byte(size >> 7 & 0x7F), byte(size & 0x7F)}
	return append(h, body...)
}

// TestMP3MatchesSox decodes MP3 as PBXs and lame write it, MPEG-1, 2 and 2.5 at each of
// their rates, mono, stereo and joint stereo, CBR and VBR, behind big ID3v2 tags and junk,
// and compares every channel with sox's decoding (libmad): same rate and channels, a
// correlation of at least 0.99, and the same alignment. Where lame recorded its encoder
// delay and padding (its Info frame) we trim them and sox does not: there the decoding
// must instead have the length of the audio lame was given, and lead sox's by the delay.
func TestMP3MatchesSox(t *testing.T) {
	t.Parallel()
	testcall.Require(t, "flite", "sox", "soxi", "lame")
	dir := t.TempDir()
	speech := map[int]string{
		1: testcall.Mono(t, dir, testcall.Agent, 0.1, testcall.Sentences[3]),
	}
	speech[2], _ = testcall.Stereo(t, dir, 0.1, testcall.Dialogue(testcall.Sentences[3], testcall.Sentences[5]))
	// source returns the speech at rate Hz with the given channels, as lame is given it.
	sources := map[string]string{}
	source := func(rate, channels int) string {
		name := fmt.Sprintf("src-%d-%d.wav", rate, channels)
		if p, ok := sources[name]; ok {
			return p
		}
		p := testcall.Convert(t, speech[channels], filepath.Join(dir, name), "-r", strconv.Itoa(rate))
		sources[name] = p
		return p
	}
	rng := rand.New(rand.NewPCG(3, 4))
	withBytes := func(name, mp3 string, before ...[]byte) string {
		b, err := os.ReadFile(mp3)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, name)
		if err := os.WriteFile(out, append(bytes.Join(before, nil), b...), 0o600); err != nil {
			t.Fatal(err)
		}
		return out
	}
	junk := make([]byte, 3000)
	for i := range junk {
		junk[i] = byte(rng.Uint32())
	}
	picture := filepath.Join(dir, "picture.png")
	big := append([]byte("\x89PNG\r\n\x1a\n"), id3v2(300<<10, rng)[10:]...)
	if err := os.WriteFile(picture, big, 0o600); err != nil {
		t.Fatal(err)
	}

	type file struct {
		name     string
		rate     int
		channels int
		// make writes the MP3 and returns its path and the file sox decodes for reference
		// (the same audio without what the case puts in front of it).
		make func(name string, rate, channels int) (path, ref string)
	}
	bySox := func(args ...string) func(string, int, int) (string, string) {
		return func(name string, rate, channels int) (string, string) {
			p := testcall.Convert(t, source(rate, channels), filepath.Join(dir, name+".mp3"), args...)
			return p, p
		}
	}
	byLame := func(args ...string) func(string, int, int) (string, string) {
		return func(name string, rate, channels int) (string, string) {
			// --resample keeps the rate: lame would lower it for a low bitrate.
			out := filepath.Join(dir, name+".mp3")
			khz := strconv.FormatFloat(float64(rate)/1000, 'f', -1, 64)
			run(t, "lame", append(append([]string{"--quiet", "--resample", khz}, args...), source(rate, channels), out)...)
			return out, out
		}
	}
	// tagged puts bytes in front of an MP3 made by make; sox decodes the MP3 alone.
	tagged := func(make func(string, int, int) (string, string), before ...[]byte) func(string, int, int) (string, string) {
		return func(name string, rate, channels int) (string, string) {
			plain, _ := make(name+"-plain", rate, channels)
			return withBytes(name+".mp3", plain, before...), plain
		}
	}
	files := []file{
		// sox, as Asterisk's and FreeSWITCH's recordings are converted: no Info frame.
		{"sox-mpeg1-44100-stereo", 44100, 2, bySox()},
		{"sox-mpeg1-48000-mono", 48000, 1, bySox()},
		{"sox-mpeg1-32000-stereo", 32000, 2, bySox()},
		{"sox-mpeg2-22050-mono-padded", 22050, 1, bySox("-C", "32")},
		{"sox-mpeg2-24000-stereo", 24000, 2, bySox()},
		{"sox-mpeg2-16000-mono", 16000, 1, bySox()},
		{"sox-mpeg25-8000-mono", 8000, 1, bySox()},
		{"sox-mpeg25-11025-stereo", 11025, 2, bySox()},
		{"sox-mpeg25-12000-mono", 12000, 1, bySox()},
		// lame, with an Info frame where the frame is large enough to hold it.
		{"lame-mpeg1-44100-joint", 44100, 2, byLame("-m", "j", "-b", "128")},
		{"lame-mpeg1-44100-stereo", 44100, 2, byLame("-m", "s", "-b", "160")},
		{"lame-mpeg1-48000-mono", 48000, 1, byLame("-m", "m", "-b", "64")},
		{"lame-mpeg1-32000-vbr-joint", 32000, 2, byLame("-m", "j", "-V", "5")},
		{"lame-mpeg2-22050-vbr-mono", 22050, 1, byLame("-m", "m", "-V", "7")},
		{"lame-mpeg2-24000-mono", 24000, 1, byLame("-m", "m", "-b", "24")},
		{"lame-mpeg2-16000-joint", 16000, 2, byLame("-m", "j", "-b", "32")},
		{"lame-mpeg25-8000-mono", 8000, 1, byLame("-m", "m", "-b", "16")},
		{"lame-mpeg25-8000-vbr-mono", 8000, 1, byLame("-m", "m", "-V", "9")},
		{"lame-mpeg25-11025-joint", 11025, 2, byLame("-m", "j", "-b", "24")},
		{"lame-mpeg25-12000-stereo", 12000, 2, byLame("-m", "s", "-b", "32")},
		// What sits in front of the audio.
		{"lame-300KB-picture", 8000, 1, func(name string, rate, channels int) (string, string) {
			p, _ := byLame("-m", "m", "-b", "24", "--ti", picture)(name, rate, channels)
			ref, _ := byLame("-m", "m", "-b", "24")(name+"-plain", rate, channels)
			return p, ref
		}},
		{"300KB-id3v2-sox-mpeg25", 8000, 1, tagged(bySox(), id3v2(300<<10, rng))},
		{"id3v2-junk-sox-mpeg1", 44100, 2, tagged(bySox(), id3v2(200, rng), junk)},
		{"id3v2-junk-lame-mpeg2", 22050, 1, tagged(byLame("-m", "m", "-b", "48"), id3v2(1000, rng), junk)},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			path, ref := f.make(f.name, f.rate, f.channels)
			format, got := decodeFile(t, path)
			if want := (Format{Container: "mp3", Codec: "mp3", SampleRate: f.rate, Channels: f.channels}); format != want {
				t.Fatalf("Format() = %+v, want %+v", format, want)
			}
			soxRate, soxChannels, want := soxDecode(t, ref)
			if soxRate != f.rate || soxChannels != f.channels {
				t.Fatalf("soxi says %d Hz, %d channels; the test expects %d Hz, %d channels", soxRate, soxChannels, f.rate, f.channels)
			}
			spf := 1152
			if f.rate < 32000 {
				spf = 576
			}
			n, soxN := len(got)/f.channels, len(want)/f.channels
			srcN := soxiInt(t, "-s", source(f.rate, f.channels))
			// sox decodes the Info frame as a frame of silence and keeps the encoder's delay
			// (lame's 576 samples and the decoder's 529) and padding, where we trim them.
			wantLag, wantN, what := 0, soxN, "sox"
			if info := hasInfoFrame(t, path); info {
				wantLag, wantN, what = -(spf + 576 + 529), srcN, "the source lame was given"
			}
			for c := range f.channels {
				lag, corr := align(channel(got, c, f.channels), channel(want, c, f.channels), f.rate, 3*spf)
				t.Logf("channel %d: best lag %d, correlation %.4f; ours %d frames, sox %d, source %d", c, lag, corr, n, soxN, srcN)
				if corr < 0.99 {
					t.Errorf("channel %d: correlation with sox's decoding = %.4f (lag %d), want ≥ 0.99", c, corr, lag)
				}
				if lag != wantLag {
					t.Errorf("channel %d: best lag against sox's decoding = %d samples, want %d", c, lag, wantLag)
				}
			}
			if d := n - wantN; d < -spf || d > spf {
				t.Errorf("decoded %d frames, %s %d: differ by more than one MPEG frame (%d)", n, what, wantN, spf)
			}
		})
	}
}

// align finds the lag (got[i+lag] is want[i]) within ±maxLag that best correlates a
// second of want around its loudest sample with got, and returns it with the correlation
// of the whole of got and want at that lag. It is bestLag made cheap for long signals.
func align(got, want []int16, rate, maxLag int) (lag int, corr float64) {
	peak := 0
	for i, v := range want {
		if abs(int(v)) > abs(int(want[peak])) {
			peak = i
		}
	}
	lo, hi := max(peak-rate/2, maxLag), min(peak+rate/2, len(want), len(got)-maxLag)
	if lo >= hi {
		return bestLag(got, want, maxLag)
	}
	best := -2.0
	for l := -maxLag; l <= maxLag; l++ {
		if c := correlation(got[lo+l:hi+l], want[lo:hi]); c > best {
			best, lag = c, l
		}
	}
	if lag >= 0 {
		return lag, correlation(got[lag:], want)
	}
	return lag, correlation(got, want[-lag:])
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// hasInfoFrame reports whether the MP3 at path starts (after its ID3v2 tags) with a
// Xing or Info frame, which lame writes when the frame can hold it.
func hasInfoFrame(t testing.TB, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for len(b) >= 10 && string(b[:3]) == "ID3" {
		b = b[10+int(b[6])<<21|int(b[7])<<14|int(b[8])<<7|int(b[9]):]
	}
	b = b[:min(len(b), 64)]
	return bytes.Contains(b, []byte("Info")) || bytes.Contains(b, []byte("Xing"))
}

// TestMP3Hostile feeds frames whose headers are valid and whose bodies are not: the
// 72-byte MPEG-2.5 frame whose main_data_begin points before the stream (go-mp3 panicked
// on such input with an index out of range), side information and main data of random
// bytes, a header followed by noise. libmpg123 gets every one of them; nothing may panic
// or crash, an error must be EUNREADABLE, and no more audio may come out than the frames
// could hold. Not parallel: it counts the process's open libmpg123 handles, which
// parallel tests change.
func TestMP3Hostile(t *testing.T) {
	rng := rand.New(rand.NewPCG(72, 72))
	noise := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	// frames returns count frames with header h (4 bytes) and random bodies of size-4 bytes,
	// each passed through edit.
	frames := func(h []byte, size, count int, edit func([]byte)) []byte {
		var out []byte
		for range count {
			f := append(bytes.Clone(h), noise(size-4)...)
			if edit != nil {
				edit(f)
			}
			out = append(out, f...)
		}
		return out
	}
	mpeg25 := []byte{0xFF, 0xE3, 0x18, 0xC0} // MPEG-2.5 Layer III, 8 kbit/s, 8000 Hz, mono: 72 bytes
	mpeg2 := []byte{0xFF, 0xF3, 0x18, 0x00}  // MPEG-2, 8 kbit/s, 16000 Hz, stereo: 36 bytes
	mpeg1 := []byte{0xFF, 0xFB, 0x90, 0x40}  // MPEG-1, 128 kbit/s, 44100 Hz, joint stereo: 417 bytes
	mpeg1CRC := []byte{0xFF, 0xFA, 0xE0, 0x00}
	backward := func(f []byte) { f[4] = 0xFF } // main_data_begin: 255 bytes back
	type input struct {
		name      string
		in        []byte
		maxFrames int // audio frames the input holds at most
	}
	inputs := []input{
		{"72-byte MPEG-2.5 frame, main data before the stream", frames(mpeg25, 72, 1, backward), 576},
		{"72-byte MPEG-2 pair, main data before the stream", frames(mpeg2, 36, 2, backward), 2 * 576},
		{"MPEG-1 header then noise", append(bytes.Clone(mpeg1), noise(4096)...), 1152},
	}
	for i := range 40 {
		inputs = append(inputs,
			input{fmt.Sprintf("MPEG-2.5 random bodies %d", i), frames(mpeg25, 72, 1+i%5, nil), (1 + i%5) * 576},
			input{fmt.Sprintf("MPEG-2 random bodies %d", i), frames(mpeg2, 36, 1+i%7, nil), (1 + i%7) * 576},
			input{fmt.Sprintf("MPEG-1 random bodies %d", i), frames(mpeg1, 417, 1+i%3, nil), (1 + i%3) * 1152},
			input{fmt.Sprintf("MPEG-1 CRC random bodies %d", i), frames(mpeg1CRC, 1044, 1+i%2, nil), (1 + i%2) * 1152},
		)
	}
	for _, tt := range inputs {
		t.Run(tt.name, func(t *testing.T) {
			f, got, err := decodeAll(t, bytes.NewReader(tt.in))
			if err != nil && callscribe.ErrorCode(err) != callscribe.EUNREADABLE {
				t.Fatalf("err = %v (code %q), want nil or %q", err, callscribe.ErrorCode(err), callscribe.EUNREADABLE)
			}
			if f.Channels > 0 && len(got)/f.Channels > tt.maxFrames {
				t.Errorf("decoded %d frames of audio from frames holding at most %d", len(got)/f.Channels, tt.maxFrames)
			}
		})
	}
	if n := mpg123Handles.Load(); n != 0 {
		t.Errorf("%d libmpg123 handles left open after decoding to the end", n)
	}
}

// TestMP3Truncated: an MP3 cut inside a frame yields every whole frame before the cut,
// exactly as the uncut file decodes them, and then an error naming the cut frame.
func TestMP3Truncated(t *testing.T) {
	t.Parallel()
	for _, rate := range []string{"8000", "22050", "44100"} {
		t.Run(rate, func(t *testing.T) {
			b := makeMP3(t, rate, "1")
			_, whole, err := decodeAll(t, bytes.NewReader(b))
			if err != nil {
				t.Fatalf("decode the whole file: %v", err)
			}
			// Cut 10 bytes into the frame that starts after the middle of the file.
			at, frames := 0, 0
			var h mpegHeader
			for at < len(b)/2 {
				var ok bool
				if h, ok = parseMPEGHeader(b[at:]); !ok {
					t.Fatalf("no frame header at byte %d", at)
				}
				at += h.frameSize()
				frames++
			}
			cut, _ := parseMPEGHeader(b[at:])
			_, got, err := decodeAll(t, bytes.NewReader(b[:at+10]))
			wantUnreadable(t, err, fmt.Sprintf("mp3: truncated: frame at byte %d needs %d bytes, stream ends after 10", at, cut.frameSize()))
			if want := whole[:frames*h.samples()]; !slicesEqual(got, want) {
				t.Errorf("decoded %d samples before the error, want the %d of the %d whole frames, as the uncut file has them", len(got), len(want), frames)
			}
		})
	}
}

// TestMP3StreamChanges: two recordings glued together, the second at another rate and
// channel count, are an error at the seam, after the first one's audio.
func TestMP3StreamChanges(t *testing.T) {
	t.Parallel()
	first, second := makeMP3(t, "44100", "2"), makeMP3(t, "22050", "1")
	_, want, err := decodeAll(t, bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	f, got, err := decodeAll(t, bytes.NewReader(append(bytes.Clone(first), second...)))
	wantUnreadable(t, err, fmt.Sprintf("mp3: frame at byte %d changes the stream from 44100 Hz stereo to 22050 Hz mono", len(first)))
	if f.SampleRate != 44100 || f.Channels != 2 {
		t.Errorf("Format() = %+v, want the first recording's 44100 Hz stereo", f)
	}
	if !slicesEqual(got, want) {
		t.Errorf("decoded %d samples before the error, want the first recording's %d", len(got), len(want))
	}
}

// TestMP3FreesDecoder: libmpg123's handle is freed at the end of the stream, on an error,
// on Close, and by the garbage collector when a decoder is dropped half read.
// Not parallel: it counts the process's open libmpg123 handles, which parallel tests change.
func TestMP3FreesDecoder(t *testing.T) {
	b := makeMP3(t, "8000", "1")
	open := func() *Decoder {
		d, err := Open(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Read(make([]int16, 100)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	live := func() int64 { return mpg123Handles.Load() }
	base := live()

	decodeAll(t, bytes.NewReader(b))
	decodeAll(t, bytes.NewReader(b[:len(b)-5]))
	if n := live() - base; n != 0 {
		t.Errorf("after decoding to the end and to an error: %d handles open, want 0", n)
	}

	d := open()
	if n := live() - base; n != 1 {
		t.Errorf("with one decoder open: %d handles, want 1", n)
	}
	d.Close()
	if n := live() - base; n != 0 {
		t.Errorf("after Close: %d handles open, want 0", n)
	}
	if _, err := d.Read(make([]int16, 100)); err == nil {
		t.Errorf("Read after Close: err = nil, want an error")
	}
	d.Close() // twice is harmless

	for range 20 {
		open()
	}
	eventually.True(t, 10*time.Second, "release by the garbage collector of 20 decoders dropped half read", func() bool {
		runtime.GC()
		return live()-base <= 0
	})
	if n := live() - base; n != 0 {
		t.Errorf("20 decoders dropped half read: %d handles still open after GC", n)
	}
}
