package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

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

// UsageEventInput is an event as it arrives on the wire (JSON or NDJSON).
// Numbers are kept raw so that count, usage and price can be JSON numbers or
// decimal strings without ever passing through a float.
type UsageEventInput struct {
	ID         string          `json:"id"`
	AccountSid string          `json:"accountSid"`
	Category   string          `json:"category"`
	OccurredAt string          `json:"occurredAt"`
	Count      json.RawMessage `json:"count"`
	Usage      json.RawMessage `json:"usage"`
	Price      json.RawMessage `json:"price"`
	Currency   string          `json:"currency"`

	// Malformed says why the event could not be decoded; Validate reports it.
	Malformed string `json:"-"`
}

// DecodeUsageEvent reads one JSON event, refusing unknown fields so that a
// misspelt "price" is an error rather than a free call. An event that cannot
// be decoded comes back Malformed, to be reported with the batch's other
// problems.
func DecodeUsageEvent(data []byte) UsageEventInput {
	var in UsageEventInput
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return UsageEventInput{Malformed: "not a valid usage event: " + jsonProblem(err)}
	}
	if dec.More() {
		return UsageEventInput{Malformed: "not a valid usage event: more than one JSON value"}
	}
	return in
}

// jsonProblem describes a decoding error without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// Validate checks the event's shape (not the account, which needs the store)
// and reports every problem, each field named with the given prefix.
func (in UsageEventInput) Validate(prefix string, errs *ValidationError) (UsageEvent, bool) {
	n := len(errs.Errors)
	ev := UsageEvent{ID: in.ID, Count: 1}
	if in.Malformed != "" {
		name := strings.TrimSuffix(prefix, ".")
		errs.Add(name, CodeInvalid, name+": "+in.Malformed)
		return ev, false
	}

	switch {
	case in.ID == "":
		errs.Add(prefix+"id", CodeRequired, prefix+"id is required: it makes ingestion idempotent")
	case len(in.ID) > MaxEventIDLength || !utf8.ValidString(in.ID):
		errs.Add(prefix+"id", CodeInvalid, fmt.Sprintf("%sid must be valid UTF-8 of at most %d bytes", prefix, MaxEventIDLength))
	}

	if in.AccountSid == "" {
		errs.Add(prefix+"accountSid", CodeRequired, prefix+"accountSid is required")
	} else if sid, ok := NormalizeAccountSid(in.AccountSid); ok {
		ev.AccountSid = sid
	} else {
		errs.Add(prefix+"accountSid", CodeInvalid, prefix+"accountSid must be AC followed by 32 hex digits")
	}

	if in.Category == "" {
		errs.Add(prefix+"category", CodeRequired, prefix+"category is required")
	} else if c, ok := LookupCategory(in.Category); !ok {
		errs.Add(prefix+"category", CodeInvalid, fmt.Sprintf("%scategory %q is not a usage category", prefix, in.Category))
	} else if c.Name == TotalPrice {
		errs.Add(prefix+"category", CodeInvalid, prefix+"category totalprice is computed, events cannot be filed under it")
	} else {
		ev.Category = c.Name
	}

	if in.OccurredAt == "" {
		errs.Add(prefix+"occurredAt", CodeRequired, prefix+"occurredAt is required")
	} else if t, err := time.Parse(time.RFC3339Nano, in.OccurredAt); err != nil {
		errs.Add(prefix+"occurredAt", CodeInvalid, prefix+"occurredAt must be an RFC 3339 instant such as 2024-05-01T12:00:00Z")
	} else if !DateOf(t).Supported() {
		// Its UTC day, the one it is filed under: 0001-01-01T00:30:00+01:00 is in year 0.
		errs.Add(prefix+"occurredAt", CodeInvalid, prefix+"occurredAt must fall on a UTC day from "+SupportedDates)
	} else {
		ev.OccurredAt = t.UTC().Truncate(time.Microsecond)
	}

	if len(in.Count) > 0 && string(in.Count) != "null" {
		d, err := decimal.NewFromString(unquote(in.Count))
		if err != nil || !d.IsInteger() || d.IsNegative() || !d.BigInt().IsInt64() || d.BigInt().Int64() > 1<<50 {
			errs.Add(prefix+"count", CodeInvalid, prefix+"count must be a whole number ≥ 0")
		} else {
			ev.Count = d.IntPart()
		}
	}

	ev.Usage = Micros(ev.Count) * 1_000_000
	if v, ok := parseAmount(in.Usage, prefix+"usage", false, errs); ok {
		ev.Usage = v
	}
	if v, ok := parseAmount(in.Price, prefix+"price", true, errs); ok {
		ev.Price = v
	}

	if in.Currency != "" {
		if c, ok := NormalizeCurrency(in.Currency); ok {
			ev.Currency = c
		} else {
			errs.Add(prefix+"currency", CodeInvalid, prefix+"currency must be a three-letter ISO 4217 code such as usd")
		}
	}
	return ev, len(errs.Errors) == n
}

// parseAmount reads an optional decimal given as a JSON number or string.
func parseAmount(raw json.RawMessage, field string, allowNegative bool, errs *ValidationError) (Micros, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false
	}
	d, err := decimal.NewFromString(unquote(raw))
	if err != nil {
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

// unquote strips the quotes of a JSON string; numbers pass through unchanged.
func unquote(raw json.RawMessage) string {
	var s string
	if len(raw) > 0 && raw[0] == '"' {
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return "\x00" // an invalid JSON string is not a number
	}
	return string(raw)
}
