package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// Emails, written ("ivan.petrov@mail.ru") or spoken ("иван точка петров собака мейл точка
// ру", "ivan dot petrov at gmail dot com"): a local part, an at, and a domain of at least
// two labels ending in a known top-level domain.

var (
	atWords   = set("собака", "собачка", "at", "эт")
	dotWords  = set("точка", "dot")
	joinWords = set("подчеркивание", "underscore", "дефис", "тире", "dash", "hyphen")
	tlds      = set("ru", "com", "net", "org", "su", "io", "info", "biz", "me", "ua", "by", "kz", "uk", "de", "edu", "gov", "co", "pro", "online", "рф",
		"ру", "ком", "нет", "орг", "су", "инфо", "ио", "рф")
)

// notLocal are words that, alone before a spoken "at"/"собака", are speech, not an
// email's local part.
var notLocal = set("i", "you", "me", "him", "her", "us", "them", "it", "we", "they", "he", "she", "be", "is", "are", "am", "was",
	"were", "see", "meet", "look", "arrive", "stay", "home", "work", "here", "there", "this", "that", "and", "or", "not",
	"я", "ты", "мы", "вы", "он", "она", "они", "меня", "тебя", "нас", "вас", "его", "ее", "их", "у", "и", "а", "это", "мой", "моя", "наша", "ваша", "там", "тут")

func glued(c *chain, i int) bool { return i < len(c.toks) && !c.toks[i].space && !c.toks[i].brk }

func (d *detector) emails(c *chain) {
	for i, t := range c.toks {
		if !(t.kind == tPunct && t.low == "@") && !(t.kind == tWord && atWords[t.low]) {
			continue
		}
		end := domainAfter(c, i+1)
		if end < 0 {
			continue
		}
		start := localBefore(c, i)
		if start < 0 {
			continue
		}
		// A spoken "at" after a pronoun or a verb is a preposition ("see you at nine dot
		// com", "у меня собака …"): such a word is not dictated as an address.
		if t.kind == tWord && start == i-1 && notLocal[c.toks[start].low] {
			continue
		}
		d.take(Email, start, end)
	}
}

func isLabelTok(t token) bool { return t.kind == tWord || t.kind == tDigits }

// domainAfter returns the last token of a domain starting at token j, or -1.
func domainAfter(c *chain, j int) int {
	best, labels := -1, 0
	for j < len(c.toks) && isLabelTok(c.toks[j]) && !c.toks[j].brk {
		e := j
		for glued(c, e+1) && (isLabelTok(c.toks[e+1]) || (c.toks[e+1].low == "-" && glued(c, e+2) && isLabelTok(c.toks[e+2]))) {
			e++
		}
		labels++
		if labels >= 2 && tlds[c.toks[e].low] {
			best = e
		}
		// The next separator: a glued dot, or "точка"/"dot".
		switch {
		case glued(c, e+1) && c.toks[e+1].low == "." && glued(c, e+2):
			j = e + 2
		case e+1 < len(c.toks) && !c.toks[e+1].brk && c.toks[e+1].kind == tWord && dotWords[c.toks[e+1].low]:
			j = e + 2
		default:
			return best
		}
		if labels > 6 {
			break
		}
	}
	return best
}

// localBefore returns the first token of the local part ending right before the at
// token i, or -1.
func localBefore(c *chain, i int) int {
	k := i - 1
	if k < 0 || !isLabelTok(c.toks[k]) || c.toks[i].brk {
		return -1
	}
	unitStart := func(k int) int {
		for k > 0 && !c.toks[k].space && !c.toks[k].brk {
			p := c.toks[k-1]
			if !isLabelTok(p) && p.low != "." && p.low != "_" && p.low != "-" && p.low != "+" {
				break
			}
			k--
		}
		return k
	}
	start := unitStart(k)
	for n := 0; n < 4 && start >= 2 && !c.toks[start].brk; n++ {
		conn := c.toks[start-1]
		if conn.kind != tWord || conn.brk || !(dotWords[conn.low] || joinWords[conn.low]) || !isLabelTok(c.toks[start-2]) {
			break
		}
		k = start - 2
		if conn.low == "подчеркивание" && k >= 1 && c.toks[k].low == "нижнее" && isLabelTok(c.toks[k-1]) {
			k--
		}
		start = unitStart(k)
	}
	return start
}

// Dates of birth after a context word: "родился двенадцатого марта тысяча девятьсот
// восемьдесят пятого года", "дата рождения 12.03.1985", "date of birth March 12, 1985".

