package handlers

import (
	"strconv"
	"unicode/utf8"
)

// jsonAppender is a value that writes its own compact JSON, byte for byte
// what encoding/json writes without HTML escaping, for the hottest answers.
type jsonAppender interface{ appendJSON([]byte) []byte }

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string exactly as encoding/json does
// with SetEscapeHTML(false): invalid UTF-8 becomes U+FFFD, and U+2028 and
// U+2029 are escaped so that the output is also valid JavaScript (JSONP).
func appendJSONString(b []byte, s string) []byte {
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

// appendJSON writes the records as encoding/json would, without reflection.
func (rs UsageRecords) appendJSON(b []byte) []byte {
	b = append(b, '[')
	for i := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = rs[i].appendJSON(b)
	}
	return append(b, ']')
}

func (r *UsageRecord) appendJSON(b []byte) []byte {
	b = append(b, `{"accountSid":`...)
	b = appendJSONString(b, r.AccountSid)
	b = append(b, `,"category":`...)
	b = appendJSONString(b, r.Category)
	if r.Count != nil {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, *r.Count, 10)
	}
	b = append(b, `,"countUnit":`...)
	b = appendJSONString(b, r.CountUnit)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, r.Description)
	b = append(b, `,"endDate":`...)
	b = appendJSONString(b, r.EndDate)
	b = append(b, `,"price":`...)
	b = r.Price.AppendJSV(b) // a JSV decimal is a JSON number: digits, sign, point
	b = append(b, `,"priceUnit":`...)
	b = appendJSONString(b, r.PriceUnit)
	b = append(b, `,"startDate":`...)
	b = appendJSONString(b, r.StartDate)
	b = append(b, `,"usage":`...)
	b = appendJSONString(b, r.Usage)
	b = append(b, `,"usageUnit":`...)
	b = appendJSONString(b, r.UsageUnit)
	b = append(b, `,"uri":`...)
	b = appendJSONString(b, r.URI)
	return append(b, '}')
}
