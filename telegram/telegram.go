// Package telegram is the service's Telegram bot: it links a chat to an account by a
// single-use deep link, and lets the linked user withdraw consent and file data-subject
// requests and claims by message, through the privacy package's own code; it sends the
// notices component's messages to linked users, within Telegram's rate limits.
//
// It keeps exactly what the user agreement lists for a linked messenger — the Telegram
// user id and, where shown, the username — plus the text of a request while the user
// chooses its kind; all of it goes when the user unlinks or is erased. It must never
// store anything from a chat that is not linked, nor log message text, usernames or
// Telegram ids: logs carry the account's id only.
package telegram

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/google/uuid"
	"github.com/skip2/go-qrcode"

	"callscribe"
	"callscribe/privacy"
)

// Defaults of Config.
const (
	DefaultAPIURL      = "https://api.telegram.org"
	DefaultLinkTTL     = 15 * time.Minute
	DefaultPerChat     = time.Second // at most one message a second to a chat
	DefaultPerBot      = 30          // and thirty a second in all (Telegram's limits)
	DefaultWorkers     = 4
	DefaultPollTimeout = 30 * time.Second
	// WebhookPath is where serve mounts the webhook handler.
	WebhookPath = "/telegram/webhook"
	// draftTTL is how long the text of a request waits for its kind.
	draftTTL = 24 * time.Hour
	actor    = "bot:telegram"
)

// Audit actions the bot records.
const (
	ActionLink    = "telegram.link"
	ActionUnlink  = "telegram.unlink"
	ActionRequest = "request.create"
)

// ErrNotLinked is Send's answer for a user with no linked chat.
var ErrNotLinked = errors.New("telegram: the user has no linked chat")

// ErrBlockedByUser is Send's answer when Telegram refuses with 403: the user blocked the
// bot (or deleted the chat); trying again will not help until they start it again.
var ErrBlockedByUser = errors.New("telegram: the user blocked the bot")

// RetryAfterError is Send's answer when Telegram says too many requests: try again after
// After (the notices' job snoozes that long).
type RetryAfterError struct{ After time.Duration }

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("telegram: too many requests, retry after %s", e.After)
}

// Store is what the bot needs of the database (storage/postgres implements it).
type Store interface {
	CreateLinkToken(ctx context.Context, userID uuid.UUID, hash []byte, expires time.Time) error
	ConsumeLinkToken(ctx context.Context, hash []byte, telegramUserID int64, username string, at time.Time) (callscribe.TelegramLink, uuid.UUID, error)
	TelegramLinkOf(ctx context.Context, telegramUserID int64) (callscribe.TelegramLink, error)
	TelegramLink(ctx context.Context, userID uuid.UUID) (callscribe.TelegramLink, error)
	UnlinkTelegram(ctx context.Context, userID uuid.UUID) (bool, error)
	CreateDraft(ctx context.Context, userID uuid.UUID, text string, at time.Time) (uuid.UUID, error)
	TakeDraft(ctx context.Context, userID, id uuid.UUID) (string, error)
	PruneTelegram(ctx context.Context, before time.Time) (int64, error)
	UserLanguage(ctx context.Context, userID uuid.UUID) (string, error)
	Consents(ctx context.Context, userID uuid.UUID) ([]callscribe.Consent, error)
	privacy.AuditLog
}

// Discarder ends a user's queued calls after a withdrawal of transcription (the pipeline).
type Discarder interface {
	DiscardQueued(ctx context.Context, ownerID uuid.UUID) (int, error)
}

