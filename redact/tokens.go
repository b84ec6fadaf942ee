package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tWord   tokKind = iota // a run of letters
	tDigits                // a run of ASCII digits
	tPunct                 // one other non-space character
)

// token is one word, digit run or punctuation mark of a segment's text. Tokens of the
// consecutive segments of one speaker form a chain, so that a number dictated across two
// segments is seen whole.
type token struct {
	kind  tokKind
	seg   int32  // index into the chain's segments
	start int32  // byte offsets in that segment's text
	end   int32  //
	low   string // words: lower case, ё as е; digits and punctuation: the text itself
	space bool   // whitespace or a segment boundary comes before it
	brk   bool   // a hard break comes before it: nothing joins across
}

// chain is the token stream of one speaker's consecutive segments.
type chain struct {
	texts []string // the segments' texts, indexed by token.seg
	toks  []token
}

// add appends the tokens of text as a new segment of the chain; brk says that nothing
// may join across the boundary with the previous segment.
func (c *chain) add(text string, brk bool) {
	seg := int32(len(c.texts))
	c.texts = append(c.texts, text)
	space, hard := true, brk
	i := 0
	for i < len(text) {
		r, n := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(text[i:])
		}
		switch {
		case unicode.IsSpace(r):
			space = true
			i += n
			continue
		case r >= '0' && r <= '9':
			j := i + 1
			for j < len(text) && text[j] >= '0' && text[j] <= '9' {
				j++
			}
			c.toks = append(c.toks, token{kind: tDigits, seg: seg, start: int32(i), end: int32(j), low: text[i:j], space: space, brk: hard})
			i = j
		case unicode.IsLetter(r):
			j := i + n
			ascii := r < utf8.RuneSelf
			for j < len(text) {
				r2, n2 := rune(text[j]), 1
				if r2 >= utf8.RuneSelf {
					r2, n2 = utf8.DecodeRuneInString(text[j:])
					ascii = false
				}
				if !unicode.IsLetter(r2) && r2 != '\u0301' { // a combining stress mark stays inside the word
					break
				}
				j += n2
			}
			c.toks = append(c.toks, token{kind: tWord, seg: seg, start: int32(i), end: int32(j), low: lowerWord(text[i:j], ascii), space: space, brk: hard})
			i = j
		default:
			c.toks = append(c.toks, token{kind: tPunct, seg: seg, start: int32(i), end: int32(i + n), low: text[i : i+n], space: space, brk: hard})
			i += n
		}
		space, hard = false, false
	}
}

// lowerWord lower-cases a word and folds ё to е, allocating only when it must.
func lowerWord(w string, ascii bool) string {
	if ascii {
		for i := 0; i < len(w); i++ {
			if w[i] >= 'A' && w[i] <= 'Z' {
				return strings.ToLower(w)
			}
		}
		return w
	}
	clean := true
	for _, r := range w {
		if r == 'ё' || r == 'Ё' || r == '\u0301' || unicode.IsUpper(r) {
			clean = false
			break
		}
	}
	if clean {
		return w
	}
	var b strings.Builder
	b.Grow(len(w))
	for _, r := range w {
		switch {
		case r == '\u0301':
			continue
		case r == 'ё' || r == 'Ё':
			r = 'е'
		default:
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
