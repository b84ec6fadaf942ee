package privacy_test

import (
	"context"
	"slices"
	"testing"

	"callscribe"
	"callscribe/storage/pgtest"
)

// TestRectifySegment: a corrected segment's text and speaker are stored, the transcript
// text and its search index follow, and the history keeps before and after.
func TestRectifySegment(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	db := openDB(t, pgtest.DB(t))
	p := makePerson(t, db, "quokka", "alice@example.ru", "", 1) // segment 2 already corrected once
	call := p.calls[0]
	text, speaker := "kangaroo", "manager"
	rs, err := db.EditSegmentRedacted(ctx, call, 0, &text, &speaker, "cli", nil)
	if err != nil || len(rs) != 2 {
		t.Fatalf("EditSegment = %+v, %v; want two rectifications (text, speaker)", rs, err)
	}
	tr, err := db.Transcript(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Segments[0].Text != "kangaroo" || tr.Segments[0].Speaker != "manager" {
		t.Errorf("segment 1 after the edit: %+v", tr.Segments[0])
	}
	if want := "kangaroo quokkafixedword quokkaword0c"; tr.Text != want {
		t.Errorf("transcript text = %q, want %q", tr.Text, want)
	}
	for word, want := range map[string]bool{"kangaroo": true, p.words[0]: false, p.words[1]: false} {
		hits, err := db.SearchCalls(ctx, callscribe.CallFilter{Q: word})
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.ContainsFunc(hits, func(h callscribe.CallHit) bool { return h.ID == call }); got != want {
			t.Errorf("search %q finds the call = %v, want %v", word, got, want)
		}
	}
	hist, err := db.Rectifications(ctx, p.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[1].Before != p.words[0] || hist[1].After != "kangaroo" || hist[2].Field != "speaker" || hist[2].Before != "agent" {
		t.Errorf("history = %+v; want the earlier fix, then text %s→kangaroo and speaker agent→manager", hist, p.words[0])
	}
	if _, err := db.EditSegmentRedacted(ctx, call, 7, &text, nil, "cli", nil); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("edit of a missing segment: %v, want %s", err, callscribe.ENOTFOUND)
	}
}

// TestRectifyProfile: profile fields change with their history; a taken email and an
// unknown field are refused.
func TestRectifyProfile(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	db := openDB(t, pgtest.DB(t))
	alice := makePerson(t, db, "quokka", "alice@example.ru", "+79160001122", 0)
	bob := makePerson(t, db, "wombat", "bob@example.ru", "", 0)
	rs, err := db.EditUser(ctx, alice.user.ID, []callscribe.ProfileEdit{{Field: "phone", Value: "+79990001122"}, {Field: "email", Value: "anna@example.ru"}, {Field: "patronymic", Value: "Petrovna"}}, "cli")
	if err != nil || len(rs) != 3 {
		t.Fatalf("EditUser = %+v, %v", rs, err)
	}
	u, err := db.UserByEmail(ctx, alice.user.OrgID, "anna@example.ru")
	if err != nil || u.Phone != "+79990001122" || u.Patronymic != "Petrovna" {
		t.Errorf("after edit: %+v, %v", u, err)
	}
	if rs[0].Before != "+79160001122" || rs[1].Before != "alice@example.ru" {
		t.Errorf("history lost the values before: %+v", rs)
	}
	if _, err := db.EditUser(ctx, alice.user.ID, []callscribe.ProfileEdit{{Field: "email", Value: bob.user.Email}}, "cli"); callscribe.ErrorCode(err) != callscribe.ECONFLICT {
		t.Errorf("taking bob's email: %v, want %s", err, callscribe.ECONFLICT)
	}
	if _, err := db.EditUser(ctx, alice.user.ID, []callscribe.ProfileEdit{{Field: "organization_id", Value: "x"}}, "cli"); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("editing a non-profile field: %v, want %s", err, callscribe.EINVALID)
	}
}
