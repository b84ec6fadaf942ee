package audio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"callscribe/internal/testcall"
)

// BenchmarkDecodeResample decodes a 44.1 kHz stereo call (WAV and MP3) and resamples both
// channels to 16 kHz mono through Channels. Beside its own speed it reports how fast
// `sox IN -r 16000 -c 1 -b 16 OUT.wav` handles the same file, measured in the same run
// (sox also mixes the channels down; we keep them apart, which costs a second filter).
func BenchmarkDecodeResample(b *testing.B) {
	testcall.Require(b, "flite", "sox")
	dir := b.TempDir()
	stereo, _ := testcall.Stereo(b, dir, 0.3, testcall.Dialogue(testcall.Sentences...))
	wav := testcall.Convert(b, stereo, filepath.Join(dir, "call-44100.wav"), "-r", "44100")
	mp3 := testcall.Convert(b, stereo, filepath.Join(dir, "call-44100.mp3"), "-r", "44100")
	secs := testcall.Duration(b, wav)
	for _, path := range []string{wav, mp3} {
		b.Run(filepath.Ext(path)[1:], func(b *testing.B) {
			data, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			soxTime := timeSox(b, path, filepath.Join(dir, "sox-out.wav"))
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				d, err := Open(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				var wg sync.WaitGroup
				for _, r := range Channels(context.Background(), d, 16000) {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := io.Copy(io.Discard, r); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			elapsed := time.Since(start)
			b.ReportMetric(secs*float64(b.N)/elapsed.Seconds(), "x_realtime")
			b.ReportMetric(secs/soxTime.Seconds(), "sox_x_realtime")
			b.ReportMetric(float64(soxTime.Microseconds())/1000, "sox_ms/op")
			b.ReportMetric(secs, "audio_s")
		})
	}
}

// timeSox returns the mean wall time of sox resampling in to 16 kHz mono over 5 runs.
func timeSox(b *testing.B, in, out string) time.Duration {
	b.Helper()
	const runs = 5
	start := time.Now()
	for range runs {
		if msg, err := exec.Command("sox", in, "-r", "16000", "-c", "1", "-b", "16", out).CombinedOutput(); err != nil {
			b.Fatalf("sox: %v\n%s", err, msg)
		}
	}
	return time.Since(start) / runs
}

// BenchmarkDecodeMP3 decodes MP3 only (no resampling), a 10-minute 44.1 kHz stereo call and
// the same call as an 8 kHz MPEG-2.5 mono one, both written by sox as a PBX's are. Beside
// its own speed it reports how fast `sox IN -t raw -e signed -b 16 -` (libmad) decodes the
// same file, measured in the same run.
func BenchmarkDecodeMP3(b *testing.B) {
	testcall.Require(b, "flite", "sox")
	dir := b.TempDir()
	stereo, _ := testcall.Stereo(b, dir, 0.3, testcall.Dialogue(testcall.Sentences...))
	// Repeat the call to ten minutes.
	long := filepath.Join(dir, "call-10min.wav")
	repeats := int(600/testcall.Duration(b, stereo)) + 1
	run(b, "sox", stereo, long, "repeat", strconv.Itoa(repeats-1), "trim", "0", "600")
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"44100-stereo", []string{"-r", "44100"}},
		{"8000-mono-mpeg25", []string{"-r", "8000", "-c", "1"}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			path := testcall.Convert(b, long, filepath.Join(dir, tt.name+".mp3"), tt.args...)
			data, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			secs := testcall.Duration(b, path)
			soxTime := timeSoxDecode(b, path)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				d, err := Open(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				buf := make([]int16, 4096*d.Format().Channels)
				for {
					_, err := d.Read(buf)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			elapsed := time.Since(start)
			b.ReportMetric(secs*float64(b.N)/elapsed.Seconds(), "x_realtime")
			b.ReportMetric(secs/soxTime.Seconds(), "sox_x_realtime")
			b.ReportMetric(float64(soxTime.Microseconds())/1000, "sox_ms/op")
			b.ReportMetric(secs, "audio_s")
		})
	}
}

// timeSoxDecode returns the mean wall time of sox decoding in to raw 16-bit PCM written to
// /dev/null, over 3 runs.
func timeSoxDecode(b *testing.B, in string) time.Duration {
	b.Helper()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	const runs = 3
	start := time.Now()
	for range runs {
		cmd := exec.Command("sox", in, "-t", "raw", "-e", "signed", "-b", "16", "-")
		var msg bytes.Buffer
		cmd.Stdout, cmd.Stderr = null, &msg
		if err := cmd.Run(); err != nil {
			b.Fatalf("sox: %v\n%s", err, msg.Bytes())
		}
	}
	return time.Since(start) / runs
}
