package telegram

import (
	"fmt"
	"strings"

	"callscribe"
)

// catalogue holds every string the bot shows a person, in Russian and English; format
// verbs take ids, dates and counts only.
var catalogue = map[string]map[string]string{
	"ru": {
		"unlinked": "Этот чат не связан с учётной записью callscribe. Чтобы связать его, откройте профиль на сайте, нажмите «Связать Telegram» и перейдите по ссылке (или отсканируйте QR-код). Пока чат не связан, бот ничего не сохраняет.",
		"help": "Команды:\n/withdraw — отозвать согласие на обработку персональных данных по одной из целей\n/request — направить запрос (доступ, исправление, блокирование, удаление, отзыв согласия, претензия)\n/requests — ваши запросы, их статус и срок ответа\n/stop — отвязать этот чат от учётной записи\n" +
			"Можно просто написать запрос текстом: бот спросит его вид. Текст «Отзыв согласия на обработку персональных данных» принимается как запрос на отзыв согласия.",
		"linked":           "Чат связан с вашей учётной записью. Бот хранит только ваш идентификатор Telegram и, если он виден, имя пользователя.\n\n",
		"link_bad":         "Ссылка для связывания недействительна: она уже использована или её срок истёк. Получите новую в профиле на сайте.",
		"stopped":          "Чат отвязан: ваш идентификатор Telegram и имя пользователя удалены. Чтобы связать его снова, получите новую ссылку в профиле.",
		"withdraw_choose":  "Выберите цель, согласие на которую вы отзываете:",
		"withdraw_none":    "Согласий, действующих сейчас, нет.",
		"withdrawn":        "Согласие на «%s» отозвано (%s). Обработка по этой цели прекращена.",
		"withdrawn_calls":  " Звонки в очереди на распознавание: %d — отменены, их аудио удалено.",
		"withdrawn_flight": " Звонок, распознаваемый сейчас, будет остановлен, а его аудио удалено.",
		"not_in_force":     "Согласие на «%s» уже не действует.",
		"kind_choose":      "Какой это запрос?",
		"draft_gone":       "Эта форма запроса устарела. Отправьте запрос ещё раз.",
		"cancelled":        "Запрос не отправлен.",
		"recorded":         "Запрос № %s (%s) получен %s. Ответ — не позднее %s.",
		"claim_term":       " Претензия рассматривается в течение 14 рабочих дней; этот срок не продлевается.",
		"no_requests":      "Запросов нет.",
		"requests":         "Ваши запросы:",
		"request_line":     "№ %s — %s, %s, ответ до %s",
		"error":            "Не получилось выполнить команду. Попробуйте позже.",
		"blocked":          "Ваши данные заблокированы; отозвать согласие или направить запрос можно, прочее недоступно.",
		"cancel":           "Отмена",

		"kind_access":        "Доступ к данным",
		"kind_rectification": "Исправление",
		"kind_blocking":      "Блокирование",
		"kind_erasure":       "Удаление",
		"kind_withdrawal":    "Отзыв согласия",
		"kind_claim":         "Претензия",

		"status_received":    "получен",
		"status_in_progress": "в работе",
		"status_completed":   "выполнен",
		"status_rejected":    "отклонён",

		"purpose_transcription": "расшифровка звонков",
		"purpose_summarization": "краткое содержание звонков",
		"purpose_notifications": "уведомления",
		"purpose_crm_export":    "передача в CRM",
	},
	"en": {
		"unlinked": "This chat is not linked to a callscribe account. To link it, open your profile on the site, press \"Link Telegram\" and follow the link (or scan the QR code). Until the chat is linked the bot keeps nothing.",
		"help": "Commands:\n/withdraw — withdraw your consent to processing of personal data for one purpose\n/request — send a request (access, rectification, blocking, erasure, withdrawal of consent, claim)\n/requests — your requests, their status and due date\n/stop — unlink this chat from your account\n" +
			"You can also just write your request: the bot asks its kind. The text \"Withdrawal of consent to personal data processing\" is taken as a withdrawal request.",
		"linked":           "This chat is linked to your account. The bot keeps only your Telegram id and, where shown, your username.\n\n",
		"link_bad":         "The link is not valid: it was used already or it expired. Get a new one on your profile page.",
		"stopped":          "Chat unlinked: your Telegram id and username are deleted. To link it again, get a new link on your profile page.",
		"withdraw_choose":  "Choose the purpose you withdraw your consent to:",
		"withdraw_none":    "No consent is in force.",
		"withdrawn":        "Consent to \"%s\" withdrawn (%s). Processing for this purpose has stopped.",
		"withdrawn_calls":  " Calls waiting to be transcribed: %d, cancelled and their audio deleted.",
		"withdrawn_flight": " A call being transcribed now is stopped and its audio deleted.",
		"not_in_force":     "Consent to \"%s\" is not in force.",
		"kind_choose":      "What kind of request is it?",
		"draft_gone":       "This request form expired. Please send your request again.",
		"cancelled":        "Request not sent.",
		"recorded":         "Request No. %s (%s) received on %s. The answer is due by %s.",
		"claim_term":       " A claim is answered within 14 business days; this term is not extended.",
		"no_requests":      "You have no requests.",
		"requests":         "Your requests:",
		"request_line":     "No. %s — %s, %s, due by %s",
		"error":            "The command could not be carried out. Please try again later.",
		"blocked":          "Your data is blocked; you can withdraw consent or send a request, nothing else.",
		"cancel":           "Cancel",

		"kind_access":        "Access to my data",
		"kind_rectification": "Rectification",
		"kind_blocking":      "Blocking",
		"kind_erasure":       "Erasure",
		"kind_withdrawal":    "Withdrawal of consent",
		"kind_claim":         "Claim",

		"status_received":    "received",
		"status_in_progress": "in progress",
		"status_completed":   "completed",
		"status_rejected":    "rejected",

		"purpose_transcription": "call transcription",
		"purpose_summarization": "call summaries",
		"purpose_notifications": "notices",
		"purpose_crm_export":    "export to CRM",
	},
}