// Config is the bot's wiring.
type Config struct {
	Token      string
	APIURL     string // default DefaultAPIURL
	WebhookURL string // "": long polling; else the public URL Telegram posts updates to
	// WebhookSecret is the secret_token Telegram sends with every update; "": derived
	// from the token (the same on every process of the service).
	WebhookSecret string
	Store         Store
	Consents      *privacy.Consents // withdrawals go through it (channel bot)
	Requests      *privacy.Requests
	Discarder     Discarder // nil: queued calls are left to the pipeline's consent checks
	Logger        *slog.Logger
	Now           func() time.Time
	LinkTTL       time.Duration // default DefaultLinkTTL
	PerChat       time.Duration // least time between two messages to a chat; default DefaultPerChat
	PerBot        int           // messages a second in all; default DefaultPerBot
	Workers       int           // updates handled at once; default DefaultWorkers
	PollTimeout   time.Duration // getUpdates long-poll; default DefaultPollTimeout
	HTTPClient    *http.Client  // default: one with a timeout past the poll's
}

// Bot is the running bot.
type Bot struct {
	cfg      Config
	tg       *tgbot.Bot
	username string
	limit    *limiter
	log      *slog.Logger
	updates  chan *models.Update // webhook mode: updates waiting for a worker
}

// New connects to the Bot API (getMe: the token is checked and the bot's username
// learnt for deep links).
func New(ctx context.Context, cfg Config) (*Bot, error) {
	if cfg.Store == nil || cfg.Consents == nil || cfg.Requests == nil {
		return nil, errors.New("telegram: the bot needs a store, the consents and the requests")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = DefaultLinkTTL
	}
	if cfg.PerChat <= 0 {
		cfg.PerChat = DefaultPerChat
	}
	if cfg.PerBot <= 0 {
		cfg.PerBot = DefaultPerBot
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = DefaultPollTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WebhookSecret == "" {
		m := hmac.New(sha256.New, []byte(cfg.Token))
		m.Write([]byte("callscribe telegram webhook secret"))
		cfg.WebhookSecret = hex.EncodeToString(m.Sum(nil))
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: cfg.PollTimeout + 15*time.Second}
	}
	b := &Bot{cfg: cfg, log: cfg.Logger, limit: newLimiter(cfg.PerChat, cfg.PerBot),
		updates: make(chan *models.Update, cfg.Workers*4)}
	tg, err := tgbot.New(cfg.Token,
		tgbot.WithServerURL(strings.TrimRight(cfg.APIURL, "/")),
		tgbot.WithHTTPClient(cfg.PollTimeout, client),
		tgbot.WithSkipGetMe(),
		tgbot.WithDefaultHandler(b.handle),
		// One update at a time per worker, from a short channel: a flood waits at
		// Telegram, not in our memory (the library's default runs a goroutine per update).
		tgbot.WithNotAsyncHandlers(),
		tgbot.WithWorkers(cfg.Workers),
		tgbot.WithUpdatesChannelCap(cfg.Workers*4),
		tgbot.WithAllowedUpdates(tgbot.AllowedUpdates{"message", "callback_query"}),
		// The library's own messages may quote an update's body: only their kind is logged.
		tgbot.WithErrorsHandler(func(err error) { b.log.Warn("telegram api", "error", errorKind(err)) }),
		tgbot.WithDebugHandler(func(string, ...any) {}),
	)
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	b.tg = tg
	me, err := tg.GetMe(ctx)
	if err != nil {
		return nil, callscribe.Wrap(callscribe.EUNAVAILABLE, err, "telegram: getMe failed (%s)", errorKind(err))
	}
	b.username = me.Username
	return b, nil
}

// errorKind names an API error without its text.
func errorKind(err error) string {
	var tm *tgbot.TooManyRequestsError
	switch {
	case errors.As(err, &tm):
		return fmt.Sprintf("too many requests (retry after %ds)", tm.RetryAfter)
	case errors.Is(err, tgbot.ErrorUnauthorized):
		return "unauthorized (check CALLSCRIBE_TELEGRAM_TOKEN)"
	case errors.Is(err, tgbot.ErrorForbidden):
		return "forbidden"
	case errors.Is(err, tgbot.ErrorConflict):
		return "conflict"
	case errors.Is(err, tgbot.ErrorBadRequest):
		return "bad request"
	case errors.Is(err, tgbot.ErrorNotFound):
		return "not found"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	}
	return "request failed"
}

