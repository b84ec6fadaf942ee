package audio

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
