package redact

import (
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// detector finds the entities of one chain. It is built per call and used by one
// goroutine; its buffers are reused across the chains of a transcript.
type detector struct {
	names map[string]bool // every case form of the subject's name parts
	n     numbers
	taken []bool // token already part of a match
	ms    []match
	cands []cand
	buf   []byte
}

func newDetector(subj Subject) *detector {
	d := &detector{}
	var parts []string
	for _, p := range []string{subj.Surname, subj.FirstName, subj.Patronymic} {
		// "Римский-Корсаков" is written as two words by recognisers, and declined in both.
		parts = append(parts, strings.FieldsFunc(p, func(r rune) bool { return r == '-' || r == ' ' })...)
	}
	for _, part := range parts {
		for _, f := range nameForms(part) {
			if d.names == nil {
				d.names = map[string]bool{}
			}
			d.names[f] = true
		}
	}
	return d
}

// find returns the chain's entities, none overlapping, in no particular order. The
// detectors run from the most to the least certain, each skipping tokens already taken.
func (d *detector) find(c *chain) []match {
	d.ms = d.ms[:0]
	if len(c.toks) == 0 {
		return nil
	}
	d.taken = slices.Grow(d.taken[:0], len(c.toks))[:len(c.toks)]
	clear(d.taken)
	c.scanNumbers(&d.n)
	d.emails(c)
	d.numeric(c)
	d.birthDates(c)
	d.addresses(c)
	d.subjectName(c)
	return d.ms
}

func (d *detector) free(first, last int) bool {
	for i := first; i <= last; i++ {
		if d.taken[i] {
			return false
		}
	}
	return true
}

func (d *detector) take(t Type, first, last int) bool {
	if first < 0 || last < first || !d.free(first, last) {
		return false
	}
	for i := first; i <= last; i++ {
		d.taken[i] = true
	}
	d.ms = append(d.ms, match{typ: t, first: int32(first), last: int32(last)})
	return true
}

// Context words: a word before a number that says what the number is.

const (
	ctxStrongPassport = 1 << 20   // паспорт, серия, passport: any 10 digits
	ctxNumber         = 1 << 21   // номер, number: a passport only as 4 + 6 digits
	ctxOther          = 1 << 22   // заказ, order, договор…: the number is something else
	typeBits          = 1<<20 - 1 // the bits of the types
)

var ctxExact = map[string]uint32{
	"инн": INN.bit(), "inn": INN.bit(), "tin": INN.bit(), "taxpayer": INN.bit(),
	"снилс": SNILS.bit(), "snils": SNILS.bit(), "insurance": SNILS.bit(),
	"огрн": OGRN.bit(), "огрнип": OGRN.bit(), "ogrn": OGRN.bit(), "ogrnip": OGRN.bit(),
	"тел": Phone.bit(), "phone": Phone.bit(), "telephone": Phone.bit(), "mobile": Phone.bit(), "call": Phone.bit(), "cell": Phone.bit(),
	"card": Card.bit(), "charge": Card.bit(), "pay": Card.bit(), "payment": Card.bit(), "debit": Card.bit(), "credit": Card.bit(), "visa": Card.bit(), "mastercard": Card.bit(), "maestro": Card.bit(),
	"account": Account.bit(), "iban": Account.bit(),
	"passport": Passport.bit() | ctxStrongPassport, "series": Passport.bit() | ctxStrongPassport,
	"номер": ctxNumber, "номера": ctxNumber, "number": ctxNumber, "no": ctxNumber,
	"order": ctxOther, "invoice": ctxOther, "ticket": ctxOther, "contract": ctxOther, "tracking": ctxOther,
	"чек": ctxOther, "трек": ctxOther, "артикул": ctxOther, "код": ctxOther, "code": ctxOther,
	"price": ctxOther, "prices": ctxOther, "cost": ctxOther, "costs": ctxOther, "total": ctxOther, "amount": ctxOther,
	"dollars": ctxOther, "euros": ctxOther, "rubles": ctxOther, "roubles": ctxOther, "pieces": ctxOther, "percent": ctxOther,
	"each": ctxOther, "items": ctxOther, "boxes": ctxOther, "years": ctxOther, "minutes": ctxOther, "hours": ctxOther,
	"штук": ctxOther, "штуки": ctxOther, "лет": ctxOther, "года": ctxOther, "году": ctxOther, "минут": ctxOther, "часов": ctxOther,
}

var ctxPrefix = []struct {
	p string
	m uint32
}{
	{"карт", Card.bit()}, {"оплат", Card.bit()}, {"спиш", Card.bit()}, {"списа", Card.bit()}, {"страхов", SNILS.bit()},
	{"паспорт", Passport.bit() | ctxStrongPassport}, {"сери", Passport.bit() | ctxStrongPassport},
	{"счет", Account.bit()}, {"расчетн", Account.bit()}, {"лицев", Account.bit()},
	{"телефон", Phone.bit()}, {"позвон", Phone.bit()}, {"перезвон", Phone.bit()}, {"звон", Phone.bit()},
	{"мобильн", Phone.bit()}, {"сотов", Phone.bit()}, {"ватсап", Phone.bit()}, {"whatsapp", Phone.bit()},
	{"заказ", ctxOther}, {"договор", ctxOther}, {"накладн", ctxOther}, {"заявк", ctxOther},
	{"квитанц", ctxOther}, {"обращени", ctxOther}, {"талон", ctxOther},
	{"сумм", ctxOther}, {"цен", ctxOther}, {"стоим", ctxOther}, {"руб", ctxOther}, {"доллар", ctxOther}, {"евро", ctxOther},
	{"процент", ctxOther}, {"коробк", ctxOther}, {"килограм", ctxOther}, {"градус", ctxOther},
}

func contextOf(w string) uint32 {
	if m, ok := ctxExact[w]; ok {
		return m
	}
	for _, p := range ctxPrefix {
		if strings.HasPrefix(w, p.p) {
			return p.m
		}
	}
	return 0
}

// context collects the context words among the few tokens before token first and after
// token last, not reaching past the previous number (floor) or the next one (ceil). The
// words after a number say less ("… это мой мобильный", "… рублей"), so fewer count.
func (d *detector) context(c *chain, first, floor, last, ceil int) uint32 {
	var m uint32
	for i := first - 1; i > floor && i >= first-8; i-- {
		if c.toks[i].kind == tWord {
			m |= contextOf(c.toks[i].low)
		}
	}
	for i := last + 1; i < ceil && i <= last+4 && !c.toks[i].brk; i++ {
		if c.toks[i].kind == tWord {
			m |= contextOf(c.toks[i].low) &^ ctxNumber
		}
	}
	return m
}

// cand is a candidate identifier: items [a, b] of the chain's numbers.
type cand struct {
	typ         Type
	first, last int
	score       int
	n           int
}

// numeric finds the identifiers among the chain's numbers: every run of joined digit
// groups is searched for digit strings, aligned on the groups, that pass a validator.
// A candidate that is the whole run needs no context word; one inside a longer run needs
// the context word of its type before it. Conflicts go to context, then wholeness, then
// length.
func (d *detector) numeric(c *chain) {
	n := &d.n
	d.cands = d.cands[:0]
	type bic struct {
		digits string
		tok    int
	}
	var bics []bic
	for _, r := range n.runs {
		// A BIC is a number of its own: nine digits inside a longer run are not one.
		if d.runLen(r) == 9 {
			s := ""
			for _, it := range n.items[r.lo:r.hi] {
				s += it.digits
			}
			if ValidBIC(s) {
				bics = append(bics, bic{s, int(n.items[r.lo].first)})
			}
		}
	}
	floor := -1
	for ri, r := range n.runs {
		first := int(n.items[r.lo].first)
		ceil := len(c.toks)
		if ri+1 < len(n.runs) {
			ceil = int(n.items[n.runs[ri+1].lo].first)
		}
		ctx := d.context(c, first, floor, int(n.items[r.hi-1].last), ceil)
		floor = int(n.items[r.hi-1].last)
		runLen := d.runLen(r)
		for a := r.lo; a < r.hi; a++ {
			d.buf = d.buf[:0]
			for b := a; b < r.hi; b++ {
				d.buf = append(d.buf, n.items[b].digits...)
				if len(d.buf) > 20 {
					break
				}
				if len(d.buf) < 8 {
					continue
				}
				whole := a == r.lo && b == r.hi-1
				plus := -1
				if a == r.lo {
					plus = int(r.plus)
				}
				sub := subRun{edge: a == r.lo || b == r.hi-1, runLen: runLen}
				d.evaluate(c, string(d.buf), a, b, whole, sub, ctx, plus, func(acc string, tok int) bool {
					for _, x := range bics {
						if x.tok-tok < 60 && tok-x.tok < 60 && ValidAccount(x.digits, acc) {
							return true
						}
					}
					return false
				})
			}
		}
		// A passport series and number as two numbers: "серия 4510 номер 123456".
		if ri+1 < len(n.runs) {
			r2 := n.runs[ri+1]
			if runLen == 4 && d.runLen(r2) == 6 {
				gapOK, gapNumber := true, false
				for t := int(n.items[r.hi-1].last) + 1; t < int(n.items[r2.lo].first); t++ {
					tk := c.toks[t]
					if tk.brk || t-int(n.items[r.hi-1].last) > 3 {
						gapOK = false
						break
					}
					if tk.kind == tWord {
						if contextOf(tk.low)&ctxNumber == 0 {
							gapOK = false
							break
						}
						gapNumber = true
					}
				}
				if gapOK && (ctx&ctxStrongPassport != 0 || (gapNumber && ctx&ctxOther == 0 && ctx&ctxNumber != 0)) {
					d.cands = append(d.cands, cand{Passport, first, int(n.items[r2.hi-1].last), 7, 10})
				}
			}
		}
	}
	slices.SortStableFunc(d.cands, func(x, y cand) int {
		if x.score != y.score {
			return y.score - x.score
		}
		if x.n != y.n {
			return y.n - x.n
		}
		return slices.Index(Types, x.typ) - slices.Index(Types, y.typ)
	})
	for _, k := range d.cands {
		d.take(k.typ, k.first, k.last)
	}
}

func (d *detector) runLen(r run) int {
	l := 0
	for _, it := range d.n.items[r.lo:r.hi] {
		l += len(it.digits)
	}
	return l
}

// subRun describes a candidate that is part of a longer run.
type subRun struct {
	edge   bool // it starts or ends where the run does
	runLen int  // digits in the whole run
}

// typeLengths are the lengths each type's identifiers have.
var typeLengths = map[Type][]int{
	Card: {13, 14, 15, 16, 17, 18, 19}, SNILS: {11}, INN: {10, 12}, OGRN: {13, 15}, Passport: {10}, Account: {20}, Phone: {10, 11},
}

// allows says whether a part of the run may be a t: the part must start or end with the
// run ("карта … | 12 26" with the expiry after it), and the whole run must not have a t's
// length: a whole that fails its check is a wrong number, not a number with extras.
func (sr subRun) allows(t Type) bool {
	return sr.edge && !slices.Contains(typeLengths[t], sr.runLen)
}

// evaluate adds the candidates that the digit string s, items [a, b], can be.
func (d *detector) evaluate(c *chain, s string, a, b int, whole bool, sub subRun, ctx uint32, plus int, account func(string, int) bool) {
	first, last := int(d.n.items[a].first), int(d.n.items[b].last)
	add := func(t Type, extra int) {
		score := extra
		if ctx&t.bit() != 0 {
			score += 4
		}
		if whole {
			score += 2
		}
		d.cands = append(d.cands, cand{t, first, last, score, len(s)})
	}
	// A list ("a, b, c") with a number said with "тысяч"/"thousand" in it is a list of
	// amounts more often than an identifier: it needs its type's context word even when
	// it is the whole run. (Commas around a hesitation, ", э,", are not a list.)
	amount, commas := false, 0
	for t := first; t <= last; t++ {
		w, ok := c.numWord(t)
		amount = amount || (ok && w.kind == nThou)
		if c.toks[t].kind == tPunct && c.toks[t].low == "," && !fillers[c.toks[t-1].low] && !fillers[c.toks[t+1].low] {
			commas++
		}
	}
	amount = amount && commas >= 2
	own := func(t Type) bool {
		if ctx&t.bit() != 0 {
			return whole || sub.allows(t)
		}
		return whole && !amount
	}
	other := ctx&ctxOther != 0 || plus >= 0 // "+" is dialled: a phone or nothing
	switch len(s) {
	case 10:
		if own(INN) && !other && s[:2] != "00" && ValidINN(s) {
			add(INN, 0)
		}
		if (ctx&ctxStrongPassport != 0 && (whole || sub.allows(Passport))) ||
			(whole && ctx&(ctxOther|typeBits) == 0 && ctx&ctxNumber != 0 && d.splitAt4(a, b)) {
			add(Passport, 0)
		}
	case 11:
		if own(SNILS) && !other && snilsChecked(s) && ValidSNILS(s) {
			add(SNILS, 0)
		}
	case 12:
		if own(INN) && !other && s[:2] != "00" && ValidINN(s) {
			add(INN, 0)
		}
	case 13:
		if own(OGRN) && !other && (s[0] == '1' || s[0] == '5') && ValidOGRN(s) {
			add(OGRN, 0)
		}
	case 15:
		if own(OGRN) && !other && s[0] == '3' && ValidOGRN(s) {
			add(OGRN, 0)
		}
	case 20:
		if own(Account) && plus < 0 && account(s, first) {
			add(Account, 0)
		}
	}
	if len(s) >= 13 && len(s) <= 19 && own(Card) && plus < 0 && (ctx&ctxOther == 0 || ctx&Card.bit() != 0) && ValidCard(s) {
		add(Card, 0)
	}
	if (plus >= 0 || own(Phone)) && (ctx&ctxOther == 0 || ctx&Phone.bit() != 0) && validPhone(s, plus >= 0, ctx&Phone.bit() != 0) {
		if plus >= 0 {
			first = plus
		} else if first > 0 && c.toks[first-1].low == "(" && !c.toks[first].space && !c.toks[first].brk {
			first-- // "(916) 123-45-67": the bracket goes with the number it opens
		}
		add(Phone, 1)
	}
}

// splitAt4 says whether items [a, b] were dictated as a series and a number: four digits
// in at most two groups, then six in at most three ("4510 123456", "45 10 123 456").
func (d *detector) splitAt4(a, b int) bool {
	l := 0
	for k := a; k <= b; k++ {
		l += len(d.n.items[k].digits)
		if l == 4 {
			return k-a < 2 && b-k <= 3
		}
	}
	return false
}

// validPhone says whether s is a dialable number that the numbering plan knows: with a
// "+" any country; without, a Russian number (8 or 7 and ten digits, or ten digits); with
// a phone context word, also an international number dictated without its "+".
func validPhone(s string, plus, phoneCtx bool) bool {
	var num string
	switch {
	case plus && len(s) >= 8 && len(s) <= 15:
		num = "+" + s
	case len(s) == 11 && (s[0] == '7' || s[0] == '8'):
		num = "+7" + s[1:]
	case len(s) == 10 && (s[0] == '3' || s[0] == '4' || s[0] == '8' || s[0] == '9'):
		num = "+7" + s
	case phoneCtx && len(s) >= 11 && len(s) <= 15:
		num = "+" + s
	default:
		return false
	}
	pn, err := phonenumbers.Parse(num, "RU")
	if err != nil {
		return false
	}
	return phonenumbers.IsValidNumber(pn)
}
