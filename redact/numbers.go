package redact

import "strconv"

// Spoken numbers. Recognisers write "девятьсот шестнадцать сто двадцать три" or "nine one
// six double five" where a person dictated digits; the words are turned into digit groups
// here, each group remembering the tokens it came from, so that a match on the digits
// redacts exactly those words.

type nkind uint8

const (
	nZero    nkind = iota + 1
	nUnit          // 1–9
	nTeen          // 10–19
	nTens          // 20, 30 … 90
	nHund          // 100 … 900, one word (Russian)
	nThou          // тысяча, thousand
	nHundred       // English "hundred": multiplies what came before
	nRepeat        // English "double", "triple"
	nOh            // English "oh": zero, but only among other numbers
	nAnd           // English "and" inside "one hundred and five"
)

type numWord struct {
	kind nkind
	val  int
}

var numWords = map[string]numWord{}

func addNum(kind nkind, val int, words ...string) {
	for _, w := range words {
		numWords[w] = numWord{kind, val}
	}
}

func init() {
	// Russian: every case and gender form, ё written as е (tokens fold it).
	addNum(nZero, 0, "ноль", "нуль", "ноля", "нуля", "нолю", "нулю", "нолем", "нулем", "ноле", "нуле", "нолик")
	addNum(nUnit, 1, "один", "одна", "одно", "одни", "одного", "одной", "одному", "одним", "одном", "одну", "одною", "одними", "одних")
	addNum(nUnit, 2, "два", "две", "двух", "двум", "двумя")
	addNum(nUnit, 3, "три", "трех", "трем", "тремя")
	addNum(nUnit, 4, "четыре", "четырех", "четырем", "четырьмя")
	addNum(nUnit, 5, "пять", "пяти", "пятью")
	addNum(nUnit, 6, "шесть", "шести", "шестью")
	addNum(nUnit, 7, "семь", "семи", "семью")
	addNum(nUnit, 8, "восемь", "восьми", "восемью", "восьмью")
	addNum(nUnit, 9, "девять", "девяти", "девятью")
	for i, stem := range []string{"десят", "одиннадцат", "двенадцат", "тринадцат", "четырнадцат", "пятнадцат", "шестнадцат", "семнадцат", "восемнадцат", "девятнадцат"} {
		addNum(nTeen, 10+i, stem+"ь", stem+"и", stem+"ью")
	}
	addNum(nTens, 20, "двадцать", "двадцати", "двадцатью")
	addNum(nTens, 30, "тридцать", "тридцати", "тридцатью")
	addNum(nTens, 40, "сорок", "сорока")
	addNum(nTens, 50, "пятьдесят", "пятидесяти", "пятьюдесятью")
	addNum(nTens, 60, "шестьдесят", "шестидесяти", "шестьюдесятью")
	addNum(nTens, 70, "семьдесят", "семидесяти", "семьюдесятью")
	addNum(nTens, 80, "восемьдесят", "восьмидесяти", "восемьюдесятью", "восьмьюдесятью")
	addNum(nTens, 90, "девяносто", "девяноста")
	addNum(nHund, 100, "сто", "ста")
	addNum(nHund, 200, "двести", "двухсот", "двумстам", "двумястами", "двухстах")
	addNum(nHund, 300, "триста", "трехсот", "тремстам", "тремястами", "трехстах")
	addNum(nHund, 400, "четыреста", "четырехсот", "четыремстам", "четырьмястами", "четырехстах")
	for i, f := range [][2]string{{"пять", "пяти"}, {"шесть", "шести"}, {"семь", "семи"}, {"восемь", "восьми"}, {"девять", "девяти"}} {
		instr := map[int]string{0: "пятьюстами", 1: "шестьюстами", 2: "семьюстами", 3: "восемьюстами", 4: "девятьюстами"}[i]
		addNum(nHund, 500+100*i, f[0]+"сот", f[1]+"сот", f[1]+"стам", f[1]+"стах", instr)
	}
	// The singular forms say "one thousand" themselves ("тысяча двести"); only the plural
	// ones multiply the number before them ("две тысячи", "пять тысяч").
	addNum(nThou, 1, "тысяча", "тысячу", "тысячей", "тысячею", "тысячью")
	addNum(nThou, 2, "тысячи", "тысяч", "тысячам", "тысячами", "тысячах")

	// English.
	addNum(nZero, 0, "zero", "nought", "naught", "nil")
	addNum(nOh, 0, "oh", "o")
	for i, w := range []string{"one", "two", "three", "four", "five", "six", "seven", "eight", "nine"} {
		addNum(nUnit, i+1, w)
	}
	for i, w := range []string{"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"} {
		addNum(nTeen, 10+i, w)
	}
	for i, w := range []string{"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"} {
		addNum(nTens, 20+10*i, w)
	}
	addNum(nHundred, 100, "hundred")
	addNum(nThou, 2, "thousand")
	addNum(nRepeat, 2, "double")
	addNum(nRepeat, 3, "triple")
	addNum(nAnd, 0, "and")
}

