package extractive

import "strings"

// stopwords are words that say nothing about what a call was about: English function
// words, the courtesies of a phone call, and the commonest Russian function words
// (calls here are often in Russian).
var stopwords = toSet(`
a about above after again against all also am an and any are aren't as at be because
been before being below between both but by can can't cannot could couldn't did didn't
do does doesn't doing don't down during each few for from further get got had hadn't has
hasn't have haven't having he he'd he'll he's her here here's hers herself him himself
his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's like
me might more most must mustn't my myself no nor not now of off on once only or other
ought our ours ourselves out over own really same shall shan't she she'd she'll she's
should shouldn't so some such than that that's the their theirs them themselves then
there there's these they they'd they'll they're they've this those through to too under
until up upon us very was wasn't we we'd we'll we're we've were weren't what what's when
when's where where's which while who who's whom why why's will with won't would wouldn't
you you'd you'll you're you've your yours yourself yourselves
yes yeah yep no nope ok okay right sure well oh uh um uhm hmm mm ah er erm
hi hello hey bye goodbye morning afternoon evening good great thank thanks please sorry
welcome calling call help today sir madam ma'am
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни
быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где
есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж
тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы
нее сейчас были куда зачем всех никогда можно при наконец два об другой хоть после над
больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою
этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между это
здравствуйте добрый день утро вечер спасибо пожалуйста алло до свидания ага угу
`)

func toSet(words string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.Fields(words) {
		set[w] = true
	}
	return set
}
