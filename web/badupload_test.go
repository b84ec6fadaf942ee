package web_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/internal/testcall"
)

// TestBadUploadsLeaveAcceptedCallsAlone: while a good call is queued or being
// transcribed, uploads that are empty, a WAV cut inside its header, a codec we do not
// decode, over the size limit, or shorter than their declared Content-Length are each
// refused with a 4xx naming what was wrong; nothing of theirs stays staged or queued;
// the good call completes with its transcript and its audio's deletion confirmed.
func TestBadUploadsLeaveAcceptedCallsAlone(t *testing.T) {
	t.Parallel()
	const limit = 2 << 20
	h := newHarness(t, options{work: true, maxBytes: limit})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)

	good, err := os.ReadFile(testcall.Mono(t, t.TempDir(), "slt", 0.5, testcall.Sentences[:2]...))
	if err != nil {
		t.Fatal(err)
	}
	r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(good))
	if r.status != http.StatusAccepted {
		t.Fatalf("good upload: %d %s; want 202", r.status, r.body)
	}
	id := r.json(t)["id"].(string)

	adpcm := silence(8000)
	binary.LittleEndian.PutUint16(adpcm[20:], 0x0011) // IMA ADPCM
	binary.LittleEndian.PutUint16(adpcm[34:], 4)
	bad := []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"empty", nil, 0, ""},
		{"wav cut inside its header", silence(8000)[:30], http.StatusUnsupportedMediaType, callscribe.EUNREADABLE},
		{"ima adpcm wav", adpcm, http.StatusUnsupportedMediaType, callscribe.EUNREADABLE},
		{"over the size limit", silence(limit), http.StatusRequestEntityTooLarge, callscribe.ETOOLARGE},
	}
	for _, b := range bad {
		r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(b.body))
		refused(t, b.name, r.status, r.body, b.status, b.code)
	}

	// A body shorter than its declared length: the client says 100,000 bytes, sends the
	// header and 1,000 bytes, and closes its side.
	status, body := lyingUpload(t, h.server.URL, ownerQuery(u.Email), key, silence(500), 100_000)
	refused(t, "body shorter than its Content-Length", status, body, 0, "")

	c := h.waitEnded(key, id)
	if c["status"] != "completed" {
		t.Fatalf("good call ended %v (error %v); want completed", c["status"], c["error"])
	}
	c = h.waitReceipt(key, id)
	if rc, _ := c["receipt"].(map[string]any); rc == nil || rc["confirmed_at"] == nil {
		t.Errorf("good call's receipt %v; want its deletion confirmed", c["receipt"])
	}
	tr := h.get("/v1/calls/"+id+"/transcript?format=json", key)
	if tr.status != http.StatusOK {
		t.Fatalf("transcript: %d %s", tr.status, tr.body)
	}
	var heard []string
	for _, s := range tr.json(t)["segments"].([]any) {
		heard = append(heard, s.(map[string]any)["text"].(string))
	}
	if w := testcall.WER(strings.Join(testcall.Sentences[:2], " "), strings.Join(heard, " ")); w > 0.5 {
		t.Errorf("good call's transcript %q: WER %.2f; want <= 0.5", heard, w)
	}
	if n := h.count(`SELECT count(*) FROM calls WHERE status <> 'failed'`); n != 1 {
		t.Errorf("%d live calls; want only the good one", n)
	}
	if n := h.count(`SELECT count(*) FROM river_job`); n != 1 {
		t.Errorf("%d jobs; want only the good call's", n)
	}
	if n := h.count(`SELECT count(*) FROM call_stages s LEFT JOIN audio_deletion_receipts r USING (call_id) WHERE r.confirmed_at IS NULL`); n != 0 {
		t.Errorf("%d staged uploads without a confirmed deletion; want none", n)
	}
	h.stageEmpty()
}

// refused checks a 4xx (the status wanted, when given) with an error code (the code
// wanted, when given) and a message.
func refused(t *testing.T, name string, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	r := reply{status, body}
	if status < 400 || status >= 500 || (wantStatus != 0 && status != wantStatus) {
		t.Errorf("%s: %d %s; want a 4xx %d", name, status, body, wantStatus)
		return
	}
	e, _ := r.json(t)["error"].(map[string]any)
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	if code == "" || msg == "" || (wantCode != "" && code != wantCode) {
		t.Errorf("%s: %d %s; want an error with code %q and a message", name, status, body, wantCode)
	}
	t.Logf("%s: %d %s", name, status, bytes.TrimSpace(body))
}

// lyingUpload posts body over a raw connection declaring declared bytes, half-closes
// the connection and reads the answer.
func lyingUpload(t *testing.T, server, path, key string, body []byte, declared int) (int, []byte) {
	t.Helper()
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: audio/wav\r\nContent-Length: %d\r\n\r\n",
		path, u.Host, key, declared)
	conn.Write(body)
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("body shorter than its Content-Length: no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
