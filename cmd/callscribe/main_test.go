package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"callscribe"
	"callscribe/internal/logbuf"
	"callscribe/internal/testcall"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

// The callscribe binary, for the tests that need a process of their own (signals, a
// SIGKILL, the process's own memory or temporary directory): built once, when the
// first of them asks. Every other test runs the command line in-process (runCLI).
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// parallelTests is how many tests run at once unless -test.parallel says otherwise. The
// default (GOMAXPROCS, 2 on CI) is made for tests that keep a core busy; most of these
// wait on a server, another process, a job queue's timers or an object store, so more
// of them fit on the same cores. The CPU-bound ones (recognition) share the cores
// whatever the number.
const parallelTests = 8

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(parallelTests))
	}
	code := pgtest.Main(m, func(ctx context.Context, url string) error {
		return postgres.Migrate(ctx, url)
	})
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// callscribeBinary returns the path of the callscribe binary, building it on first use.
func callscribeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "callscribe-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "callscribe")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// processEnv is the environment of a callscribe process: env added to a clean one.
func processEnv(env []string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
}

type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs one command line in this process, as the binary's main would, with env
// (added to PATH and HOME) as its whole environment and no standard input.
func runCLI(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runStdin(t, env, nil, args...)
}

// runStdin is runCLI with stdin as the standard input.
func runStdin(t *testing.T, env []string, stdin io.Reader, args ...string) result {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range processEnv(env) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v // later entries win, as in a process's environment
	}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr logbuf.Buffer
	code := run(t.Context(), args, func(k string) string { return vars[k] }, stdin, &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

// runProcess runs the binary in dir, for a test that needs a process of its own.
func runProcess(t *testing.T, env []string, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(callscribeBinary(t), args...)
	cmd.Env = processEnv(env)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run callscribe %s: %v", strings.Join(args, " "), err)
	}
	return result{stdout.String(), stderr.String(), code}
}