// language picks a catalogue: "en" or "ru" (the default).
func language(lang string) string {
	if strings.HasPrefix(strings.ToLower(lang), "en") {
		return "en"
	}
	return "ru"
}

// msg is the catalogue's text for key in lang, formatted with args.
func msg(lang, key string, args ...any) string {
	s, ok := catalogue[language(lang)][key]
	if !ok {
		s = catalogue["ru"][key]
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// withdrawalPhrases are the texts the user agreement names for a withdrawal of consent,
// normalised (lower case, letters and spaces only, ё as е).
var withdrawalPhrases = []string{
	normalise("Withdrawal of consent to personal data processing"),
	normalise("Withdrawal of consent to the processing of personal data"),
	normalise("Отзыв согласия на обработку персональных данных"),
}

// normalise lowers s, turns ё into е, and keeps letters and single spaces only.
func normalise(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r == 'ё':
			r = 'е'
		case r == ' ' || r == '\n' || r == '\t':
			space = b.Len() > 0
			continue
		case !(r >= 'a' && r <= 'z' || r >= 'а' && r <= 'я' || r >= '0' && r <= '9'):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isWithdrawal reports whether text is (or starts with) the agreement's phrase for a
// withdrawal of consent.
func isWithdrawal(text string) bool {
	n := normalise(text)
	for _, p := range withdrawalPhrases {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

func kindName(lang string, k callscribe.RequestKind) string { return msg(lang, "kind_"+string(k)) }

func purposeName(lang string, p callscribe.Purpose) string {
	if s, ok := catalogue[language(lang)]["purpose_"+string(p)]; ok {
		return s
	}
	return string(p)
}
