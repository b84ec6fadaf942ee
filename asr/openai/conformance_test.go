package openai

import (
	"bytes"
	"math"
	"net/http"
	"testing"

	"callscribe/asr"
	"callscribe/asr/asrtest"
	"callscribe/asr/sphinx"
)

// sphinxServer is an OpenAI-compatible transcription server whose engine is the real
// PocketSphinx: it decodes each uploaded WAV and answers verbose_json with segments and
// words, as faster-whisper does.
func sphinxServer(t *testing.T) *fakeServer {
	t.Helper()
	rec, err := sphinx.New(sphinx.Config{})
	if err != nil {
		t.Fatalf("sphinx.New: %v", err)
	}
	t.Cleanup(func() { rec.Close() })
	return newFake(t, func(w http.ResponseWriter, r *http.Request) {
		u, _ := readUpload(r) // newFake has checked it
		if u.format != "verbose_json" {
			reply(400, "application/json", `{"error":{"message":"this test server speaks verbose_json only","type":"invalid_request_error"}}`)(w, r)
			return
		}
		res, err := rec.Transcribe(r.Context(), bytes.NewReader(u.pcm))
		if err != nil {
			reply(500, "application/json", `{"error":{"message":"decoder failed","type":"server_error"}}`)(w, r)
			return
		}
		v := verbose{Task: "transcribe", Language: "english", Duration: float64(len(u.pcm)) / 32000, Text: res.Text(),
			Segments: []verboseSeg{}}
		for i, s := range res.Segments {
			seg := verboseSeg{ID: i, Start: float64(s.StartMS) / 1000, End: float64(s.EndMS) / 1000, Text: " " + s.Text}
			if s.Confidence > 0 {
				seg.AvgLogprob = math.Log(s.Confidence)
			}
			v.Segments = append(v.Segments, seg)
			for _, w := range s.Words {
				v.Words = append(v.Words, verboseWrd{Word: " " + w.Text, Start: float64(w.StartMS) / 1000, End: float64(w.EndMS) / 1000})
			}
		}
		replyJSON(200, v)(w, r)
	})
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		maxUpload int64
	}{
		{"whole", 0},
		{"split every 5 s", 44 + 5*32000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var srv *fakeServer
			asrtest.Run(t, func(t *testing.T) asr.Transcriber {
				srv = sphinxServer(t)
				tr, err := New(Config{BaseURL: srv.URL + "/v1", Model: "pocketsphinx-behind-http", MaxUploadBytes: tc.maxUpload})
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return tr
			})
			if tc.maxUpload > 0 {
				full := 0
				for _, u := range srv.requests() {
					if int64(u.fileSize) > tc.maxUpload {
						t.Errorf("upload of %d bytes, over the %d limit", u.fileSize, tc.maxUpload)
					}
					if int64(u.fileSize) > tc.maxUpload-2*32000 {
						full++
					}
				}
				if full < 3 {
					t.Errorf("uploads cut near the limit = %d, want at least 3 (the suite's calls are longer than 5 s)", full)
				}
			}
		})
	}
}
