// Command ingestbench measures `callscribe serve` as a service, each figure beside its
// reference measured in the same run: concurrent uploads of one-minute calls accepted per
// second beside minio-go PutObject of the same bytes to the same MinIO (both warmed up,
// then taking turns three times; the medians count); the server's peak RSS while it
// receives a 1 GiB upload; and, with the worker running, the time from a transcript's
// commit to the confirmed deletion of its audio. scripts/bench.sh runs it against a
// throwaway PostgreSQL and MinIO (the CALLSCRIBE_TEST_S3_* variables).
package main

import (
	"bufio"
	"bytes"
	"callscribe/audio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"
)

const owner = "bench@example.ru"

func main() {
	bin := flag.String("bin", "bin/callscribe", "the callscribe binary")
	url := flag.String("url", "", "PostgreSQL URL as a superuser (the benchmark's own database)")
	uploads := flag.Int("uploads", 128, "one-minute calls uploaded in the throughput run")
	inFlight := flag.Int("concurrency", 32, "uploads in flight at once")
	rounds := flag.Int("rounds", 3, "times each side of the throughput run is measured, taking turns")
	bigBytes := flag.Int64("big", 1<<30, "bytes of audio in the large upload")
	speechCalls := flag.Int("calls", 20, "short calls transcribed in the deletion-latency run")
	speech := flag.String("speech", "", "a short WAV (flite) uploaded in the deletion-latency run")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the server in the throughput run to this file")
	onlyThroughput := flag.Bool("only-throughput", false, "measure the throughput only (for profiling runs)")
	verbose := flag.Bool("v", false, "print when each run began and ended (unix seconds), to match the runs with a CPU sampler's records")
	minioProfile := flag.String("minioprofile", "", "write MinIO's CPU profiles of the throughput run (ours, then the reference) to this file and this file.raw, each a zip")
	flag.Parse()
	if *url == "" || *speech == "" {
		fmt.Fprintln(os.Stderr, "ingestbench: -url and -speech are required")
		os.Exit(2)
	}
	b := &bench{bin: *bin, url: *url, cpuProfile: *cpuProfile, minioProfile: *minioProfile, onlyThroughput: *onlyThroughput, verbose: *verbose,
		rounds: max(*rounds, 1), client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *inFlight}}}
	if err := b.run(context.Background(), *uploads, *inFlight, *bigBytes, *speechCalls, *speech); err != nil {
		fmt.Fprintf(os.Stderr, "ingestbench: %v\n", err)
		os.Exit(1)
	}
}

type bench struct {
	bin, url       string
	cpuProfile     string // CALLSCRIBE_CPU_PROFILE of the throughput run's server; "": none
	minioProfile   string // MinIO's CPU profile of the throughput run; "": none
	onlyThroughput bool
	verbose        bool
	rounds         int
	// client keeps a connection per upload in flight, as minio-go's transport does for the
	// reference (http.DefaultClient keeps 2, so most uploads would open a new one).
	client  *http.Client
	key     string
	s3      struct{ endpoint, access, secret string }
	dataDir string
}

