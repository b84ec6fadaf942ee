package notify

import (
	"context"

	"github.com/google/uuid"

	"callscribe"
)

// Service notices answer the user's own requests or are owed by law (152-FZ art. 14,
// 20, 21; the agreement's clause 3.5): they are sent whatever the user's consent to the
// notifications purpose, and email cannot be turned off for them. A transcript-ready
// message is about the user's calls, which is what that purpose covers: it is sent only
// while that consent is in force, and only on the channels the user turned on.
var mandatory = map[callscribe.NoticeKind]bool{
	callscribe.NoticeRequestReceived: true,
	callscribe.NoticeRequestExtended: true,
	callscribe.NoticeRequestClosed:   true,
	callscribe.NoticeBreach:          true,
}

// Mandatory reports whether kind is a notice email cannot be turned off for.
func Mandatory(kind callscribe.NoticeKind) bool { return mandatory[kind] }

// NeedsConsent reports whether kind is sent only under consent to notifications.
func NeedsConsent(kind callscribe.NoticeKind) bool { return kind == callscribe.NoticeTranscriptReady }

// Default is whether kind goes on channel for a user who has not chosen: everything on
// the messenger when linked; by email everything but transcript-ready messages, which
// would fill an inbox (one per call).
func Default(channel callscribe.NoticeChannel, kind callscribe.NoticeKind) bool {
	if channel == callscribe.NoticeEmail {
		return kind != callscribe.NoticeTranscriptReady
	}
	return true
}

// Enabled is whether kind goes on channel under choices (the preferences a user
// changed), the defaults elsewhere; email is always on for a mandatory kind.
func Enabled(choices map[callscribe.NoticeChannel]map[callscribe.NoticeKind]bool, channel callscribe.NoticeChannel, kind callscribe.NoticeKind) bool {
	if channel == callscribe.NoticeEmail && Mandatory(kind) {
		return true
	}
	if on, ok := choices[channel][kind]; ok {
		return on
	}
	return Default(channel, kind)
}

// Preference is whether one kind of notice goes on one channel, as the profile page
// shows it.
type Preference struct {
	Kind    callscribe.NoticeKind    `json:"event"`
	Channel callscribe.NoticeChannel `json:"channel"`
	Enabled bool                     `json:"enabled"`
	Locked  bool                     `json:"locked"`  // cannot be turned off (a mandatory notice by email)
	Default bool                     `json:"default"` // the value when the user has not chosen
	Consent bool                     `json:"consent"` // sent only under consent to notifications
}

// Preferences lists every kind on every channel for the user, in a stable order.
func (n *Notices) Preferences(ctx context.Context, userID uuid.UUID) ([]Preference, error) {
	choices, err := n.cfg.Store.NoticeChoices(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []Preference
	for _, k := range callscribe.NoticeKinds {
		for _, c := range callscribe.NoticeChannels {
			out = append(out, Preference{Kind: k, Channel: c, Enabled: Enabled(choices, c, k),
				Locked: c == callscribe.NoticeEmail && Mandatory(k), Default: Default(c, k), Consent: NeedsConsent(k)})
		}
	}
	return out, nil
}

// SetPreference turns one kind of notice on or off on one channel for the user. Turning
// email off for a mandatory kind is refused with EINVALID.
func (n *Notices) SetPreference(ctx context.Context, userID uuid.UUID, kind callscribe.NoticeKind, channel callscribe.NoticeChannel, enabled bool) error {
	if _, err := callscribe.ParseNoticeKind(string(kind)); err != nil {
		return err
	}
	if _, err := callscribe.ParseNoticeChannel(string(channel)); err != nil {
		return err
	}
	if !enabled && channel == callscribe.NoticeEmail && Mandatory(kind) {
		return callscribe.Errorf(callscribe.EINVALID, "%s notices are owed to the user by law: email cannot be turned off for them", kind)
	}
	return n.cfg.Store.SetNoticeChoice(ctx, userID, kind, channel, enabled, n.cfg.Now())
}
