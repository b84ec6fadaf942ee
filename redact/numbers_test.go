package redact

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// digitsOf returns the digits of every number in text, each run's groups joined, runs
// separated by "|".
func digitsOf(text string) string {
	var c chain
	c.add(text, true)
	var n numbers
	c.scanNumbers(&n)
	var runs []string
	for _, r := range n.runs {
		var b strings.Builder
		for _, it := range n.items[r.lo:r.hi] {
			b.WriteString(it.digits)
		}
		runs = append(runs, b.String())
	}
	return strings.Join(runs, "|")
}

func TestSpokenNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"девятьсот шестнадцать сто двадцать три сорок пять шестьдесят семь", "9161234567"},
		{"four five seven two one nine", "457219"},
		{"восемь девятьсот шестнадцать 123-45-67", "89161234567"},
		{"+7 (916) 123-45-67", "79161234567"},
		{"double five oh triple two", "550222"},
		{"ноль нуль одна одного одной одну две двух трёх четырёх", "0011112234"},
		{"пятью шестью семью восьмью девятью", "56789"},
		{"двухсот трёмстам четырьмястами пятисот шестистах семьюстами восьмисот девятисот", "200300400500600700800900"},
		{"четыре тысячи двести семьдесят шесть тысяча двести тридцать четыре", "42761234"},
		{"две тысячи пять", "2005"},
		{"тысячей", "1000"},
		{"одна тысяча двести", "1200"},
		{"сто двадцать пять тысяч шестьсот семьдесят восемь", "1205678"}, // a group of four digits read as such
		{"nineteen eighty five", "1985"},
		{"one hundred and five", "105"},
		{"four thousand two hundred seventy six", "4276"},
		{"five hundred eighty three hundred thirty three", "580333"},
		{"двадцать-пять", "25"},
		{"сорок, пять", "405"},
		{"в 15:30 12.03.2024 заказ 77", "15|30|12032024|77"},
		{"I said oh", ""},
		{"oh one", "01"},
		{"one of them", "1"},
		{"a double room", ""},
	}
	for _, tt := range tests {
		if got := digitsOf(tt.in); got != tt.want {
			t.Errorf("digits of %q = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSpokenRoundTrip says random digit strings in every style the corpus uses and reads
// them back.
func TestSpokenRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	groupings := [][]int{{4}, {3}, {2}, {3, 3, 2, 2}, {3, 3, 3, 2}, {5, 3, 1, 4, 7}}
	failed := 0
	const n = 4000
	for i := range n {
		v := randDigits(rng, 8+rng.IntN(13))
		lang := []string{"ru", "en"}[i%2]
		s := say(rng, split(v, groupings[rng.IntN(len(groupings))]...), lang)
		if got := strings.ReplaceAll(digitsOf(s), "|", ""); got != v {
			failed++
			t.Errorf("%q read back as %q, want %q", s, got, v)
		}
		if failed > 10 {
			t.Fatal("too many")
		}
	}
}
