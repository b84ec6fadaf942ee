package redact

// The validators below take a string of ASCII digits and nothing else: callers normalise
// spoken and grouped numbers first. Anything that is not all digits is invalid.

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func digit(s string, i int) int { return int(s[i] - '0') }

// weighted returns Σ s[i]·w[i] over the weights.
func weighted(s string, w []int) int {
	sum := 0
	for i, k := range w {
		sum += digit(s, i) * k
	}
	return sum
}

// ValidSNILS reports whether s is an 11-digit SNILS whose last two digits are its control
// number: Σ digit·(9−position) over the first nine digits, taken mod 101, with 100 and 101
// written as 00. Numbers up to 001-001-998 were issued before the checksum existed and are
// accepted unchecked, as the Pension Fund's rule says.
func ValidSNILS(s string) bool {
	if len(s) != 11 || !allDigits(s) {
		return false
	}
	if !snilsChecked(s) {
		return true
	}
	sum := weighted(s, []int{9, 8, 7, 6, 5, 4, 3, 2, 1})
	sum %= 101
	if sum == 100 {
		sum = 0
	}
	return sum == digit(s, 9)*10+digit(s, 10)
}

// snilsChecked reports whether the number part of an 11-digit SNILS is above 001-001-998,
// the range whose control number means something.
func snilsChecked(s string) bool { return s[:9] > "001001998" }

// ValidINN reports whether s is a taxpayer number (INN) with correct check digits: 10
// digits for an organisation (one check digit), 12 for a person (two).
func ValidINN(s string) bool {
	if !allDigits(s) {
		return false
	}
	switch len(s) {
	case 10:
		return weighted(s, []int{2, 4, 10, 3, 5, 9, 4, 6, 8})%11%10 == digit(s, 9)
	case 12:
		c11 := weighted(s, []int{7, 2, 4, 10, 3, 5, 9, 4, 6, 8}) % 11 % 10
		c12 := weighted(s, []int{3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8}) % 11 % 10
		return c11 == digit(s, 10) && c12 == digit(s, 11)
	}
	return false
}

// ValidOGRN reports whether s is a primary state registration number with a correct check
// digit: OGRN (13 digits, the first twelve as a number mod 11, mod 10) or OGRNIP
// (15 digits, the first fourteen mod 13, mod 10).
func ValidOGRN(s string) bool {
	if !allDigits(s) {
		return false
	}
	var mod int
	switch len(s) {
	case 13:
		mod = 11
	case 15:
		mod = 13
	default:
		return false
	}
	r := 0
	for i := 0; i < len(s)-1; i++ {
		r = (r*10 + digit(s, i)) % mod
	}
	return r%10 == digit(s, len(s)-1)
}

// Luhn reports whether the digit string s passes the Luhn (mod 10) check used by bank
// cards. It says nothing about length or issuer; see ValidCard.
func Luhn(s string) bool {
	if !allDigits(s) {
		return false
	}
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		d := digit(s, i)
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ValidCard reports whether s can be a bank card number: 13–19 digits, an issuer prefix
// of a payment system (2 Mir/Mastercard, 3 Amex/JCB/Diners, 4 Visa, 5 Mastercard/Maestro,
// 6 UnionPay/Maestro/Discover) and a Luhn check that works out.
func ValidCard(s string) bool {
	if len(s) < 13 || len(s) > 19 || s[0] < '2' || s[0] > '6' {
		return false
	}
	return Luhn(s)
}

// ValidBIC reports whether s looks like a Russian bank identification code: nine digits
// starting with 04 (the country code of the Bank of Russia's directory).
func ValidBIC(s string) bool {
	return len(s) == 9 && allDigits(s) && s[0] == '0' && s[1] == '4'
}

// ValidAccount reports whether the 20-digit account number acc is consistent with the
// bank's BIC under the Bank of Russia's control key: three digits from the BIC followed by
// the account, weighted 7,1,3 repeating, sum to a multiple of 10. The three digits are the
// BIC's last three for an account at a bank, and "0" with the BIC's 5th–6th digits for a
// correspondent account (30101…) or an account at a cash settlement centre (BIC ending
// 000–002).
func ValidAccount(bic, acc string) bool {
	if !ValidBIC(bic) || len(acc) != 20 || !allDigits(acc) {
		return false
	}
	prefix := bic[6:9]
	if acc[:5] == "30101" || (bic[6:8] == "00" && bic[8] <= '2') {
		prefix = "0" + bic[4:6]
	}
	weights := [3]int{7, 1, 3}
	sum := 0
	for i := 0; i < 23; i++ {
		var d int
		if i < 3 {
			d = digit(prefix, i)
		} else {
			d = digit(acc, i-3)
		}
		sum += d * weights[i%3] % 10
	}
	return sum%10 == 0
}
