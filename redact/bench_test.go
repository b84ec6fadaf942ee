package redact

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"callscribe"
)

// sixtyMinuteCall builds the transcript of an hour-long two-speaker call: about 150 words
// a minute in segments of 4–5 s, ordinary talk, and every nth segment one of the corpus's
// sentences with an identifier or ordinary numbers in it.
func sixtyMinuteCall(every int) (segs []callscribe.Segment, words int) {
	rng := rand.New(rand.NewPCG(60, 60))
	talk := strings.Fields("да конечно сейчас посмотрю подождите минуточку так вижу ваш заказ всё в порядке " +
		"хорошо спасибо а когда будет доставка курьер позвонит заранее можно ли перенести на другой день " +
		"yes of course let me check one moment please I can see your order everything is fine")
	samples := corpus(60, 4)
	const callMS = 60 * 60 * 1000
	for at, i := int64(0), 0; at < callMS; i++ {
		var text string
		if i%every == every-1 {
			text = samples[rng.IntN(len(samples))].text
		} else {
			n := 9 + rng.IntN(6)
			w := make([]string, n)
			for k := range w {
				w[k] = talk[rng.IntN(len(talk))]
			}
			text = strings.Join(w, " ")
		}
		words += len(strings.Fields(text))
		dur := int64(4000 + rng.IntN(1000))
		segs = append(segs, callscribe.Segment{Channel: i % 2, Speaker: []string{"agent", "client"}[i%2], StartMS: at, EndMS: at + dur, Text: text})
		at += dur + 200
	}
	return segs, words
}

// BenchmarkSegments60MinCall redacts an hour-long call's transcript; the target is 20 ms
// on one core (go test -bench Segments60Min -cpu 1). "typical" has numbers in every
// eighth segment, "dense" in every one.
func BenchmarkSegments60MinCall(b *testing.B) {
	for _, bc := range []struct {
		name  string
		every int
	}{{"typical", 8}, {"dense", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			segs, words := sixtyMinuteCall(bc.every)
			r := New()
			subj := Subject{Surname: "Иванова", FirstName: "Анна", Patronymic: "Петровна"}
			p := DefaultPolicy()
			b.ReportAllocs()
			for b.Loop() {
				r.Segments(segs, subj, p)
			}
			b.ReportMetric(float64(len(segs)), "segments")
			b.ReportMetric(float64(words), "words")
		})
	}
}

func ExampleRedactor_Text() {
	out, counts := New().Text("мой телефон восемь девятьсот шестнадцать сто двадцать три сорок пять шестьдесят семь, карта 4111 1111 1111 1111",
		Subject{}, DefaultPolicy())
	fmt.Println(out)
	fmt.Println(counts)
	// Output:
	// мой телефон [PHONE], карта [CARD]
	// map[card:1 phone:1]
}
