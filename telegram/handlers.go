package telegram

import (
	"context"
	"strings"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/google/uuid"

	"callscribe"
	"callscribe/privacy"
)

// Callback data of the bot's buttons (at most 64 bytes, as Telegram allows):
// "w:<purpose>" withdraws consent to the purpose; "k:<kind>:<draft id>" files the draft
// as a request of that kind; "x:<draft id>" drops the draft.
const (
	cbWithdraw = "w:"
	cbKind     = "k:"
	cbCancel   = "x:"
)

// maxListed is how many requests /requests shows (a message holds 4,096 characters).
const maxListed = 30

// handle is the one handler: the bot reads commands itself, so that an update it does
// not understand still gets an answer, and one from a chat that is not linked gets the
// linking instructions and nothing else.
func (b *Bot) handle(ctx context.Context, _ *tgbot.Bot, u *models.Update) {
	switch {
	case u.Message != nil:
		b.onMessage(ctx, u.Message)
	case u.CallbackQuery != nil:
		b.onCallback(ctx, u.CallbackQuery)
	}
}

// command splits "/cmd@bot rest" into "/cmd" and "rest"; a text that is no command is
// ("", text).
func command(text string) (cmd, arg string) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return "", text
	}
	cmd, arg, _ = strings.Cut(text, " ")
	cmd, _, _ = strings.Cut(cmd, "@")
	return strings.ToLower(cmd), strings.TrimSpace(arg)
}

// session is a linked user's update in handling: their link, language, and a context
// scoped to their organization.
type session struct {
	ctx  context.Context
	link callscribe.TelegramLink
	lang string
	chat int64
}

// linked finds the sender's link. Without one (or on a failure) it answers the chat
// itself and returns false; nothing about the sender is stored.
func (b *Bot) linked(ctx context.Context, from models.User, chat int64) (*session, bool) {
	link, err := b.cfg.Store.TelegramLinkOf(callscribe.AsSystem(ctx), from.ID)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		b.reply(ctx, uuid.Nil, &tgbot.SendMessageParams{ChatID: chat, Text: msg(from.LanguageCode, "unlinked")})
		return nil, false
	}
	if err != nil {
		b.log.Error("telegram: find link", "error", err)
		b.reply(ctx, uuid.Nil, &tgbot.SendMessageParams{ChatID: chat, Text: msg(from.LanguageCode, "error")})
		return nil, false
	}
	s := &session{ctx: callscribe.WithOrg(ctx, link.OrgID), link: link, chat: chat}
	if s.lang, err = b.cfg.Store.UserLanguage(s.ctx, link.UserID); err != nil {
		s.lang = from.LanguageCode
	}
	return s, true
}

func (b *Bot) say(s *session, text string, keyboard [][]models.InlineKeyboardButton) {
	p := &tgbot.SendMessageParams{ChatID: s.chat, Text: text}
	if keyboard != nil {
		p.ReplyMarkup = &models.InlineKeyboardMarkup{InlineKeyboard: keyboard}
	}
	b.reply(s.ctx, s.link.UserID, p)
}

func (b *Bot) fail(s *session, what string, err error) {
	b.log.Error("telegram: "+what, "user_id", s.link.UserID, "error", err)
	b.say(s, msg(s.lang, "error"), nil)
}

func (b *Bot) onMessage(ctx context.Context, m *models.Message) {
	if m.From == nil || m.Chat.Type != models.ChatTypePrivate {
		return // the bot serves private chats only
	}
	cmd, arg := command(m.Text)
	if cmd == "/start" && arg != "" {
		b.link(ctx, *m.From, m.Chat.ID, arg)
		return
	}
	s, ok := b.linked(ctx, *m.From, m.Chat.ID)
	if !ok {
		return
	}
	switch {
	case cmd == "/stop":
		if _, err := unlink(s.ctx, b.cfg, s.link.UserID); err != nil {
			b.fail(s, "unlink", err)
			return
		}
		b.say(s, msg(s.lang, "stopped"), nil)
	case cmd == "/withdraw":
		b.listPurposes(s)
	case cmd == "/requests":
		b.listRequests(s)
	case cmd == "/request" || (cmd == "" && arg != ""):
		if isWithdrawal(arg) {
			b.record(s, callscribe.RequestWithdrawal, arg)
			return
		}
		b.askKind(s, arg)
	default: // /start, /help, an unknown command, a message without text
		b.say(s, msg(s.lang, "help"), nil)
	}
}

