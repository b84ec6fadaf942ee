package accounts

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password rules: long enough to resist guessing, short enough that hashing it costs
// what we planned, and not the email (the first thing an attacker tries).
const (
	minPasswordChars = 10
	maxPasswordBytes = 256
)

// checkPassword returns the message key of what is wrong with a new password, or "".
func checkPassword(password, email string) string {
	switch {
	case password == "":
		return "required"
	case utf8.RuneCountInString(password) < minPasswordChars:
		return "password_short"
	case len(password) > maxPasswordBytes:
		return "password_long"
	case strings.EqualFold(strings.TrimSpace(password), strings.TrimSpace(email)):
		return "password_is_email"
	}
	return ""
}

// argonParams are argon2id's cost parameters, kept in every hash (PHC string format) so
// that they can change without invalidating the hashes made before.
type argonParams struct {
	Time, MemoryKiB uint32
	Threads         uint8
}

const (
	saltLen = 16
	keyLen  = 32
)

// hashPassword returns the PHC string of password under p, with a fresh random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded standard base64).
func hashPassword(password string, p argonParams) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// verifyPassword reports whether password matches the PHC string encoded, computing the
// hash under the parameters the string carries and comparing in constant time. A string
// that does not parse matches nothing.
func verifyPassword(password, encoded string) bool {
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// parsePHC reads an argon2id PHC string.
func parsePHC(encoded string) (argonParams, []byte, []byte, error) {
	var p argonParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("argon2 version %q not supported", parts[2])
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &threads); err != nil {
		return p, nil, nil, fmt.Errorf("argon2 parameters: %w", err)
	}
	if p.Time == 0 || p.MemoryKiB == 0 || threads == 0 || threads > 255 || p.MemoryKiB > 4<<20 || p.Time > 100 {
		return p, nil, nil, fmt.Errorf("argon2 parameters out of range")
	}
	p.Threads = uint8(threads)
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("salt: %w", err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, fmt.Errorf("hash: bad encoding or length")
	}
	return p, salt, key, nil
}
