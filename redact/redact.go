// Package redact finds personal data in transcript text and replaces it, before anything
// is stored or sent: card, SNILS, INN, OGRN/OGRNIP, passport and bank account numbers,
// phone numbers, emails, street addresses, dates of birth and the caller's own name.
//
// Recognisers write dictated numbers as words and in pieces ("девятьсот шестнадцать сто
// двадцать три", "four five double seven"), so spoken numbers in Russian and English are
// normalised to digits first, adjacent groups are joined, and every digit keeps the words
// it came from: a match replaces exactly those words in the segment text, timestamps
// stay, and a number split across two consecutive segments of one speaker is found whole.
// Checksummed identifiers are accepted only when their check digits work out, so prices,
// quantities, times, dates and order numbers stay.
//
// The package is pure: no I/O, no state between calls. It must never keep, return, log
// or count the values it finds: the only thing that leaves it besides the redacted text
// is how many entities of each type were replaced.
package redact

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"callscribe"
)

// Type is a kind of personal data the redactor finds.
type Type string

const (
	Card      Type = "card"       // bank card number, 13–19 digits passing Luhn
	SNILS     Type = "snils"      // individual insurance account number, 11 digits
	INN       Type = "inn"        // taxpayer number, 10 (organisation) or 12 (person) digits
	OGRN      Type = "ogrn"       // state registration number, OGRN (13) or OGRNIP (15)
	Passport  Type = "passport"   // Russian passport series and number, 4 + 6 digits
	Account   Type = "account"    // bank account, 20 digits, checked against a BIC nearby
	Phone     Type = "phone"      // telephone number, Russian or international
	Email     Type = "email"      // email address, written or spoken ("собака", "dot")
	Address   Type = "address"    // street address after a context word (best effort)
	BirthDate Type = "birth_date" // date of birth after a context word
	Name      Type = "name"       // the caller's own registered name, in any case form
)

// Types lists every type, in a stable order.
var Types = []Type{Card, SNILS, INN, OGRN, Passport, Account, Phone, Email, Address, BirthDate, Name}

// ParseType checks that s names a known type.
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if string(t) == s {
			return t, nil
		}
	}
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = string(t)
	}
	return "", callscribe.Errorf(callscribe.EINVALID, "unknown redaction type %q (known: %s)", s, strings.Join(names, ", "))
}

// Tag is the default replacement of an entity of type t: "[CARD]", "[BIRTH_DATE]".
func (t Type) Tag() string { return "[" + strings.ToUpper(string(t)) + "]" }

func (t Type) bit() uint32 { return 1 << uint(slices.Index(Types, t)+1) }

// Policy is an organisation's redaction policy: what to redact and with what. The zero
// Policy redacts nothing; start from DefaultPolicy.
type Policy struct {
	Types []Type // the entity types to redact; the others are left as spoken
	Mask  string // the replacement of every entity; empty: the type's tag, "[CARD]"
}

// DefaultPolicy redacts every type and replaces each entity with its type's tag.
func DefaultPolicy() Policy { return Policy{Types: slices.Clone(Types)} }

// OrganizationPolicy is an organisation's stored choice: DefaultPolicy with the named
// types turned off (an unknown name is an error) and, when mask is not empty, every
// entity replaced with mask instead of its type's tag.
func OrganizationPolicy(off []string, mask string) (Policy, error) {
	p := DefaultPolicy()
	p.Mask = mask
	for _, name := range off {
		t, err := ParseType(name)
		if err != nil {
			return Policy{}, err
		}
		p.Types = slices.DeleteFunc(p.Types, func(x Type) bool { return x == t })
	}
	return p, nil
}

// MaxMask is the longest mask, in characters.
const MaxMask = 32

// CheckMask refuses a mask that could not stand in for an entity: blank, over MaxMask
// characters, holding a digit (a mask of digits would read as a number) or a control
// character (a line break would split a transcript's line). The empty string is no mask
// (type tags) and passes. The error is EINVALID.
func CheckMask(mask string) error {
	switch {
	case mask == "":
		return nil
	case strings.TrimSpace(mask) == "" || utf8.RuneCountInString(mask) > MaxMask:
		return callscribe.Errorf(callscribe.EINVALID, "a mask is 1 to %d characters, not blank; got %d", MaxMask, utf8.RuneCountInString(mask))
	case strings.IndexFunc(mask, unicode.IsDigit) >= 0:
		return callscribe.Errorf(callscribe.EINVALID, "a mask holds no digits")
	case strings.IndexFunc(mask, unicode.IsControl) >= 0 || !utf8.ValidString(mask):
		return callscribe.Errorf(callscribe.EINVALID, "a mask holds no control characters")
	}
	return nil
}

