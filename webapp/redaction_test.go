package webapp_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"callscribe"
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
