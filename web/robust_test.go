package web_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"callscribe"
	"callscribe/internal/eventually"
)

// rawExchange sends head (the request line and header, without the blank line that
// ends it) and then each of parts over a new connection, half-closes it when asked, and
// reads the answer; ok is false when the server closed without one.
func rawExchange(t *testing.T, server, head string, parts [][]byte, halfClose bool, wait time.Duration) (status int, body []byte, ok bool) {
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
	conn.SetDeadline(time.Now().Add(wait))
	fmt.Fprintf(conn, "%s\r\nHost: %s\r\n\r\n", head, u.Host)
	for _, p := range parts {
		if _, err := conn.Write(p); err != nil {
			break // the server answered and closed early: read its answer
		}
	}
	if halfClose {
		conn.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil, false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, true
}

// errorMessage is the message of an error answer; "" for any other body.
func errorMessage(body []byte) string {
	var e struct{ Error struct{ Message string } }
	json.Unmarshal(body, &e)
	return e.Error.Message
}

// chunk frames b as one chunk of a chunked body.
func chunk(b []byte) []byte {
	return append(fmt.Appendf(nil, "%x\r\n", len(b)), append(b, "\r\n"...)...)
}

// TestUploadWithoutAudioContentType: an upload with no Content-Type is sniffed (a WAV is
// accepted); a WAV sent as a form (curl --data-binary's default type) is taken as the
// audio it clearly is; a body sent as a form that is not one is refused 415 with the type
// to send — never 413 for a form over 64 KiB.
func TestUploadWithoutAudioContentType(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	junk := make([]byte, 100<<10)
	rand.Read(junk)
	cases := []struct {
		name, contentType string
		body              []byte
		status            int
		code, hint        string
	}{
		{"no Content-Type, a WAV", "", silence(80_000), http.StatusAccepted, "", ""},
		{"no Content-Type, not audio", "", []byte(strings.Repeat("not audio at all ", 100)), http.StatusUnsupportedMediaType, callscribe.EUNREADABLE, ""},
		{"curl --data-binary: a WAV as a form", "application/x-www-form-urlencoded", silence(80_000), http.StatusAccepted, "", ""},
		{"a binary body over 64 KiB as a form", "application/x-www-form-urlencoded", junk, http.StatusUnsupportedMediaType, callscribe.EUNREADABLE, "Content-Type: audio/wav"},
		{"a short binary body as a form", "application/x-www-form-urlencoded", junk[:1000], http.StatusUnsupportedMediaType, callscribe.EUNREADABLE, "Content-Type: audio/wav"},
	}
	for _, c := range cases {
		r := h.do("POST", ownerQuery(u.Email), key, c.contentType, bytes.NewReader(c.body))
		if c.status == http.StatusAccepted {
			if r.status != c.status {
				t.Errorf("%s: %d %s; want 202", c.name, r.status, r.body)
			}
			continue
		}
		refused(t, c.name, r.status, r.body, c.status, c.code)
		if msg := errorMessage(r.body); !strings.Contains(msg, c.hint) {
			t.Errorf("%s: message %q; want it to say %q", c.name, msg, c.hint)
		}
	}
	if n := h.count(`SELECT count(*) FROM calls`); n != 2 {
		t.Errorf("%d calls; want the 2 accepted", n)
	}
}

// TestClientFaultsAreNotOurs: bodies that break off or are malformed (chunk length too
// large, a chunk line over 4 KiB, a trailer over 4 KiB, a half-close before the last
// chunk or inside the trailer after a complete WAV, a trailer line that is no header)
// get a 4xx in JSON naming the fault without echoing what the client sent,
// never 500; what they staged is deleted and receipted under a client-fault code, never
// internal, and the stage ends empty.
func TestClientFaultsAreNotOurs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	wav := silence(40_000)
	head := "POST " + ownerQuery(u.Email) + " HTTP/1.1\r\nAuthorization: Bearer " + key +
		"\r\nContent-Type: audio/wav\r\nTransfer-Encoding: chunked"
	cases := []struct {
		name      string
		tail      []byte // sent after the WAV's chunk
		halfClose bool
		says      string // what the message must say
	}{
		{"chunk length too large", []byte("ffffffffffffffffffff\r\n"), false, "chunk length too large"},
		{"chunk line too long", []byte("10;ext=" + strings.Repeat("x", 5000) + "\r\n"), false, "line too long"},
		{"trailer too long", []byte("0\r\nX-Trailer: " + strings.Repeat("a", 5000)), false, "suspiciously long trailer"},
		{"half-closed before the last chunk", nil, true, "before its last (zero-length) chunk"},
		{"half-closed after the last chunk, in the trailer", []byte("0\r\n"), true, "trailer"},
		{"a trailer line without a colon", []byte("0\r\ncall me on +79161234567\r\n\r\n"), false, "malformed chunked encoding or trailer"},
	}
	for _, c := range cases {
		status, body, ok := rawExchange(t, h.server.URL, head, [][]byte{chunk(wav), c.tail}, c.halfClose, 30*time.Second)
		if !ok {
			t.Errorf("%s: no answer", c.name)
			continue
		}
		refused(t, c.name, status, body, http.StatusBadRequest, callscribe.EINVALID)
		if msg := errorMessage(body); !strings.Contains(msg, c.says) || strings.Contains(msg, "-1") || strings.Contains(msg, "7916") {
			t.Errorf("%s: message %q; want it to say %q (and no -1 declared bytes, nothing the client sent)", c.name, msg, c.says)
		}
	}
	if n := h.count(`SELECT count(*) FROM calls WHERE error_code IS DISTINCT FROM 'invalid'`); n != 0 {
		t.Errorf("%d calls recorded with a code other than invalid; want every client fault named invalid", n)
	}
	if n := h.count(`SELECT count(*) FROM calls WHERE error_message LIKE '%7916%'`); n != 0 {
		t.Errorf("%d refused calls keep text the client sent in their error message; want none", n)
	}
	if n := h.count(`SELECT count(*) FROM calls c LEFT JOIN audio_deletion_receipts r ON r.call_id = c.id WHERE r.confirmed_at IS NULL`); n != 0 {
		t.Errorf("%d refused uploads without a confirmed deletion; want none", n)
	}
	h.stageEmpty()
	// The server is still fine: a good upload is accepted.
	if r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(wav)); r.status != http.StatusAccepted {
		t.Errorf("good upload after the faults: %d %s; want 202", r.status, r.body)
	}
}

