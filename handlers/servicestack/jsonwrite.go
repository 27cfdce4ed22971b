package servicestack

import (
	"strconv"

	"github.com/evovoice/billing/handlers/internal/reply"
)

// jsonAppender is a value that writes its own compact JSON, byte for byte
// what encoding/json writes without HTML escaping, for the hottest answers.
type jsonAppender interface{ appendJSON([]byte) []byte }

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
	b = reply.AppendJSONString(b, r.AccountSid)
	b = append(b, `,"category":`...)
	b = reply.AppendJSONString(b, r.Category)
	if r.Count != nil {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, *r.Count, 10)
	}
	b = append(b, `,"countUnit":`...)
	b = reply.AppendJSONString(b, r.CountUnit)
	b = append(b, `,"description":`...)
	b = reply.AppendJSONString(b, r.Description)
	b = append(b, `,"endDate":`...)
	b = reply.AppendJSONString(b, r.EndDate)
	b = append(b, `,"price":`...)
	b = r.Price.AppendJSV(b) // a JSV decimal is a JSON number: digits, sign, point
	b = append(b, `,"priceUnit":`...)
	b = reply.AppendJSONString(b, r.PriceUnit)
	b = append(b, `,"startDate":`...)
	b = reply.AppendJSONString(b, r.StartDate)
	b = append(b, `,"usage":`...)
	b = reply.AppendJSONString(b, r.Usage)
	b = append(b, `,"usageUnit":`...)
	b = reply.AppendJSONString(b, r.UsageUnit)
	b = append(b, `,"uri":`...)
	b = reply.AppendJSONString(b, r.URI)
	return append(b, '}')
}
