package webapp

import (
	"net/http"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/privacy"
)

// deskRequestLink is where a notice about a request points (/privacy/requests/{id}, as
// notify renders it): the request's row on the privacy desk, #request-<id>. A request
// that is not the visitor's own is not found.
func (s *Server) deskRequestLink(w http.ResponseWriter, r *http.Request, v *visit) error {
	rd := s.cfg.Readers
	if rd.Requests == nil {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such page")
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such request")
	}
	reqs, err := rd.Requests.List(r.Context(), privacy.ListOptions{OrgID: v.Account.OrgID, UserID: v.Account.ID})
	if err != nil {
		return err
	}
	for _, q := range reqs {
		if q.ID == id {
			http.Redirect(w, r, "/privacy#request-"+id.String(), http.StatusSeeOther)
			return nil
		}
	}
	return callscribe.Errorf(callscribe.ENOTFOUND, "no such request")
}
