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

// appendJSON writes a Twilio list page as encoding/json would.
func (l *twilioListJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"end":`...)
	b = strconv.AppendInt(b, int64(l.End), 10)
	b = append(b, `,"first_page_uri":`...)
	b = appendJSONString(b, l.FirstPageURI)
	b = append(b, `,"next_page_uri":`...)
	b = appendJSONNullString(b, l.NextPageURI)
	b = append(b, `,"page":`...)
	b = strconv.AppendInt(b, int64(l.Page), 10)
	b = append(b, `,"page_size":`...)
	b = strconv.AppendInt(b, int64(l.PageSize), 10)
	b = append(b, `,"previous_page_uri":`...)
	b = appendJSONNullString(b, l.PreviousPageURI)
	b = append(b, `,"start":`...)
	b = strconv.AppendInt(b, int64(l.Start), 10)
	b = append(b, `,"uri":`...)
	b = appendJSONString(b, l.URI)
	b = append(b, `,"usage_records":`...)
	if l.UsageRecords == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range l.UsageRecords {
			if i > 0 {
				b = append(b, ',')
			}
			b = l.UsageRecords[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (r *twilioRecord) appendJSON(b []byte) []byte {
	b = append(b, `{"account_sid":`...)
	b = appendJSONString(b, r.AccountSid)
	b = append(b, `,"api_version":`...)
	b = appendJSONString(b, r.APIVersion)
	b = append(b, `,"as_of":`...)
	b = appendJSONString(b, r.AsOf)
	b = append(b, `,"category":`...)
	b = appendJSONString(b, r.Category)
	b = append(b, `,"count":`...)
	if r.Count.valid {
		b = appendJSONString(b, r.Count.s)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"count_unit":`...)
	b = appendJSONString(b, r.CountUnit)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, r.Description)
	b = append(b, `,"end_date":`...)
	b = appendJSONString(b, r.EndDate)
	b = append(b, `,"price":`...)
	b = appendJSONString(b, r.Price)
	b = append(b, `,"price_unit":`...)
	b = appendJSONString(b, r.PriceUnit)
	b = append(b, `,"start_date":`...)
	b = appendJSONString(b, r.StartDate)
	u := &r.SubresourceURIs
	b = append(b, `,"subresource_uris":{"all_time":`...)
	b = appendJSONString(b, u.AllTime)
	b = append(b, `,"today":`...)
	b = appendJSONString(b, u.Today)
	b = append(b, `,"yesterday":`...)
	b = appendJSONString(b, u.Yesterday)
	b = append(b, `,"this_month":`...)
	b = appendJSONString(b, u.ThisMonth)
	b = append(b, `,"last_month":`...)
	b = appendJSONString(b, u.LastMonth)
	b = append(b, `,"daily":`...)
	b = appendJSONString(b, u.Daily)
	b = append(b, `,"monthly":`...)
	b = appendJSONString(b, u.Monthly)
	b = append(b, `,"yearly":`...)
	b = appendJSONString(b, u.Yearly)
	b = append(b, `},"uri":`...)
	b = appendJSONString(b, r.URI)
	b = append(b, `,"usage":`...)
	b = appendJSONString(b, r.Usage)
	b = append(b, `,"usage_unit":`...)
	b = appendJSONString(b, r.UsageUnit)
	return append(b, '}')
}

func appendJSONNullString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}