var (
	birthWords = set("родился", "родилась", "родились", "рождения", "рождение", "born", "birth", "birthday", "dob", "др")
	dateFiller = set("я", "у", "меня", "мой", "моя", "мое", "это", "в", "is", "was", "on", "the", "i", "my", "it", "its", "of", "date", "дата", "день", "s")
	dateGlue   = set("года", "год", "г", "of", "the", "st", "nd", "rd", "th", "году")
	monthStems = []string{"январ", "феврал", "март", "апрел", "мая", "май", "мае", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр",
		"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
		"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
	ordStems = []string{"перв", "втор", "трет", "четверт", "пят", "шест", "седьм", "восьм", "девят", "десят",
		"одиннадцат", "двенадцат", "тринадцат", "четырнадцат", "пятнадцат", "шестнадцат", "семнадцат", "восемнадцат", "девятнадцат",
		"двадцат", "тридцат", "сороков", "пятидесят", "шестидесят", "семидесят", "восьмидесят", "девяност", "сот", "двухсот",
		"тысячн", "двухтысячн"}
	ordEndings = set("ый", "ой", "ий", "ого", "его", "ому", "ему", "ым", "им", "ом", "ем", "ая", "яя", "ую", "юю", "ое", "ее",
		"ье", "ьего", "ьему", "ьим", "ьем", "ья", "ью", "ьей", "ей", "ых")
	enOrdinals = set("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
		"twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth", "thirtieth")
)

func isMonth(w string) bool {
	for _, s := range monthStems {
		if strings.HasPrefix(w, s) && len(w) <= len(s)+4 {
			return true
		}
	}
	return false
}

func isOrdinal(w string) bool {
	if enOrdinals[w] {
		return true
	}
	for _, s := range ordStems {
		if strings.HasPrefix(w, s) && ordEndings[w[len(s):]] {
			return true
		}
	}
	return false
}

func (d *detector) birthDates(c *chain) {
	for i, t := range c.toks {
		if t.kind != tWord || !birthWords[t.low] {
			continue
		}
		j := i + 1
		for skipped := 0; j < len(c.toks) && skipped < 5; j++ {
			tk := c.toks[j]
			if tk.kind == tPunct || (tk.kind == tWord && dateFiller[tk.low]) {
				skipped++
				continue
			}
			break
		}
		start, end, pieces, month, year := j, -1, 0, false, false
		for j < len(c.toks) && !(j > start && c.toks[j].brk) {
			tk := c.toks[j]
			if it := d.n.at[j]; it >= 0 {
				item := d.n.items[it]
				if len(item.digits) == 4 && (item.digits[:2] == "19" || item.digits[:2] == "20") {
					year = true
				}
				pieces++
				end = int(item.last)
				j = end + 1
				continue
			}
			switch {
			case tk.kind == tWord && isMonth(tk.low):
				month = true
				pieces++
			case tk.kind == tWord && isOrdinal(tk.low):
				pieces++
			case tk.kind == tWord && dateGlue[tk.low] && pieces > 0:
			case tk.kind == tPunct && pieces > 0 && (tk.low == "." || tk.low == "/" || tk.low == "-" || tk.low == ","):
				j++
				continue // never ends a date
			default:
				j = len(c.toks) // stop
				continue
			}
			end = j
			j++
		}
		if end >= start && (month || year || pieces >= 3) && pieces >= 2 {
			d.take(BirthDate, start, end)
		}
	}
}

// Street addresses after a context word (best effort): "улица Ленина, дом 5, квартира 12",
// "ул. Льва Толстого 16", "221B Baker Street, apartment 5".

var (
	streetRU = set("улица", "улицы", "улице", "улицу", "улицей", "ул", "проспект", "проспекта", "проспекте", "проспектом", "пр",
		"переулок", "переулка", "переулке", "пер", "бульвар", "бульвара", "бульваре", "шоссе", "набережная", "набережной", "наб",
		"площадь", "площади", "проезд", "проезда", "проезде", "микрорайон", "микрорайона", "микрорайоне", "мкр", "аллея", "аллее", "тупик")
	streetEN = set("street", "st", "avenue", "ave", "road", "rd", "lane", "ln", "boulevard", "blvd", "drive", "dr", "court", "ct", "place", "square", "way")
	houseKW  = set("дом", "дома", "доме", "д", "корпус", "корпуса", "корп", "строение", "стр", "квартира", "квартиры", "квартире", "квартиру", "кв",
		"офис", "apartment", "apt", "flat", "unit", "suite", "building", "bldg")
	aloneKW  = set("квартира", "квартиры", "квартире", "квартиру", "кв", "apartment", "apt", "flat") // enough on their own
	addrStop = set("на", "в", "во", "и", "а", "но", "у", "рядом", "около", "возле", "я", "мы", "там", "тут", "это", "что", "где", "с", "со", "к",
		"по", "за", "или", "не", "да", "нет", "вот", "уже", "and", "in", "on", "at", "the", "near", "i", "we", "is", "it", "to", "of", "a", "from", "live", "lives")
)

// isUpper says whether the word at token i is written with a capital.
func isUpper(c *chain, i int) bool {
	t := c.toks[i]
	r, _ := utf8.DecodeRuneInString(c.texts[t.seg][t.start:t.end])
	return unicode.IsUpper(r)
}

func (d *detector) addresses(c *chain) {
	for i := 0; i < len(c.toks); i++ {
		t := c.toks[i]
		if t.kind != tWord || d.taken[i] {
			continue
		}
		switch {
		case streetRU[t.low]:
			j := i + 1
			if j < len(c.toks) && c.toks[j].low == "." {
				j++
			}
			end := d.nameWords(c, j, 3)
			if end < j {
				continue
			}
			end = d.houseParts(c, end+1, end, true)
			if d.take(Address, i, end) {
				i = end
			}
		case streetEN[t.low]:
			start := i
			caps := isUpper(c, i)
			for k := i - 1; k >= 0 && k >= i-3; k-- {
				tk := c.toks[k]
				if tk.kind != tWord || addrStop[tk.low] || houseKW[tk.low] || tk.brk || (caps && !isUpper(c, k)) {
					break
				}
				start = k
				if !caps {
					break
				}
			}
			if start == i {
				continue
			}
			hasNum := false
			if k := start - 1; k >= 0 && d.n.at[k] >= 0 {
				start, hasNum = int(d.n.items[d.n.at[k]].first), true
			} else if k >= 1 && c.toks[k].kind == tWord && len(c.toks[k].low) == 1 && !c.toks[k].space && d.n.at[k-1] >= 0 {
				start, hasNum = int(d.n.items[d.n.at[k-1]].first), true // 221B
			}
			if !hasNum && !caps {
				continue
			}
			end := d.houseParts(c, i+1, i, false)
			if d.take(Address, start, end) {
				i = end
			}
		case aloneKW[t.low] || ((t.low == "дом" || t.low == "house") && d.houseNumberAfter(c, i) >= 0):
			if d.houseNumberAfter(c, i) < 0 {
				continue
			}
			end := d.houseParts(c, i, i-1, false)
			if end >= i && d.take(Address, i, end) {
				i = end
			}
		}
	}
}

// nameWords returns the last token of a street name starting at j, j-1 if none: up to max
// capitalised words; when the recogniser writes no capitals, up to max lower-case words
// that end right before a house number or keyword, or else one word.
func (d *detector) nameWords(c *chain, j, max int) int {
	caps := j < len(c.toks) && c.toks[j].kind == tWord && isUpper(c, j)
	end := j - 1
	for k := j; k < len(c.toks) && k < j+max; k++ {
		tk := c.toks[k]
		if k > j && tk.brk {
			break
		}
		if tk.kind == tPunct && tk.low == "-" && k > j && glued(c, k+1) {
			continue
		}
		if tk.kind != tWord || addrStop[tk.low] || houseKW[tk.low] || d.taken[k] || d.n.at[k] >= 0 || (k > j && caps && !isUpper(c, k)) {
			break
		}
		end = k
	}
	if caps || end < j {
		return end
	}
	next := end + 1
	if next < len(c.toks) && c.toks[next].low == "," {
		next++
	}
	if next < len(c.toks) && (d.n.at[next] >= 0 || houseKW[c.toks[next].low]) {
		return end
	}
	return j
}

// houseNumberAfter returns the last token of a house number right after token i (a number,
// maybe with a glued letter: "5а", "221B"), or -1.
func (d *detector) houseNumberAfter(c *chain, i int) int {
	j := i + 1
	if j < len(c.toks) && c.toks[j].low == "." {
		j++
	}
	if j >= len(c.toks) || d.n.at[j] < 0 || d.taken[j] {
		return -1
	}
	end := int(d.n.items[d.n.at[j]].last)
	if glued(c, end+1) && c.toks[end+1].kind == tWord && len([]rune(c.toks[end+1].low)) == 1 {
		end++
	}
	if glued(c, end+1) && c.toks[end+1].low == "/" && end+2 < len(c.toks) && d.n.at[end+2] >= 0 {
		end = int(d.n.items[d.n.at[end+2]].last)
	}
	return end
}

// houseParts extends an address over "дом 5, корпус 2, квартира 12" from token j; end is
// the address's last token so far. bare allows a number with no keyword ("Ленина 5").
func (d *detector) houseParts(c *chain, j, end int, bare bool) int {
	for from := j; j < len(c.toks) && (j == from || !c.toks[j].brk); {
		tk := c.toks[j]
		switch {
		case tk.kind == tPunct && tk.low == ",":
			j++
			continue
		case tk.kind == tWord && houseKW[tk.low]:
			e := d.houseNumberAfter(c, j)
			if e < 0 {
				return end
			}
			end, j, bare = e, e+1, false
			continue
		case bare && d.n.at[j] >= 0:
			e := d.houseNumberAfter(c, j-1)
			if e < 0 {
				return end
			}
			end, j, bare = e, e+1, false
			continue
		}
		return end
	}
	return end
}

// The caller's own name, in every case form.

func (d *detector) subjectName(c *chain) {
	if len(d.names) == 0 {
		return
	}
	for i := 0; i < len(c.toks); i++ {
		if c.toks[i].kind != tWord || !d.names[c.toks[i].low] || d.taken[i] {
			continue
		}
		// One name is the adjacent name words: "Иванова Анна Петровна" counts once.
		end := i
		for k := i + 1; k < len(c.toks) && !c.toks[k].brk; k++ {
			if c.toks[k].kind == tPunct && (c.toks[k].low == "," || (c.toks[k].low == "-" && glued(c, k+1))) {
				continue
			}
			if c.toks[k].kind != tWord || !d.names[c.toks[k].low] || d.taken[k] {
				break
			}
			end = k
		}
		d.take(Name, i, end)
		i = end
	}
}

// nameForms returns a name part in lower case with its case forms: surnames in -ов/-ин,
// -ский and other adjectival ones (both genders), patronymics, and first names declined
// as nouns, with and without a vowel that declension drops.
func nameForms(name string) []string {
	w := lowerWord(strings.TrimSpace(name), false)
	if len([]rune(w)) < 2 || strings.ContainsAny(w, " \t") {
		return nil
	}
	forms := []string{w}
	add := func(stem string, ends ...string) {
		for _, e := range ends {
			forms = append(forms, stem+e)
		}
	}
	cut := func(n int) string { r := []rune(w); return string(r[:len(r)-n]) }
	runes := len([]rune(w))
	// Names that lose their last vowel when declined: Лев → Льва, Павел → Павла,
	// Орёл → Орла, Кравец → Кравца (also declined keeping it, Кравеца, below).
	switch {
	case w == "лев":
		add("льв", "а", "у", "ом", "е")
	case w == "любовь":
		add("любв", "и")
	case runes >= 4 && hasAnySuffix(w, "ел", "ец", "ок"):
		add(cut(2)+string([]rune(w)[runes-1:]), "а", "у", "ом", "е", "ем", "ы", "ой", "ым")
	}
	switch {
	case hasAnySuffix(w, "ович", "евич", "ьич", "ич"):
		add(w, "а", "у", "ем", "е", "ом")
	case hasAnySuffix(w, "овна", "евна", "ична", "инична"):
		add(cut(1), "а", "ы", "е", "у", "ой", "ою")
	case hasAnySuffix(w, "ский", "цкий", "ской", "цкой"):
		add(cut(2), "ий", "ой", "ого", "ому", "им", "ом", "ая", "ую", "ие", "их", "ими")
	case hasAnySuffix(w, "ская", "цкая"):
		add(cut(2), "ий", "ого", "ому", "им", "ом", "ая", "ой", "ую", "ою")
	case runes >= 4 && hasAnySuffix(w, "ой", "ый"):
		// Surnames declined as adjectives: Толстой, Белый (a first name never ends so).
		add(cut(2), "ого", "ому", "ым", "ом", "ая", "ой", "ую", "ою", "ые", "ых", "ыми")
	case runes >= 4 && hasAnySuffix(w, "ая"):
		add(cut(2), "ой", "ую", "ою", "ого", "ому", "ым", "ом")
	case hasAnySuffix(w, "ов", "ев", "ин", "ын"):
		add(w, "а", "у", "ым", "е", "ы", "ых", "ыми", "ой", "ою")
	case hasAnySuffix(w, "ова", "ева", "ина", "ына"):
		add(cut(1), "", "а", "у", "ым", "е", "ой", "ою", "ы", "ых")
	case hasAnySuffix(w, "ия"):
		add(cut(1), "и", "ю", "ей", "ею", "е")
	case hasAnySuffix(w, "а", "я"):
		add(cut(1), "ы", "и", "е", "у", "ю", "ой", "ей", "ою", "ею")
	case hasAnySuffix(w, "й", "ь"):
		add(cut(1), "я", "ю", "ем", "е", "и", "ью", "ей")
	default:
		add(w, "а", "у", "ом", "ем", "е", "ы", "ой", "'s")
	}
	return forms
}

func hasAnySuffix(w string, suffixes ...string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(w, s) {
			return true
		}
	}
	return false
}
