package notify

import (
	"bytes"
	"callscribe/privacy"
	"strings"
	"text/template"

	"callscribe"
)

// Languages a message is written in; a user in any other is written to in Russian.
const (
	Russian = "ru"
	English = "en"
)

// entry is one notice in one language: its subject and body as templates over view.
type entry struct{ subject, text string }

// catalogue is every message a user is sent, in Russian and English: the one place a
// notice's words live. Bodies carry links and ids, never transcript text.
var catalogue = map[string]map[callscribe.NoticeKind]entry{
	Russian: {
		callscribe.NoticeTranscriptReady: {"Расшифровка звонка готова",
			"Расшифровка вашего звонка готова: {{.Link}}"},
		callscribe.NoticeRequestReceived: {"Ваше обращение № {{.Number}} получено",
			"Ваше обращение № {{.Number}} ({{.RequestKind}}) получено {{.Received}}. Ответ будет дан не позднее {{.Due}}.\n{{.Link}}"},
		callscribe.NoticeRequestExtended: {"Срок ответа на обращение № {{.Number}} продлён",
			"Срок ответа на ваше обращение № {{.Number}} ({{.RequestKind}}) продлён до {{.Due}}.\n{{.NoticeText}}\n{{.Link}}"},
		callscribe.NoticeRequestClosed: {"Обращение № {{.Number}} {{.Outcome}}",
			"Ваше обращение № {{.Number}} ({{.RequestKind}}) {{.Outcome}}.{{if .Reason}}\nОснование: {{.Reason}}{{end}}\n{{.Link}}"},
		callscribe.NoticeAgreementPublished: {"Новая редакция пользовательского соглашения",
			"Опубликована новая редакция пользовательского соглашения ({{.Version}}). Она действует с момента публикации: {{.Link}}"},
		callscribe.NoticeConsentWithdrawn: {"Согласие отозвано",
			"Ваше согласие на обработку персональных данных с целью «{{.Purpose}}» отозвано. Обработка с этой целью прекращена.\n{{.Link}}"},
		callscribe.NoticeBreach: {"Уведомление об инциденте с персональными данными",
			"{{.Template}}\n\nИнцидент № {{.Number}}, выявлен {{.Detected}}.\n{{.Link}}"},
	},
	English: {
		callscribe.NoticeTranscriptReady: {"Your call's transcript is ready",
			"The transcript of your call is ready: {{.Link}}"},
		callscribe.NoticeRequestReceived: {"Your request no. {{.Number}} is received",
			"Your request no. {{.Number}} ({{.RequestKind}}) was received on {{.Received}}. You will be answered by {{.Due}}.\n{{.Link}}"},
		callscribe.NoticeRequestExtended: {"The term for your request no. {{.Number}} is extended",
			"The term for answering your request no. {{.Number}} ({{.RequestKind}}) is extended to {{.Due}}.\n{{.NoticeText}}\n{{.Link}}"},
		callscribe.NoticeRequestClosed: {"Request no. {{.Number}} {{.Outcome}}",
			"Your request no. {{.Number}} ({{.RequestKind}}) is {{.Outcome}}.{{if .Reason}}\nReason: {{.Reason}}{{end}}\n{{.Link}}"},
		callscribe.NoticeAgreementPublished: {"A new version of the user agreement",
			"A new version of the user agreement ({{.Version}}) is published and in effect from publication: {{.Link}}"},
		callscribe.NoticeConsentWithdrawn: {"Consent withdrawn",
			"Your consent to the processing of your personal data for “{{.Purpose}}” is withdrawn. Processing for that purpose has stopped.\n{{.Link}}"},
		callscribe.NoticeBreach: {"Notice of a personal data incident",
			"{{.Template}}\n\nIncident no. {{.Number}}, detected {{.Detected}}.\n{{.Link}}"},
	},
}

// words are the catalogue's smaller pieces, by language.
var words = map[string]map[string]string{
	Russian: {
		"access": "доступ к данным", "rectification": "уточнение данных", "blocking": "блокирование",
		"erasure": "уничтожение данных", "withdrawal": "отзыв согласия", "claim": "претензия",
		"completed": "исполнено", "rejected": "отклонено",
		"transcription": "расшифровка звонков", "summarization": "краткое содержание звонков",
		"notifications": "уведомления", "crm_export": "передача в CRM",
	},
	English: {
		"access": "access", "rectification": "rectification", "blocking": "blocking",
		"erasure": "erasure", "withdrawal": "withdrawal of consent", "claim": "claim",
		"completed": "completed", "rejected": "rejected",
		"transcription": "call transcription", "summarization": "call summaries",
		"notifications": "notifications", "crm_export": "export to CRM",
	},
}

