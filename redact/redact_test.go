package redact

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"callscribe"
)

func seg(ch int, speaker string, start, end int64, text string) callscribe.Segment {
	return callscribe.Segment{Channel: ch, Speaker: speaker, StartMS: start, EndMS: end, Text: text, Confidence: 0.8}
}

func TestSegmentsKeepEverythingButTheEntity(t *testing.T) {
	t.Parallel()
	in := []callscribe.Segment{
		seg(0, "agent", 0, 2000, "Назовите номер карты, пожалуйста."),
		seg(1, "client", 2100, 6000, "Карта 4111 1111 1111 1111, срок двенадцать двадцать шесть."),
		seg(0, "agent", 6100, 7000, "Спасибо, сумма 2 500 рублей."),
	}
	orig := slices.Clone(in)
	out, counts := New().Segments(in, Subject{}, DefaultPolicy())
	if !slices.Equal(in, orig) {
		t.Errorf("Segments changed its input: %v", in)
	}
	want := slices.Clone(orig)
	want[1].Text = "Карта [CARD], срок двенадцать двадцать шесть."
	if !slices.Equal(out, want) {
		t.Errorf("Segments =\n%v\nwant\n%v", out, want)
	}
	if got, _ := json.Marshal(counts); string(got) != `{"card":1}` {
		t.Errorf("counts = %s, want {\"card\":1}", got)
	}
}