func (b *bench) run(ctx context.Context, uploads, inFlight int, bigBytes int64, speechCalls int, speech string) error {
	b.s3.endpoint = os.Getenv("CALLSCRIBE_TEST_S3_ENDPOINT")
	b.s3.access = os.Getenv("CALLSCRIBE_TEST_S3_ACCESS_KEY")
	b.s3.secret = os.Getenv("CALLSCRIBE_TEST_S3_SECRET_KEY")
	if b.s3.endpoint == "" || b.s3.access == "" || b.s3.secret == "" {
		return errors.New("CALLSCRIBE_TEST_S3_ENDPOINT, _ACCESS_KEY and _SECRET_KEY are required (scripts/test-minio.sh start DIR)")
	}
	dir, err := os.MkdirTemp("", "ingestbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b.dataDir = dir
	if err := b.setup(ctx); err != nil {
		return fmt.Errorf("setup: %w", err)
	}

	call := wav(60*8000, 8000, 2)
	fmt.Printf("== ingestion: %d uploads of a one-minute 8 kHz stereo WAV (%d bytes), %d in flight, beside minio-go PutObject of the same bytes;\n   each side %d times, taking turns after an untimed warm-up round each; the median run counts\n",
		uploads, len(call), inFlight, b.rounds)
	srv, err := b.serve(ctx, false, map[string]string{
		"CALLSCRIBE_MAX_CALL_BYTES":    strconv.FormatInt(bigBytes+(1<<20), 10),
		"CALLSCRIBE_MAX_CALL_DURATION": "0",
		"CALLSCRIBE_S3_BUCKET":         "ingestbench-serve",
		"CALLSCRIBE_CPU_PROFILE":       b.cpuProfile,
	})
	if err != nil {
		return err
	}
	defer srv.stop()
	mc, err := minio.New(b.s3.endpoint, &minio.Options{Creds: credentials.NewStaticV4(b.s3.access, b.s3.secret, "")})
	if err != nil {
		return err
	}
	bucket := fmt.Sprintf("ingestbench-raw-%d", time.Now().UnixNano())
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("make bucket: %w", err)
	}
	// The reference is PutObject as a caller gets it by default (over plain HTTP minio-go
	// signs the body chunk by chunk, STREAMING-AWS4-HMAC-SHA256-PAYLOAD); the stage sends
	// its ciphertext unsigned (storage/s3 putOptions says why), so PutObject with
	// DisableContentSha256 is measured too, and the ratio printed against both.
	var n atomic.Int64
	putWith := func(unsigned bool) func() error {
		return func() error {
			name := fmt.Sprintf("call-%d.wav", n.Add(1))
			_, err := mc.PutObject(ctx, bucket, name, bytes.NewReader(call), int64(len(call)),
				minio.PutObjectOptions{ContentType: "audio/wav", DisableContentSha256: unsigned})
			return err
		}
	}
	sides := []struct {
		name string
		f    func() error
		runs []time.Duration
	}{
		{name: "callscribe serve  POST /v1/calls        ", f: func() error {
			return b.upload(ctx, srv.addr, bytes.NewReader(call), int64(len(call)))
		}},
		{name: "minio-go PutObject, same bytes          ", f: putWith(false)},
		{name: "minio-go PutObject, DisableContentSha256", f: putWith(true)},
	}
	// A round of inFlight of each first, untimed: no side is timed with its first
	// connections, nor with MinIO's buffer pool still growing (it allocates a 2 MiB
	// buffer per PUT in flight until its pool holds enough: whichever side ran first
	// used to pay for that).
	for _, s := range sides {
		if _, err := concurrently(inFlight, inFlight, s.f); err != nil {
			return fmt.Errorf("warm-up: %s: %w", strings.TrimSpace(s.name), err)
		}
	}
	// The machine is shared: the sides take turns, rounds times, and each side's median
	// counts, so that a burst of other load falls on one run of one side, not on a side.
	var ourCPU time.Duration
	for r := range b.rounds {
		for i := range sides {
			s := &sides[i]
			if r == 0 && i < 2 {
				if err := b.minioProfiling(ctx, ""); err != nil {
					return err
				}
			}
			cpuBefore, err := srv.cpu()
			if err != nil {
				return err
			}
			start := time.Now()
			took, err := concurrently(uploads, inFlight, s.f)
			if err != nil {
				return fmt.Errorf("%s: %w", strings.TrimSpace(s.name), err)
			}
			cpuAfter, err := srv.cpu()
			if err != nil {
				return err
			}
			s.runs = append(s.runs, took)
			if i == 0 {
				ourCPU += cpuAfter - cpuBefore
			}
			if b.verbose {
				fmt.Fprintf(os.Stderr, "ingestbench: round %d %s from %.3f to %.3f (unix seconds)\n",
					r+1, strings.TrimSpace(s.name), unix(start), unix(start.Add(took)))
			}
			if r == 0 && i < 2 {
				to := b.minioProfile
				if i == 1 {
					to += ".raw"
				}
				if err := b.minioProfiling(ctx, to); err != nil {
					return err
				}
			}
		}
	}
	rates := make([]float64, len(sides))
	for i, s := range sides {
		var each []string
		for _, d := range s.runs {
			each = append(each, fmt.Sprintf("%5.1f", float64(uploads)/d.Seconds()))
		}
		sorted := slices.Clone(s.runs)
		slices.Sort(sorted)
		rates[i] = float64(uploads) / sorted[len(sorted)/2].Seconds()
		fmt.Printf("%s  median %5.1f /s   (runs %s)\n", s.name, rates[i], strings.Join(each, ", "))
	}
	fmt.Printf("ratio %.2f against PutObject's defaults (target >= 0.80); %.2f against unsigned PutObject\n",
		rates[0]/rates[1], rates[0]/rates[2])
	fmt.Printf("(the server's own CPU time: %.1f ms per call)\n",
		float64(ourCPU.Microseconds())/1000/float64(uploads*b.rounds))

	srv.stop()
	if b.onlyThroughput {
		return nil
	}

	// A fresh server, so that its high-water mark is this upload's and not the run above's.
	fmt.Printf("\n== memory: one %d MiB WAV upload, streamed to a fresh server (its peak RSS from /proc/PID/status)\n", bigBytes>>20)
	srv, err = b.serve(ctx, false, map[string]string{
		"CALLSCRIBE_MAX_CALL_BYTES":    strconv.FormatInt(bigBytes+(1<<20), 10),
		"CALLSCRIBE_MAX_CALL_DURATION": "0",
		"CALLSCRIBE_S3_BUCKET":         "ingestbench-serve",
	})
	if err != nil {
		return err
	}
	defer srv.stop()
	before, err := srv.rss()
	if err != nil {
		return err
	}
	peak, hwm, took, err := b.bigUpload(ctx, srv, bigBytes)
	if err != nil {
		return fmt.Errorf("large upload: %w", err)
	}
	fmt.Printf("server RSS before %.1f MiB; sampled peak %.1f MiB; VmHWM %.1f MiB (target < 64 MiB); %.1f s, %.0f MiB/s\n",
		mib(before.rss), mib(peak), mib(hwm), took.Seconds(), float64(bigBytes)/(1<<20)/took.Seconds())
	if before.hwm > before.rss+(4<<20) {
		fmt.Printf("(VmHWM was already %.1f MiB before the upload: start-up's peak)\n", mib(before.hwm))
	}
	srv.stop()

	fmt.Printf("\n== transcript committed -> audio confirmed deleted: %d short calls, serve with its worker\n", speechCalls)
	if err := b.deletionLatency(ctx, speechCalls, speech); err != nil {
		return fmt.Errorf("deletion latency: %w", err)
	}
	return nil
}