// Username is the bot's username, as deep links name it.
func (b *Bot) Username() string { return b.username }

// tokenPattern is what a link token is: Telegram's start parameter alphabet.
var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewLinkToken makes a single-use token that links a chat to the user within the
// configured time (default 15 minutes), and its deep link
// https://t.me/<bot>?start=<token>. Only the token's sha256 is stored.
func (b *Bot) NewLinkToken(ctx context.Context, userID uuid.UUID) (token, deepLink string, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(raw) // 43 characters of [A-Za-z0-9_-]
	if err := b.cfg.Store.CreateLinkToken(ctx, userID, hashToken(token), b.cfg.Now().Add(b.cfg.LinkTTL)); err != nil {
		return "", "", err
	}
	return token, DeepLink(b.username, token), nil
}

// LinkTTL is how long a link token links after NewLinkToken made it.
func (b *Bot) LinkTTL() time.Duration { return b.cfg.LinkTTL }

// DeepLink is the t.me link that opens the bot and sends it /start token.
func DeepLink(botUsername, token string) string {
	return "https://t.me/" + url.PathEscape(botUsername) + "?start=" + url.QueryEscape(token)
}

// QRCode draws link as a PNG QR code (size × size pixels), server-side, for the profile
// page to show.
func QRCode(link string, size int) ([]byte, error) {
	if size <= 0 {
		size = 256
	}
	return qrcode.Encode(link, qrcode.Medium, size)
}

// Link is the user's link, for the profile page to show (the username, when shown);
// ENOTFOUND when the user has none.
func (b *Bot) Link(ctx context.Context, userID uuid.UUID) (callscribe.TelegramLink, error) {
	return b.cfg.Store.TelegramLink(ctx, userID)
}

// Unlink forgets the user's Telegram link (id and username), audited; false when there
// was none. The profile page calls it; /stop in the chat does the same.
func (b *Bot) Unlink(ctx context.Context, userID uuid.UUID) (bool, error) {
	return unlink(ctx, b.cfg, userID)
}

func unlink(ctx context.Context, cfg Config, userID uuid.UUID) (bool, error) {
	done, err := cfg.Store.UnlinkTelegram(ctx, userID)
	if err != nil || !done {
		return done, err
	}
	return true, audit(ctx, cfg, ActionUnlink, "user", userID.String(), userID, nil)
}

func audit(ctx context.Context, cfg Config, action, objectType, objectID string, subject uuid.UUID, detail map[string]any) error {
	return (&privacy.Audit{}).Record(ctx, cfg.Store, callscribe.AuditEntry{At: cfg.Now(), Actor: actor, Action: action,
		ObjectType: objectType, ObjectID: objectID, SubjectID: subject, Detail: detail})
}

// Document is a file sent with a message (an access request's export).
type Document struct {
	Name    string
	Content io.Reader
}

// Send sends text (and doc, when given) to the user's linked chat, within the rate
// limits: ErrNotLinked without a link, *RetryAfterError when Telegram answers 429,
// ErrBlockedByUser when it answers 403.
// A caption longer than Telegram allows goes as a message before the document.
func (b *Bot) Send(ctx context.Context, userID uuid.UUID, text string, doc *Document) error {
	link, err := b.cfg.Store.TelegramLink(ctx, userID)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		return ErrNotLinked
	}
	if err != nil {
		return err
	}
	if doc == nil || len([]rune(text)) > 1024 {
		if err := b.sendMessage(ctx, &tgbot.SendMessageParams{ChatID: link.TelegramUserID, Text: text}); err != nil {
			return err
		}
		text = ""
	}
	if doc == nil {
		return nil
	}
	if err := b.limit.wait(ctx, link.TelegramUserID); err != nil {
		return err
	}
	_, err = b.tg.SendDocument(ctx, &tgbot.SendDocumentParams{ChatID: link.TelegramUserID, Caption: text,
		Document: &models.InputFileUpload{Filename: doc.Name, Data: doc.Content}})
	return sendError(err)
}