func TestSegmentsNumberSplitAcrossSegments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		segs       []callscribe.Segment
		wantTexts  []string
		wantCounts map[Type]int
	}{
		{
			name: "one speaker, short pause",
			segs: []callscribe.Segment{
				seg(1, "client", 0, 3000, "мой телефон восемь девятьсот шестнадцать"),
				seg(1, "client", 3400, 6000, "сто двадцать три сорок пять шестьдесят семь, записали?"),
			},
			wantTexts:  []string{"мой телефон [PHONE]", "[PHONE], записали?"},
			wantCounts: map[Type]int{Phone: 1},
		},
		{
			name: "the other speaker says yes in between",
			segs: []callscribe.Segment{
				seg(1, "client", 0, 3000, "карта 4111 1111"),
				seg(0, "agent", 3000, 3300, "да"),
				seg(1, "client", 3500, 6000, "1111 1111 всё"),
			},
			wantTexts:  []string{"карта [CARD]", "да", "[CARD] всё"},
			wantCounts: map[Type]int{Card: 1},
		},
		{
			name: "a long pause: two numbers, neither an identifier",
			segs: []callscribe.Segment{
				seg(1, "client", 0, 3000, "карта 4111 1111"),
				seg(1, "client", 60000, 62000, "1111 1111 всё"),
			},
			wantTexts:  []string{"карта 4111 1111", "1111 1111 всё"},
			wantCounts: map[Type]int{},
		},
		{
			name: "two speakers never make one number",
			segs: []callscribe.Segment{
				seg(0, "agent", 0, 3000, "карта 4111 1111"),
				seg(1, "client", 3100, 6000, "1111 1111 всё"),
			},
			wantTexts:  []string{"карта 4111 1111", "1111 1111 всё"},
			wantCounts: map[Type]int{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, counts := New().Segments(tt.segs, Subject{}, DefaultPolicy())
			for i, s := range out {
				if s.Text != tt.wantTexts[i] {
					t.Errorf("segment %d text = %q, want %q", i, s.Text, tt.wantTexts[i])
				}
				if s.StartMS != tt.segs[i].StartMS || s.EndMS != tt.segs[i].EndMS || s.Speaker != tt.segs[i].Speaker {
					t.Errorf("segment %d = %+v, timing or speaker changed from %+v", i, s, tt.segs[i])
				}
			}
			if len(counts) != len(tt.wantCounts) {
				t.Errorf("counts = %v, want %v", counts, tt.wantCounts)
			}
			for k, v := range tt.wantCounts {
				if counts[k] != v {
					t.Errorf("counts = %v, want %v", counts, tt.wantCounts)
				}
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	text := "карта 4111 1111 1111 1111, телефон +7 916 123-45-67, почта ivan@mail.ru"
	tests := []struct {
		name   string
		policy Policy
		want   string
		counts map[Type]int
	}{
		{"default: every type, tags", DefaultPolicy(),
			"карта [CARD], телефон [PHONE], почта [EMAIL]", map[Type]int{Card: 1, Phone: 1, Email: 1}},
		{"cards only", Policy{Types: []Type{Card}},
			"карта [CARD], телефон +7 916 123-45-67, почта ivan@mail.ru", map[Type]int{Card: 1}},
		{"fixed mask", Policy{Types: []Type{Card, Phone}, Mask: "***"},
			"карта ***, телефон ***, почта ivan@mail.ru", map[Type]int{Card: 1, Phone: 1}},
		{"nothing", Policy{}, text, map[Type]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, counts := New().Text(text, Subject{}, tt.policy)
			if got != tt.want {
				t.Errorf("Text = %q, want %q", got, tt.want)
			}
			if len(counts) != len(tt.counts) {
				t.Errorf("counts = %v, want %v", counts, tt.counts)
			}
			for k, v := range tt.counts {
				if counts[k] != v {
					t.Errorf("counts = %v, want %v", counts, tt.counts)
				}
			}
		})
	}
}

func TestSubjectName(t *testing.T) {
	t.Parallel()
	subj := Subject{Surname: "Иванова", FirstName: "Наталья", Patronymic: "Петровна"}
	tests := []struct{ in, want string }{
		{"Это Иванова Наталья Петровна.", "Это [NAME]."},
		{"Запишите на Иванову.", "Запишите на [NAME]."},
		{"Звонок от Ивановой Натальи Петровны", "Звонок от [NAME]"},
		{"Передайте Наталье Петровне, что всё готово", "Передайте [NAME], что всё готово"},
		{"С Натальей Петровной мы договорились", "С [NAME] мы договорились"},
		{"А Петрова Анна звонила вчера", "А Петрова Анна звонила вчера"}, // third parties are out of scope
		{"иванова наталья", "[NAME]"},                                    // recognisers without capitals
	}
	for _, tt := range tests {
		if got, _ := New().Text(tt.in, subj, DefaultPolicy()); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	male := Subject{Surname: "Соловьёв", FirstName: "Сергей", Patronymic: "Игоревич"}
	for _, in := range []string{"Соловьёва", "Соловьеву", "Соловьёвым", "Сергея", "Сергею", "Игоревичем", "Соловьёве"} {
		if got, _ := New().Text(in, male, DefaultPolicy()); got != "[NAME]" {
			t.Errorf("Text(%q) with subject %v = %q, want [NAME]", in, male, got)
		}
	}
	// Names that lose a vowel when declined (Павел → Павла, Лев → Льва, Любовь → Любви) and
	// surnames declined as adjectives (Толстой → Толстого, Трубецкая → Трубецкой).
	for _, tt := range []struct {
		subj  Subject
		forms []string
	}{
		{Subject{Surname: "Орёл", FirstName: "Павел", Patronymic: "Львович"}, []string{"Павла", "Павлу", "Павлом", "Павле", "Орла", "Орлу", "Орлом"}},
		{Subject{FirstName: "Лев"}, []string{"Лев", "Льва", "Льву", "Львом", "Льве"}},
		{Subject{FirstName: "Любовь"}, []string{"Любовь", "Любви", "Любовью"}},
		{Subject{Surname: "Кравец"}, []string{"Кравец", "Кравца", "Кравцу", "Кравцом", "Кравеца"}},
		{Subject{Surname: "Толстой"}, []string{"Толстой", "Толстого", "Толстому", "Толстым", "Толстом"}},
		{Subject{Surname: "Трубецкой"}, []string{"Трубецкой", "Трубецкого", "Трубецкому", "Трубецким", "Трубецком"}},
		{Subject{Surname: "Белый"}, []string{"Белый", "Белого", "Белому", "Белым", "Белом"}},
		{Subject{Surname: "Толстая"}, []string{"Толстая", "Толстой", "Толстую", "Толстою"}},
		{Subject{Surname: "Трубецкая"}, []string{"Трубецкая", "Трубецкой", "Трубецкую"}},
		{Subject{Surname: "Белая"}, []string{"Белая", "Белой", "Белую"}},
	} {
		for _, in := range tt.forms {
			if got, _ := New().Text("звонил "+in+" вчера", tt.subj, DefaultPolicy()); got != "звонил [NAME] вчера" {
				t.Errorf("Text(%q) with subject %v = %q, want the name redacted", "звонил "+in+" вчера", tt.subj, got)
			}
		}
	}
	if got, _ := New().Text("Звонила Римской-Корсаковой", Subject{Surname: "Римская-Корсакова"}, DefaultPolicy()); got != "Звонила [NAME]" {
		t.Errorf("double surname: Text = %q, want %q", got, "Звонила [NAME]")
	}
	if got, _ := New().Text("Иванова Наталья", Subject{}, DefaultPolicy()); got != "Иванова Наталья" {
		t.Errorf("with no subject, Text = %q, want the names kept", got)
	}
}

func TestParseType(t *testing.T) {
	t.Parallel()
	for _, typ := range Types {
		if got, err := ParseType(string(typ)); err != nil || got != typ {
			t.Errorf("ParseType(%q) = %q, %v", typ, got, err)
		}
	}
	_, err := ParseType("ssn")
	if callscribe.ErrorCode(err) != callscribe.EINVALID || !strings.Contains(err.Error(), "ssn") {
		t.Errorf("ParseType(\"ssn\") error = %v, want an invalid-input error naming it", err)
	}
}

func TestTag(t *testing.T) {
	t.Parallel()
	if got := BirthDate.Tag(); got != "[BIRTH_DATE]" {
		t.Errorf("BirthDate.Tag() = %q", got)
	}
}

// TestRegressions holds sentences the corpus once got wrong, with what must come out.
func TestRegressions(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		// Lists of amounts and written times and dates are not identifiers.
		{"цены 2 550, 1 800, 1900 и 1100", "цены 2 550, 1 800, 1900 и 1100"},
		{"цены 7 000, две тысячи девятьсот пятьдесят, семь тысяч и 0 950", "цены 7 000, две тысячи девятьсот пятьдесят, семь тысяч и 0 950"},
		{"сумма 2 300 7050 800", "сумма 2 300 7050 800"},
		{"я насчитал три тысячи триста, три тысячи шестьсот пятьдесят, тысяча шестьсот и девять тысяч", "я насчитал три тысячи триста, три тысячи шестьсот пятьдесят, тысяча шестьсот и девять тысяч"},
		{"prices 2000, 10000, 5600 and 4100", "prices 2000, 10000, 5600 and 4100"},
		{"заказ 123456 на сумму 2 500 рублей, доставка в 15:30 12.03.2024", "заказ 123456 на сумму 2 500 рублей, доставка в 15:30 12.03.2024"},
		// A number dialled with "+" is a phone or nothing, never an INN.
		{"номер +49 151 234 53", "номер +49 151 234 53"},
		// A BIC is a run of its own, not nine digits inside the account.
		{"BIC zero forty five zero zero forty six forty one and the account number is four oh eight one seven eight one oh zero four five six four three two double six three six eight",
			"BIC zero forty five zero zero forty six forty one and the account number is four oh eight one seven eight one oh zero four five six four three two double six three six eight"},
		// A number after "улице" is the weather, not a street.
		{"на улице тридцать пять градусов", "на улице тридцать пять градусов"},
		// "к" before a time is a preposition, not a building.
		{"доставьте на проспект Мира дом 3 квартира 78 к 10:00", "доставьте на [ADDRESS] к 10:00"},
		{"квартира сорок шесть, домофон не работает", "[ADDRESS], домофон не работает"},
		// "oh" after a number is a zero; hesitations do not split a number.
		{"plus seven eight one two three hundred thirty five-16 oh oh that's my mobile", "[PHONE] that's my mobile"},
		{"мой СНИЛС 200 054, так, 047 74", "мой СНИЛС [SNILS]"},
		// Invalid check digits inside a run of the identifier's length are not searched for a shorter match.
		{"номер моей карты сорок четыре сорок восемь пятьдесят пять сорок пять шестьдесят девять девяносто пять нуль семь ноль два",
			"номер моей карты сорок четыре сорок восемь пятьдесят пять сорок пять шестьдесят девять девяносто пять нуль семь ноль два"},
		// A spoken "at" after a pronoun or a verb is no email's.
		{"see you at nine dot com", "see you at nine dot com"},
		{"we are at yandex dot ru now", "we are at yandex dot ru now"},
		{"у меня собака мейл точка ру", "у меня собака мейл точка ру"},
		{"write to ivan at gmail dot com", "write to [EMAIL]"},
		// A number that opens with a bracket is replaced with its bracket.
		{"my phone is (916) 123-45-67", "my phone is [PHONE]"},
		{"телефон (495) 123-45-67, звоните", "телефон [PHONE], звоните"},
		// "number" alone makes a passport only of four digits and six.
		{"taxpayer number five three double five eight seven eight seven six nine please", "taxpayer number five three double five eight seven eight seven six nine please"},
		{"паспорт ноль один двенадцать номер триста двадцать один девятьсот семьдесят девять", "паспорт [PASSPORT]"},
		// "oh" after a hesitation that follows a number is a zero too.
		{"passport series sixty, uh, oh oh number oh seventy seven five hundred thirteen", "passport series [PASSPORT]"},
	}
	for _, tt := range tests {
		if got, _ := New().Text(tt.in, Subject{}, DefaultPolicy()); got != tt.want {
			t.Errorf("Text(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// FuzzText checks that any text is redacted without a panic, that the counts add up to the
// replacements made, and that redacting twice changes nothing more.
func FuzzText(f *testing.F) {
	for _, s := range []string{"карта 4111 1111 1111 1111", "plus seven nine one six double five", "ivan@mail.ru",
		"паспорт серия 4510 номер 123456", "живу на улице Ленина дом 5", "родился 12.03.1985", "+", "@", "ул.", "oh oh", "double",
		"тысяча тысяч", "сорок, , , пять", "Иванова-Петрова"} {
		f.Add(s)
	}
	subj := Subject{Surname: "Иванова", FirstName: "Анна", Patronymic: "Петровна"}
	f.Fuzz(func(t *testing.T, s string) {
		out, counts := New().Text(s, subj, Policy{Types: Types, Mask: "\x00"})
		n := 0
		for _, c := range counts {
			n += c
		}
		if got := strings.Count(out, "\x00") - strings.Count(s, "\x00"); got != n {
			t.Errorf("Text(%q) = %q: %d replacements, counts %v", s, out, got, counts)
		}
	})
}