// link links the chat by a /start token, audited; a bad token gets a refusal and no
// trace.
func (b *Bot) link(ctx context.Context, from models.User, chat int64, token string) {
	if !tokenPattern.MatchString(token) {
		b.reply(ctx, uuid.Nil, &tgbot.SendMessageParams{ChatID: chat, Text: msg(from.LanguageCode, "link_bad")})
		return
	}
	link, replaced, err := b.cfg.Store.ConsumeLinkToken(callscribe.AsSystem(ctx), hashToken(token), from.ID, from.Username, b.cfg.Now())
	switch callscribe.ErrorCode(err) {
	case "":
	case callscribe.EINVALID, callscribe.ENOTFOUND:
		b.reply(ctx, uuid.Nil, &tgbot.SendMessageParams{ChatID: chat, Text: msg(from.LanguageCode, "link_bad")})
		return
	default:
		b.log.Error("telegram: link", "error", err)
		b.reply(ctx, uuid.Nil, &tgbot.SendMessageParams{ChatID: chat, Text: msg(from.LanguageCode, "error")})
		return
	}
	s := &session{ctx: callscribe.WithOrg(ctx, link.OrgID), link: link, chat: chat}
	if s.lang, err = b.cfg.Store.UserLanguage(s.ctx, link.UserID); err != nil {
		s.lang = from.LanguageCode
	}
	if replaced != uuid.Nil {
		// The Telegram account moved from another account: that one's link is gone.
		if err := audit(callscribe.AsSystem(ctx), b.cfg, ActionUnlink, "user", replaced.String(), replaced, nil); err != nil {
			b.log.Error("telegram: audit", "user_id", replaced, "error", err)
		}
	}
	if err := audit(s.ctx, b.cfg, ActionLink, "user", link.UserID.String(), link.UserID, nil); err != nil {
		b.log.Error("telegram: audit", "user_id", link.UserID, "error", err)
	}
	b.log.Info("telegram: chat linked", "user_id", link.UserID)
	b.say(s, msg(s.lang, "linked")+msg(s.lang, "help"), nil)
}

func (b *Bot) listPurposes(s *session) {
	grants, err := b.cfg.Store.Consents(s.ctx, s.link.UserID)
	if err != nil {
		b.fail(s, "read consents", err)
		return
	}
	var rows [][]models.InlineKeyboardButton
	seen := map[callscribe.Purpose]bool{}
	for _, p := range callscribe.Purposes {
		for _, g := range grants {
			if g.Purpose == p && g.WithdrawnAt == nil && !seen[p] {
				seen[p] = true
				rows = append(rows, []models.InlineKeyboardButton{{Text: purposeName(s.lang, p), CallbackData: cbWithdraw + string(p)}})
			}
		}
	}
	if len(rows) == 0 {
		b.say(s, msg(s.lang, "withdraw_none"), nil)
		return
	}
	b.say(s, msg(s.lang, "withdraw_choose"), rows)
}

// askKind keeps the text as a draft and asks which kind of request it is.
func (b *Bot) askKind(s *session, text string) {
	id, err := b.cfg.Store.CreateDraft(s.ctx, s.link.UserID, text, b.cfg.Now())
	if err != nil {
		b.fail(s, "keep draft", err)
		return
	}
	var rows [][]models.InlineKeyboardButton
	for _, k := range callscribe.RequestKinds {
		rows = append(rows, []models.InlineKeyboardButton{{Text: kindName(s.lang, k), CallbackData: cbKind + string(k) + ":" + id.String()}})
	}
	rows = append(rows, []models.InlineKeyboardButton{{Text: msg(s.lang, "cancel"), CallbackData: cbCancel + id.String()}})
	b.say(s, msg(s.lang, "kind_choose"), rows)
}

// record files a request through the privacy code, audited, and tells its number and
// due date.
func (b *Bot) record(s *session, kind callscribe.RequestKind, text string) {
	r, err := b.cfg.Requests.Add(s.ctx, privacy.NewRequest{OrgID: s.link.OrgID, UserID: s.link.UserID, Kind: kind,
		ReceivedAt: b.cfg.Now(), Notes: text, Actor: actor})
	if err != nil {
		b.fail(s, "record request", err)
		return
	}
	if err := audit(s.ctx, b.cfg, ActionRequest, "request", r.ID.String(), s.link.UserID,
		map[string]any{"kind": string(kind), "channel": string(callscribe.ConsentViaBot)}); err != nil {
		b.log.Error("telegram: audit", "user_id", s.link.UserID, "error", err)
	}
	text = msg(s.lang, "recorded", r.ID, kindName(s.lang, kind), callscribe.DateOf(r.ReceivedAt.In(privacy.Moscow)).Local(language(s.lang)), r.Due().Local(language(s.lang)))
	if kind == callscribe.RequestClaim {
		text += msg(s.lang, "claim_term")
	}
	b.say(s, text, nil)
}