// TestHalfCloseAfterWholeBodyIsAccepted: a client that half-closes its connection once
// its body has arrived whole (Content-Length or chunked, last chunk sent) and waits for
// the answer gets 202: its call is queued, not failed. net/http cancels the request's
// context when it reads the connection's end after the body; the acceptance used to run
// on that context and failed the call as internal (500).
func TestHalfCloseAfterWholeBodyIsAccepted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	wav := silence(400_000)
	bodies := []struct {
		name  string
		head  string
		parts [][]byte
	}{
		{"Content-Length", fmt.Sprintf("POST %s HTTP/1.1\r\nAuthorization: Bearer %s\r\nContent-Type: audio/wav\r\nContent-Length: %d", ownerQuery(u.Email), key, len(wav)),
			[][]byte{wav}},
		{"chunked", fmt.Sprintf("POST %s HTTP/1.1\r\nAuthorization: Bearer %s\r\nContent-Type: audio/wav\r\nTransfer-Encoding: chunked", ownerQuery(u.Email), key),
			[][]byte{chunk(wav), []byte("0\r\n\r\n")}},
	}
	for _, b := range bodies {
		status, body, ok := rawExchange(t, h.server.URL, b.head, b.parts, true, 30*time.Second)
		if !ok || status != http.StatusAccepted {
			t.Errorf("%s body, then half-closed: %v %d %s; want 202", b.name, ok, status, body)
		}
	}
	if n := h.count(`SELECT count(*) FROM calls WHERE status = 'staged'`); n != len(bodies) {
		t.Errorf("%d calls queued; want the %d sent whole", n, len(bodies))
	}
	if n := h.count(`SELECT count(*) FROM calls WHERE status = 'failed' OR error_code IS NOT NULL`); n != 0 {
		t.Errorf("%d calls failed; want none", n)
	}
}