func mustRun(t *testing.T, env []string, args ...string) string {
	t.Helper()
	r := runCLI(t, env, args...)
	if r.code != 0 {
		t.Fatalf("callscribe %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// operatorCLI is an operator's setting for the CLI tests: a fresh database, the CLI's
// environment for it (its own temporary and data directories, then extra), the local
// organization's user ivanova@example.ru added through the CLI, and the database opened
// (closed at the test's end).
func operatorCLI(t *testing.T, extra ...string) (env []string, data string, db *postgres.DB) {
	t.Helper()
	url := pgtest.DB(t)
	data = t.TempDir()
	env = append([]string{"CALLSCRIBE_DATABASE_URL=" + url, "TMPDIR=" + t.TempDir(), "CALLSCRIBE_DATA_DIR=" + data}, extra...)
	mustRun(t, env, "users", "add", "--email", "ivanova@example.ru", "--name", "Ivanova Anna", "--phone", "+79161234567")
	db, err := postgres.Open(callscribe.AsSystem(context.Background()), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return env, data, db
}

// dbEnv is the environment of a run against a fresh database of its own.
func dbEnv(t *testing.T) []string {
	return []string{"CALLSCRIBE_DATABASE_URL=" + pgtest.DB(t), "TMPDIR=" + t.TempDir()}
}

type output struct {
	CallID     string   `json:"call_id"`
	Status     string   `json:"status"`
	DurationMS int64    `json:"duration_ms"`
	Channels   []string `json:"channels"`
	Segments   []struct {
		Channel int    `json:"channel"`
		Speaker string `json:"speaker"`
		StartMS int64  `json:"start_ms"`
		EndMS   int64  `json:"end_ms"`
		Text    string `json:"text"`
	} `json:"segments"`
	Text    string `json:"text"`
	Summary *struct {
		Engine string `json:"engine"`
		Text   string `json:"text"`
	} `json:"summary"`
	Audio struct {
		Bytes       int64  `json:"bytes"`
		SHA256      string `json:"sha256"`
		Stage       string `json:"stage"`
		DeletedAt   string `json:"deleted_at"`
		ConfirmedAt string `json:"confirmed_at"`
	} `json:"audio"`
}

func TestTranscribeMatchesPocketSphinxCLI(t *testing.T) {
	t.Parallel()
	testcall.Require(t, "pocketsphinx_continuous", "lame")
	dir := t.TempDir()
	// Sentences this code was not written around, one voice per channel.
	stereo, spoken := testcall.Stereo(t, dir, 0.7, testcall.Dialogue(
		"please send the invoice to my office address",
		"the weather was very cold last winter",
		"we can schedule the meeting for next tuesday",
		"my account was charged twice this month",
	))
	mono := testcall.Mono(t, dir, testcall.Agent, 0.7, "please send the invoice to my office address", "we can schedule the meeting for next tuesday")
	tests := []struct {
		name     string
		file     string
		channels int
		spoken   [2][]string
		slack    float64 // allowed WER above the CLI's: decoding MP3 is not bit-exact with sox
	}{
		{"stereo wav 16k", stereo, 2, spoken, 0.02},
		{"stereo mp3", testcall.Convert(t, stereo, filepath.Join(dir, "stereo.mp3"), "-C", "64"), 2, spoken, 0.08},
		{"mono wav 16k", mono, 1, [2][]string{{"please send the invoice to my office address", "we can schedule the meeting for next tuesday"}}, 0.02},
		{"mono mp3 16k", testcall.Convert(t, mono, filepath.Join(dir, "mono.mp3")), 1, [2][]string{{"please send the invoice to my office address", "we can schedule the meeting for next tuesday"}}, 0.08},
	}
	env := dbEnv(t)
	mustRun(t, env, "consent", "grant", "--email", "local@localhost", "--purpose", "transcription,summarization")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out output
			if err := json.Unmarshal([]byte(mustRun(t, env, "transcribe", "--json", tt.file)), &out); err != nil {
				t.Fatalf("--json output: %v", err)
			}
			if out.Status != "completed" || len(out.Channels) != tt.channels {
				t.Fatalf("status %s, channels %v; want completed with %d channels", out.Status, out.Channels, tt.channels)
			}
			raw, _ := os.ReadFile(tt.file)
			sum := sha256.Sum256(raw)
			if out.Audio.Bytes != int64(len(raw)) || out.Audio.SHA256 != hex.EncodeToString(sum[:]) || out.Audio.ConfirmedAt == "" || out.Audio.Stage != "memory" {
				t.Errorf("audio = %+v, want %d bytes, the file's sha256, confirmed deletion from the memory stage", out.Audio, len(raw))
			}
			if want := int64(testcall.Duration(t, tt.file) * 1000); out.DurationMS < want-150 || out.DurationMS > want+150 {
				t.Errorf("duration_ms = %d, want %d ± 150", out.DurationMS, want)
			}
			for ch := 0; ch < tt.channels; ch++ {
				var words []string
				for _, s := range out.Segments {
					if s.Channel == ch {
						words = append(words, s.Text)
						if s.Speaker != []string{"agent", "client"}[ch] {
							t.Errorf("channel %d segment under %q", ch, s.Speaker)
						}
					}
				}
				ref := strings.Join(tt.spoken[ch], " ")
				ours := testcall.WER(ref, strings.Join(words, " "))
				cliHyp := pocketsphinxCLI(t, tt.file, ch)
				cli := testcall.WER(ref, cliHyp)
				t.Logf("channel %d: WER ours %.3f, pocketsphinx_continuous %.3f", ch, ours, cli)
				if ours > cli+tt.slack {
					t.Errorf("channel %d: WER %.3f, worse than pocketsphinx_continuous's %.3f on the same audio\nref:  %s\nours: %s\ncli:  %s",
						ch, ours, cli, ref, strings.Join(words, " "), cliHyp)
				}
			}
			if out.Summary == nil || out.Summary.Text == "" {
				t.Errorf("no summary although summarization was consented to")
			}
		})
	}
}

// pocketsphinxCLI runs the reference tool on one channel of file, converted by sox to
// what it takes (16 kHz, 16-bit mono WAV), and returns what it heard.
func pocketsphinxCLI(t *testing.T, file string, channel int) string {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "channel.wav")
	if out, err := exec.Command("sox", file, "-r", "16000", "-b", "16", "-c", "1", wav, "remix", fmt.Sprint(channel+1)).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	out, err := exec.Command("pocketsphinx_continuous", "-infile", wav, "-logfn", "/dev/null").Output()
	if err != nil {
		t.Fatalf("pocketsphinx_continuous: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

func TestTextOutput(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	mustRun(t, env, "users", "add", "--email", "petrov@example.ru", "--name", "Petrov Ivan Sergeevich", "--phone", "+79031234567")
	mustRun(t, env, "consent", "grant", "--email", "petrov@example.ru", "--purpose", "transcription")
	dir := t.TempDir()
	stereo, _ := testcall.Stereo(t, dir, 0.5, testcall.Dialogue(testcall.Sentences[0], testcall.Sentences[1]))
	out := mustRun(t, env, "transcribe", "--owner", "petrov@example.ru", "--channels", "operator,customer", stereo)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var turns []string
	for _, l := range lines {
		if strings.HasPrefix(l, "[") {
			turns = append(turns, l)
		}
	}
	if len(turns) < 2 || !strings.HasPrefix(turns[0], "[00:0") || !strings.Contains(turns[0], " operator] ") || !strings.Contains(out, " customer] ") {
		t.Errorf("want turns like \"[00:00.12 operator] words\" for both roles, got:\n%s", out)
	}
	if !strings.Contains(out, "-- summary: none") {
		t.Errorf("no consent to summarization, yet the output does not say there is no summary:\n%s", out)
	}
	if !strings.Contains(out, "confirmed gone") {
		t.Errorf("output lacks the deletion receipt:\n%s", out)
	}
}

func TestRefusedWithoutConsent(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	file := testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[0])
	r := runCLI(t, env, "transcribe", file)
	if r.code != exitNoConsent {
		t.Fatalf("exit %d, want %d\n%s", r.code, exitNoConsent, r.stderr)
	}
	if !strings.Contains(r.stderr, "local@localhost") || !strings.Contains(r.stderr, "transcription") {
		t.Errorf("stderr should name the user and the purpose: %q", r.stderr)
	}
	// The local user was created, without consent; nothing of the call was recorded.
	show := mustRun(t, env, "consent", "show", "--email", "local@localhost")
	if !strings.Contains(show, "no consent given") {
		t.Errorf("consent show = %q, want no consent", show)
	}
	mustRun(t, env, "consent", "grant", "--email", "local@localhost", "--purpose", "transcription")
	mustRun(t, env, "consent", "withdraw", "--email", "local@localhost", "--purpose", "transcription")
	if r := runCLI(t, env, "transcribe", file); r.code != exitNoConsent {
		t.Errorf("after withdrawal: exit %d, want %d", r.code, exitNoConsent)
	}
	db := openDB(t, env)
	var calls int
	db.Pool().QueryRow(callscribe.AsSystem(context.Background()), "SELECT count(*) FROM calls").Scan(&calls)
	if calls != 0 {
		t.Errorf("%d calls recorded without consent, want 0", calls)
	}
}

func TestUnreadableInput(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	mustRun(t, env, "consent", "grant", "--email", "local@localhost", "--purpose", "transcription")
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.wav")
	b := make([]byte, 4096)
	rand.Read(b)
	os.WriteFile(junk, b, 0o600)
	truncated := filepath.Join(dir, "header-only.wav")
	good, _ := os.ReadFile(testcall.Speak(t, dir, testcall.Agent, "hello"))
	os.WriteFile(truncated, good[:30], 0o600)
	for _, file := range []string{junk, truncated, filepath.Join(dir, "missing.wav"), dir} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, env, "transcribe", file)
			if r.code != exitBadInput {
				t.Errorf("exit %d, want %d\n%s", r.code, exitBadInput, r.stderr)
			}
			if !strings.Contains(r.stderr, file+":") {
				t.Errorf("stderr does not name the file: %q", r.stderr)
			}
		})
	}
}