// item is one group of digits and the tokens [first, last] it was written with.
type item struct {
	digits string
	first  int32
	last   int32
}

// run is a maximal sequence of items with nothing but spaces, dashes, brackets, dots or
// commas between them: the candidate a dictated identifier is looked for in.
type run struct {
	lo, hi int   // items[lo:hi]
	plus   int32 // token of a leading "+", "плюс" or "plus", or -1
}

// numbers holds a chain's spoken and written numbers.
type numbers struct {
	items []item
	runs  []run
	at    []int32 // token index → item index, or -1
}

// word returns the number word at token i, if it is one.
func (c *chain) numWord(i int) (numWord, bool) {
	if i < 0 || i >= len(c.toks) || c.toks[i].kind != tWord {
		return numWord{}, false
	}
	w, ok := numWords[c.toks[i].low]
	return w, ok
}

// isNumberStart says whether token i can begin or continue a spoken number: "oh",
// "double" and "and" count only where the neighbours make them numbers.
func (c *chain) isNumberTok(i int) bool {
	if i >= len(c.toks) {
		return false
	}
	if c.toks[i].kind == tDigits {
		return true
	}
	w, ok := c.numWord(i)
	if !ok {
		return false
	}
	switch w.kind {
	case nOh, nRepeat:
		// "oh oh seven", "oh double five", "one six oh oh": a number if a real number
		// comes right before or after.
		if w.kind == nOh {
			for k := i - 1; k >= 0 && k > i-6 && !c.toks[k+1].brk; k-- {
				nw, ok := c.numWord(k)
				if c.toks[k].kind == tDigits || (ok && nw.kind != nOh && nw.kind != nRepeat && nw.kind != nAnd) {
					return true
				}
				// Only "oh", a dash, a comma or a hesitation may stand between: "sixty, uh, oh oh".
				if !(ok && nw.kind == nOh) && c.toks[k].low != "-" && c.toks[k].low != "," && !fillers[c.toks[k].low] {
					break
				}
			}
		}
		for k := i + 1; k < len(c.toks) && k < i+6; k++ {
			nw, ok := c.numWord(k)
			if c.toks[k].kind == tDigits || (ok && nw.kind != nOh && nw.kind != nRepeat && nw.kind != nAnd) {
				return true
			}
			if !ok {
				return false
			}
		}
		return false
	case nAnd:
		return false
	}
	return true
}

// scanNumbers finds the chain's numbers, spoken or written, and joins them into runs.
func (c *chain) scanNumbers(n *numbers) {
	n.items = n.items[:0]
	n.runs = n.runs[:0]
	if cap(n.at) < len(c.toks) {
		n.at = make([]int32, len(c.toks))
	}
	n.at = n.at[:len(c.toks)]
	for i := range n.at {
		n.at[i] = -1
	}
	for i := 0; i < len(c.toks); {
		t := &c.toks[i]
		if t.kind == tDigits {
			n.add(t.low, i, i)
			i++
			continue
		}
		if t.kind == tWord {
			if j := c.spoken(n, i); j > i {
				i = j
				continue
			}
		}
		i++
	}
	// Join the items into runs.
	for k := 0; k < len(n.items); {
		r := run{lo: k, hi: k + 1, plus: c.plusBefore(int(n.items[k].first))}
		for r.hi < len(n.items) && c.joinable(int(n.items[r.hi-1].last), int(n.items[r.hi].first)) {
			r.hi++
		}
		n.runs = append(n.runs, r)
		k = r.hi
	}
}