// TestTextNoColumnHoldsIsRefused: a field whose text no PostgreSQL text column can hold
// (a NUL character, bytes that are not UTF-8), in the query, a multipart field or a JSON
// body, is refused 400 naming the field and not its value; so is a malformed query
// string (its broken pairs were read as absent). Each used to reach the database and
// come back 500 internal, the call recorded as failed by our fault.
func TestTextNoColumnHoldsIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	wav := silence(40_000)
	upload := func(extra string) reply {
		return h.do("POST", ownerQuery(u.Email, extra), key, "audio/wav", bytes.NewReader(wav))
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("owner", u.Email)
	mw.WriteField("external_id", "a\x00b")
	fw, _ := mw.CreateFormFile("file", "call.wav")
	fw.Write(wav)
	mw.Close()
	cases := []struct {
		name string
		r    func() reply
	}{
		{"external_id with a NUL", func() reply { return upload("&external_id=a%00b") }},
		{"external_id not UTF-8", func() reply { return upload("&external_id=a%ff%feb") }},
		{"channels with a NUL", func() reply { return upload("&channels=agent%00,client") }},
		{"owner with a NUL", func() reply {
			return h.do("POST", "/v1/calls?owner=ivanova%00@example.ru", key, "audio/wav", bytes.NewReader(wav))
		}},
		{"multipart external_id with a NUL", func() reply {
			return h.do("POST", "/v1/calls", key, mw.FormDataContentType(), bytes.NewReader(form.Bytes()))
		}},
		{"search with a NUL", func() reply { return h.get("/v1/calls?q=a%00b", key) }},
		{"search not UTF-8", func() reply { return h.get("/v1/calls?q=a%ffb", key) }},
		{"list owner with a NUL", func() reply { return h.get("/v1/calls?owner=a%00b", key) }},
		{"list external_id with a NUL", func() reply { return h.get("/v1/calls?external_id=a%00b", key) }},
		{"request notes with a NUL", func() reply {
			return h.do("POST", "/v1/requests", key, "application/json",
				strings.NewReader(`{"kind":"access","user_id":"`+u.ID.String()+`","notes":"a\u0000b"}`))
		}},
	}
	for _, c := range cases {
		r := c.r()
		refused(t, c.name, r.status, r.body, http.StatusBadRequest, callscribe.EINVALID)
		if msg := errorMessage(r.body); strings.ContainsRune(msg, 0) || !utf8.ValidString(msg) || strings.ContainsRune(msg, utf8.RuneError) {
			t.Errorf("%s: message %q quotes the value", c.name, msg)
		}
	}
	status, body, ok := rawExchange(t, h.server.URL, "GET /v1/calls?cursor=%%%&limit=1 HTTP/1.1\r\nAuthorization: Bearer "+key, nil, false, 10*time.Second)
	if !ok {
		t.Errorf("malformed query string: no answer")
	} else {
		refused(t, "malformed query string", status, body, http.StatusBadRequest, callscribe.EINVALID)
	}
	if n := h.count(`SELECT count(*) FROM calls WHERE error_code = 'internal'`); n != 0 {
		t.Errorf("%d calls failed internal; want none", n)
	}
	// The checks let ordinary text through: a Cyrillic external id, a search in Russian.
	if r := upload("&external_id=%D0%B7%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA-1"); r.status != http.StatusAccepted {
		t.Errorf("upload with a Cyrillic external_id: %d %s; want 202", r.status, r.body)
	}
	if r := h.get("/v1/calls?q=%D0%B7%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA", key); r.status != http.StatusOK {
		t.Errorf("search in Russian: %d %s; want 200", r.status, r.body)
	}
}

