package reply

import (
	"strings"
	"unicode/utf8"

	"github.com/evovoice/billing/jsv"
	"github.com/shopspring/decimal"
)

// The text primitives both faces' hand-written encoders share.

// DecimalText is a decimal's wire text: digit for digit, keeping its scale
// (1.50 stays 1.50), never in exponent form.
func DecimalText(d decimal.Decimal) string { return string(jsv.AppendDecimal(nil, d)) }

const hexDigits = "0123456789abcdef"

// AppendJSONString writes s as a JSON string exactly as encoding/json does
// with SetEscapeHTML(false): invalid UTF-8 becomes U+FFFD, and U+2028 and
// U+2029 are escaped so that the output is also valid JavaScript (JSONP).
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendQuoted writes s as a quoted CSV field (RFC 4180).
func AppendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = append(dst, strings.ReplaceAll(s, `"`, `""`)...)
	return append(dst, '"')
}

// DefuseFormula keeps spreadsheets from running a cell as a formula (CSV
// injection): a text cell starting with =, +, -, @, tab or carriage return
// gets a leading single quote, and the caller quotes it, as OWASP advises.
// Plain numbers (-1.5, +3) are left as they are: they are no formula, and
// amounts must read back as numbers.
func DefuseFormula(s string) (string, bool) {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || plainNumber(s) {
		return s, false
	}
	return "'" + s, true
}

// plainNumber is an optional sign, digits, and optionally a point and digits.
func plainNumber(s string) bool {
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	return allDigits(whole) && (!hasPoint || allDigits(frac))
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
