package telegramtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"callscribe/internal/eventually"
	"callscribe/telegram/telegramtest"
)

type answer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func call(t *testing.T, s *telegramtest.Server, method, contentType string, body io.Reader) (int, answer) {
	t.Helper()
	resp, err := http.Post(s.URL+"/bot"+s.Token()+"/"+method, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s: answer is not JSON: %v", method, err)
	}
	return resp.StatusCode, a
}

// TestWireFormat drives the fake with raw HTTP, in each encoding the Bot API accepts.
func TestWireFormat(t *testing.T) {
	t.Parallel()
	s := telegramtest.New(t)

	// getUpdates waits for an update until its timeout, then answers [].
	start := time.Now()
	code, a := call(t, s, "getUpdates", "application/json", strings.NewReader(`{"timeout": 1}`))
	if code != 200 || string(a.Result) != "[]" || time.Since(start) < 900*time.Millisecond {
		t.Errorf("empty long poll: %d %s after %s; want [] after the 1 s timeout", code, a.Result, time.Since(start))
	}
	// An update pushed while the poll waits ends it at once.
	polled := make(chan answer, 1)
	go func() {
		resp, err := http.Post(s.URL+"/bot"+s.Token()+"/getUpdates", "application/x-www-form-urlencoded",
			strings.NewReader(url.Values{"timeout": {"10"}}.Encode()))
		var a answer
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
		}
		polled <- a
	}()
	eventually.True(t, 5*time.Second, "the second poll waiting", func() bool { return len(s.Calls()) == 2 })
	start = time.Now()
	s.SendText(telegramtest.User(5, "u", "en"), "/start abc")
	a = <-polled
	var ups []struct {
		UpdateID int64 `json:"update_id"`
		Message  struct {
			Text     string `json:"text"`
			Entities []struct {
				Type string `json:"type"`
			} `json:"entities"`
		} `json:"message"`
	}
	if err := json.Unmarshal(a.Result, &ups); err != nil || len(ups) != 1 || ups[0].Message.Text != "/start abc" ||
		len(ups[0].Message.Entities) != 1 || ups[0].Message.Entities[0].Type != "bot_command" || time.Since(start) > 5*time.Second {
		t.Fatalf("long poll: %s (%v) after %s; want the update with a bot_command entity, at once", a.Result, err, time.Since(start))
	}
	// Unconfirmed, it comes again; an offset past it confirms it.
	if _, a = call(t, s, "getUpdates", "application/json", strings.NewReader(`{}`)); !strings.Contains(string(a.Result), "/start abc") {
		t.Errorf("unconfirmed update not sent again: %s", a.Result)
	}
	if _, a = call(t, s, "getUpdates", "application/json", strings.NewReader(`{"offset": `+jsonInt(ups[0].UpdateID+1)+`}`)); string(a.Result) != "[]" || s.Pending() != 0 {
		t.Errorf("after the offset: %s, %d pending; want none", a.Result, s.Pending())
	}

	// sendMessage with an inline keyboard, as JSON.
	code, _ = call(t, s, "sendMessage", "application/json", strings.NewReader(
		`{"chat_id": 5, "text": "pick", "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}}`))
	if sent := s.SentTo(5); code != 200 || len(sent) != 1 || sent[0].Text != "pick" || strings.Join(sent[0].Buttons(), ",") != "a" {
		t.Errorf("sendMessage: %d %+v", code, sent)
	}
	// sendDocument as multipart, the file in its own part.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("chat_id", "5")
	mw.WriteField("caption", "your export")
	fw, _ := mw.CreateFormFile("document", "export.json")
	fw.Write([]byte(`{"x":1}`))
	mw.Close()
	if code, a := call(t, s, "sendDocument", mw.FormDataContentType(), &body); code != 200 || !a.OK {
		t.Errorf("sendDocument: %d %+v", code, a)
	}
	if sent := s.SentTo(5); len(sent) != 2 || sent[1].FileName != "export.json" || string(sent[1].File) != `{"x":1}` || sent[1].Caption != "your export" {
		t.Errorf("sendDocument recorded %+v", sent)
	}

	// 429 with parameters.retry_after, once.
	s.FailNext("sendMessage", 1, 3)
	code, a = call(t, s, "sendMessage", "application/json", strings.NewReader(`{"chat_id": 5, "text": "x"}`))
	if code != 429 || a.OK || a.ErrorCode != 429 || a.Parameters.RetryAfter != 3 {
		t.Errorf("429: %d %+v", code, a)
	}
	if code, _ = call(t, s, "sendMessage", "application/json", strings.NewReader(`{"chat_id": 5, "text": "x"}`)); code != 200 {
		t.Errorf("after the 429: %d", code)
	}

	// A webhook set: getUpdates is refused with 409; deleteWebhook ends it.
	call(t, s, "setWebhook", "application/json", strings.NewReader(`{"url": "https://example.ru/hook", "secret_token": "s3cr3t"}`))
	if u, secret := s.Webhook(); u != "https://example.ru/hook" || secret != "s3cr3t" {
		t.Errorf("webhook %q %q", u, secret)
	}
	if code, _ = call(t, s, "getUpdates", "application/json", strings.NewReader(`{}`)); code != 409 {
		t.Errorf("getUpdates with a webhook: %d, want 409", code)
	}
	call(t, s, "deleteWebhook", "application/json", strings.NewReader(`{}`))
	if code, _ = call(t, s, "getUpdates", "application/json", strings.NewReader(`{}`)); code != 200 {
		t.Errorf("getUpdates after deleteWebhook: %d", code)
	}
	// A wrong token is 401.
	resp, err := http.Post(s.URL+"/bot1:wrong/getMe", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("wrong token: %d, want 401", resp.StatusCode)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
