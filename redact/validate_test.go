package redact

import "testing"

func TestValidators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		valid func(string) bool
		in    string
		want  bool
	}{
		{"SNILS control number below 100", ValidSNILS, "11223344595", true},
		{"SNILS wrong control number", ValidSNILS, "11223344596", false},
		{"SNILS sum 100 written 00", ValidSNILS, "00150881500", true},
		{"SNILS sum 100 not written 100", ValidSNILS, "00150881510", false},
		{"SNILS sum 101 written 00", ValidSNILS, "00143754400", true},
		{"SNILS sum above 101 taken mod 101", ValidSNILS, "00116829806", true},
		{"SNILS sum above 101 unreduced", ValidSNILS, "00116829807", false},
		{"SNILS up to 001-001-998 unchecked", ValidSNILS, "00100199812", true},
		{"SNILS first checked number", ValidSNILS, "00100199912", false},
		{"SNILS too short", ValidSNILS, "1122334459", false},
		{"SNILS with a separator", ValidSNILS, "112-233-445", false},
		{"INN of an organisation", ValidINN, "7707083893", true},
		{"INN of an organisation, wrong check digit", ValidINN, "7707083894", false},
		{"INN of a person", ValidINN, "500100732259", true},
		{"INN of a person, wrong 11th digit", ValidINN, "500100732269", false},
		{"INN of a person, wrong 12th digit", ValidINN, "500100732258", false},
		{"INN of 11 digits", ValidINN, "50010073225", false},
		{"OGRN", ValidOGRN, "1027700132195", true},
		{"OGRN wrong check digit", ValidOGRN, "1027700132196", false},
		{"OGRNIP", ValidOGRN, "304500116000157", true},
		{"OGRNIP wrong check digit", ValidOGRN, "304500116000158", false},
		{"OGRN of 14 digits", ValidOGRN, "10277001321950", false},
		{"Luhn Visa test card", Luhn, "4111111111111111", true},
		{"Luhn classic example", Luhn, "79927398713", true},
		{"Luhn one digit off", Luhn, "4111111111111112", false},
		{"Luhn not digits", Luhn, "4111-1111", false},
		{"card Mastercard test number", ValidCard, "5555555555554444", true},
		{"card passing Luhn with no issuer prefix", ValidCard, "79927398713000", false},
		{"card too short", ValidCard, "411111111111", false},
		{"card of 19 digits", ValidCard, "4000000000000000006", true},
		{"BIC", ValidBIC, "044525225", true},
		{"BIC not of the Bank of Russia", ValidBIC, "144525225", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.valid(tt.in); got != tt.want {
				t.Errorf("%s(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
			}
		})
	}
}

func TestValidAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bic, acc string
		want     bool
	}{
		{"044525225", "40817810899910004312", true},
		{"044525225", "40817810999910004312", false}, // control key off by one
		{"044525225", "40702810938000000001", true},
		{"044525225", "30101810400000000225", true}, // correspondent account: "0" + BIC digits 5–6
		{"044525225", "30101810500000000225", false},
		{"044525974", "40817810899910004312", false}, // right account, another bank
		{"044525225", "4081781089991000431", false},  // 19 digits
		{"144525225", "40817810899910004312", false}, // not a BIC
	}
	for _, tt := range tests {
		if got := ValidAccount(tt.bic, tt.acc); got != tt.want {
			t.Errorf("ValidAccount(%q, %q) = %v, want %v", tt.bic, tt.acc, got, tt.want)
		}
	}
}
