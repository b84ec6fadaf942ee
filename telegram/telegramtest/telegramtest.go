// Package telegramtest is a local fake of the Telegram Bot API for tests and benchmarks:
// an HTTP server speaking the documented wire format (https://core.telegram.org/bots/api)
// at /bot<token>/<method>, so that a bot under test runs its real code against it. A
// test pushes updates as a user would (a message, a button press), reads what the bot
// sent and when, and makes a method answer 429 with parameters.retry_after.
//
// Served methods: getMe, getUpdates (long polling: offset confirms, timeout waits, limit
// caps), sendMessage (inline keyboards), sendDocument (multipart upload), answerCallbackQuery,
// setWebhook (with secret_token: updates are then POSTed to the URL with the
// X-Telegram-Bot-Api-Secret-Token header, and getUpdates answers 409), deleteWebhook,
// getWebhookInfo. Parameters are read as Telegram reads them: from the query string,
// application/x-www-form-urlencoded, application/json or multipart/form-data (structured
// parameters such as reply_markup as JSON text).
//
// It never reaches the network beyond the webhook URL a bot sets.
package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-telegram/bot/models"
)

// DefaultToken is the token a fake made by New accepts.
const DefaultToken = "123456:test-token"

// BotUser is the bot's own account, as getMe answers.
var BotUser = models.User{ID: 123456, IsBot: true, FirstName: "Callscribe", Username: "callscribe_test_bot"}

// Sent is one thing the bot sent: a message, a document or a callback answer.
type Sent struct {
	Method    string // sendMessage, sendDocument, answerCallbackQuery
	At        time.Time
	ChatID    int64
	MessageID int // of the message the fake made for it; 0 for answerCallbackQuery
	Text      string
	Keyboard  [][]models.InlineKeyboardButton // the inline keyboard, if any
	ReplyTo   int                             // reply_parameters.message_id, if any

	// sendDocument
	FileName string
	File     []byte
	Caption  string

	// answerCallbackQuery
	CallbackQueryID string
}

// Buttons lists the callback data of the keyboard's buttons, row after row.
func (s Sent) Buttons() []string {
	var out []string
	for _, row := range s.Keyboard {
		for _, b := range row {
			out = append(out, b.CallbackData)
		}
	}
	return out
}

// ButtonText is the label of the button whose callback data is data ("" if none).
func (s Sent) ButtonText(data string) string {
	for _, row := range s.Keyboard {
		for _, b := range row {
			if b.CallbackData == data {
				return b.Text
			}
		}
	}
	return ""
}

// Call is one request the fake received: its method and parameters (bodies of uploaded
// files left out).
type Call struct {
	Method string
	Params map[string]string
	At     time.Time
}

// Server is the fake Bot API.
type Server struct {
	srv   *httptest.Server
	token string
	// URL is the server's base URL: a bot's server URL option (its requests go to
	// URL/bot<token>/<method>).
	URL string

	mu        sync.Mutex
	cond      chan struct{} // closed and replaced whenever updates are pushed
	updates   []models.Update
	nextID    int64
	nextMsg   int
	nextCB    int
	sent      []Sent
	calls     []Call
	fails     map[string][]failure // method → the failures still to answer, in order
	webhook   string
	secret    string
	hookCodes []int // status of each webhook delivery, in order
	client    *http.Client
}

// New starts a fake accepting DefaultToken; it is closed when the test ends.
func New(tb interface{ Cleanup(func()) }) *Server {
	s := NewServer(DefaultToken)
	tb.Cleanup(s.Close)
	return s
}

// NewServer starts a fake that accepts token. Close it when done.
func NewServer(token string) *Server {
	s := &Server{token: token, cond: make(chan struct{}), nextID: 1, nextMsg: 1, fails: map[string][]failure{},
		client: &http.Client{Timeout: 10 * time.Second}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Token is the token the fake accepts.
func (s *Server) Token() string { return s.token }

// failure is an error answer the fake was told to give.
type failure struct {
	code        int
	description string
	retryAfter  int
}

// FailNext makes the next n calls of method answer 429 Too Many Requests with
// parameters.retry_after = retryAfter seconds.
func (s *Server) FailNext(method string, n, retryAfter int) {
	s.failNext(method, n, failure{code: http.StatusTooManyRequests,
		description: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), retryAfter: retryAfter})
}

// FailNextWith makes the next n calls of method answer the error code with the
// description, e.g. 403 "Forbidden: bot was blocked by the user".
func (s *Server) FailNextWith(method string, n, code int, description string) {
	s.failNext(method, n, failure{code: code, description: description})
}

func (s *Server) failNext(method string, n int, f failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails[method] = append(s.fails[method], f)
	}
}