// TestStalledUploadIsDropped: an upload that stops sending after 2.5 MiB, with the memory
// stage nearly full of it, is answered 408 within the idle timeout, its staged bytes
// deleted (receipted under code timeout); a normal upload then fits, and when it is
// done nothing of the stalled one remains in the stage.
func TestStalledUploadIsDropped(t *testing.T) {
	t.Parallel()
	const idle = time.Second
	h := newHarness(t, options{stageBytes: 3 << 20, idle: idle})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)

	const declared = 40 << 20
	sent := append(wavHeader(8000, 1, declared-44), make([]byte, 5<<19-44)...) // 2.5 MiB of a 40 MiB call
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nAuthorization: Bearer %s\r\nContent-Type: audio/wav\r\nContent-Length: %d",
		ownerQuery(u.Email), key, declared)
	conn, err := net.Dial("tcp", h.server.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s\r\nHost: callscribe\r\n\r\n", head)
	if _, err := conn.Write(sent); err != nil {
		t.Fatal(err)
	}
	// Then nothing: the connection stays open, sending no more.
	eventually.True(t, 10*time.Second, "bytes of the stalled upload in the stage", func() bool { return h.stage.Bytes() >= 2<<20 })
	stalled := time.Now() // the upload had sent all it will send before these bytes were staged
	conn.SetReadDeadline(time.Now().Add(idle + 20*time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Log(h.logs.String())
		t.Fatalf("stalled upload: no answer within %s: %v", idle+20*time.Second, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	after := time.Since(stalled)
	t.Logf("stalled upload answered %d %s after %s", resp.StatusCode, bytes.TrimSpace(body), after.Round(time.Millisecond))
	if after > idle+5*time.Second {
		t.Errorf("stalled upload answered after %s; want within its idle timeout of %s (and 5 s for the refusal)", after, idle)
	}
	refused(t, "stalled upload", resp.StatusCode, body, http.StatusRequestTimeout, callscribe.ETIMEOUT)
	h.stageEmpty()
	if r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(silence(800_000))); r.status != http.StatusAccepted {
		t.Fatalf("normal upload after the stalled one was dropped: %d %s; want 202", r.status, r.body)
	}
	if n := h.count(`SELECT count(*) FROM calls c JOIN audio_deletion_receipts r ON r.call_id = c.id WHERE c.error_code = 'timeout' AND r.confirmed_at IS NOT NULL`); n != 1 {
		t.Errorf("%d stalled calls with a confirmed deletion under code timeout; want 1", n)
	}
	if n := h.count(`SELECT count(*) FROM calls WHERE error_code = 'internal'`); n != 0 {
		t.Errorf("%d calls failed internal; want none", n)
	}
	// The accepted call is the only thing left in the stage (no worker runs here).
	if n := h.stage.Bytes(); n > 2<<20 {
		t.Errorf("stage holds %d bytes; want only the 1.6 MB call accepted", n)
	}
}

// TestHugeHeaderAnsweredInJSON: a header over 64 KiB (under net/http's own 1 MiB
// ceiling) is refused 431 in the API's JSON, not net/http's plain text.
func TestHugeHeaderAnsweredInJSON(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	req, err := http.NewRequest("GET", h.server.URL+"/v1/calls", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Padding", strings.Repeat("a", 100<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("100 KiB header: %d %s %s; want 431 in JSON", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if code := (reply{resp.StatusCode, b}).errorCode(t); code != callscribe.ETOOLARGE {
		t.Errorf("100 KiB header: code %q; want too_large", code)
	}
}

// TestServersOwnAnswersInJSON: the requests net/http refuses itself, before any handler
// runs (a bad or repeated Content-Length, a header line that is no header, no Host, an
// unsupported Transfer-Encoding, a header over its 1 MiB ceiling), are answered in the
// API's JSON with net/http's status, a code and a message that quotes nothing the client
// sent; the server then answers the next request as usual.
func TestServersOwnAnswersInJSON(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	u, err := url.Parse(h.server.URL)
	if err != nil {
		t.Fatal(err)
	}
	host := "Host: " + u.Host + "\r\n"
	cases := []struct {
		name    string
		request string
		status  int
		code    string
	}{
		{"bad Content-Length", "POST /v1/calls HTTP/1.1\r\n" + host + "Content-Length: 12abc345\r\n\r\n", 400, callscribe.EINVALID},
		{"repeated Content-Length", "POST /v1/calls HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, callscribe.EINVALID},
		{"header line without a colon", "GET /v1/calls HTTP/1.1\r\n" + host + "call me on 12abc345\r\n\r\n", 400, callscribe.EINVALID},
		{"no Host", "GET /v1/calls HTTP/1.1\r\n\r\n", 400, callscribe.EINVALID},
		{"unsupported Transfer-Encoding", "POST /v1/calls HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip12abc345\r\n\r\n", 501, callscribe.EINVALID},
		{"header over 1 MiB", "GET /v1/calls HTTP/1.1\r\n" + host + "X-Padding: " + strings.Repeat("a", 1100<<10) + "\r\n\r\n", 431, callscribe.ETOOLARGE},
	}
	for _, c := range cases {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		io.WriteString(conn, c.request) // a server that answers early may not read it all
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			conn.Close()
			t.Errorf("%s: no answer: %v", c.name, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		conn.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != c.status || !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: %d %s %q; want %d in JSON", c.name, resp.StatusCode, ct, body, c.status)
			continue
		}
		if code := (reply{resp.StatusCode, body}).errorCode(t); code != c.code {
			t.Errorf("%s: code %q; want %q", c.name, code, c.code)
		}
		if msg := errorMessage(body); msg == "" || strings.Contains(msg, "12abc345") {
			t.Errorf("%s: message %q; want one that names the fault without quoting the client", c.name, msg)
		}
	}
	if r := h.get("/v1/calls", "no-such-key"); r.status != http.StatusUnauthorized {
		t.Errorf("an ordinary request after them: %d %s; want 401", r.status, r.body)
	}
}

// TestCallListPaging: the last page has no next_cursor, whether it is full or not, and
// the pages together list every call once.
func TestCallListPaging(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	for i := range 4 {
		if r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(silence(8000+i))); r.status != http.StatusAccepted {
			t.Fatalf("upload %d: %d %s", i, r.status, r.body)
		}
	}
	for _, limit := range []int{1, 2, 3, 4, 5} {
		seen := map[string]bool{}
		path := fmt.Sprintf("/v1/calls?limit=%d", limit)
		for pages := 1; ; pages++ {
			r := h.get(path, key)
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
			var page struct {
				Calls      []struct{ ID string }
				NextCursor *string `json:"next_cursor"`
			}
			if err := json.Unmarshal(r.body, &page); err != nil {
				t.Fatal(err)
			}
			if len(page.Calls) == 0 {
				t.Errorf("limit %d: page %d is empty; want no cursor to an empty page", limit, pages)
			}
			for _, c := range page.Calls {
				seen[c.ID] = true
			}
			if page.NextCursor == nil {
				break
			}
			path = fmt.Sprintf("/v1/calls?limit=%d&cursor=%s", limit, *page.NextCursor)
			if pages > 5 {
				t.Fatalf("limit %d: more than 5 pages for 4 calls", limit)
			}
		}
		if len(seen) != 4 {
			t.Errorf("limit %d: the pages list %d calls; want 4", limit, len(seen))
		}
	}
}

// TestCallListRefusesUnknownParameters: a parameter the list does not know (a filter it
// does not have, a misspelt one) is refused by name instead of ignored.
func TestCallListRefusesUnknownParameters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	_, key := h.org("acme")
	for _, p := range []string{"speaker", "query", "phone_number"} {
		r := h.get("/v1/calls?"+p+"=ivanova", key)
		refused(t, p, r.status, r.body, http.StatusBadRequest, callscribe.EINVALID)
		if msg := errorMessage(r.body); !strings.Contains(msg, `"`+p+`"`) {
			t.Errorf("?%s=: message %q; want it to name %q", p, msg, p)
		}
	}
	if r := h.get("/v1/calls?limit=10&status=queued&q=ivanova&phone=%2B79161234567", key); r.status != http.StatusOK {
		t.Errorf("known parameters: %d %s; want 200", r.status, r.body)
	}
}
