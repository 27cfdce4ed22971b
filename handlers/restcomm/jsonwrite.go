package restcomm

import (
	"strconv"

	"github.com/evovoice/billing/handlers/internal/reply"
)

// appendJSON writes a Twilio list page as encoding/json would.
func (l *twilioListJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"end":`...)
	b = strconv.AppendInt(b, int64(l.End), 10)
	b = append(b, `,"first_page_uri":`...)
	b = reply.AppendJSONString(b, l.FirstPageURI)
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
	b = reply.AppendJSONString(b, l.URI)
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
	b = reply.AppendJSONString(b, r.AccountSid)
	b = append(b, `,"api_version":`...)
	b = reply.AppendJSONString(b, r.APIVersion)
	b = append(b, `,"as_of":`...)
	b = reply.AppendJSONString(b, r.AsOf)
	b = append(b, `,"category":`...)
	b = reply.AppendJSONString(b, r.Category)
	b = append(b, `,"count":`...)
	if r.Count.valid {
		b = reply.AppendJSONString(b, r.Count.s)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"count_unit":`...)
	b = reply.AppendJSONString(b, r.CountUnit)
	b = append(b, `,"description":`...)
	b = reply.AppendJSONString(b, r.Description)
	b = append(b, `,"end_date":`...)
	b = reply.AppendJSONString(b, r.EndDate)
	b = append(b, `,"price":`...)
	b = reply.AppendJSONString(b, r.Price)
	b = append(b, `,"price_unit":`...)
	b = reply.AppendJSONString(b, r.PriceUnit)
	b = append(b, `,"start_date":`...)
	b = reply.AppendJSONString(b, r.StartDate)
	u := &r.SubresourceURIs
	b = append(b, `,"subresource_uris":{"all_time":`...)
	b = reply.AppendJSONString(b, u.AllTime)
	b = append(b, `,"today":`...)
	b = reply.AppendJSONString(b, u.Today)
	b = append(b, `,"yesterday":`...)
	b = reply.AppendJSONString(b, u.Yesterday)
	b = append(b, `,"this_month":`...)
	b = reply.AppendJSONString(b, u.ThisMonth)
	b = append(b, `,"last_month":`...)
	b = reply.AppendJSONString(b, u.LastMonth)
	b = append(b, `,"daily":`...)
	b = reply.AppendJSONString(b, u.Daily)
	b = append(b, `,"monthly":`...)
	b = reply.AppendJSONString(b, u.Monthly)
	b = append(b, `,"yearly":`...)
	b = reply.AppendJSONString(b, u.Yearly)
	b = append(b, `},"uri":`...)
	b = reply.AppendJSONString(b, r.URI)
	b = append(b, `,"usage":`...)
	b = reply.AppendJSONString(b, r.Usage)
	b = append(b, `,"usage_unit":`...)
	b = reply.AppendJSONString(b, r.UsageUnit)
	return append(b, '}')
}

func appendJSONNullString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return reply.AppendJSONString(b, *s)
}
