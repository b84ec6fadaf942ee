package accounts

import (
	"strings"
	"testing"
	"time"
)

// TestPasswordHashIsPHCArgon2id: a hash names argon2id, its version and parameters, has a
// fresh salt each time, verifies the password and nothing else, and a hash made under
// other parameters still verifies (they are read from the hash).
func TestPasswordHashIsPHCArgon2id(t *testing.T) {
	t.Parallel()
	p := argonParams{Time: 1, MemoryKiB: 1024, Threads: 1}
	h1, err := hashPassword("correct horse battery", p)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := hashPassword("correct horse battery", p)
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("hash %q is not a PHC argon2id string with its parameters", h1)
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	if strings.Contains(h1, "correct") {
		t.Error("the hash holds the password")
	}
	if !verifyPassword("correct horse battery", h1) {
		t.Error("the password does not verify against its hash")
	}
	for _, wrong := range []string{"correct horse batterY", "", "correct horse battery "} {
		if verifyPassword(wrong, h1) {
			t.Errorf("%q verifies against another password's hash", wrong)
		}
	}
	other, _ := hashPassword("correct horse battery", argonParams{Time: 2, MemoryKiB: 2048, Threads: 2})
	if !strings.Contains(other, "m=2048,t=2,p=2") || !verifyPassword("correct horse battery", other) {
		t.Errorf("a hash under other parameters (%q) does not verify", other)
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		strings.Replace(h1, "v=19", "v=16", 1), h1[:len(h1)-10] + "!!!!!!!!!!"} {
		if verifyPassword("correct horse battery", bad) {
			t.Errorf("malformed hash %q verifies", bad)
		}
	}
}

func TestPasswordRules(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ pw, email, want string }{
		{"", "a@b.ru", "required"},
		{"short", "a@b.ru", "password_short"},
		{"девять!!!", "a@b.ru", "password_short"}, // 9 characters, 15 bytes: characters count
		{"десять!!!!", "a@b.ru", ""},
		{strings.Repeat("x", 257), "a@b.ru", "password_long"},
		{"anna@example.ru", "Anna@Example.ru", "password_is_email"},
		{"correct horse battery", "a@b.ru", ""},
	} {
		if got := checkPassword(c.pw, c.email); got != c.want {
			t.Errorf("checkPassword(%q, %q) = %q, want %q", c.pw, c.email, got, c.want)
		}
	}
}

func TestUserAgentFamily(t *testing.T) {
	t.Parallel()
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36":                                   "Chrome on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0":                                                        "Firefox on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1": "Safari on iOS",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 YaBrowser/24.12.0.0 Safari/537.36":     "Yandex Browser on Windows",
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36":                  "Chrome on Android",
		"": "unknown",
	} {
		if got := UserAgentFamily(ua); got != want {
			t.Errorf("UserAgentFamily(%.40q…) = %q, want %q", ua, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("the zero configuration (the defaults): %v", err)
	}
	bad := map[string]func(*Config){
		"memory below 8 KiB a thread": func(c *Config) { c.Argon2.MemoryKiB, c.Argon2.Threads = 15, 2 },
		"idle longer than the life":   func(c *Config) { c.SessionTTL, c.IdleTimeout = time.Hour, 2*time.Hour },
		"a short throttle key":        func(c *Config) { c.ThrottleKey = []byte("short") },
		"a negative window":           func(c *Config) { c.Throttle.Window = -time.Minute },
	}
	for name, f := range bad {
		var c Config
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
}
