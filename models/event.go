package models

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// MaxEventIDLength bounds the sender's idempotency key.
const MaxEventIDLength = 200

// UsageEvent is one billable thing that happened, validated.
type UsageEvent struct {
	ID         string // the sender's idempotency key, unique per account
	AccountSid string
	Category   string
	OccurredAt time.Time // UTC, microsecond precision (what both databases keep)
	Count      int64
	Usage      Micros
	Price      Micros
	Currency   string // lower-case; "" when the sender did not say
}

// Day is the UTC calendar day the event belongs to.
func (e UsageEvent) Day() Date { return DateOf(e.OccurredAt) }

// SameContent reports whether two events with one id describe the same usage.
func (e UsageEvent) SameContent(o UsageEvent) bool {
	return e.ID == o.ID && e.AccountSid == o.AccountSid && e.Category == o.Category &&
		e.OccurredAt.Equal(o.OccurredAt) && e.Count == o.Count && e.Usage == o.Usage && e.Price == o.Price
}

// UsageEventInput is an event as it arrives on the wire, each property's
// text as sent (numbers too, so that count, usage and price never pass
// through a float), with the problems found while decoding it. Only the
// decoders below make one: they are the single place where wire bytes become
// event text, for every format and transport.
type UsageEventInput struct {
	ID, AccountSid, Category, OccurredAt, Count, Usage, Price, Currency string

	problems []FieldError // named by property, "" for the event itself
	bad      uint16       // properties already reported, by eventProps index
}

// Validate checks the event's shape (not the account, which needs the store)
// and reports every problem, each named by its property ("id", "price").
func (in UsageEventInput) Validate() (UsageEvent, *ValidationError) {
	errs := &ValidationError{Errors: in.problems}
	ev := UsageEvent{ID: in.ID, Count: 1}
	ok := func(p eventProp) bool { return in.bad&(1<<p) == 0 }

	switch {
	case !ok(propID):
	case in.ID == "":
		errs.Add("id", CodeRequired, "id is required: it makes ingestion idempotent")
	case len(in.ID) > MaxEventIDLength:
		errs.Add("id", CodeInvalid, fmt.Sprintf("id must be at most %d bytes", MaxEventIDLength))
	}

	switch {
	case !ok(propAccountSid):
	case in.AccountSid == "":
		errs.Add("accountSid", CodeRequired, "accountSid is required")
	default:
		if sid, valid := NormalizeAccountSid(in.AccountSid); valid {
			ev.AccountSid = sid
		} else {
			errs.Add("accountSid", CodeInvalid, "accountSid must be AC followed by 32 hex digits")
		}
	}

	if ok(propCategory) {
		if in.Category == "" {
			errs.Add("category", CodeRequired, "category is required")
		} else if c, found := LookupCategory(in.Category); !found {
			errs.Add("category", CodeInvalid, fmt.Sprintf("category %q is not a usage category", in.Category))
		} else if c.Name == TotalPrice {
			errs.Add("category", CodeInvalid, "category totalprice is computed, events cannot be filed under it")
		} else {
			ev.Category = c.Name
		}
	}

	if ok(propOccurredAt) {
		if in.OccurredAt == "" {
			errs.Add("occurredAt", CodeRequired, "occurredAt is required")
		} else if t, err := time.Parse(time.RFC3339Nano, in.OccurredAt); err != nil {
			errs.Add("occurredAt", CodeInvalid, "occurredAt must be an RFC 3339 instant such as 2024-05-01T12:00:00Z")
		} else if !DateOf(t).Supported() {
			// Its UTC day, the one it is filed under: 0001-01-01T00:30:00+01:00 is in year 0.
			errs.Add("occurredAt", CodeInvalid, "occurredAt must fall on a UTC day from "+SupportedDates)
		} else {
			ev.OccurredAt = t.UTC().Truncate(time.Microsecond)
		}
	}

	if ok(propCount) && in.Count != "" {
		d, err := decimal.NewFromString(in.Count)
		if err != nil || !d.IsInteger() || d.IsNegative() || !d.BigInt().IsInt64() || d.BigInt().Int64() > 1<<50 {
			errs.Add("count", CodeInvalid, "count must be a whole number ≥ 0")
		} else {
			ev.Count = d.IntPart()
		}
	}

	ev.Usage = Micros(ev.Count) * 1_000_000
	if v, given := parseAmount(in.Usage, ok(propUsage), "usage", false, errs); given {
		ev.Usage = v
	}
	if v, given := parseAmount(in.Price, ok(propPrice), "price", true, errs); given {
		ev.Price = v
	}

	if ok(propCurrency) && in.Currency != "" {
		if c, valid := NormalizeCurrency(in.Currency); valid {
			ev.Currency = c
		} else {
			errs.Add("currency", CodeInvalid, "currency must be a three-letter ISO 4217 code such as usd")
		}
	}
	return ev, errs
}

// parseAmount reads an optional decimal; the text's length was bounded when
// it was decoded.
func parseAmount(s string, check bool, field string, allowNegative bool, errs *ValidationError) (Micros, bool) {
	if s == "" || !check {
		return 0, false
	}
	d, err := decimal.NewFromString(s)
	if err != nil || d.Exponent() < -100 || d.Exponent() > 100 {
		errs.Add(field, CodeInvalid, field+" must be a decimal number such as 0.0125")
		return 0, false
	}
	if d.IsNegative() && !allowNegative {
		errs.Add(field, CodeInvalid, field+" must not be negative")
		return 0, false
	}
	m, err := MicrosOf(d)
	if err != nil {
		errs.Add(field, CodeInvalid, field+" "+err.Error())
		return 0, false
	}
	return m, true
}