// TestNoAudioLeftBehind checks invariant 1: after a transcription, a dump of the
// database holds no audio bytes and nothing was written under TMPDIR or the working
// directory.
func TestNoAudioLeftBehind(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	tmp, work := t.TempDir(), t.TempDir()
	env = append(env, "TMPDIR="+tmp)
	mustRun(t, env, "consent", "grant", "--email", "local@localhost", "--purpose", "transcription,summarization")
	file := testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[4])
	if r := runProcess(t, env, work, "transcribe", file); r.code != 0 {
		t.Fatalf("transcribe: exit %d\n%s", r.code, r.stderr)
	}
	for _, d := range []string{tmp, work} {
		if entries, _ := os.ReadDir(d); len(entries) != 0 {
			t.Errorf("%s holds %d entries after transcribe, want none", d, len(entries))
		}
	}
	url := strings.TrimPrefix(env[0], "CALLSCRIBE_DATABASE_URL=")
	dump, err := exec.Command(pgDump(), "--data-only", "--dbname", url).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	audio, _ := os.ReadFile(file)
	pcm := audio[44:]
	for off := 0; off+32 <= len(pcm); off += len(pcm) / 16 {
		w := pcm[off : off+32]
		if bytes.Equal(w, make([]byte, 32)) {
			continue // silence: zeros are everywhere
		}
		if bytes.Contains(dump, w) || bytes.Contains(dump, []byte(hex.EncodeToString(w))) {
			t.Fatalf("the database dump contains audio bytes from offset %d", off)
		}
	}
	if !bytes.Contains(dump, []byte("audio_deletion_receipts")) {
		t.Fatalf("dump looks empty (%d bytes): the check above proves nothing", len(dump))
	}
}

