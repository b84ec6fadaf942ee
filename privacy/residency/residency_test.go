package residency

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	ru, err := ParseAllowed("CALLSCRIBE_ALLOWED_COUNTRIES", "RU")
	if err != nil {
		t.Fatal(err)
	}
	ruby, _ := ParseAllowed("CALLSCRIBE_ALLOWED_COUNTRIES", " ru, BY ,ru")
	asr := func(country string) Processor {
		return Processor{Name: "the ASR endpoint", Variable: "CALLSCRIBE_ASR_COUNTRY", URL: "https://user:pw@asr.example.com/v1?key=k", Country: country}
	}
	tests := []struct {
		name    string
		allowed Allowed
		p       Processor
		want    []string // substrings of the error; nil: allowed
	}{
		{"in country", ru, asr("RU"), nil},
		{"lower case", ru, asr("ru"), nil},
		{"second allowed", ruby, asr("BY"), nil},
		{"abroad", ru, asr("US"), []string{"CALLSCRIBE_ASR_COUNTRY=US", "the ASR endpoint", "https://asr.example.com/v1", "outside CALLSCRIBE_ALLOWED_COUNTRIES (RU)"}},
		{"abroad, two allowed", ruby, asr("DE"), []string{"CALLSCRIBE_ASR_COUNTRY=DE", "(RU,BY)"}},
		{"undeclared", ru, asr(""), []string{"CALLSCRIBE_ASR_COUNTRY is unset", "the ASR endpoint"}},
		{"not a code", ru, asr("Russia"), []string{"CALLSCRIBE_ASR_COUNTRY", `"Russia"`}},
		{"webhook", ru, Processor{Name: "webhook endpoint 7", Variable: "--country", URL: "https://crm.example.kz/hook", Country: "KZ"}, []string{"--country=KZ", "webhook endpoint 7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.allowed.Check(tt.p)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want allowed", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check = nil, want a refusal mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check = %q, want it to mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "pw@") || strings.Contains(err.Error(), "key=k") {
				t.Errorf("Check = %q carries credentials from the URL", err)
			}
		})
	}
}

func TestCheckAll(t *testing.T) {
	t.Parallel()
	ru, _ := ParseAllowed("CALLSCRIBE_ALLOWED_COUNTRIES", "RU")
	err := ru.CheckAll([]Processor{
		{Name: "the ASR endpoint", Variable: "CALLSCRIBE_ASR_COUNTRY", Country: "RU"},
		{Name: "the summary endpoint", Variable: "CALLSCRIBE_SUMMARY_COUNTRY", Country: "US"},
		{Name: "the object store", Variable: "CALLSCRIBE_S3_COUNTRY"},
	})
	if err == nil {
		t.Fatal("CheckAll = nil, want two refusals")
	}
	for _, w := range []string{"CALLSCRIBE_SUMMARY_COUNTRY=US", "CALLSCRIBE_S3_COUNTRY is unset"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("CheckAll = %q, want it to mention %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "ASR") {
		t.Errorf("CheckAll = %q names the processor that is in the country", err)
	}
	if err := ru.CheckAll(nil); err != nil {
		t.Errorf("no processors: %v", err)
	}
}

func TestParseAllowed(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", " , ", "RUS", "R1", "RU;BY"} {
		if _, err := ParseAllowed("CALLSCRIBE_ALLOWED_COUNTRIES", bad); err == nil || !strings.Contains(err.Error(), "CALLSCRIBE_ALLOWED_COUNTRIES") {
			t.Errorf("ParseAllowed(%q) = %v, want an error naming the variable", bad, err)
		}
	}
}
