package accounts

import (
	"context"

	"callscribe/redact"
)

// SetRedaction sets what the actor's organization redacts from its transcripts before
// they are stored or sent (admins only): the types named in on are redacted and every
// other type is turned off; mask replaces each entity, or, empty, each type's tag
// ([CARD], [PHONE], …) does. It is stored and audited as the CLI's `org set --redact-*`
// is. An unknown type is a FieldErrors on "redact", a mask redact.CheckMask refuses one
// on "redact_mask".
func (s *Service) SetRedaction(ctx context.Context, actor Account, on []string, mask string) error {
	ctx, err := s.admin(ctx, actor)
	if err != nil {
		return err
	}
	f := FieldErrors{}
	want := map[redact.Type]bool{}
	for _, name := range on {
		t, err := redact.ParseType(name)
		if err != nil {
			f["redact"] = "invalid"
			break
		}
		want[t] = true
	}
	if redact.CheckMask(mask) != nil {
		f["redact_mask"] = "mask_invalid"
	}
	if len(f) > 0 {
		return invalid(f)
	}
	off := []string{}
	for _, t := range redact.Types {
		if !want[t] {
			off = append(off, string(t))
		}
	}
	return s.db.SetRedaction(ctx, actor.OrgID, off, mask, "user:"+actor.ID.String())
}