// User is a Telegram user for the helpers that make updates; Username may be empty (not
// shown), as Telegram sends it.
func User(id int64, username, language string) models.User {
	return models.User{ID: id, FirstName: "User" + strconv.FormatInt(id, 10), Username: username, LanguageCode: language}
}

// SendText pushes a private message from the user to the bot and returns its update id.
// A text starting with "/" carries a bot_command entity, as Telegram marks it.
func (s *Server) SendText(from models.User, text string) int64 {
	s.mu.Lock()
	msg := &models.Message{ID: s.nextMsg, From: &from, Date: int(time.Now().Unix()), Text: text,
		Chat: models.Chat{ID: from.ID, Type: models.ChatTypePrivate, Username: from.Username, FirstName: from.FirstName}}
	s.nextMsg++
	s.mu.Unlock()
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		msg.Entities = []models.MessageEntity{{Type: models.MessageEntityTypeBotCommand, Offset: 0, Length: len([]rune(cmd))}}
	}
	return s.PushUpdate(models.Update{Message: msg})
}

// Press pushes a press by the user of the button with callback data data under the
// message the bot sent (as Telegram does, the callback query carries that message).
func (s *Server) Press(from models.User, under Sent, data string) int64 {
	s.mu.Lock()
	s.nextCB++
	id := fmt.Sprintf("cb%d", s.nextCB)
	s.mu.Unlock()
	msg := &models.Message{ID: under.MessageID, From: &BotUser, Date: int(under.At.Unix()), Text: under.Text,
		Chat: models.Chat{ID: under.ChatID, Type: models.ChatTypePrivate}}
	if len(under.Keyboard) > 0 {
		msg.ReplyMarkup = &models.InlineKeyboardMarkup{InlineKeyboard: under.Keyboard}
	}
	return s.PushUpdate(models.Update{CallbackQuery: &models.CallbackQuery{ID: id, From: from, Data: data,
		ChatInstance: "ci" + strconv.FormatInt(from.ID, 10),
		Message:      models.MaybeInaccessibleMessage{Type: models.MaybeInaccessibleMessageTypeMessage, Message: msg}}})
}

// PushUpdate queues an update (its update_id is assigned here) and returns its id. With a
// webhook set it is POSTed there at once, with the webhook's secret token; the answer's
// status is recorded (WebhookStatuses) and a non-2xx answer keeps the update queued, as
// Telegram retries it.
func (s *Server) PushUpdate(u models.Update) int64 {
	s.mu.Lock()
	u.ID = s.nextID
	s.nextID++
	hook, secret := s.webhook, s.secret
	if hook == "" {
		s.updates = append(s.updates, u)
		close(s.cond)
		s.cond = make(chan struct{})
		s.mu.Unlock()
		return u.ID
	}
	s.mu.Unlock()
	code, err := s.Deliver(u, secret)
	if err != nil || code/100 != 2 {
		s.mu.Lock()
		s.updates = append(s.updates, u)
		s.mu.Unlock()
	}
	return u.ID
}

// Deliver POSTs the update to the webhook URL with secret as the
// X-Telegram-Bot-Api-Secret-Token header ("" leaves the header out) and returns the
// answer's status; no webhook set is an error.
func (s *Server) Deliver(u models.Update, secret string) (int, error) {
	s.mu.Lock()
	hook := s.webhook
	s.mu.Unlock()
	if hook == "" {
		return 0, fmt.Errorf("telegramtest: no webhook set")
	}
	body, err := json.Marshal(&u)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, hook, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s.mu.Lock()
	s.hookCodes = append(s.hookCodes, resp.StatusCode)
	s.mu.Unlock()
	return resp.StatusCode, nil
}

// WebhookStatuses are the statuses the webhook answered, in order.
func (s *Server) WebhookStatuses() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.hookCodes...)
}

// Webhook is the webhook URL and secret token set, "" when none.
func (s *Server) Webhook() (url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook, s.secret
}