var templates = func() map[string]map[callscribe.NoticeKind][2]*template.Template {
	out := map[string]map[callscribe.NoticeKind][2]*template.Template{}
	for lang, kinds := range catalogue {
		out[lang] = map[callscribe.NoticeKind][2]*template.Template{}
		for k, e := range kinds {
			out[lang][k] = [2]*template.Template{
				template.Must(template.New(string(k) + ".subject").Option("missingkey=error").Parse(e.subject)),
				template.Must(template.New(string(k) + ".text").Option("missingkey=error").Parse(e.text)),
			}
		}
	}
	return out
}()

// view is what a message's templates read.
type view struct {
	Link        string
	Number      string // a request's or an incident's short number
	RequestKind string
	Received    string
	Due         string
	NoticeText  string
	Outcome     string
	Reason      string
	Version     string
	Purpose     string
	Template    string
	Detected    string
}

// Language is lang when the catalogue has it, Russian otherwise.
func Language(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if _, ok := catalogue[lang]; ok {
		return lang
	}
	return Russian
}

func word(lang, w string) string {
	if s, ok := words[lang][w]; ok {
		return s
	}
	return w
}

// shortNumber is the first eight hex digits of an id: what a person quotes.
func shortNumber(id string) string {
	if len(id) >= 8 {
		return id[:8]
	}
	return id
}

// render writes the message of a delivery in the user's language. Links are made from
// base (the service's public address).
func render(s callscribe.NoticeSend, base string) (Message, error) {
	lang := Language(s.Language)
	base = strings.TrimRight(base, "/")
	v := view{Link: base + "/privacy"}
	moscow := privacy.Moscow
	switch s.Kind {
	case callscribe.NoticeTranscriptReady:
		v.Link = base + "/calls/" + s.CallID.String()
	case callscribe.NoticeRequestReceived, callscribe.NoticeRequestExtended, callscribe.NoticeRequestClosed:
		r := s.Request
		if r == nil {
			return Message{}, errGone
		}
		v.Link = base + "/privacy/requests/" + r.ID.String()
		v.Number, v.RequestKind = shortNumber(r.ID.String()), word(lang, string(r.Kind))
		v.Received, v.Due = callscribe.DateOf(r.ReceivedAt.In(moscow)).Local(lang), r.Due().Local(lang)
		v.NoticeText, v.Reason = r.NoticeText, r.Reason
		if r.Status == callscribe.RequestRejected {
			v.Outcome = word(lang, "rejected")
		} else {
			v.Outcome = word(lang, "completed")
		}
	case callscribe.NoticeAgreementPublished:
		v.Link, v.Version = base+"/agreement", s.Detail
	case callscribe.NoticeConsentWithdrawn:
		v.Purpose = word(lang, s.Detail)
	case callscribe.NoticeBreach:
		inc := s.Incident
		if inc == nil {
			return Message{}, errGone
		}
		v.Number, v.Detected = shortNumber(inc.ID.String()), inc.DetectedAt.In(moscow).Format("2006-01-02 15:04 MSK")
		v.Template = breachText(inc, lang)
	}
	t, ok := templates[lang][s.Kind]
	if !ok {
		return Message{}, callscribe.Errorf(callscribe.EINTERNAL, "no message for %s in %s", s.Kind, lang)
	}
	var subject, text bytes.Buffer
	if err := t[0].Execute(&subject, v); err != nil {
		return Message{}, err
	}
	if err := t[1].Execute(&text, v); err != nil {
		return Message{}, err
	}
	return Message{Kind: s.Kind, Subject: subject.String(), Text: text.String()}, nil
}

// breachText is the operator's notice in lang, the other language's when it wrote one
// text only.
func breachText(inc *callscribe.BreachIncident, lang string) string {
	if lang == English && inc.TemplateEN != "" {
		return inc.TemplateEN
	}
	if inc.TemplateRU != "" {
		return inc.TemplateRU
	}
	return inc.TemplateEN
}