func (b *Bot) listRequests(s *session) {
	list, err := b.cfg.Requests.List(s.ctx, privacy.ListOptions{OrgID: s.link.OrgID, UserID: s.link.UserID})
	if err != nil {
		b.fail(s, "list requests", err)
		return
	}
	if len(list) == 0 {
		b.say(s, msg(s.lang, "no_requests"), nil)
		return
	}
	lines := []string{msg(s.lang, "requests")}
	for i, r := range list {
		if i == maxListed {
			lines = append(lines, "…")
			break
		}
		lines = append(lines, msg(s.lang, "request_line", r.ID, kindName(s.lang, r.Kind), msg(s.lang, "status_"+string(r.Status)), r.Due().Local(language(s.lang))))
	}
	b.say(s, strings.Join(lines, "\n"), nil)
}

func (b *Bot) onCallback(ctx context.Context, q *models.CallbackQuery) {
	// The button's spinner stops whatever follows.
	if _, err := b.tg.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: q.ID}); err != nil {
		b.log.Warn("telegram: answer callback", "error", errorKind(err))
	}
	s, ok := b.linked(ctx, q.From, q.From.ID)
	if !ok {
		return
	}
	switch {
	case strings.HasPrefix(q.Data, cbWithdraw):
		p, err := callscribe.ParsePurpose(strings.TrimPrefix(q.Data, cbWithdraw))
		if err != nil {
			b.say(s, msg(s.lang, "help"), nil)
			return
		}
		b.withdraw(s, p)
	case strings.HasPrefix(q.Data, cbKind):
		kind, id, _ := strings.Cut(strings.TrimPrefix(q.Data, cbKind), ":")
		k, err := callscribe.ParseRequestKind(kind)
		draft, err2 := uuid.Parse(id)
		if err != nil || err2 != nil {
			b.say(s, msg(s.lang, "draft_gone"), nil)
			return
		}
		text, err := b.cfg.Store.TakeDraft(s.ctx, s.link.UserID, draft)
		if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
			b.say(s, msg(s.lang, "draft_gone"), nil)
			return
		}
		if err != nil {
			b.fail(s, "take draft", err)
			return
		}
		b.record(s, k, text)
	case strings.HasPrefix(q.Data, cbCancel):
		if id, err := uuid.Parse(strings.TrimPrefix(q.Data, cbCancel)); err == nil {
			if _, err := b.cfg.Store.TakeDraft(s.ctx, s.link.UserID, id); err != nil && callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
				b.fail(s, "drop draft", err)
				return
			}
		}
		b.say(s, msg(s.lang, "cancelled"), nil)
	default:
		b.say(s, msg(s.lang, "help"), nil)
	}
}

// withdraw withdraws the purpose through the consent code (channel bot, audited there),
// with what a withdrawal does: for transcription, queued calls are discarded and their
// audio deleted at once, and a call being recognised is stopped by the pipeline.
func (b *Bot) withdraw(s *session, p callscribe.Purpose) {
	c := *b.cfg.Consents
	c.Actor = actor
	if c.Audit == nil {
		c.Audit, c.AuditLog = &privacy.Audit{}, b.cfg.Store
	}
	changes, err := c.Withdraw(s.ctx, s.link.UserID, []callscribe.Purpose{p}, callscribe.ConsentViaBot)
	if err != nil {
		b.fail(s, "withdraw", err)
		return
	}
	if len(changes) == 0 || !changes[0].Changed {
		b.say(s, msg(s.lang, "not_in_force", purposeName(s.lang, p)), nil)
		return
	}
	text := msg(s.lang, "withdrawn", purposeName(s.lang, p), b.cfg.Now().In(privacy.Moscow).Format("2006-01-02 15:04 MST"))
	if p == callscribe.PurposeTranscription && b.cfg.Discarder != nil {
		n, err := b.cfg.Discarder.DiscardQueued(s.ctx, s.link.UserID)
		if err != nil {
			b.log.Error("telegram: discard queued calls", "user_id", s.link.UserID, "error", err)
		}
		text += msg(s.lang, "withdrawn_calls", n) + msg(s.lang, "withdrawn_flight")
	}
	b.log.Info("telegram: consent withdrawn", "user_id", s.link.UserID, "purpose", string(p))
	b.say(s, text, nil)
}