// setup creates the organization's key, the owner and the owner's consent with the CLI.
func (b *bench) setup(ctx context.Context) error {
	out, err := b.cli(ctx, "apikey", "create", "--org", "bench")
	if err != nil {
		return err
	}
	lines := strings.Fields(strings.TrimSpace(out))
	b.key = lines[len(lines)-1]
	if !strings.HasPrefix(b.key, "csk_") {
		return fmt.Errorf("apikey create printed no key: %q", out)
	}
	if _, err := b.cli(ctx, "users", "add", "--org", "bench", "--email", owner); err != nil {
		return err
	}
	_, err = b.cli(ctx, "consent", "grant", "--org", "bench", "--email", owner, "--purpose", "transcription")
	return err
}

func (b *bench) env(extra map[string]string) []string {
	env := append(os.Environ(),
		"CALLSCRIBE_DATABASE_URL="+b.url,
		"CALLSCRIBE_DATA_DIR="+b.dataDir,
	)
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

func (b *bench) cli(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = b.env(nil)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %s: %w", b.bin, strings.Join(args, " "), strings.TrimSpace(stderr.String()), err)
	}
	return string(out), nil
}

type server struct {
	cmd  *exec.Cmd
	addr string
	once sync.Once
}

// serve starts `callscribe serve` on a free loopback port with the object store, and
// waits until it answers.
func (b *bench) serve(ctx context.Context, worker bool, extra map[string]string) (*server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	env := map[string]string{
		"CALLSCRIBE_HTTP_ADDR":     addr,
		"CALLSCRIBE_SERVE_WORKER":  strconv.FormatBool(worker),
		"CALLSCRIBE_S3_ENDPOINT":   b.s3.endpoint,
		"CALLSCRIBE_S3_ACCESS_KEY": b.s3.access,
		"CALLSCRIBE_S3_SECRET_KEY": b.s3.secret,
		"CALLSCRIBE_S3_COUNTRY":    "RU",
		"CALLSCRIBE_LOG_LEVEL":     "warn",
		"CALLSCRIBE_LEDGER_KEY":    "ingestbench ledger key, thirty-two bytes or more",
	}
	for k, v := range extra {
		env[k] = v
	}
	cmd := exec.Command(b.bin, "serve")
	cmd.Env = b.env(env)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, addr: addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("serve did not answer on %s within 30 s: %w", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *server) stop() {
	s.once.Do(func() {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	})
}

// cpu is the user and system CPU time the server has used, from /proc/PID/stat.
func (s *server) cpu() (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The fields after the command's name, which is in parentheses and may hold spaces:
	// state is the first of them, utime and stime the 12th and 13th.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected %q", s.cmd.Process.Pid, b)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", s.cmd.Process.Pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100, nil // USER_HZ is 100 on Linux
}

type memory struct{ rss, hwm int64 }

// rss reads the server's resident set and its high-water mark, in bytes.
func (s *server) rss() (memory, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "status"))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("%s: %q: %w", k, v, err)
		}
		if k == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.hwm = kb << 10
		}
	}
	return m, sc.Err()
}

