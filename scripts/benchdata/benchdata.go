// Package benchdata writes a generated organization's calls into PostgreSQL for the
// benchmarks (scripts/searchbench, the web app's BenchmarkPages): calls of the other
// parties' numbers, spaced evenly back from now, each completed with its deletion receipt,
// a transcript of Russian and English segments (words drawn as speech draws them) and a
// summary. It writes by COPY with triggers off (session_replication_role = replica, so a
// superuser's connection), filling in what the triggers and the worker would: each row's
// organization and owner, a transcript's talk time per channel. The schema is the
// latest migration's.
package benchdata

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Options say what to generate.
type Options struct {
	Calls    int           // calls of the organization
	Segments int           // segments of each call (6 s each, channels taking turns)
	Every    time.Duration // between one call's creation and the next: the newest is now
	Numbers  int           // the other parties' numbers (+7916...): each has about Calls/Numbers calls
}

// Generate writes o.Calls calls of organization org, owned in turn by owners, and
// analyzes the tables.
func Generate(ctx context.Context, conn *pgx.Conn, org uuid.UUID, owners []uuid.UUID, o Options) error {
	if len(owners) == 0 || o.Calls < 0 || o.Segments <= 0 || o.Numbers <= 0 {
		return fmt.Errorf("benchdata: %d owners, %d calls, %d segments, %d numbers", len(owners), o.Calls, o.Segments, o.Numbers)
	}
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		return err
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `RESET session_replication_role`) }()
	calls := o.Calls
	callIDs, transcriptIDs := make([]uuid.UUID, calls), make([]uuid.UUID, calls)
	for i := range callIDs {
		callIDs[i], transcriptIDs[i] = uuid.New(), uuid.New()
	}
	owner := func(i int) uuid.UUID { return owners[i%len(owners)] }
	now := time.Now().UTC().Truncate(time.Second)
	created := func(i int) time.Time { return now.Add(-time.Duration(i) * o.Every) }
	const segMS, spokenMS = 6000, 5000
	copyRows := func(table string, cols []string, n int, row func(i int) []any) error {
		i := 0
		_, err := conn.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			return row(i - 1), nil
		}))
		if err != nil {
			return fmt.Errorf("copy %s: %w", table, err)
		}
		return nil
	}
	if err := copyRows("calls", []string{"id", "organization_id", "owner_id", "status", "channels", "duration_ms", "phone", "created_at", "updated_at"}, calls,
		func(i int) []any {
			phone := fmt.Sprintf("+7916%07d", (i*7919)%o.Numbers)
			return []any{callIDs[i], org, owner(i), "completed", []string{"agent", "client"}, int64(o.Segments) * segMS, phone, created(i), created(i)}
		}); err != nil {
		return err
	}
	if err := copyRows("audio_deletion_receipts", []string{"call_id", "organization_id", "owner_id", "stage", "bytes", "sha256", "staged_at", "deleted_at", "confirmed_at"}, calls,
		func(i int) []any {
			at := created(i)
			return []any{callIDs[i], org, owner(i), "s3", int64(o.Segments) * segMS * 16, strings.Repeat("ab", 32), at, at.Add(time.Minute), at.Add(time.Minute)}
		}); err != nil {
		return err
	}
	// Channel 0 speaks the even segments, channel 1 the odd ones.
	talk := []int64{int64((o.Segments+1)/2) * spokenMS, int64(o.Segments/2) * spokenMS}
	if err := copyRows("transcripts", []string{"id", "call_id", "organization_id", "owner_id", "engine", "text", "talk_ms", "created_at"}, calls,
		func(i int) []any {
			return []any{transcriptIDs[i], callIDs[i], org, owner(i), "bench", strings.Join(CallText(i, o.Segments), " "), talk, created(i)}
		}); err != nil {
		return err
	}
	if err := copyRows("summaries", []string{"call_id", "organization_id", "owner_id", "engine", "text"}, calls,
		func(i int) []any {
			return []any{callIDs[i], org, owner(i), "bench", CallText(i, 1)[0]}
		}); err != nil {
		return err
	}
	var text []string
	if err := copyRows("segments", []string{"transcript_id", "organization_id", "owner_id", "ord", "channel", "speaker", "start_ms", "end_ms", "text", "confidence"}, calls*o.Segments,
		func(k int) []any {
			i, s := k/o.Segments, k%o.Segments
			if s == 0 {
				text = CallText(i, o.Segments)
			}
			return []any{transcriptIDs[i], org, owner(i), int32(s), int32(s % 2), []string{"agent", "client"}[s%2], int64(s) * segMS, int64(s)*segMS + spokenMS, text[s], float32(0.8)}
		}); err != nil {
		return err
	}
	_, err := conn.Exec(ctx, `VACUUM ANALYZE calls, audio_deletion_receipts, transcripts, summaries, segments`)
	return err
}

