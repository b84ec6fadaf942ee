package webapp

import (
	"context"
	"encoding/base64"
	"html/template"
	"net/http"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/telegram"
)

// TelegramLinker links an account to a Telegram chat by a deep link (telegram.Bot
// implements it): the profile page's "Link Telegram".
type TelegramLinker interface {
	// NewLinkToken makes a single-use token and its deep link https://t.me/<bot>?start=<token>.
	NewLinkToken(ctx context.Context, userID uuid.UUID) (token, deepLink string, err error)
	// LinkTTL is how long a token links.
	LinkTTL() time.Duration
	// Link is the user's link; ENOTFOUND when there is none.
	Link(ctx context.Context, userID uuid.UUID) (callscribe.TelegramLink, error)
	// Unlink forgets the link (audited); false when there was none.
	Unlink(ctx context.Context, userID uuid.UUID) (bool, error)
}

var _ TelegramLinker = (*telegram.Bot)(nil)

// qrSize is the QR code's side in pixels.
const qrSize = 256

// telegramSection is the profile's Telegram section: off (no bot configured), linked, or
// a fresh deep link with its QR code.
type telegramSection struct {
	Configured bool
	Linked     *callscribe.TelegramLink
	// DeepLink, QR (a data: URL of the PNG) and Expires: a link just made.
	DeepLink string
	QR       template.URL
	Expires  time.Time
}

func (s *Server) telegramSection(r *http.Request, v *visit) (telegramSection, error) {
	tg := s.cfg.Telegram
	if tg == nil {
		return telegramSection{}, nil
	}
	sec := telegramSection{Configured: true}
	link, err := tg.Link(r.Context(), v.Account.ID)
	switch {
	case err == nil:
		sec.Linked = &link
	case callscribe.ErrorCode(err) != callscribe.ENOTFOUND:
		return sec, err
	}
	return sec, nil
}

// linkTelegram makes a link token and shows the profile with its deep link and QR code
// (drawn here, served as a data: URL): the token is shown once, never put in a URL of
// ours, and only its hash is kept.
func (s *Server) linkTelegram(w http.ResponseWriter, r *http.Request, v *visit) error {
	tg := s.cfg.Telegram
	if tg == nil {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no messenger bot is configured")
	}
	_, deepLink, err := tg.NewLinkToken(r.Context(), v.Account.ID)
	if err != nil {
		return err
	}
	png, err := telegram.QRCode(deepLink, qrSize)
	if err != nil {
		return callscribe.Wrap(callscribe.EINTERNAL, err, "draw the QR code")
	}
	page, err := s.profilePage(r, v)
	if err != nil {
		return err
	}
	page.Telegram.DeepLink = deepLink
	// A data: URL of the PNG drawn here: html/template would refuse it as a plain string.
	page.Telegram.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	page.Telegram.Expires = time.Now().Add(tg.LinkTTL())
	s.renderForm(w, r, v, http.StatusOK, "profile", page, accountForm(v.Account), nil)
	return nil
}

// unlinkTelegram forgets the account's Telegram link (the bot audits it).
func (s *Server) unlinkTelegram(w http.ResponseWriter, r *http.Request, v *visit) error {
	tg := s.cfg.Telegram
	if tg == nil {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no messenger bot is configured")
	}
	done, err := tg.Unlink(r.Context(), v.Account.ID)
	if err != nil {
		return err
	}
	to := "/profile?done=telegram_unlinked#telegram"
	if !done {
		to = "/profile?done=telegram_not_linked#telegram"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
