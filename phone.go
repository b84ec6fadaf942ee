package callscribe

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// PhoneRegion is the region a phone number without a country code is read in: a number
// written as 8 903 123-45-67 or 903 123-45-67 is Russian.
const PhoneRegion = "RU"

// NormalizePhone checks that s is a phone number that can be dialled and returns it in
// E.164 (+79031234567), the one form stored. Numbers without a country code are read
// as Russian (PhoneRegion). Every way in — the CLI, the API, the web forms — stores
// phones through this function, so that one person's number is written one way.
//
// Its error is EINVALID and does not repeat s: a message must not carry a phone number.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EINVALID, "the phone number is empty")
	}
	n, err := phonenumbers.Parse(s, PhoneRegion)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", Errorf(EINVALID, "not a valid phone number: want one in international form (+7 903 123-45-67) or a Russian one (8 903 123-45-67)")
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}