func (n *numbers) add(digits string, first, last int) {
	idx := int32(len(n.items))
	n.items = append(n.items, item{digits: digits, first: int32(first), last: int32(last)})
	for t := first; t <= last; t++ {
		n.at[t] = idx
	}
}

// joinable says whether the items ending at token a and starting at token b belong to one
// dictated sequence: at most four separators or hesitations ("э", "um") between them, no
// hard break.
func (c *chain) joinable(a, b int) bool {
	if b-a > 5 || c.toks[b].brk {
		return false
	}
	// A written time or date ("15:30", "12.03.2024") is complete in itself: it joins
	// nothing across a space.
	spaced := false
	for t := a + 1; t <= b; t++ {
		spaced = spaced || c.toks[t].space
	}
	if spaced && (c.dateOrTime(a) || c.dateOrTime(b)) {
		return false
	}
	for t := a + 1; t < b; t++ {
		tk := c.toks[t]
		if tk.brk {
			return false
		}
		if tk.kind == tWord && fillers[tk.low] {
			continue
		}
		if tk.kind != tPunct {
			return false
		}
		switch tk.low {
		case "-", "–", "—", "(", ")", ",", "/":
		case ".":
			// A dot inside a written number joins ("12.34"); one ending a sentence does not.
			if t+1 < len(c.toks) && c.toks[t+1].space {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// fillers are the hesitations recognisers write between the groups of a dictated number.
var fillers = map[string]bool{"э": true, "ээ": true, "эм": true, "м": true, "мм": true, "ну": true, "так": true,
	"uh": true, "um": true, "er": true, "erm": true, "ah": true, "hmm": true}

// plusBefore returns the token of a "+", "плюс" or "plus" right before token i, or -1.
func (c *chain) plusBefore(i int) int32 {
	if i == 0 || c.toks[i].brk {
		return -1
	}
	p := c.toks[i-1]
	if (p.kind == tPunct && p.low == "+") || (p.kind == tWord && (p.low == "плюс" || p.low == "plus")) {
		return int32(i - 1)
	}
	return -1
}

// spoken reads the number words starting at token i into digit groups and returns the
// token after the last one it used (i when token i starts no number).
func (c *chain) spoken(n *numbers, i int) int {
	var (
		cur      int   // value of the group being built
		last     nkind // what was added to it last
		first    = -1  // its first token
		lastTok  = -1  // its last token
		thousand bool  // the group has a thousands part
		repeat   int   // a pending "double"/"triple"
	)
	flush := func() {
		if first >= 0 {
			n.add(strconv.Itoa(cur), first, lastTok)
		}
		cur, last, first, lastTok, thousand = 0, 0, -1, -1, false
	}
	start := func(v int, k nkind, t int) {
		flush()
		cur, last, first, lastTok = v, k, t, t
		if k == nThou {
			thousand = true
		}
	}
	extend := func(v int, k nkind, t int) {
		cur += v
		last, lastTok = k, t
	}
	j := i
	for ; j < len(c.toks); j++ {
		t := c.toks[j]
		if j > i {
			if t.brk {
				break
			}
			if !t.space {
				// "двадцать-пять": a hyphen inside a spoken number is skipped.
				if t.kind == tPunct && t.low == "-" && j+1 < len(c.toks) && !c.toks[j+1].space && c.isNumberTok(j+1) {
					continue
				}
				if t.kind != tWord {
					break
				}
			}
		}
		w, ok := c.numWord(j)
		if !ok {
			break
		}
		switch w.kind {
		case nAnd:
			// "one hundred and five": only right after a hundred and before a number.
			if (last == nHundred || last == nHund) && c.isNumberTok(j+1) {
				lastTok = j
				continue
			}
		case nRepeat:
			if nw, ok := c.numWord(j + 1); ok && (nw.kind == nUnit || nw.kind == nZero || nw.kind == nOh) && (j > i || c.isNumberTok(j)) {
				flush()
				repeat = w.val
				first, lastTok = j, j
				continue
			}
		case nOh:
			if first >= 0 || repeat > 0 || j > i || c.isNumberTok(j) {
				w.kind = nZero
			}
		}
		if repeat > 0 {
			if w.kind != nUnit && w.kind != nZero {
				break
			}
			d := strconv.Itoa(w.val)
			s := d
			for k := 1; k < repeat; k++ {
				s += d
			}
			n.add(s, first, j)
			first, lastTok, repeat = -1, -1, 0
			continue
		}
		switch w.kind {
		case nZero:
			flush()
			n.add("0", j, j)
		case nUnit:
			// "сто двадцать | пять тысяч", "five hundred eighty | three hundred": a unit
			// before a multiplier starts a new group.
			if first >= 0 && last != nThou && c.multiplierAt(j+1) {
				start(w.val, nUnit, j)
			} else if first >= 0 && (last == nTens || last == nHund || last == nHundred || (last == nThou && cur%1000 == 0)) {
				extend(w.val, nUnit, j)
			} else {
				start(w.val, nUnit, j)
			}
		case nTeen, nTens:
			if first >= 0 && last != nThou && w.kind == nTeen && c.multiplierAt(j+1) {
				start(w.val, w.kind, j) // "nineteen hundred"
			} else if first >= 0 && (last == nHund || last == nHundred || (last == nThou && cur%1000 == 0)) {
				extend(w.val, w.kind, j)
			} else {
				start(w.val, w.kind, j)
			}
		case nHund:
			if first >= 0 && last == nThou && cur%1000 == 0 {
				extend(w.val, nHund, j)
			} else {
				start(w.val, nHund, j)
			}
		case nHundred:
			low := cur % 1000
			if first >= 0 && (last == nUnit || last == nTeen) && low > 0 && low < 20 {
				cur += low * 99
				last, lastTok = nHundred, j
			} else {
				start(100, nHundred, j)
			}
		case nThou:
			if first >= 0 && !thousand && cur < 1000 && (w.val == 2 || (first == lastTok && c.toks[first].low == "одна")) {
				cur *= 1000
				last, lastTok, thousand = nThou, j, true
			} else {
				start(1000, nThou, j)
			}
		default:
			// "oh" or "and" that is no number here.
			flush()
			return j
		}
	}
	if repeat > 0 { // "double" with no digit after it: not a number
		first = -1
	}
	flush()
	return j
}

// dateOrTime says whether token i is part of a written time ("15:30") or date
// ("12.03.2024", "12/03/85"): digit groups glued by ":", or by "." or "/" in a day.month
// or day.month.year pattern.
func (c *chain) dateOrTime(i int) bool {
	lo, hi := i, i
	for lo > 0 && !c.toks[lo].space && !c.toks[lo].brk && c.toks[lo-1].kind != tWord {
		lo--
	}
	for hi+1 < len(c.toks) && !c.toks[hi+1].space && !c.toks[hi+1].brk && c.toks[hi+1].kind != tWord {
		hi++
	}
	var groups []int
	var sep string
	for t := lo; t <= hi; t++ {
		tk := c.toks[t]
		switch {
		case tk.kind == tDigits:
			groups = append(groups, len(tk.low))
		case tk.low == ":":
			return true
		case tk.low == "." || tk.low == "/":
			if sep != "" && sep != tk.low {
				return false
			}
			sep = tk.low
		default:
			return false
		}
	}
	if sep == "" || len(groups) < 2 || len(groups) > 3 || groups[0] > 2 || groups[1] > 2 {
		return false
	}
	return len(groups) == 2 || groups[2] == 2 || groups[2] == 4
}

// multiplierAt says whether token i is "тысяч(и)", "thousand" or "hundred", which
// multiply the number word before them.
func (c *chain) multiplierAt(i int) bool {
	w, ok := c.numWord(i)
	return ok && ((w.kind == nThou && w.val == 2) || w.kind == nHundred)
}
