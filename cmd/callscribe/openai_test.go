package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"callscribe/asr"
	"callscribe/asr/sphinx"
	"callscribe/audio"
	"callscribe/internal/testcall"
)

// inCountryServer stands for an operator's OpenAI-compatible server (speaches, vLLM,
// LocalAI): it speaks the real wire protocol; its speech engine is the real
// PocketSphinx, its chat model a fixed answer.
type inCountryServer struct {
	*httptest.Server
	mu      sync.Mutex
	models  []string
	formats []string
	uploads map[[32]byte]bool // the audio of each request, by its SHA-256
	auth    []string
	chats   []string // the user messages the chat endpoint was sent
}

const fixedSummary = "The customer asked to send the invoice to the office."

func newInCountryServer(t *testing.T) *inCountryServer {
	t.Helper()
	rec, err := sphinx.New(sphinx.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	s := &inCountryServer{uploads: map[[32]byte]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/audio/transcriptions", func(w http.ResponseWriter, r *http.Request) {
		f, _, err := r.FormFile("file")
		if err != nil {
			http.Error(w, `{"error":{"message":"no file"}}`, http.StatusBadRequest)
			return
		}
		b, err := io.ReadAll(f)
		if err != nil {
			http.Error(w, `{"error":{"message":"unreadable upload"}}`, http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.uploads[sha256.Sum256(b)] = true
		s.models = append(s.models, r.FormValue("model"))
		s.formats = append(s.formats, r.FormValue("response_format"))
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		d, err := audio.Open(bytes.NewReader(b))
		if err != nil {
			http.Error(w, `{"error":{"message":"unreadable upload"}}`, http.StatusBadRequest)
			return
		}
		res, err := rec.Transcribe(r.Context(), audio.Channel(r.Context(), d, 0, asr.SampleRate))
		if err != nil {
			http.Error(w, `{"error":{"message":"decoder failed"}}`, http.StatusInternalServerError)
			return
		}
		out := map[string]any{"task": "transcribe", "text": res.Text()}
		var segs []map[string]any
		var words []map[string]any
		for i, sg := range res.Segments {
			segs = append(segs, map[string]any{"id": i, "start": float64(sg.StartMS) / 1000, "end": float64(sg.EndMS) / 1000, "text": " " + sg.Text})
			for _, wd := range sg.Words {
				words = append(words, map[string]any{"word": wd.Text, "start": float64(wd.StartMS) / 1000, "end": float64(wd.EndMS) / 1000})
			}
		}
		out["segments"], out["words"] = segs, words
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.models = append(s.models, req.Model)
		for _, m := range req.Messages {
			if m.Role == "user" {
				s.chats = append(s.chats, m.Content)
			}
		}
		s.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]string{"role": "assistant", "content": fixedSummary}}},
		})
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// TestOpenAICompatibleServer wires the binary to an in-country OpenAI-compatible server
// through configuration alone, as an operator does: speech and summary go there, with
// the models and the key (read from a _FILE) the configuration names.
func TestOpenAICompatibleServer(t *testing.T) {
	t.Parallel()
	srv := newInCountryServer(t)
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte("k-123\n"), 0o600)
	env := append(dbEnv(t),
		"CALLSCRIBE_ASR=openai", "CALLSCRIBE_OPENAI_BASE_URL="+srv.URL+"/v1", "CALLSCRIBE_OPENAI_API_KEY_FILE="+keyFile,
		"CALLSCRIBE_ASR_MODEL=whisper-large-v3", "CALLSCRIBE_SUMMARY=openai", "CALLSCRIBE_SUMMARY_MODEL=qwen2.5-7b",
		"CALLSCRIBE_ASR_COUNTRY=RU", "CALLSCRIBE_SUMMARY_COUNTRY=RU")
	mustRun(t, env, "consent", "grant", "--email", "local@localhost", "--purpose", "transcription,summarization")
	dir := t.TempDir()
	spoken := []string{"please send the invoice to my office address", "we can schedule the meeting for next tuesday"}
	stereo, perChannel := testcall.Stereo(t, dir, 0.6, testcall.Dialogue(spoken...))
	var out output
	if err := json.Unmarshal([]byte(mustRun(t, env, "transcribe", "--json", stereo)), &out); err != nil {
		t.Fatal(err)
	}
	for ch := range 2 {
		var words []string
		for _, s := range out.Segments {
			if s.Channel == ch {
				words = append(words, s.Text)
			}
		}
		// The server's engine is PocketSphinx: through HTTP it must hear what the CLI hears.
		ref := strings.Join(perChannel[ch], " ")
		ours, cli := testcall.WER(ref, strings.Join(words, " ")), testcall.WER(ref, pocketsphinxCLI(t, stereo, ch))
		if ours > cli+0.02 {
			t.Errorf("channel %d WER %.2f through the server, worse than the CLI's %.2f: %q", ch, ours, cli, words)
		}
		if ch == 0 && ours > 0.35 {
			t.Errorf("agent channel WER %.2f through the server, want ≤ 0.35: is the audio reaching it? %q", ours, words)
		}
	}
	if out.Summary == nil || out.Summary.Text != fixedSummary || out.Summary.Engine != "openai:qwen2.5-7b" {
		t.Errorf("summary = %+v, want the server's, engine openai:qwen2.5-7b", out.Summary)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	// A request the server answers too slowly for the client (a loaded machine) is sent
	// again, the same audio: retries are the client's job; two channels are two uploads.
	if len(srv.uploads) != 2 || len(srv.formats) < 2 {
		t.Errorf("%d transcription requests of %d different audio uploads, want one upload per channel", len(srv.formats), len(srv.uploads))
	}
	for i, f := range srv.formats {
		if f != "verbose_json" || srv.models[i] != "whisper-large-v3" || srv.auth[i] != "Bearer k-123" {
			t.Errorf("transcription request %d: format %q model %q auth %q", i, f, srv.models[i], srv.auth[i])
		}
	}
	if len(srv.chats) != 1 || !strings.Contains(srv.chats[0], "agent:") || !strings.Contains(srv.chats[0], "client:") {
		t.Errorf("chat requests = %q, want one carrying both speakers' turns", srv.chats)
	}
}
