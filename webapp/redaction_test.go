package webapp_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"callscribe"
	"callscribe/accounts"
	"callscribe/redact"
)

// TestTranscriptPageRedactions: the transcript page says which types of personal data
// were redacted and how many of each (counts, never values), in Russian and in English;
// a correction typed on the page goes through the redactor before it is stored, and its
// count joins the page's.
func TestTranscriptPageRedactions(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	c, acct := a.person(alice(), "")
	ctx := callscribe.AsSystem(context.Background())
	id := a.call(acct, "", "Итог.", "назовите номер карты", "карта [CARD], телефон [PHONE] и [PHONE]")
	if _, err := a.DB.Pool().Exec(ctx, `UPDATE transcripts SET redactions = '{"phone": 2, "card": 1}' WHERE call_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if body := c.mustGet("/calls/"+id.String(), http.StatusOK); !strings.Contains(body, "<dd>номер карты: 1, телефон: 2</dd>") {
		t.Errorf("the transcript page does not list the redactions by type, card 1 and phone 2:\n%s", facts(body))
	}

	// The card is typed into a correction on the page: stored as [CARD], counted, shown.
	if status, body := c.post("/calls/"+id.String()+"/segments/1", url.Values{"text": {"моя карта 4556 7375 8689 9855, запишите"}}); status != http.StatusOK {
		t.Fatalf("correct: %d\n%s", status, body)
	}
	body := c.mustGet("/calls/"+id.String(), http.StatusOK)
	if !strings.Contains(body, "моя карта [CARD], запишите") {
		t.Errorf("the corrected segment is not shown redacted:\n%s", body)
	}
	// The history of corrections names the turn (a link to it), the field and who, in words.
	if !strings.Contains(body, `<td><a href="#seg-1">1</a></td><td>текст</td><td>назовите номер карты</td><td>моя карта [CARD], запишите</td><td>Иванова Анна (администратор)</td>`) ||
		strings.Contains(body, "<td>user:") {
		t.Errorf("the history of corrections does not say which turn, what and who in words:\n%s", body)
	}
	for _, group := range []string{"4556", "7375", "8689", "9855"} {
		if strings.Contains(body, group) {
			t.Errorf("the page shows the typed card's %s", group)
		}
	}
	var stored string
	if err := a.DB.Pool().QueryRow(ctx, `SELECT t.text || ' ' || t.search::text || ' ' || string_agg(s.text || ' ' || s.search::text, ' ')
		FROM transcripts t JOIN segments s ON s.transcript_id = t.id WHERE t.call_id = $1 GROUP BY t.id`, id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	for _, group := range []string{"4556", "7375", "8689", "9855"} {
		if strings.Contains(stored, group) {
			t.Errorf("the typed card's %s is stored (text, segments or search index): %s", group, stored)
		}
	}
	if !strings.Contains(body, "<dd>номер карты: 2, телефон: 2</dd>") {
		t.Errorf("after the correction the page does not count card 2, phone 2:\n%s", facts(body))
	}

	if err := a.Accounts.SetLanguage(ctx, acct.ID, "en"); err != nil {
		t.Fatal(err)
	}
	if body := c.mustGet("/calls/"+id.String(), http.StatusOK); !strings.Contains(body, "<dt>Personal data hidden</dt><dd>card number: 2, phone number: 2</dd>") {
		t.Errorf("in English the page does not list the redactions by type:\n%s", facts(body))
	}

	// A transcript with nothing redacted says nothing about it.
	plain := a.call(acct, "", "", "добрый день")
	if body := c.mustGet("/calls/"+plain.String(), http.StatusOK); strings.Contains(body, "Personal data hidden") {
		t.Errorf("a transcript with nothing redacted lists redactions:\n%s", facts(body))
	}
}

// facts is the page's list of facts about the call, for a failure message.
func facts(body string) string {
	i, j := strings.Index(body, `<dl class="facts">`), strings.Index(body, "</dl>")
	if i < 0 || j < i {
		return body
	}
	return body[i : j+5]
}

// TestOrganizationRedactionPolicy: an organization's admin chooses on the organization
// page which personal data is redacted and with what. A bad mask is refused next to its
// field, with what was chosen kept; the policy saved is the one the pipeline and
// corrections read (a card typed into a correction comes out masked, a phone number,
// turned off, stays), and it is audited. A member cannot change it.
func TestOrganizationRedactionPolicy(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	admin, acct := a.person(alice(), "")
	member, _ := a.person(bob(), accounts.RoleMember)
	ctx := callscribe.AsSystem(context.Background())

	body := admin.mustGet("/organization", http.StatusOK)
	for _, typ := range redact.Types {
		if !matches(body, `<input type="checkbox" id="redact-`+string(typ)+`" name="redact" value="`+string(typ)+`" checked>`) {
			t.Errorf("a new organization does not redact %s by default:\n%s", typ, body)
		}
	}
	if !strings.Contains(body, `id="replace-tags" name="replace" value="tags" checked>`) || strings.Contains(body, "Сейчас ничего не скрывается") {
		t.Errorf("a new organization does not replace with type tags:\n%s", body)
	}

	allBut := func(off string) []string {
		var on []string
		for _, typ := range redact.Types {
			if string(typ) != off {
				on = append(on, string(typ))
			}
		}
		return on
	}
	status, body := admin.post("/organization/redaction", url.Values{"redact": allBut("phone"), "replace": {"mask"}, "redact_mask": {"x1"}})
	if status != http.StatusUnprocessableEntity || !matches(body, `id="redact_mask-error">Маска — от 1 до 32 символов, без цифр`) ||
		!strings.Contains(body, `value="phone">`) || strings.Contains(body, `value="phone" checked>`) || !strings.Contains(body, `value="mask" checked>`) {
		t.Errorf("a mask with a digit: %d, want 422 with the message next to the mask and the choices kept\n%s", status, body)
	}
	if status, body := admin.post("/organization/redaction", url.Values{"redact": allBut(""), "replace": {"mask"}, "redact_mask": {"  "}}); status != http.StatusUnprocessableEntity ||
		!matches(body, `id="redact_mask-error">Заполните это поле`) {
		t.Errorf("a mask chosen and left empty: %d\n%s", status, body)
	}
	if status, body := admin.post("/organization/redaction", url.Values{"redact": {"card", "horoscope"}, "replace": {"tags"}}); status != http.StatusUnprocessableEntity ||
		!matches(body, `id="redact-error">Недопустимое значение`) {
		t.Errorf("an unknown type: %d\n%s", status, body)
	}
	if status, _ := admin.post("/organization/redaction", url.Values{"redact": {"card"}, "replace": {"everything"}}); status != http.StatusBadRequest {
		t.Errorf("replace=everything: %d, want 400", status)
	}
	if off, mask, err := a.DB.RedactionPolicy(ctx, acct.OrgID); err != nil || len(off) != 0 || mask != "" {
		t.Fatalf("refused forms changed the policy: off %v, mask %q, %v", off, mask, err)
	}

	if status, _ := member.post("/organization/redaction", url.Values{"redact": {"card"}, "replace": {"tags"}}); status != http.StatusForbidden {
		t.Errorf("a member sets the policy: %d, want 403", status)
	}
	status, body = admin.post("/organization/redaction", url.Values{"redact": allBut("phone"), "replace": {"mask"}, "redact_mask": {" [скрыто] "}})
	if status != http.StatusOK || !strings.Contains(body, "Правила скрытия персональных данных сохранены") ||
		!strings.Contains(body, `value="phone">`) || !strings.Contains(body, `value="card" checked>`) || !strings.Contains(body, `value="[скрыто]"`) {
		t.Errorf("save the policy: %d\n%s", status, body)
	}
	if off, mask, err := a.DB.RedactionPolicy(ctx, acct.OrgID); err != nil || !slices.Equal(off, []string{"phone"}) || mask != "[скрыто]" {
		t.Errorf("stored policy: off %v, mask %q, %v; want off [phone], mask [скрыто]", off, mask, err)
	}
	var detail string
	if err := a.DB.Pool().QueryRow(ctx, `SELECT detail::text FROM audit_log WHERE action = 'organization.set' AND actor = $1 ORDER BY at DESC LIMIT 1`,
		"user:"+acct.ID.String()).Scan(&detail); err != nil || !strings.Contains(detail, `"redaction_off": ["phone"]`) || !strings.Contains(detail, `"redaction_mask": true`) {
		t.Errorf("audit entry %q (%v); want the types turned off and that a mask is set", detail, err)
	}

	id := a.call(acct, "", "", "назовите номер карты")
	if status, body := admin.post("/calls/"+id.String()+"/segments/1", url.Values{"text": {"карта 4556 7375 8689 9855, телефон +7 916 123-45-67"}}); status != http.StatusOK ||
		!strings.Contains(body, "карта [скрыто], телефон &#43;7 916 123-45-67") {
		t.Errorf("a correction under the saved policy: %d, want the card masked and the phone kept\n%s", status, body)
	}

	if status, body := admin.post("/organization/redaction", url.Values{"replace": {"tags"}}); status != http.StatusOK || !strings.Contains(body, "Сейчас ничего не скрывается") {
		t.Errorf("every type turned off: %d, want the page to say nothing is hidden\n%s", status, body)
	}
	if off, _, err := a.DB.RedactionPolicy(ctx, acct.OrgID); err != nil || len(off) != len(redact.Types) {
		t.Errorf("every type turned off: stored off %v (%v)", off, err)
	}
}
