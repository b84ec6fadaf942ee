package webapp

import (
	"fmt"
	"time"
)

// lifetime says how long a cookie lives, in the visitor's language.
func lifetime(lang string, d time.Duration) string {
	days := int(d / (24 * time.Hour))
	if days >= 1 {
		if lang == "en" {
			if days == 1 {
				return "1 day"
			}
			return fmt.Sprintf("%d days", days)
		}
		return fmt.Sprintf("%d %s", days, ruPlural(days, "день", "дня", "дней"))
	}
	mins := int(d / time.Minute)
	if lang == "en" {
		return fmt.Sprintf("%d minutes", mins)
	}
	return fmt.Sprintf("%d %s", mins, ruPlural(mins, "минута", "минуты", "минут"))
}

// ruPlural picks the Russian plural form for n: one (1, 21…), few (2–4, 22–24…), many.
func ruPlural(n int, one, few, many string) string {
	n10, n100 := n%10, n%100
	switch {
	case n10 == 1 && n100 != 11:
		return one
	case n10 >= 2 && n10 <= 4 && (n100 < 12 || n100 > 14):
		return few
	default:
		return many
	}
}