func TestEmbeddedDefault(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"CALLSCRIBE_DATA_DIR=" + dataDir}
	mustRun(t, env, "users", "add", "--email", "sidorova@example.ru", "--name", "Sidorova Maria")
	mustRun(t, env, "consent", "grant", "--email", "sidorova@example.ru", "--purpose", "transcription")
	file := testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[2])
	var out output
	if err := json.Unmarshal([]byte(mustRun(t, env, "transcribe", "--json", "--owner", "sidorova@example.ru", file)), &out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "completed" || out.Audio.ConfirmedAt == "" || len(out.Segments) == 0 {
		t.Errorf("embedded run: status %s, %d segments, confirmed %q", out.Status, len(out.Segments), out.Audio.ConfirmedAt)
	}
	// The cluster was stopped on exit and kept its data for the next run.
	matches, _ := filepath.Glob(filepath.Join(dataDir, "*", "postmaster.pid"))
	if len(matches) != 0 {
		t.Errorf("the embedded PostgreSQL is still running after the command exited: %v", matches)
	}
	if show := mustRun(t, env, "consent", "show", "--email", "sidorova@example.ru"); !strings.Contains(show, "in force") {
		t.Errorf("second run lost the data: consent show = %q", show)
	}
}

func openDB(t *testing.T, env []string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(callscribe.AsSystem(context.Background()), strings.TrimPrefix(env[0], "CALLSCRIBE_DATABASE_URL="))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// pgDump finds pg_dump of the server's major version (Debian keeps them per version).
func pgDump() string {
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump"); len(m) > 0 {
		return m[len(m)-1]
	}
	return "pg_dump"
}

// TestLogsCarryIDsOnly checks invariant 7 at the most talkative log level: the logs of a
// transcription name calls by id and carry no transcript text, phone number or email.
func TestLogsCarryIDsOnly(t *testing.T) {
	t.Parallel()
	env := append(dbEnv(t), "CALLSCRIBE_LOG_LEVEL=debug")
	mustRun(t, env, "users", "add", "--email", "kuznetsov@example.ru", "--phone", "+79035550101")
	mustRun(t, env, "consent", "grant", "--email", "kuznetsov@example.ru", "--purpose", "transcription,summarization")
	file := testcall.Speak(t, t.TempDir(), testcall.Agent, "the invoice for the office chairs arrived yesterday")
	r := runCLI(t, env, "transcribe", "--json", "--owner", "kuznetsov@example.ru", file)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var out output
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.stderr, out.CallID) {
		t.Fatalf("debug logs do not mention the call id; is logging on at all?\n%s", r.stderr)
	}
	words := strings.Fields(out.Text)
	if len(words) < 3 {
		t.Fatalf("recognised only %q: too little to check the logs against", out.Text)
	}
	for i := 0; i+3 <= len(words); i++ {
		if phrase := strings.Join(words[i:i+3], " "); strings.Contains(r.stderr, phrase) {
			t.Errorf("logs contain transcript text %q", phrase)
		}
	}
	for _, secret := range []string{"+79035550101", "79035550101", "kuznetsov@example.ru", out.Audio.SHA256} {
		if strings.Contains(r.stderr, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}
