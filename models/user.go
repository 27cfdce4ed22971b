package models

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// User is a person who signs in to the dashboard. The password itself is
// never kept: only a slow hash of it (see auth.HashPassword).
type User struct {
	ID           int64
	Name         string // sign-in name: lower case, unique
	DisplayName  string
	PasswordHash string
	Roles        []string
	AccountIDs   []string // the accounts a Manager manages (with their sub-accounts)
	CreatedAt    time.Time
}

// Limits on user fields.
const (
	MaxUserNameLen    = 64
	MaxDisplayNameLen = 100
	// MinPasswordLen is counted in characters; bcrypt reads at most 72 bytes,
	// so longer passwords are refused rather than silently cut.
	MinPasswordLen   = 12
	MaxPasswordBytes = 72
)

// NormalizeUserName lower-cases and trims a sign-in name, so that "Admin" and
// "admin" are the same user, and checks its characters.
func NormalizeUserName(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", fmt.Errorf("the user name is empty")
	}
	if len(s) > MaxUserNameLen {
		return "", fmt.Errorf("the user name is longer than %d characters", MaxUserNameLen)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r)) {
			return "", fmt.Errorf("the user name may hold only letters a-z, digits and . _ @ -")
		}
	}
	return s, nil
}

// CheckPassword applies the password policy.
func CheckPassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return fmt.Errorf("the password must have at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordBytes:
		return fmt.Errorf("the password must be at most %d bytes", MaxPasswordBytes)
	}
	return nil
}

// AccountFilter selects the accounts of a listing.
type AccountFilter struct {
	// Every lists every account; otherwise only Roots and their sub-accounts
	// at any depth (no Roots: nothing).
	Every bool
	Roots []string
	// NameFilter keeps accounts whose name contains it, in any letter case, or
	// whose SID contains it.
	NameFilter string
	IDs        []string // when set, only these accounts
	Limit      int      // 0: no limit (and no offset)
	Offset     int
}

// ListedAccount is an account with its ancestors, top-level account first.
type ListedAccount struct {
	Account
	AncestorIDs []string
}

// AccountPage is one page of a listing and the number of accounts in all pages.
type AccountPage struct {
	Accounts []ListedAccount
	Total    int
}