// SubjectOf is the subject of a user's own calls: their registered name.
func SubjectOf(u callscribe.User) Subject {
	return Subject{Surname: u.Surname, FirstName: u.FirstName, Patronymic: u.Patronymic}
}

// Counts is counts keyed by type name, as a transcript records them.
func Counts(counts map[Type]int) map[string]int {
	out := make(map[string]int, len(counts))
	for t, n := range counts {
		if n > 0 {
			out[string(t)] = n
		}
	}
	return out
}

func (p Policy) mask() uint32 {
	var m uint32
	for _, t := range p.Types {
		m |= t.bit()
	}
	return m
}

func (p Policy) replacement(t Type) string {
	if p.Mask != "" {
		return p.Mask
	}
	return t.Tag()
}

// Subject is the caller whose own name is redacted, as registered.
type Subject struct {
	Surname, FirstName, Patronymic string
}

// Redactor redacts transcripts. Its zero value is not ready; use New. It is safe for
// concurrent use.
type Redactor struct {
	// JoinGapMS is the longest pause, in milliseconds, between two segments of one speaker
	// across which a dictated number is still read as one.
	JoinGapMS int64
}

// New returns a Redactor with the default join gap (3 s).
func New() *Redactor { return &Redactor{JoinGapMS: 3000} }

// match is one entity found: tokens [first, last] of a chain.
type match struct {
	typ         Type
	first, last int32
}

// Segments returns a copy of segs with the entities the policy names replaced, and how many
// of each type were replaced. Timestamps, channels and speakers are kept; a segment's text
// changes only where an entity was. Consecutive segments of one speaker (by channel and
// speaker, no more than JoinGapMS apart) are read as one text, so a number split between
// them is redacted in both.
func (r *Redactor) Segments(segs []callscribe.Segment, subj Subject, p Policy) ([]callscribe.Segment, map[Type]int) {
	out := slices.Clone(segs)
	counts := map[Type]int{}
	type key struct {
		channel int
		speaker string
	}
	type speakerChain struct {
		chain
		idx   []int // chain segment → index in segs
		endMS int64
	}
	chains := map[key]*speakerChain{}
	var order []*speakerChain
	for i, s := range segs {
		k := key{s.Channel, s.Speaker}
		c := chains[k]
		if c == nil {
			c = &speakerChain{}
			chains[k] = c
			order = append(order, c)
		}
		brk := len(c.idx) == 0 || s.StartMS-c.endMS > r.JoinGapMS
		c.add(s.Text, brk)
		c.idx = append(c.idx, i)
		c.endMS = s.EndMS
	}
	d := newDetector(subj)
	texts := make([]string, 0, 4)
	for _, c := range order {
		ms := d.find(&c.chain)
		texts = apply(&c.chain, ms, p, counts, texts[:0])
		for si, t := range texts {
			out[c.idx[si]].Text = t
		}
	}
	return out, counts
}

// Text redacts one piece of text, such as a correction of a segment, and says how many
// entities of each type it replaced.
func (r *Redactor) Text(text string, subj Subject, p Policy) (string, map[Type]int) {
	var c chain
	c.add(text, true)
	counts := map[Type]int{}
	texts := apply(&c, newDetector(subj).find(&c), p, counts, nil)
	return texts[0], counts
}

// apply writes the chain's segment texts with the matches the policy names replaced.
func apply(c *chain, ms []match, p Policy, counts map[Type]int, texts []string) []string {
	allowed := p.mask()
	type edit struct {
		start, end int32
		with       string
	}
	edits := make([][]edit, len(c.texts))
	for _, m := range ms {
		if allowed&m.typ.bit() == 0 {
			continue
		}
		counts[m.typ]++
		with := p.replacement(m.typ)
		for i := m.first; i <= m.last; {
			seg := c.toks[i].seg
			j := i
			for j+1 <= m.last && c.toks[j+1].seg == seg {
				j++
			}
			edits[seg] = append(edits[seg], edit{c.toks[i].start, c.toks[j].end, with})
			i = j + 1
		}
	}
	for seg, text := range c.texts {
		es := edits[seg]
		if len(es) == 0 {
			texts = append(texts, text)
			continue
		}
		slices.SortFunc(es, func(a, b edit) int { return int(a.start - b.start) })
		var b strings.Builder
		b.Grow(len(text))
		at := int32(0)
		for _, e := range es {
			if e.start < at { // overlapping matches are never produced; be safe anyway
				continue
			}
			b.WriteString(text[at:e.start])
			b.WriteString(e.with)
			at = e.end
		}
		b.WriteString(text[at:])
		texts = append(texts, b.String())
	}
	return texts
}