// upload posts one call and expects 202.
func (b *bench) upload(ctx context.Context, addr string, body io.Reader, size int64) error {
	_, err := b.post(ctx, addr, body, size)
	return err
}

func (b *bench) post(ctx context.Context, addr string, body io.Reader, size int64) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/calls?owner="+owner, body)
	if err != nil {
		return "", err
	}
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+b.key)
	req.Header.Set("Content-Type", "audio/wav")
	resp, err := b.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("POST /v1/calls: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return string(msg), nil
}

// concurrently runs f n times, inFlight at once, and returns the wall time.
func concurrently(n, inFlight int, f func() error) (time.Duration, error) {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	start := time.Now()
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := f(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// bigUpload streams a WAV of size bytes of audio to the server while sampling its RSS.
func (b *bench) bigUpload(ctx context.Context, s *server, size int64) (peak, hwm int64, took time.Duration, err error) {
	done := make(chan struct{})
	var sampled atomic.Int64
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if m, err := s.rss(); err == nil && m.rss > sampled.Load() {
					sampled.Store(m.rss)
				}
			}
		}
	}()
	start := time.Now()
	err = b.upload(ctx, s.addr, io.MultiReader(bytes.NewReader(audio.WAVHeader(8000, 2, size)), &noise{left: size}), 44+size)
	took = time.Since(start)
	close(done)
	if err != nil {
		return 0, 0, took, err
	}
	m, err := s.rss()
	return sampled.Load(), m.hwm, took, err
}

// noise reads left bytes of quiet, repeating 16-bit noise.
type noise struct {
	left int64
	off  int
}

var noiseBlock = func() []byte {
	p := make([]byte, 1<<16)
	x := uint32(2463534242)
	for i := range p {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p[i] = byte(x) & 0x3f
	}
	return p
}()

func (n *noise) Read(p []byte) (int, error) {
	if n.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > n.left {
		p = p[:n.left]
	}
	c := 0
	for c < len(p) {
		k := copy(p[c:], noiseBlock[n.off:])
		n.off = (n.off + k) % len(noiseBlock)
		c += k
	}
	n.left -= int64(c)
	return c, nil
}

