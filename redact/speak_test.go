package redact

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// How recognisers write numbers: the corpus speaks each digit group one of these ways.

var (
	ruUnits    = []string{"ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"}
	ruTeens    = []string{"десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать", "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать"}
	ruTens     = []string{"", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят", "девяносто"}
	ruHundreds = []string{"", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот", "девятьсот"}
	// Other case and gender forms a recogniser may write for a digit.
	ruUnitForms = map[int][]string{1: {"одна", "одно", "одного"}, 2: {"две", "двух"}, 3: {"трёх"}, 4: {"четырёх"}}
	enUnits     = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
	enTeens     = []string{"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	enTens      = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
)

// ruCardinal says 1 ≤ n ≤ 9999 in Russian, nominative.
func ruCardinal(n int) string {
	var w []string
	if th := n / 1000; th > 0 {
		switch {
		case th == 1:
			w = append(w, "тысяча")
		case th == 2:
			w = append(w, "две", "тысячи")
		case th <= 4:
			w = append(w, ruUnits[th], "тысячи")
		default:
			w = append(w, ruUnits[th], "тысяч")
		}
	}
	n %= 1000
	if n >= 100 {
		w = append(w, ruHundreds[n/100])
	}
	n %= 100
	switch {
	case n >= 20:
		w = append(w, ruTens[n/10])
		if n%10 > 0 {
			w = append(w, ruUnits[n%10])
		}
	case n >= 10:
		w = append(w, ruTeens[n-10])
	case n > 0:
		w = append(w, ruUnits[n])
	}
	return strings.Join(w, " ")
}

// enCardinal says 1 ≤ n ≤ 9999 in English.
func enCardinal(n int) string {
	var w []string
	if th := n / 1000; th > 0 {
		w = append(w, enUnits[th], "thousand")
	}
	n %= 1000
	if n >= 100 {
		w = append(w, enUnits[n/100], "hundred")
	}
	n %= 100
	switch {
	case n >= 20:
		w = append(w, enTens[n/10])
		if n%10 > 0 {
			w = append(w, enUnits[n%10])
		}
	case n >= 10:
		w = append(w, enTeens[n-10])
	case n > 0:
		w = append(w, enUnits[n])
	}
	return strings.Join(w, " ")
}

// style is how one digit group is written.
type style int

const (
	asDigits      style = iota // "4276"
	asCardinal                 // "четыре тысячи двести семьдесят шесть", leading zeros as "ноль"
	asPairs                    // "сорок два семьдесят шесть": two digits at a time
	asDigitByWord              // "четыре два семь шесть", "four two seven six", "double five"
	nStyles
)

// sayGroup writes one digit group g in language lang ("ru" or "en") and style st.
func sayGroup(rng *rand.Rand, g, lang string, st style) string {
	if st == asDigits {
		return g
	}
	zero := func() string {
		if lang == "en" {
			if rng.IntN(2) == 0 {
				return "oh"
			}
			return "zero"
		}
		if rng.IntN(5) == 0 {
			return "нуль"
		}
		return "ноль"
	}
	cardinal := func(s string) []string {
		var w []string
		for len(s) > 0 && s[0] == '0' {
			w = append(w, zero())
			s = s[1:]
		}
		if s != "" {
			n, _ := strconv.Atoi(s)
			if lang == "en" {
				w = append(w, enCardinal(n))
			} else {
				w = append(w, ruCardinal(n))
			}
		}
		return w
	}
	var w []string
	switch st {
	case asCardinal:
		if len(g) > 4 {
			return sayGroup(rng, g, lang, asPairs)
		}
		w = cardinal(g)
	case asPairs:
		// An odd group starts with three digits said as one number ("девятьсот
		// шестнадцать"): a lone digit after a pair ending in tens would be ambiguous.
		i := 0
		if len(g)%2 == 1 {
			w = append(w, cardinal(g[:min(3, len(g))])...)
			i = min(3, len(g))
		}
		for ; i < len(g); i += 2 {
			chunk := strings.Join(cardinal(g[i:i+2]), " ")
			if len(w) > 0 && ambiguous(w[len(w)-1], chunk) {
				w[len(w)-1] += ","
			}
			w = append(w, chunk)
		}
	case asDigitByWord:
		for i := 0; i < len(g); i++ {
			d := int(g[i] - '0')
			switch {
			case lang == "en" && i+1 < len(g) && g[i+1] == g[i] && rng.IntN(2) == 0:
				w = append(w, "double", enUnits[d])
				i++
			case lang == "en" && d == 0:
				w = append(w, zero())
			case lang == "en":
				w = append(w, enUnits[d])
			case d == 0:
				w = append(w, zero())
			case len(ruUnitForms[d]) > 0 && rng.IntN(4) == 0:
				w = append(w, ruUnitForms[d][rng.IntN(len(ruUnitForms[d]))])
			default:
				w = append(w, ruUnits[d])
			}
		}
	}
	return strings.Join(w, " ")
}

// split cuts digits into groups of the given sizes; the last size repeats.
func split(digits string, sizes ...int) []string {
	var gs []string
	for i, k := 0, 0; i < len(digits); k++ {
		n := sizes[min(k, len(sizes)-1)]
		gs = append(gs, digits[i:min(i+n, len(digits))])
		i += n
	}
	// Nobody dictates a lone last digit ("960 8"): it joins the group before.
	if k := len(gs); k > 1 && len(gs[k-1]) == 1 {
		gs[k-2] += gs[k-1]
		gs = gs[:k-1]
	}
	return gs
}

// say writes a dictated number: its groups in one style (or a mix), joined as a
// recogniser or a typist would join them.
func say(rng *rand.Rand, groups []string, lang string) string {
	mixed := rng.IntN(5) == 0
	st := style(rng.IntN(int(nStyles)))
	seps := []string{" ", " ", "-", ", "}
	sep := seps[rng.IntN(len(seps))]
	if st != asDigits {
		sep = " "
		if rng.IntN(4) == 0 {
			sep = ", "
		}
	}
	var b strings.Builder
	for i, g := range groups {
		s := st
		if mixed {
			s = style(rng.IntN(int(nStyles)))
		}
		spoken := sayGroup(rng, g, lang, s)
		if i > 0 {
			switch {
			case rng.IntN(12) == 0:
				// A hesitation between groups, as recognisers write it.
				fill := []string{", э, ", " эм ", " ну ", ", так, "}
				if lang == "en" {
					fill = []string{", uh, ", " um ", " er "}
				}
				b.WriteString(fill[rng.IntN(len(fill))])
			case ambiguous(b.String(), spoken):
				b.WriteString(", ")
			case s != asDigits || st != asDigits:
				b.WriteString(" ")
			default:
				b.WriteString(sep)
			}
		}
		b.WriteString(spoken)
	}
	return b.String()
}

// ambiguous says whether two spoken groups said one after the other read as one number
// ("восемьсот двадцать" and "девять…" as 829, "сто" and "двадцать три" as 123). A
// speaker pauses there, and recognisers write the pause as a comma.
func ambiguous(before, next string) bool {
	if before == "" || next == "" {
		return false
	}
	last := before[strings.LastIndexByte(before, ' ')+1:]
	first, _, _ := strings.Cut(next, " ")
	isIn := func(w string, lists ...[]string) bool {
		for _, l := range lists {
			for _, x := range l {
				if x != "" && x == w {
					return true
				}
			}
		}
		return false
	}
	firstUnit := isIn(first, ruUnits[1:], enUnits[1:], []string{"одна", "одно", "одного", "две", "двух", "трёх", "четырёх", "double"})
	switch {
	case isIn(last, ruTens, enTens):
		return firstUnit
	case isIn(last, ruHundreds, []string{"hundred", "тысяча", "тысячи", "тысяч", "thousand"}):
		return firstUnit || isIn(first, ruTens, enTens, ruTeens, enTeens, ruHundreds)
	}
	return false
}