// CallText is call i's segments: the same every time it is asked for (COPY of
// transcripts and of segments), 70% of calls mostly Russian, the rest mostly English,
// words drawn as speech draws them (a few very common, most rare).
func CallText(i, segments int) []string {
	r := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	ru := r.IntN(10) < 7
	zr := rand.NewZipf(r, 1.1, 4, uint64(len(russian)-1))
	ze := rand.NewZipf(r, 1.1, 4, uint64(len(english)-1))
	out := make([]string, segments)
	var b strings.Builder
	for s := range out {
		b.Reset()
		lang := ru
		if r.IntN(10) == 0 {
			lang = !lang
		}
		n := 6 + r.IntN(10)
		for w := range n {
			if w > 0 {
				b.WriteByte(' ')
			}
			if lang {
				b.WriteString(russian[zr.Uint64()])
			} else {
				b.WriteString(english[ze.Uint64()])
			}
		}
		out[s] = b.String()
	}
	return out
}

// RussianWord is the i-th word of the Russian vocabulary, most common first: from the
// 200th on, the rare tail (a word there is said in a few hundred of 100,000 calls).
func RussianWord(i int) string { return russian[i] }

// Words of the calls, most common first (the Zipf draw favours the start of each
// list): everyday and business words, the Russian ones in several inflections as speech
// has them, then a long tail of rarer words (names, places, products: made of
// syllables), so that the index holds a vocabulary of a real size.
var russian = append(strings.Fields(`
и в не на я что вы мы это да нет вот так у вас по с как он она по-моему здравствуйте спасибо пожалуйста
заказ заказа заказу заказом заказы заказов номер номера номеру доставка доставки доставку доставкой
договор договора договору договором договоры договоров счёт счета счету счётом оплата оплаты оплату
клиент клиента клиенту клиентом менеджер менеджера менеджеру звонок звонка звонку звонили позвоню
товар товара товару товаром товары товаров склад склада складе курьер курьера курьеру курьером
адрес адреса адресу неделя недели неделю понедельник вторник среду четверг пятницу утром вечером
скидка скидки скидку скидкой цена цены цену стоимость стоимости возврат возврата возвратом
подтвердить подтверждаю подтвердили отправить отправили отправим получить получили получу
проблема проблемы проблему вопрос вопроса вопросу ответ ответа ответить помочь помогу поможем
документы документов документами акт акта накладная накладной счёт-фактура поставка поставки
поставку поставкой оборудование оборудования оборудованием сервис сервиса ремонт ремонта
гарантия гарантии гарантию претензия претензии претензию рекламация рекламации жалоба жалобы
компания компании компанию офис офиса офисе директор директора бухгалтерия бухгалтерии
сегодня завтра вчера сейчас потом быстро срочно хорошо отлично понятно конечно минуту секунду
`), tail([]string{"ка", "ро", "ми", "та", "ле", "ну", "зо", "пи", "ва", "не", "ду", "ся", "гор", "вин", "ст", "ол"})...)

var english = append(strings.Fields(`
the to and you i a is it that of for your we on can this have be with please thank yes no
order orders number account call calling support help today tomorrow week monday friday
delivery deliveries shipped shipping address invoice invoices payment payments card bank
refund refunds policy policies return returns price prices discount contract contracts
customer customers manager service line internet router technician visit repair broken
problem problems issue question answer confirm confirmed send sent receive received
warranty complaint complaints claim claims office director accounting documents signed
morning afternoon evening quickly urgent fine great sure minute moment goodbye hello
`), tail([]string{"ka", "ro", "mi", "ta", "le", "nu", "zo", "pi", "va", "ne", "du", "sy", "gor", "vin", "st", "ol"})...)

// tail makes 16^4 = 65,536 words of four syllables.
func tail(syllables []string) []string {
	var out []string
	for a := range syllables {
		for b := range syllables {
			for c := range syllables {
				for d := range syllables {
					out = append(out, syllables[a]+syllables[b]+syllables[c]+syllables[d])
				}
			}
		}
	}
	// Deterministically shuffled, so that rank in the Zipf draw does not follow the
	// syllables' order.
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
