package models

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"
)

// Account is a billed account; sub-accounts nest to any depth under a parent.
type Account struct {
	Sid       string
	Name      string
	ParentSid string // "" for a top-level account
	Currency  string // ISO 4217, lower-case
	CreatedAt time.Time
}

// AccountOverview is an account with what reading its usage needs first.
type AccountOverview struct {
	Account
	Lineage    []string // the account, its parent, and so on up to the top-level account
	FirstUsage *Date    // the account's own first day with usage; nil when it has none
}

// NewAccountSid returns a fresh random SID: AC followed by 32 hex digits.
func NewAccountSid() string { return "AC" + randomHex(16) }

// NewAuthToken returns a fresh auth token: 32 lower-case hex characters, which
// Twilio's client libraries accept (they refuse anything but letters and digits).
func NewAuthToken() string { return randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// NormalizeAccountSid checks the AC + 32 hex digits form and lower-cases the hex.
func NormalizeAccountSid(s string) (string, bool) {
	if len(s) != 34 || s[:2] != "AC" {
		return "", false
	}
	if _, err := hex.DecodeString(s[2:]); err != nil {
		return "", false
	}
	return "AC" + strings.ToLower(s[2:]), true
}

// HashAuthToken is what the database keeps instead of the token. A token has
// 128 random bits, so a plain SHA-256 cannot be reversed by guessing.
func HashAuthToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// AuthTokenMatches compares a presented token with a stored hash in constant time.
func AuthTokenMatches(token, storedHash string) bool {
	h := HashAuthToken(token)
	return subtle.ConstantTimeCompare([]byte(h), []byte(storedHash)) == 1
}

// NormalizeCurrency checks for a three-letter ISO 4217 code and lower-cases it.
func NormalizeCurrency(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 3 {
		return "", false
	}
	for _, r := range s {
		if r < 'a' || r > 'z' {
			return "", false
		}
	}
	return s, true
}