// wav is a whole WAV of frames frames: a 440 Hz tone on the first channel, 660 Hz on the others.
func wav(frames, rate, channels int) []byte {
	data := make([]byte, frames*channels*2)
	for i := range frames {
		for c := range channels {
			f := 440.0
			if c > 0 {
				f = 660
			}
			v := int16(8000 * math.Sin(2*math.Pi*f*float64(i)/float64(rate)))
			binary.LittleEndian.PutUint16(data[(i*channels+c)*2:], uint16(v))
		}
	}
	return append(audio.WAVHeader(rate, channels, int64(len(data))), data...)
}

// deletionLatency uploads short speech calls to serve with its worker, waits for them to
// end, and prints receipt confirmed_at − transcript created_at from the database.
func (b *bench) deletionLatency(ctx context.Context, n int, speech string) error {
	audio, err := os.ReadFile(speech)
	if err != nil {
		return err
	}
	srv, err := b.serve(ctx, true, map[string]string{"CALLSCRIBE_S3_BUCKET": "ingestbench-worker"})
	if err != nil {
		return err
	}
	defer srv.stop()
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT set_config('callscribe.system', 'on', false)`); err != nil {
		return err
	}
	var since time.Time
	if err := conn.QueryRow(ctx, `SELECT now()`).Scan(&since); err != nil {
		return err
	}
	for i := range n {
		if err := b.upload(ctx, srv.addr, bytes.NewReader(audio), int64(len(audio))); err != nil {
			return fmt.Errorf("upload %d: %w", i, err)
		}
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		// A call shows its final status as soon as it is stored; the receipt follows.
		var ended, completed int
		err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE c.status IN ('completed','discarded','failed') AND r.confirmed_at IS NOT NULL),
			count(*) FILTER (WHERE c.status = 'completed') FROM calls c LEFT JOIN audio_deletion_receipts r ON r.call_id = c.id
			WHERE c.created_at >= $1`, since).Scan(&ended, &completed)
		if err != nil {
			return err
		}
		if ended >= n {
			if completed < n {
				return fmt.Errorf("%d of %d calls completed; the others were discarded or failed", completed, n)
			}
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d calls ended with their deletion confirmed within 10 minutes", ended, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rows, err := conn.Query(ctx, `SELECT extract(epoch FROM r.confirmed_at - t.created_at)
		FROM calls c JOIN transcripts t ON t.call_id = c.id JOIN audio_deletion_receipts r ON r.call_id = c.id
		WHERE c.created_at >= $1`, since)
	if err != nil {
		return err
	}
	lat, err := pgx.CollectRows(rows, pgx.RowTo[float64])
	if err != nil {
		return err
	}
	if len(lat) != n {
		return fmt.Errorf("%d receipts with transcripts for %d calls", len(lat), n)
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return lat[int(math.Ceil(p*float64(len(lat))))-1] }
	// transcripts.created_at is now() of the storing transaction: its start, a little before its commit.
	fmt.Printf("confirmed_at - transcript created_at over %d calls: p50 %.3f s, p99 %.3f s, max %.3f s (target p99 <= 1 s)\n",
		len(lat), q(0.5), q(0.99), lat[len(lat)-1])
	return nil
}

// minioProfiling starts MinIO's CPU profiler (to == "") or stops it and writes its zip to
// to, through MinIO's admin API; it does nothing without -minioprofile.
func (b *bench) minioProfiling(ctx context.Context, to string) error {
	if b.minioProfile == "" {
		return nil
	}
	method, path := http.MethodPost, "/minio/admin/v3/profiling/start?profilerType=cpu"
	if to != "" {
		method, path = http.MethodGet, "/minio/admin/v3/profiling/download"
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+b.s3.endpoint+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") // empty body
	req = signer.SignV4(*req, b.s3.access, b.s3.secret, "", "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("minio profiling: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("minio profiling %s: %s: %s %v", path, resp.Status, bytes.TrimSpace(body[:min(len(body), 300)]), err)
	}
	if to == "" {
		return nil
	}
	return os.WriteFile(to, body, 0o644)
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func mib(b int64) float64 { return float64(b) / (1 << 20) }
