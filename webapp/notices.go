package webapp

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/notify"
)

// NoticePreferences are a user's choices of notices per event and channel
// (notify.Notices implements it).
type NoticePreferences interface {
	Preferences(ctx context.Context, userID uuid.UUID) ([]notify.Preference, error)
	SetPreference(ctx context.Context, userID uuid.UUID, kind callscribe.NoticeKind, channel callscribe.NoticeChannel, enabled bool) error
}

var _ NoticePreferences = (*notify.Notices)(nil)

// noticeRow is one event on the profile's notices form, with a cell per channel.
type noticeRow struct {
	Kind  callscribe.NoticeKind
	Cells []notify.Preference // in callscribe.NoticeChannels' order
}

// Field is the form field of a cell: "<event>.<channel>".
func (noticeRow) Field(p notify.Preference) string { return string(p.Kind) + "." + string(p.Channel) }

// noticeSection is the profile's notices form: nil Rows when notices are not wired.
type noticeSection struct {
	Channels []callscribe.NoticeChannel
	Rows     []noticeRow
}

func (s *Server) noticeSection(r *http.Request, v *visit) (noticeSection, error) {
	sec := noticeSection{Channels: callscribe.NoticeChannels}
	if s.cfg.Notices == nil {
		return sec, nil
	}
	prefs, err := s.cfg.Notices.Preferences(r.Context(), v.Account.ID)
	if err != nil {
		return sec, err
	}
	byKind := map[callscribe.NoticeKind]*noticeRow{}
	for _, p := range prefs {
		row, ok := byKind[p.Kind]
		if !ok {
			sec.Rows = append(sec.Rows, noticeRow{Kind: p.Kind})
			row = &sec.Rows[len(sec.Rows)-1]
			byKind[p.Kind] = row
		}
		row.Cells = append(row.Cells, p)
	}
	return sec, nil
}

// setNotices saves the notices form: a checked box is on, an unchecked one off; a
// notice that cannot be turned off (a service notice by email) is left as it is.
// Only what changed is written.
func (s *Server) setNotices(w http.ResponseWriter, r *http.Request, v *visit) error {
	if s.cfg.Notices == nil {
		return callscribe.Errorf(callscribe.ENOTFOUND, "notices are not configured")
	}
	if r.PostForm.Get("notices") != "1" { // an unchecked box is absent: only the whole form says "off"
		return callscribe.Errorf(callscribe.EINVALID, "the notices form is incomplete")
	}
	prefs, err := s.cfg.Notices.Preferences(r.Context(), v.Account.ID)
	if err != nil {
		return err
	}
	for _, p := range prefs {
		if p.Locked {
			continue
		}
		on := r.PostForm.Get(noticeRow{}.Field(p)) == "on"
		if on == p.Enabled {
			continue
		}
		if err := s.cfg.Notices.SetPreference(r.Context(), v.Account.ID, p.Kind, p.Channel, on); err != nil {
			return err
		}
	}
	http.Redirect(w, r, "/profile?done=notices_saved#notices", http.StatusSeeOther)
	return nil
}
