package openai

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"callscribe"
	"callscribe/asr"
	"callscribe/audio"
)

// upload is what the fake server received in one request.
type upload struct {
	model, format, language string
	granularities           []string
	filename                string
	fileSize                int
	pcm                     []byte
	auth                    string
}

// readUpload reads a multipart transcription request the way an OpenAI-compatible server
// does, and checks that the file is a 16 kHz mono s16le WAV whose header gives its exact size.
func readUpload(r *http.Request) (upload, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/audio/transcriptions" {
		return upload{}, fmt.Errorf("request %s %s, want POST /v1/audio/transcriptions", r.Method, r.URL.Path)
	}
	if err := r.ParseMultipartForm(64 << 20); err != nil { // in memory: no audio on disk
		return upload{}, fmt.Errorf("parse multipart: %w", err)
	}
	f, fh, err := r.FormFile("file")
	if err != nil {
		return upload{}, fmt.Errorf("form file: %w", err)
	}
	defer f.Close()
	wav, err := io.ReadAll(f)
	if err != nil {
		return upload{}, err
	}
	u := upload{
		model:         r.FormValue("model"),
		format:        r.FormValue("response_format"),
		language:      r.FormValue("language"),
		granularities: r.MultipartForm.Value["timestamp_granularities[]"],
		filename:      fh.Filename,
		fileSize:      len(wav),
		auth:          r.Header.Get("Authorization"),
	}
	u.pcm, err = parseWAV(wav)
	return u, err
}

func parseWAV(b []byte) ([]byte, error) {
	if len(b) < 44 {
		return nil, fmt.Errorf("wav of %d bytes, want at least 44", len(b))
	}
	le := binary.LittleEndian
	switch {
	case string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data":
		return nil, fmt.Errorf("wav header %q is not RIFF/WAVE/fmt/data", b[:44])
	case int(le.Uint32(b[4:8])) != len(b)-8:
		return nil, fmt.Errorf("RIFF size %d, want %d", le.Uint32(b[4:8]), len(b)-8)
	case int(le.Uint32(b[40:44])) != len(b)-44:
		return nil, fmt.Errorf("data size %d, want %d", le.Uint32(b[40:44]), len(b)-44)
	case le.Uint16(b[20:22]) != 1 || le.Uint16(b[22:24]) != 1 || le.Uint32(b[24:28]) != 16000 || le.Uint16(b[34:36]) != 16:
		return nil, fmt.Errorf("wav format %x, want PCM mono 16 kHz 16 bit", b[20:36])
	}
	return b[44:], nil
}

// verbose is the verbose_json answer of OpenAI's transcription endpoint.
type verbose struct {
	Task     string       `json:"task"`
	Language string       `json:"language"`
	Duration float64      `json:"duration"`
	Text     string       `json:"text"`
	Segments []verboseSeg `json:"segments"`
	Words    []verboseWrd `json:"words,omitempty"`
}

type verboseSeg struct {
	ID         int     `json:"id"`
	Start      float64 `json:"start"`
	End        float64 `json:"end"`
	Text       string  `json:"text"`
	AvgLogprob float64 `json:"avg_logprob"`
}

