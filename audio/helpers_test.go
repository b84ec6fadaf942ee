package audio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"callscribe"
	"callscribe/internal/testcall"
)

// decodeAll decodes r to the end and returns its format, the interleaved samples and the
// error that ended it (nil for a clean io.EOF).
func decodeAll(t testing.TB, r io.Reader) (Format, []int16, error) {
	t.Helper()
	d, err := Open(r)
	if err != nil {
		return Format{}, nil, err
	}
	var all []int16
	buf := make([]int16, 3000)
	for {
		n, err := d.Read(buf)
		if n%d.Format().Channels != 0 {
			t.Fatalf("Read returned %d samples, not whole frames of %d channels", n, d.Format().Channels)
		}
		all = append(all, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return d.Format(), all, nil
		}
		if err != nil {
			return d.Format(), all, err
		}
	}
}

// decodeFile decodes the file at path.
func decodeFile(t testing.TB, path string) (Format, []int16) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	format, samples, err := decodeAll(t, f)
	if err != nil {
		t.Fatalf("decode %s: %v", filepath.Base(path), err)
	}
	return format, samples
}

// readChannels runs Channels on d and reads every channel concurrently to the end.
func readChannels(t testing.TB, ctx context.Context, d *Decoder, rate int) ([][]int16, []error) {
	t.Helper()
	rs := Channels(ctx, d, rate)
	out := make([][]int16, len(rs))
	errs := make([]error, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			b, err := io.ReadAll(r)
			errs[i] = err
			out[i] = pcmSamples(b)
		}()
	}
	wg.Wait()
	return out, errs
}

// channelsOfFile decodes path and returns each channel resampled to rate.
func channelsOfFile(t testing.TB, path string, rate int) [][]int16 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := Open(f)
	if err != nil {
		t.Fatalf("Open(%s): %v", filepath.Base(path), err)
	}
	chans, errs := readChannels(t, context.Background(), d, rate)
	for c, err := range errs {
		if err != nil {
			t.Fatalf("%s channel %d: %v", filepath.Base(path), c, err)
		}
	}
	return chans
}

func pcmSamples(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

func rms(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

// sine returns n samples of a sine of freq Hz at rate Hz with the given peak amplitude.
func sine(n int, freq, rate, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/rate)))
	}
	return s
}

// wavBytes builds a WAV file by hand: a RIFF header, the given chunks in order.
func wavBytes(chunks ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	size := 4
	for _, c := range chunks {
		size += len(c)
	}
	binary.Write(&b, binary.LittleEndian, uint32(size))
	b.WriteString("WAVE")
	for _, c := range chunks {
		b.Write(c)
	}
	return b.Bytes()
}

// chunk builds one RIFF chunk with a declared size (which may lie) and a body.
func chunk(id string, size uint32, body []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], size)
	return append(b, body...)
}

// fmtChunk builds a fmt chunk.
func fmtChunk(tag uint16, channels uint16, rate uint32, bits uint16, blockAlign uint16) []byte {
	body := make([]byte, 16)
	binary.LittleEndian.PutUint16(body[0:], tag)
	binary.LittleEndian.PutUint16(body[2:], channels)
	binary.LittleEndian.PutUint32(body[4:], rate)
	binary.LittleEndian.PutUint32(body[8:], rate*uint32(blockAlign))
	binary.LittleEndian.PutUint16(body[12:], blockAlign)
	binary.LittleEndian.PutUint16(body[14:], bits)
	return chunk("fmt ", 16, body)
}

// pcmWAV builds a 16-bit PCM WAV of interleaved samples.
func pcmWAV(channels, rate int, samples []int16) []byte {
	data := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(s))
	}
	return wavBytes(fmtChunk(1, uint16(channels), uint32(rate), 16, uint16(2*channels)),
		chunk("data", uint32(len(data)), data))
}

// run runs a command and fails the test if it fails.
func run(t testing.TB, name string, args ...string) {
	t.Helper()
	testcall.Require(t, name)
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// wantUnreadable fails unless err is an EUNREADABLE application error whose message
// contains want.
func wantUnreadable(t testing.TB, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want an %s error containing %q", callscribe.EUNREADABLE, want)
	}
	if code := callscribe.ErrorCode(err); code != callscribe.EUNREADABLE {
		t.Errorf("error code = %q (%v), want %q", code, err, callscribe.EUNREADABLE)
	}
	if msg := callscribe.ErrorMessage(err); !strings.Contains(msg, want) {
		t.Errorf("error message = %q, want it to contain %q", msg, want)
	}
}

func mustOpenFile(t testing.TB, path string) io.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// correlation is the normalised cross-correlation of a and b at lag 0 over their common
// length.
func correlation(a, b []int16) float64 {
	n := min(len(a), len(b))
	var ab, aa, bb float64
	for i := range n {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// bestLag finds the shift of got against want, within ±maxLag samples, that correlates
// best, and that correlation.
func bestLag(got, want []int16, maxLag int) (int, float64) {
	best, bestCorr := 0, -2.0
	for lag := -maxLag; lag <= maxLag; lag++ {
		var c float64
		if lag >= 0 {
			c = correlation(got[min(lag, len(got)):], want)
		} else {
			c = correlation(got, want[min(-lag, len(want)):])
		}
		if c > bestCorr {
			best, bestCorr = lag, c
		}
	}
	return best, bestCorr
}
