package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/internal/testcall"
)

// TestEveryRouteRefusesOtherOrganizations: organization A uploads a call that PocketSphinx
// transcribes, and records a data-subject request; organization B's key then calls every
// route the server has (from its route table, so a new route cannot be left out) with
// A's ids. Every route naming an id of A's answers 404, no answer holds anything of A's,
// and A's data is as it was.
func TestEveryRouteRefusesOtherOrganizations(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{work: true})
	orgA, keyA := h.org("alpha")
	orgB, keyB := h.org("beta")
	ua := h.user(orgA, "anna@example.ru", true)
	h.user(orgB, "boris@example.ru", true)

	path, _ := testcall.Stereo(t, t.TempDir(), 0.6, testcall.Dialogue(testcall.Sentences[:2]...))
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := h.do("POST", ownerQuery(ua.Email, "&external_id=alpha-ext-1"), keyA, "audio/wav", bytes.NewReader(file))
	if r.status != http.StatusAccepted {
		t.Fatalf("A uploads: %d %s", r.status, r.body)
	}
	callID := r.json(t)["id"].(string)
	if c := h.waitEnded(keyA, callID); c["status"] != "completed" {
		t.Fatalf("A's call ended %v; want completed", c["status"])
	}
	tr := h.get("/v1/calls/"+callID+"/transcript?format=txt", keyA)
	if tr.status != http.StatusOK || len(bytes.TrimSpace(tr.body)) == 0 {
		t.Fatalf("A reads its transcript: %d %s", tr.status, tr.body)
	}
	r = h.do("POST", "/v1/requests", keyA, "application/json",
		strings.NewReader(fmt.Sprintf(`{"kind": "access", "user_id": %q}`, ua.ID)))
	if r.status != http.StatusCreated {
		t.Fatalf("A records a request: %d %s", r.status, r.body)
	}
	reqID := r.json(t)["id"].(string)

	// What must never reach B: A's subject, the words of A's transcript, A's ids beyond
	// the one B sent (an error may echo that; it must answer as for an id that is no one's).
	ids := []string{callID, reqID, ua.ID.String()}
	secrets := []string{orgA.String(), ua.Email, "alpha-ext-1", ua.Phone}
	for _, line := range strings.Split(string(tr.body), "\n") {
		if _, words, ok := strings.Cut(line, "] "); ok && len(words) > 12 {
			secrets = append(secrets, words)
		}
	}

	// How B calls each route with A's ids; a route missing here fails the test.
	type call struct {
		path, body, contentType string
		want                    int
	}
	json := "application/json"
	cases := map[string]call{
		"POST /v1/calls":                               {ownerQuery(ua.Email), string(file[:4096]), "audio/wav", http.StatusNotFound},
		"GET /v1/calls":                                {"/v1/calls?owner=" + ua.Email, "", "", http.StatusNotFound},
		"GET /v1/calls/{id}":                           {"/v1/calls/" + callID, "", "", http.StatusNotFound},
		"GET /v1/calls/{id}/transcript":                {"/v1/calls/" + callID + "/transcript", "", "", http.StatusNotFound},
		"PATCH /v1/calls/{id}/transcript/segments/{n}": {"/v1/calls/" + callID + "/transcript/segments/1", `{"text": "rewritten by beta"}`, json, http.StatusNotFound},
		"GET /v1/users/{id}/export":                    {"/v1/users/" + ua.ID.String() + "/export", "", "", http.StatusNotFound},
		"GET /v1/users/{id}/consents":                  {"/v1/users/" + ua.ID.String() + "/consents", "", "", http.StatusNotFound},
		"POST /v1/users/{id}/consents":                 {"/v1/users/" + ua.ID.String() + "/consents", `{"action": "withdraw", "purposes": ["transcription"]}`, json, http.StatusNotFound},
		"POST /v1/requests":                            {"/v1/requests", fmt.Sprintf(`{"kind": "erasure", "user_id": %q}`, ua.ID), json, http.StatusNotFound},
		"GET /v1/requests":                             {"/v1/requests", "", "", http.StatusOK}, // B's own list: empty
		"GET /v1/requests/{id}":                        {"/v1/requests/" + reqID, "", "", http.StatusNotFound},
		"POST /v1/requests/{id}/start":                 {"/v1/requests/" + reqID + "/start", "", json, http.StatusNotFound},
		"POST /v1/requests/{id}/extend":                {"/v1/requests/" + reqID + "/extend", `{"reason": "archive"}`, json, http.StatusNotFound},
		"POST /v1/requests/{id}/close":                 {"/v1/requests/" + reqID + "/close", `{"reject": true, "reason": "no"}`, json, http.StatusNotFound},
		"GET /healthz":                                 {"/healthz", "", "", http.StatusOK},
		"GET /readyz":                                  {"/readyz", "", "", http.StatusOK},
		"GET /metrics":                                 {"/metrics", "", "", http.StatusOK},
	}
	for _, rt := range h.api.Routes() {
		name := rt.Method + " " + rt.Pattern
		t.Run(name, func(t *testing.T) {
			c, ok := cases[name]
			if !ok {
				t.Fatalf("route %s has no case here: say how B calls it with A's ids", name)
			}
			got := h.do(rt.Method, c.path, keyB, c.contentType, strings.NewReader(c.body))
			if got.status != c.want {
				t.Errorf("B: %d %s; want %d", got.status, got.body, c.want)
			}
			for _, s := range secrets {
				if bytes.Contains(got.body, []byte(s)) {
					t.Errorf("B's answer holds %q of A's:\n%s", s, got.body)
				}
			}
			// The same call with ids that are no one's gets the same answer.
			path, body, sent := c.path, c.body, ""
			for _, id := range ids {
				if strings.Contains(path+body, id) {
					sent = id
					none := uuid.NewString()
					path, body = strings.ReplaceAll(path, id, none), strings.ReplaceAll(body, id, none)
					unknown := h.do(rt.Method, path, keyB, c.contentType, strings.NewReader(body))
					if unknown.status != got.status || strings.ReplaceAll(string(unknown.body), none, id) != string(got.body) {
						t.Errorf("B with A's id: %d %s; with an id that is no one's: %d %s; want the same", got.status, got.body, unknown.status, unknown.body)
					}
				}
			}
			for _, id := range ids {
				if id != sent && bytes.Contains(got.body, []byte(id)) {
					t.Errorf("B's answer holds A's id %s:\n%s", id, got.body)
				}
			}
		})
	}
	if len(cases) != len(h.api.Routes()) {
		t.Errorf("%d cases for %d routes: a case names a route that is gone", len(cases), len(h.api.Routes()))
	}

	// A's data is as it was: the call, the consent in force, the request received.
	if c := h.get("/v1/calls/"+callID, keyA).json(t); c["status"] != "completed" {
		t.Errorf("A's call after B's calls: %v", c["status"])
	}
	cons := h.get("/v1/users/"+ua.ID.String()+"/consents", keyA).json(t)
	if f, _ := cons["in_force"].([]any); len(f) != 1 || f[0] != "transcription" {
		t.Errorf("A's consents after B's calls: %v; want transcription in force", cons["in_force"])
	}
	if rq := h.get("/v1/requests/"+reqID, keyA).json(t); rq["status"] != "received" {
		t.Errorf("A's request after B's calls: %v; want received", rq["status"])
	}
	if n := h.count(`SELECT count(*) FROM privacy_requests`); n != 1 {
		t.Errorf("%d requests; want A's alone", n)
	}

	// A's own key exports its user and rectifies its transcript; both audited as the key's.
	exp := h.get("/v1/users/"+ua.ID.String()+"/export", keyA)
	if exp.status != http.StatusOK || !bytes.Contains(exp.body, []byte(ua.Email)) {
		t.Errorf("A exports its user: %d %.300s", exp.status, exp.body)
	}
	fix := h.do("PATCH", "/v1/calls/"+callID+"/transcript/segments/1", keyA, json, strings.NewReader(`{"text": "corrected words"}`))
	if fix.status != http.StatusOK {
		t.Errorf("A rectifies segment 1: %d %s", fix.status, fix.body)
	}
	if tr := h.get("/v1/calls/"+callID+"/transcript?format=txt", keyA); !bytes.Contains(tr.body, []byte("corrected words")) {
		t.Errorf("transcript after the correction:\n%s", tr.body)
	}
	for _, action := range []string{"export", "transcript.edit", "transcript.read"} {
		if n := h.count(`SELECT count(*) FROM audit_log WHERE action = $1 AND actor LIKE 'api:%' AND organization_id = $2`, action, orgA); n == 0 {
			t.Errorf("no %s by A's key in the audit log", action)
		}
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE organization_id <> $1`, orgA); n != 0 {
		t.Errorf("%d audit entries outside A: B's refused calls were recorded as acts", n)
	}
}

// TestWithdrawalOverTheAPI: a withdrawal of transcription through the API, while a call
// of the user's is being recognised, discards it with its audio deleted and confirmed;
// the withdrawal is recorded with channel api, and the user's next upload is refused.
func TestWithdrawalOverTheAPI(t *testing.T) {
	t.Parallel()
	tr := &blocking{started: make(chan struct{}, 1)}
	h := newHarness(t, options{work: true, transcriber: tr})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(silence(8000)))
	if r.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	select {
	case <-tr.started:
	case <-time.After(time.Minute):
		t.Fatal("the worker never started the call")
	}
	w := h.do("POST", "/v1/users/"+u.ID.String()+"/consents", key, "application/json",
		strings.NewReader(`{"action": "withdraw", "purposes": ["transcription"]}`))
	if w.status != http.StatusOK {
		t.Fatalf("withdraw: %d %s", w.status, w.body)
	}
	v := w.json(t)
	if f, _ := v["in_force"].([]any); len(f) != 0 {
		t.Errorf("in force after the withdrawal: %v; want nothing", f)
	}
	evs, _ := v["events"].([]any)
	last, _ := evs[len(evs)-1].(map[string]any)
	if last["action"] != "withdraw" || last["channel"] != "api" || last["purpose"] != "transcription" {
		t.Errorf("last consent event %v; want a withdrawal of transcription through api", last)
	}
	h.waitEnded(key, id)
	c := h.waitReceipt(key, id)
	if c["status"] != "discarded" {
		t.Errorf("call %v; want discarded", c["status"])
	}
	if rc, _ := c["receipt"].(map[string]any); rc == nil || rc["confirmed_at"] == nil {
		t.Errorf("receipt %v; want the deletion confirmed", c["receipt"])
	}
	h.stageEmpty()
	again := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(silence(8000)))
	if again.status != http.StatusForbidden || again.errorCode(t) != callscribe.ENOCONSENT {
		t.Errorf("upload after the withdrawal: %d %s; want 403 no_consent", again.status, again.body)
	}
}

// TestWithdrawalOverTheAPIDiscardsQueuedCalls: calls queued for the worker are discarded
// by the withdrawal itself, not when a worker gets to them: their audio is deleted and
// confirmed before the API answers.
func TestWithdrawalOverTheAPIDiscardsQueuedCalls(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{}) // no worker: the calls stay queued
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	var ids []string
	for range 2 {
		r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(silence(8000)))
		if r.status != http.StatusAccepted {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		ids = append(ids, r.json(t)["id"].(string))
	}
	if h.stage.Bytes() == 0 {
		t.Fatal("nothing staged for the queued calls")
	}
	w := h.do("POST", "/v1/users/"+u.ID.String()+"/consents", key, "application/json",
		strings.NewReader(`{"action": "withdraw", "purposes": ["transcription"]}`))
	if w.status != http.StatusOK {
		t.Fatalf("withdraw: %d %s", w.status, w.body)
	}
	for _, id := range ids {
		c := h.get("/v1/calls/"+id, key).json(t)
		rc, _ := c["receipt"].(map[string]any)
		if c["status"] != "discarded" || rc == nil || rc["confirmed_at"] == nil {
			t.Errorf("queued call right after the withdrawal: %v, receipt %v; want discarded, deletion confirmed", c["status"], rc)
		}
	}
	h.stageEmpty()

	// The same when a withdrawal request is completed over the API.
	post := func(path, body string) reply {
		return h.do("POST", path, key, "application/json", strings.NewReader(body))
	}
	if r := post("/v1/users/"+u.ID.String()+"/consents", `{"action": "grant", "purposes": ["transcription"]}`); r.status != http.StatusOK {
		t.Fatalf("grant again: %d %s", r.status, r.body)
	}
	up := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(silence(8000)))
	if up.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", up.status, up.body)
	}
	req := post("/v1/requests", fmt.Sprintf(`{"kind": "withdrawal", "user_id": %q}`, u.ID)).json(t)["id"].(string)
	post("/v1/requests/"+req+"/start", "")
	if r := post("/v1/requests/"+req+"/close", `{}`); r.status != http.StatusOK {
		t.Fatalf("close the withdrawal request: %d %s", r.status, r.body)
	}
	if c := h.get("/v1/calls/"+up.json(t)["id"].(string), key).json(t); c["status"] != "discarded" {
		t.Errorf("queued call after the withdrawal request closed: %v; want discarded", c["status"])
	}
	h.stageEmpty()
}

// TestRequestsOverTheAPI: a request recorded, listed as due, started, extended with a
// reason (refused without one), and closed; each step is in its history with the key.
func TestRequestsOverTheAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	post := func(path, body string) reply {
		return h.do("POST", path, key, "application/json", strings.NewReader(body))
	}
	today := time.Now().In(time.FixedZone("MSK", 3*3600)).Format(time.DateOnly)
	r := post("/v1/requests", fmt.Sprintf(`{"kind": "blocking", "email": %q, "received": %q}`, u.Email, today))
	if r.status != http.StatusCreated {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	for _, bad := range []string{`{"kind": "blocking"}`, `{"kind": "gossip", "email": "ivanova@example.ru"}`, `{"kind": "access", "email": "x@example.ru", "user_id": "y"}`, `not json`} {
		if r := post("/v1/requests", bad); r.status != http.StatusBadRequest {
			t.Errorf("add %s: %d %s; want 400", bad, r.status, r.body)
		}
	}
	list := h.get("/v1/requests?due_within=30d&status=received", key).json(t)
	if rs, _ := list["requests"].([]any); len(rs) != 1 {
		t.Errorf("due within 30 days: %v; want the one request", list)
	}
	if r := post("/v1/requests/"+id+"/start", ""); r.status != http.StatusOK || r.json(t)["status"] != "in_progress" {
		t.Errorf("start: %d %s", r.status, r.body)
	}
	if r := post("/v1/requests/"+id+"/extend", `{}`); r.status != http.StatusBadRequest {
		t.Errorf("extend without a reason: %d %s; want 400", r.status, r.body)
	}
	if r := post("/v1/requests/"+id+"/extend", `{"reason": "the calls are in the archive", "days": 3}`); r.status != http.StatusOK || r.json(t)["extended_due_at"] == nil {
		t.Errorf("extend: %d %s", r.status, r.body)
	}
	if r := post("/v1/requests/"+id+"/close", `{"reject": true}`); r.status != http.StatusBadRequest {
		t.Errorf("reject without a reason: %d %s; want 400", r.status, r.body)
	}
	if r := post("/v1/requests/"+id+"/close", `{"notes": "blocked"}`); r.status != http.StatusOK || r.json(t)["status"] != "completed" {
		t.Errorf("close: %d %s", r.status, r.body)
	}
	got := h.get("/v1/requests/"+id, key).json(t)
	evs, _ := got["events"].([]any)
	if len(evs) != 4 {
		t.Fatalf("history %v; want received, started, extended, completed", evs)
	}
	for _, e := range evs {
		if a, _ := e.(map[string]any)["actor"].(string); !strings.HasPrefix(a, "api:") {
			t.Errorf("event %v: actor %q, want the API key", e, a)
		}
	}
	if blocked, err := h.db.UserBlocked(callscribe.AsSystem(t.Context()), u.ID); err != nil || !blocked {
		t.Errorf("closing the blocking request: blocked %v, %v; want the subject blocked", blocked, err)
	}
}