func (b *Bot) sendMessage(ctx context.Context, p *tgbot.SendMessageParams) error {
	chat, _ := p.ChatID.(int64)
	if err := b.limit.wait(ctx, chat); err != nil {
		return err
	}
	_, err := b.tg.SendMessage(ctx, p)
	return sendError(err)
}

// sendError turns the library's 429 into a *RetryAfterError, and any other failure into
// an error that names its kind only.
func sendError(err error) error {
	var tm *tgbot.TooManyRequestsError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tm):
		return &RetryAfterError{After: time.Duration(max(tm.RetryAfter, 1)) * time.Second}
	case errors.Is(err, tgbot.ErrorForbidden):
		return ErrBlockedByUser
	}
	return callscribe.Wrap(callscribe.EUNAVAILABLE, err, "telegram: send failed (%s)", errorKind(err))
}

// reply sends a message from a handler; a 429 is waited out a few times (the handler has
// nowhere else to put its answer), and a failure is logged by the user's id.
func (b *Bot) reply(ctx context.Context, userID uuid.UUID, p *tgbot.SendMessageParams) {
	for range 3 {
		err := b.sendMessage(ctx, p)
		var ra *RetryAfterError
		if errors.As(err, &ra) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(ra.After):
				continue
			}
		}
		if err != nil {
			b.log.Warn("telegram reply not sent", "user_id", userID, "error", callscribe.ErrorMessage(err))
		}
		return
	}
}

// Run runs the bot until ctx ends: long polling, or with a webhook URL it sets the
// webhook (with its secret token) and handles what WebhookHandler receives. It also prunes
// expired link tokens and drafts every hour.
func (b *Bot) Run(ctx context.Context) error {
	go b.prune(ctx)
	if b.cfg.WebhookURL == "" {
		// A webhook left by an earlier run would make getUpdates fail with 409.
		if _, err := b.tg.DeleteWebhook(ctx, &tgbot.DeleteWebhookParams{}); err != nil {
			return callscribe.Wrap(callscribe.EUNAVAILABLE, err, "telegram: deleteWebhook failed (%s)", errorKind(err))
		}
		b.tg.Start(ctx)
		return nil
	}
	if _, err := b.tg.SetWebhook(ctx, &tgbot.SetWebhookParams{URL: b.cfg.WebhookURL, SecretToken: b.cfg.WebhookSecret,
		AllowedUpdates: []string{"message", "callback_query"}, MaxConnections: b.cfg.Workers}); err != nil {
		return callscribe.Wrap(callscribe.EUNAVAILABLE, err, "telegram: setWebhook failed (%s)", errorKind(err))
	}
	var wg sync.WaitGroup
	for range b.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case u := <-b.updates:
					b.tg.ProcessUpdate(ctx, u)
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

func (b *Bot) prune(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := b.cfg.Store.PruneTelegram(callscribe.AsSystem(ctx), b.cfg.Now().Add(-draftTTL)); err != nil && ctx.Err() == nil {
			b.log.Warn("telegram: prune drafts and tokens", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maxUpdateBytes bounds a webhook request's body: an update is a few kilobytes.
const maxUpdateBytes = 1 << 20

// WebhookHandler receives updates in webhook mode. A request without Telegram's
// X-Telegram-Bot-Api-Secret-Token header, or with a wrong one (compared in constant
// time), is refused with 401 and nothing in it is read. When every worker is busy and the
// queue full it answers 503, and Telegram sends the update again later.
func (b *Bot) WebhookHandler() http.Handler {
	want := []byte(b.cfg.WebhookSecret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := []byte(r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var u models.Update
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxUpdateBytes)).Decode(&u); err != nil {
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		select {
		case b.updates <- &u:
			w.WriteHeader(http.StatusOK)
		default:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	})
}
