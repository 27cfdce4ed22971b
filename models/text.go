package models

import (
	"strings"
	"unicode/utf8"
)

// TextProblem says why s cannot be stored or compared as text, or "" when it
// can. Postgres refuses invalid UTF-8 and NUL in text (SQLSTATE 22021) while
// SQLite stores both, so refusing them before either database sees them makes
// the two answer alike. Other control characters are valid text in both.
func TextProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain a NUL character"
	}
	return ""
}

// MaxNumberLength bounds a number's text before it is parsed: the largest
// amount (9.2e12 with 6 decimals) takes 20 characters, and parsing a decimal
// costs time quadratic in its length (3 million digits took 13 s of a core).
const MaxNumberLength = 40