type verboseWrd struct {
	Word  string  `json:"word"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// fakeServer answers each request with the next of script (the last one repeats) and
// keeps what it was sent.
type fakeServer struct {
	*httptest.Server
	mu      sync.Mutex
	uploads []upload
	errs    []error
}

func newFake(t *testing.T, script ...http.HandlerFunc) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := readUpload(r)
		f.mu.Lock()
		n := len(f.uploads)
		f.uploads = append(f.uploads, u)
		if err != nil {
			f.errs = append(f.errs, err)
		}
		f.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusTeapot)
			return
		}
		script[min(n, len(script)-1)](w, r)
	}))
	t.Cleanup(func() {
		f.Close()
		for _, err := range f.errs {
			t.Errorf("bad upload: %v", err)
		}
	})
	return f
}

func (f *fakeServer) requests() []upload {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]upload(nil), f.uploads...)
}

func reply(status int, contentType, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func replyJSON(status int, v any, header ...string) http.HandlerFunc {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return reply(status, "application/json", string(b), header...)
}

const openAIError400 = `{"error":{"message":"Invalid file format. Supported formats: ['flac', 'mp3', 'wav']","type":"invalid_request_error","param":null,"code":null}}`

var okAnswer = verbose{Task: "transcribe", Language: "english", Duration: 1, Text: "hello there",
	Segments: []verboseSeg{{Start: 0.1, End: 0.9, Text: " hello there", AvgLogprob: -0.25}},
	Words:    []verboseWrd{{Word: " hello", Start: 0.1, End: 0.4}, {Word: " there", Start: 0.5, End: 0.9}},
}

// newTest returns a Transcriber for srv whose retries sleep not at all but record how
// long they would have slept.
func newTest(t *testing.T, srv string, cfg Config) (*Transcriber, *[]time.Duration) {
	t.Helper()
	cfg.BaseURL = srv + "/v1"
	tr, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var mu sync.Mutex
	slept := &[]time.Duration{}
	tr.retry.Sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		*slept = append(*slept, d)
		return ctx.Err()
	}
	tr.retry.Jitter = func() float64 { return 0.5 }
	return tr, slept
}

// tone is ms milliseconds of a 440 Hz tone, as PCM.
func tone(ms int, amp float64) []byte {
	b := make([]byte, 0, ms*bytesPerMS)
	for i := range ms * 16 {
		v := int16(amp * math.Sin(2*math.Pi*440*float64(i)/16000))
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	srv := newFake(t, replyJSON(200, okAnswer))
	tr, _ := newTest(t, srv.URL, Config{APIKey: "sk-test-secret", Model: "Systran/faster-whisper-small", Language: "en"})
	got, err := tr.Transcribe(context.Background(), bytes.NewReader(tone(1000, 3000)))
	if err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	want := asr.Result{Engine: "openai:Systran/faster-whisper-small", Segments: []asr.Segment{{
		StartMS: 100, EndMS: 900, Text: "hello there", Confidence: math.Exp(-0.25),
		Words: []asr.Word{{Text: "hello", StartMS: 100, EndMS: 400}, {Text: "there", StartMS: 500, EndMS: 900}},
	}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("result = %+v, want %+v", got, want)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	u := reqs[0]
	checks := []struct{ name, got, want string }{
		{"model", u.model, "Systran/faster-whisper-small"},
		{"response_format", u.format, "verbose_json"},
		{"language", u.language, "en"},
		{"timestamp_granularities[]", strings.Join(u.granularities, ","), "word,segment"},
		{"Authorization", u.auth, "Bearer sk-test-secret"},
		{"file name", u.filename, "audio.wav"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if u.fileSize != 44+32000 {
		t.Errorf("uploaded file = %d bytes, want %d (44-byte header + 1 s)", u.fileSize, 44+32000)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	ok := replyJSON(200, okAnswer)
	fail500 := reply(500, "application/json", `{"error":{"message":"model is loading","type":"server_error"}}`)
	tests := []struct {
		name       string
		script     []http.HandlerFunc
		maxRetries int
		wantCode   string // "" for success
		wantReqs   int
		wantSleeps []time.Duration
		wantInErr  []string
	}{
		{
			name:       "500 500 200 succeeds",
			script:     []http.HandlerFunc{fail500, fail500, ok},
			wantReqs:   3,
			wantSleeps: []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond},
		},
		{
			name:       "429 honours Retry-After",
			script:     []http.HandlerFunc{reply(429, "application/json", `{"error":{"message":"slow down","type":"rate_limit"}}`, "Retry-After", "7"), ok},
			wantReqs:   2,
			wantSleeps: []time.Duration{7 * time.Second},
		},
		{
			name:       "always 500 is unavailable after retries",
			script:     []http.HandlerFunc{fail500},
			maxRetries: 2,
			wantCode:   callscribe.EUNAVAILABLE,
			wantReqs:   3,
			wantSleeps: []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond},
			wantInErr:  []string{"3 attempts", "500", "model is loading"},
		},
		{
			name:       "default is four retries",
			script:     []http.HandlerFunc{reply(503, "text/plain", "busy")},
			wantCode:   callscribe.EUNAVAILABLE,
			wantReqs:   5,
			wantSleeps: []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second},
			wantInErr:  []string{"503", "busy"},
		},
		{
			name:      "400 is invalid and not retried",
			script:    []http.HandlerFunc{reply(400, "application/json", openAIError400)},
			wantCode:  callscribe.EINVALID,
			wantReqs:  1,
			wantInErr: []string{"400", "Invalid file format"},
		},
		{
			name:      "413 plain text is invalid and not retried",
			script:    []http.HandlerFunc{reply(413, "text/plain", "file too large")},
			wantCode:  callscribe.EINVALID,
			wantReqs:  1,
			wantInErr: []string{"413", "file too large"},
		},
		{
			name:      "422 with a detail body names it",
			script:    []http.HandlerFunc{reply(422, "application/json", `{"detail":"language xx is not supported"}`)},
			wantCode:  callscribe.EINVALID,
			wantReqs:  1,
			wantInErr: []string{"422", "language xx is not supported"},
		},
		{
			name: "dropped connection is retried",
			script: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			}, ok},
			wantReqs:   2,
			wantSleeps: []time.Duration{750 * time.Millisecond},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, tt.script...)
			tr, slept := newTest(t, srv.URL, Config{APIKey: "sk-test-secret", MaxRetries: tt.maxRetries})
			got, err := tr.Transcribe(context.Background(), bytes.NewReader(tone(500, 3000)))
			if code := callscribe.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", code, err, tt.wantCode)
			}
			if err == nil && got.Text() != "hello there" {
				t.Errorf("text = %q, want %q", got.Text(), "hello there")
			}
			if n := len(srv.requests()); n != tt.wantReqs {
				t.Errorf("requests = %d, want %d", n, tt.wantReqs)
			}
			if !reflect.DeepEqual(*slept, tt.wantSleeps) && (len(*slept) > 0 || len(tt.wantSleeps) > 0) {
				t.Errorf("slept %v, want %v", *slept, tt.wantSleeps)
			}
			for _, want := range tt.wantInErr {
				if !strings.Contains(callscribe.ErrorMessage(err), want) {
					t.Errorf("error message %q does not contain %q", callscribe.ErrorMessage(err), want)
				}
			}
			if err != nil && strings.Contains(err.Error(), "sk-test-secret") {
				t.Errorf("error %q carries the API key", err)
			}
		})
	}
}

func TestTextOnlyAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer http.HandlerFunc
	}{
		{"json", reply(200, "application/json", `{"text":" hello there"}`)},
		{"text", reply(200, "text/plain; charset=utf-8", "hello there\n")},
		{"verbose_json without segments", replyJSON(200, verbose{Task: "transcribe", Duration: 2, Text: "hello there"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, tt.answer)
			tr, _ := newTest(t, srv.URL, Config{})
			got, err := tr.Transcribe(context.Background(), bytes.NewReader(tone(2000, 3000)))
			if err != nil {
				t.Fatalf("Transcribe: %v", err)
			}
			want := []asr.Segment{{StartMS: 0, EndMS: 2000, Text: "hello there"}}
			if !reflect.DeepEqual(got.Segments, want) {
				t.Errorf("segments = %+v, want %+v", got.Segments, want)
			}
		})
	}
}

func TestEmptyAudioSendsNothing(t *testing.T) {
	t.Parallel()
	srv := newFake(t, replyJSON(200, okAnswer))
	tr, _ := newTest(t, srv.URL, Config{})
	got, err := tr.Transcribe(context.Background(), bytes.NewReader(nil))
	if err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	if len(got.Segments) != 0 || got.Engine != "openai:whisper-1" {
		t.Errorf("result = %+v, want no segments from engine openai:whisper-1", got)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}

type failingReader struct{ after int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.after <= 0 {
		return 0, errors.New("disk on fire")
	}
	n := min(len(p), r.after)
	clear(p[:n])
	r.after -= n
	return n, nil
}

func TestReadErrorIsUnreadable(t *testing.T) {
	t.Parallel()
	srv := newFake(t, replyJSON(200, okAnswer))
	tr, _ := newTest(t, srv.URL, Config{})
	_, err := tr.Transcribe(context.Background(), &failingReader{after: 1000})
	if code := callscribe.ErrorCode(err); code != callscribe.EUNREADABLE {
		t.Errorf("error code = %q (%v), want %q", code, err, callscribe.EUNREADABLE)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("requests = %d, want 0 (nothing is sent from a broken stream)", n)
	}
}

func TestDefaultTimeoutGrowsWithAudio(t *testing.T) {
	t.Parallel()
	tests := []struct {
		audio, want time.Duration
	}{
		{0, 30 * time.Second},
		{10 * time.Second, 40 * time.Second},
		{13 * time.Minute, 13*time.Minute + 30*time.Second},
	}
	for _, tt := range tests {
		if got := DefaultTimeout(tt.audio); got != tt.want {
			t.Errorf("DefaultTimeout(%v) = %v, want %v", tt.audio, got, tt.want)
		}
	}
}

func TestHangingServerIsCutOff(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	var mu sync.Mutex
	var asked []time.Duration
	tr, _ := newTest(t, srv.URL, Config{MaxRetries: 1, Timeout: func(audio time.Duration) time.Duration {
		mu.Lock()
		asked = append(asked, audio)
		mu.Unlock()
		return 100 * time.Millisecond
	}})
	start := time.Now()
	_, err := tr.Transcribe(context.Background(), bytes.NewReader(tone(1500, 3000)))
	if code := callscribe.ErrorCode(err); code != callscribe.EUNAVAILABLE {
		t.Errorf("error code = %q (%v), want %q", code, err, callscribe.EUNAVAILABLE)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Transcribe took %v against a hanging server with a 100ms timeout", elapsed)
	}
	if n := len(srv.requests()); n != 2 {
		t.Errorf("requests = %d, want 2 (one retry)", n)
	}
	if want := []time.Duration{1500 * time.Millisecond}; !reflect.DeepEqual(asked, want) {
		t.Errorf("Timeout asked for %v, want %v (the upload's audio length)", asked, want)
	}
}

func TestCancelledContextStops(t *testing.T) {
	t.Parallel()
	srv := newFake(t, reply(503, "text/plain", "busy"))
	tr, err := New(Config{BaseURL: srv.URL + "/v1", MaxRetries: 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = tr.Transcribe(ctx, bytes.NewReader(tone(500, 3000)))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("Transcribe took %v after its context ended at 300ms", elapsed)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no base url", Config{}, "CALLSCRIBE_OPENAI_BASE_URL"},
		{"not a url", Config{BaseURL: "asr.local:8000"}, "CALLSCRIBE_OPENAI_BASE_URL"},
		{"tiny upload limit", Config{BaseURL: "http://asr.local/v1", MaxUploadBytes: 1000}, "too small"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if callscribe.ErrorCode(err) != callscribe.EINVALID || !strings.Contains(callscribe.ErrorMessage(err), tt.want) {
				t.Errorf("New error = %v, want EINVALID naming %q", err, tt.want)
			}
		})
	}
}

// burst is one stretch of "speech" in a synthetic call, in ms from its start.
type burst struct{ start, end int64 }

// synthCall makes total ms of faint noise with loud tone bursts of 300–900 ms separated
// by pauses of 250–700 ms, and returns the PCM and where the bursts are.
func synthCall(totalMS int, seed uint64) ([]byte, []burst) {
	rng := rand.New(rand.NewPCG(seed, 1))
	pcm := make([]byte, 0, totalMS*bytesPerMS)
	var bursts []burst
	addNoise := func(ms int) {
		for range ms * 16 {
			pcm = binary.LittleEndian.AppendUint16(pcm, uint16(int16(rng.IntN(101)-50)))
		}
	}
	addNoise(400)
	for {
		speech, pause := 300+rng.IntN(601), 250+rng.IntN(451)
		at := len(pcm) / bytesPerMS
		if at+speech+pause > totalMS {
			break
		}
		amp := 4000 + rng.Float64()*6000
		for i := range speech * 16 {
			v := amp*math.Sin(2*math.Pi*(200+float64(len(bursts)%7)*60)*float64(i)/16000) + float64(rng.IntN(101)-50)
			pcm = binary.LittleEndian.AppendUint16(pcm, uint16(int16(v)))
		}
		bursts = append(bursts, burst{int64(at), int64(at + speech)})
		addNoise(pause)
	}
	addNoise(totalMS - len(pcm)/bytesPerMS)
	return pcm, bursts
}

// findBursts is the fake server's recogniser: every run of loud 10 ms blocks is a word.
func findBursts(pcm []byte) []burst {
	var out []burst
	in := false
	for b := 0; b+blockBytes <= len(pcm); b += blockBytes {
		var peak int16
		for i := b; i < b+blockBytes; i += 2 {
			peak = max(peak, int16(binary.LittleEndian.Uint16(pcm[i:])))
		}
		ms := int64(b / bytesPerMS)
		switch loud := peak > 1000; {
		case loud && !in:
			out = append(out, burst{start: ms})
			in = true
		case !loud && in:
			out[len(out)-1].end = ms
			in = false
		}
	}
	if in {
		out[len(out)-1].end = int64(len(pcm) / bytesPerMS)
	}
	return out
}

func TestSplitsAtPausesAndShiftsTimes(t *testing.T) {
	t.Parallel()
	const limit = 44 + 3*32000 // three seconds of audio per upload
	pcm, bursts := synthCall(20000, 7)
	srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		u, _ := readUpload(r)
		var v verbose
		for i, b := range findBursts(u.pcm) {
			word := fmt.Sprintf(" w%d", i)
			v.Segments = append(v.Segments, verboseSeg{ID: i, Start: float64(b.start) / 1000, End: float64(b.end) / 1000, Text: word})
			v.Words = append(v.Words, verboseWrd{Word: word, Start: float64(b.start) / 1000, End: float64(b.end) / 1000})
		}
		replyJSON(200, v)(w, r)
	})
	tr, _ := newTest(t, srv.URL, Config{MaxUploadBytes: limit})
	got, err := tr.Transcribe(context.Background(), bytes.NewReader(pcm))
	if err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	reqs := srv.requests()
	if len(reqs) < 7 {
		t.Errorf("uploads = %d, want at least 7 for 20 s at 3 s each", len(reqs))
	}
	var joined []byte
	var offset int64
	for i, u := range reqs {
		if u.fileSize > limit {
			t.Errorf("upload %d is %d bytes, over the %d limit", i, u.fileSize, limit)
		}
		joined = append(joined, u.pcm...)
		offset += int64(len(u.pcm) / bytesPerMS)
		if i == len(reqs)-1 {
			continue
		}
		for _, b := range bursts {
			if offset > b.start && offset < b.end {
				t.Errorf("cut %d at %d ms falls inside speech %d–%d ms", i, offset, b.start, b.end)
			}
		}
	}
	if !bytes.Equal(joined, pcm) {
		t.Errorf("uploads joined = %d bytes differing from the %d bytes of the call", len(joined), len(pcm))
	}
	if len(got.Segments) != len(bursts) {
		t.Fatalf("segments = %d, want %d (one per burst)", len(got.Segments), len(bursts))
	}
	for i, s := range got.Segments {
		b := bursts[i]
		if abs(s.StartMS-b.start) > 10 || abs(s.EndMS-b.end) > 10 {
			t.Errorf("segment %d at %d–%d ms, want %d–%d ms (±10)", i, s.StartMS, s.EndMS, b.start, b.end)
		}
		if len(s.Words) != 1 || s.Words[0].StartMS != s.StartMS || s.Words[0].EndMS != s.EndMS {
			t.Errorf("segment %d words = %+v, want one word at %d–%d", i, s.Words, s.StartMS, s.EndMS)
		}
	}
}

func abs(v int64) int64 { return max(v, -v) }

func TestQuietCut(t *testing.T) {
	t.Parallel()
	loud := func(ms int) []byte { return tone(ms, 8000) }
	quiet := func(ms int) []byte { return make([]byte, ms*bytesPerMS) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name     string
		pcm      []byte
		lookback int
		want     int // ms
	}{
		{"pause in the middle of the lookback", cat(loud(3000), quiet(200), loud(800)), 2000, 3100},
		{"pause before the lookback is not used", cat(loud(500), quiet(300), loud(3200)), 2000, 3900},
		{"all quiet cuts late", quiet(4000), 2000, 3900},
		{"the quietest of two pauses", cat(loud(2200), tone(300, 500), loud(700), quiet(300), loud(500)), 2000, 3400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := quietCut(tt.pcm, tt.lookback*bytesPerMS)
			if got%blockBytes != 0 {
				t.Errorf("cut at byte %d, not on a 10 ms boundary", got)
			}
			if got/bytesPerMS != tt.want {
				t.Errorf("cut at %d ms, want %d ms", got/bytesPerMS, tt.want)
			}
		})
	}
}

func TestWAVHeader(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 2, 32000} {
		wav := append(audio.WAVHeader(asr.SampleRate, 1, int64(n)), make([]byte, n)...)
		pcm, err := parseWAV(wav)
		if err != nil {
			t.Errorf("audio.WAVHeader(%d): %v", n, err)
		} else if len(pcm) != n {
			t.Errorf("audio.WAVHeader(%d) data = %d bytes, want %d", n, len(pcm), n)
		}
	}
}

func TestTidy(t *testing.T) {
	t.Parallel()
	w := func(text string, start, end int64) asr.Word { return asr.Word{Text: text, StartMS: start, EndMS: end} }
	tests := []struct {
		name  string
		durMS int64
		in    []asr.Segment
		want  []asr.Segment
	}{
		{
			"well-formed is kept",
			1000,
			[]asr.Segment{{StartMS: 100, EndMS: 500, Text: "a b", Words: []asr.Word{w("a", 100, 300), w("b", 300, 500)}}},
			[]asr.Segment{{StartMS: 100, EndMS: 500, Text: "a b", Words: []asr.Word{w("a", 100, 300), w("b", 300, 500)}}},
		},
		{
			"word past its segment is clamped, zero-length word gets 1 ms",
			1000,
			[]asr.Segment{{StartMS: 100, EndMS: 500, Text: "a b", Words: []asr.Word{w("a", 100, 100), w("b", 300, 560)}}},
			[]asr.Segment{{StartMS: 100, EndMS: 500, Text: "a b", Words: []asr.Word{w("a", 100, 101), w("b", 300, 500)}}},
		},
		{
			"overlapping and unordered segments",
			1000,
			[]asr.Segment{{StartMS: 400, EndMS: 700, Text: "b"}, {StartMS: 0, EndMS: 450, Text: "a"}},
			[]asr.Segment{{StartMS: 0, EndMS: 450, Text: "a"}, {StartMS: 450, EndMS: 700, Text: "b"}},
		},
		{
			"zero-length segment at the very end",
			1000,
			[]asr.Segment{{StartMS: 0, EndMS: 1000, Text: "a"}, {StartMS: 1000, EndMS: 1000, Text: "b"}},
			[]asr.Segment{{StartMS: 0, EndMS: 1000, Text: "a b"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tidy(tt.in, tt.durMS); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tidy = %+v, want %+v", got, tt.want)
			}
		})
	}
}
