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