// Pending is how many updates are queued and not yet confirmed by a getUpdates offset.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// Sent lists everything the bot sent, in order.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// SentTo lists what was sent to the chat, in order.
func (s *Server) SentTo(chatID int64) []Sent {
	var out []Sent
	for _, m := range s.Sent() {
		if m.ChatID == chatID {
			out = append(out, m)
		}
	}
	return out
}

// Calls lists every request the fake received, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// reply is the Bot API's answer envelope.
type reply struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *map[string]int `json:"parameters,omitempty"`
}

func write(w http.ResponseWriter, status int, r reply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(r)
}

func fail(w http.ResponseWriter, status int, description string) {
	write(w, status, reply{OK: false, ErrorCode: status, Description: description})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || method == "" {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	if token != s.token {
		fail(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	params, files, err := readParams(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}
	now := time.Now()
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Params: params, At: now})
	if q := s.fails[method]; len(q) > 0 {
		f := q[0]
		s.fails[method] = q[1:]
		s.mu.Unlock()
		r := reply{OK: false, ErrorCode: f.code, Description: f.description}
		if f.retryAfter > 0 {
			r.Parameters = &map[string]int{"retry_after": f.retryAfter}
		}
		write(w, f.code, r)
		return
	}
	s.mu.Unlock()

	switch method {
	case "getMe":
		write(w, http.StatusOK, reply{OK: true, Result: BotUser})
	case "getUpdates":
		s.getUpdates(w, r, params)
	case "sendMessage", "sendDocument":
		s.send(w, method, params, files, now)
	case "answerCallbackQuery":
		if params["callback_query_id"] == "" {
			fail(w, http.StatusBadRequest, "Bad Request: callback_query_id is empty")
			return
		}
		s.mu.Lock()
		s.sent = append(s.sent, Sent{Method: method, At: now, CallbackQueryID: params["callback_query_id"], Text: params["text"]})
		s.mu.Unlock()
		write(w, http.StatusOK, reply{OK: true, Result: true})
	case "setWebhook":
		u, err := url.Parse(params["url"])
		if params["url"] != "" && (err != nil || u.Host == "") {
			fail(w, http.StatusBadRequest, "Bad Request: bad webhook: invalid URL")
			return
		}
		s.mu.Lock()
		s.webhook, s.secret = params["url"], params["secret_token"]
		s.mu.Unlock()
		write(w, http.StatusOK, reply{OK: true, Result: true, Description: "Webhook was set"})
	case "deleteWebhook":
		s.mu.Lock()
		s.webhook, s.secret = "", ""
		if params["drop_pending_updates"] == "true" {
			s.updates = nil
		}
		s.mu.Unlock()
		write(w, http.StatusOK, reply{OK: true, Result: true, Description: "Webhook was deleted"})
	case "getWebhookInfo":
		s.mu.Lock()
		info := map[string]any{"url": s.webhook, "has_custom_certificate": false, "pending_update_count": len(s.updates)}
		s.mu.Unlock()
		write(w, http.StatusOK, reply{OK: true, Result: info})
	default:
		fail(w, http.StatusNotFound, "Not Found: method not found")
	}
}

func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, p map[string]string) {
	offset, _ := strconv.ParseInt(p["offset"], 10, 64)
	timeout, _ := strconv.Atoi(p["timeout"])
	limit, _ := strconv.Atoi(p["limit"])
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)
	for {
		s.mu.Lock()
		if s.webhook != "" {
			s.mu.Unlock()
			fail(w, http.StatusConflict, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
			return
		}
		// An offset confirms every update before it: they are forgotten.
		if offset > 0 {
			i := 0
			for i < len(s.updates) && s.updates[i].ID < offset {
				i++
			}
			s.updates = append(s.updates[:0:0], s.updates[i:]...)
		}
		if n := min(limit, len(s.updates)); n > 0 {
			out := append([]models.Update(nil), s.updates[:n]...)
			s.mu.Unlock()
			write(w, http.StatusOK, reply{OK: true, Result: out})
			return
		}
		wake := s.cond
		s.mu.Unlock()
		wait := time.Until(deadline)
		if wait <= 0 {
			write(w, http.StatusOK, reply{OK: true, Result: []models.Update{}})
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-wake:
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

func (s *Server) send(w http.ResponseWriter, method string, p map[string]string, files map[string]file, now time.Time) {
	chat, err := strconv.ParseInt(p["chat_id"], 10, 64)
	if err != nil || chat == 0 {
		fail(w, http.StatusBadRequest, "Bad Request: chat not found")
		return
	}
	m := Sent{Method: method, At: now, ChatID: chat, Text: p["text"], Caption: p["caption"]}
	if method == "sendMessage" && strings.TrimSpace(m.Text) == "" {
		fail(w, http.StatusBadRequest, "Bad Request: message text is empty")
		return
	}
	if len(m.Text) > 4096 {
		fail(w, http.StatusBadRequest, "Bad Request: message is too long")
		return
	}
	if method == "sendDocument" {
		f, ok := files["document"]
		if !ok {
			fail(w, http.StatusBadRequest, "Bad Request: there is no document in the request")
			return
		}
		m.FileName, m.File = f.name, f.data
	}
	if rm := p["reply_markup"]; rm != "" {
		var kb models.InlineKeyboardMarkup
		if err := json.Unmarshal([]byte(rm), &kb); err != nil {
			fail(w, http.StatusBadRequest, "Bad Request: can't parse reply keyboard markup JSON object")
			return
		}
		for _, row := range kb.InlineKeyboard {
			for _, b := range row {
				if len(b.CallbackData) > 64 {
					fail(w, http.StatusBadRequest, "Bad Request: BUTTON_DATA_INVALID")
					return
				}
			}
		}
		m.Keyboard = kb.InlineKeyboard
	}
	if rp := p["reply_parameters"]; rp != "" {
		var v struct {
			MessageID int `json:"message_id"`
		}
		_ = json.Unmarshal([]byte(rp), &v)
		m.ReplyTo = v.MessageID
	}
	s.mu.Lock()
	m.MessageID = s.nextMsg
	s.nextMsg++
	s.sent = append(s.sent, m)
	s.mu.Unlock()
	msg := models.Message{ID: m.MessageID, From: &BotUser, Date: int(now.Unix()), Text: m.Text, Caption: m.Caption,
		Chat: models.Chat{ID: chat, Type: models.ChatTypePrivate}}
	if m.Keyboard != nil {
		msg.ReplyMarkup = &models.InlineKeyboardMarkup{InlineKeyboard: m.Keyboard}
	}
	if method == "sendDocument" {
		msg.Document = &models.Document{FileID: "doc" + strconv.Itoa(m.MessageID), FileName: m.FileName, FileSize: int64(len(m.File))}
	}
	write(w, http.StatusOK, reply{OK: true, Result: msg})
}

type file struct {
	name string
	data []byte
}

// readParams reads a method's parameters from wherever Telegram accepts them; a JSON
// value that is not a string is kept as JSON text, as it arrives in a form field.
func readParams(r *http.Request) (map[string]string, map[string]file, error) {
	p := map[string]string{}
	files := map[string]file{}
	for k, v := range r.URL.Query() {
		p[k] = v[0]
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var body map[string]json.RawMessage
		if err := json.NewDecoder(io.LimitReader(r.Body, 50<<20)).Decode(&body); err != nil && err != io.EOF {
			return nil, nil, err
		}
		for k, raw := range body {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				p[k] = s
			} else {
				p[k] = string(raw)
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, nil, err
		}
		for k, v := range r.PostForm {
			p[k] = v[0]
		}
	case "multipart/form-data":
		mr := multipart.NewReader(r.Body, ctParams["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break // the end, or an empty body (a method without parameters)
			}
			if err != nil {
				return nil, nil, err
			}
			b, err := io.ReadAll(io.LimitReader(part, 50<<20))
			if err != nil {
				return nil, nil, err
			}
			if part.FileName() != "" {
				files[part.FormName()] = file{name: part.FileName(), data: b}
				continue
			}
			p[part.FormName()] = string(b)
		}
		// A field "@name" names the uploaded part it refers to (attach://name in the
		// documentation; the form the go-telegram/bot library writes).
		for k, v := range p {
			if name, ok := strings.CutPrefix(v, "@"); ok {
				if f, ok := files[name]; ok {
					files[k] = f
				}
			} else if name, ok := strings.CutPrefix(v, "attach://"); ok {
				if f, ok := files[name]; ok {
					files[k] = f
				}
			}
		}
	}
	return p, files, nil
}

// WaitIdle is a helper for benchmarks: it waits until no update is queued or ctx ends.
func (s *Server) WaitIdle(ctx context.Context) error {
	for s.Pending() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
