package models

import (
	"encoding/hex"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Trigger is a usage trigger: call CallbackURL when the watched value of an
// account's usage of one category reaches TriggerValue, once per period.
type Trigger struct {
	Sid            string
	AccountSid     string
	APIVersion     string // the face it was created on: 2010-04-01 or 2012-04-24
	FriendlyName   string
	CallbackURL    string
	CallbackMethod string // GET or POST
	UsageCategory  string
	Recurring      string // daily, monthly, yearly, alltime; "" fires once ever
	TriggerBy      string // count, usage or price
	TriggerValue   Micros
	CurrentValue   Micros // as of the last evaluation
	DateCreated    time.Time
	DateUpdated    time.Time
	DateFired      *time.Time // the last firing; nil until the first
}

// Values of Recurring and TriggerBy.
const (
	RecurringOnce    = ""
	RecurringDaily   = "daily"
	RecurringMonthly = "monthly"
	RecurringYearly  = "yearly"
	RecurringAllTime = "alltime"

	TriggerByCount = "count"
	TriggerByUsage = "usage"
	TriggerByPrice = "price"
)

// Limits of triggers, as Twilio documents them.
const (
	MaxTriggersPerAccount   = 1000
	MaxFriendlyNameLength   = 64
	maxTriggerValueLength   = 24 // longer than any value MicrosOf accepts with its zeros
	maxCallbackURLLength    = 2048
	triggerValueFixedPlaces = 6
)

// ErrTooManyTriggers is returned when an account already has the most
// triggers allowed.
var ErrTooManyTriggers = fmt.Errorf("an account has at most %d usage triggers", MaxTriggersPerAccount)

// NewTriggerSid returns a fresh random SID: UT followed by 32 hex digits.
func NewTriggerSid() string { return "UT" + randomHex(16) }

// NormalizeTriggerSid checks the UT + 32 hex digits form and lower-cases the hex.
func NormalizeTriggerSid(s string) (string, bool) {
	if len(s) != 34 || s[:2] != "UT" {
		return "", false
	}
	if _, err := hex.DecodeString(s[2:]); err != nil {
		return "", false
	}
	return "UT" + strings.ToLower(s[2:]), true
}

// TriggerInput is a create request as bound from its parameters, unchecked.
type TriggerInput struct {
	CallbackURL    string
	CallbackMethod string
	FriendlyName   string
	Recurring      string
	TriggerBy      string
	TriggerValue   string
	UsageCategory  string
}

// TriggerSpec is a checked create request. When Offset is set, the
// threshold is Value above the current value at creation.
type TriggerSpec struct {
	CallbackURL    string
	CallbackMethod string
	FriendlyName   string
	Recurring      string
	TriggerBy      string
	UsageCategory  string
	Value          Micros
	Offset         bool
}

// Validate checks every parameter and reports every bad one, each named as
// Twilio names the parameter, so that one 400 lists them all.
func (in TriggerInput) Validate() (TriggerSpec, error) {
	var errs ValidationError
	spec := TriggerSpec{
		CallbackURL:    CheckCallbackURL(in.CallbackURL, true, &errs),
		CallbackMethod: CheckCallbackMethod(in.CallbackMethod, &errs),
		FriendlyName:   CheckFriendlyName(in.FriendlyName, &errs),
	}
	switch r := strings.ToLower(strings.TrimSpace(in.Recurring)); r {
	case RecurringOnce, RecurringDaily, RecurringMonthly, RecurringYearly, RecurringAllTime:
		spec.Recurring = r
	default:
		errs.Add("Recurring", CodeInvalid, fmt.Sprintf("Recurring %q must be daily, monthly, yearly, alltime or empty", in.Recurring))
	}
	switch b := strings.ToLower(strings.TrimSpace(in.TriggerBy)); b {
	case "":
		spec.TriggerBy = TriggerByUsage
	case TriggerByCount, TriggerByUsage, TriggerByPrice:
		spec.TriggerBy = b
	default:
		errs.Add("TriggerBy", CodeInvalid, fmt.Sprintf("TriggerBy %q must be count, usage or price", in.TriggerBy))
	}
	if strings.TrimSpace(in.UsageCategory) == "" {
		errs.Add("UsageCategory", CodeRequired, "UsageCategory is required")
	} else if c, ok := ParseCategory(in.UsageCategory); ok {
		spec.UsageCategory = c.Name
	} else {
		errs.Add("UsageCategory", CodeInvalid, fmt.Sprintf("UsageCategory %q is not a usage category", in.UsageCategory))
	}
	spec.Value, spec.Offset = checkTriggerValue(in.TriggerValue, &errs)
	if err := errs.Err(); err != nil {
		return TriggerSpec{}, err
	}
	return spec, nil
}

// checkTriggerValue reads a positive decimal of at most six places, or an
// offset "+N" from the current value.
func checkTriggerValue(s string, errs *ValidationError) (Micros, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		errs.Add("TriggerValue", CodeRequired, "TriggerValue is required")
		return 0, false
	}
	if len(s) > maxTriggerValueLength {
		errs.Add("TriggerValue", CodeInvalid, fmt.Sprintf("TriggerValue is longer than %d characters", maxTriggerValueLength))
		return 0, false
	}
	offset := strings.HasPrefix(s, "+")
	digits := strings.TrimPrefix(s, "+")
	// Plain digits and one point only: no exponents, signs or spaces inside.
	valid := digits != "" && strings.Count(digits, ".") <= 1 && strings.Trim(digits, "0123456789.") == "" && strings.Trim(digits, ".") != ""
	d, err := decimal.NewFromString(digits)
	if !valid || err != nil {
		errs.Add("TriggerValue", CodeInvalid, fmt.Sprintf("TriggerValue %q must be a positive decimal number, or +N for N above the current value", s))
		return 0, false
	}
	m, err := MicrosOf(d)
	if err != nil {
		errs.Add("TriggerValue", CodeInvalid, fmt.Sprintf("TriggerValue %q %v", s, err))
		return 0, false
	}
	if m <= 0 {
		errs.Add("TriggerValue", CodeInvalid, fmt.Sprintf("TriggerValue %q must be greater than zero", s))
		return 0, false
	}
	return m, offset
}

// CheckCallbackURL checks that a callback URL is absolute http or https; a
// missing one is an error only when required. Where it points is the
// delivery side's business (it resolves names).
func CheckCallbackURL(s string, required bool, errs *ValidationError) string {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			errs.Add("CallbackUrl", CodeRequired, "CallbackUrl is required")
		}
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case len(s) > maxCallbackURLLength:
		errs.Add("CallbackUrl", CodeInvalid, fmt.Sprintf("CallbackUrl is longer than %d characters", maxCallbackURLLength))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "":
		errs.Add("CallbackUrl", CodeInvalid, "CallbackUrl must be an absolute http or https URL")
	case u.User != nil:
		errs.Add("CallbackUrl", CodeInvalid, "CallbackUrl must not carry a user name or password")
	case u.Fragment != "":
		errs.Add("CallbackUrl", CodeInvalid, "CallbackUrl must not carry a #fragment")
	}
	return s
}

// CheckCallbackMethod reads GET or POST in any letter case; POST when empty.
func CheckCallbackMethod(s string, errs *ValidationError) string {
	switch m := strings.ToUpper(strings.TrimSpace(s)); m {
	case "":
		return "POST"
	case "GET", "POST":
		return m
	}
	errs.Add("CallbackMethod", CodeInvalid, fmt.Sprintf("CallbackMethod %q must be GET or POST", s))
	return ""
}

// CheckFriendlyName allows at most 64 characters.
func CheckFriendlyName(s string, errs *ValidationError) string {
	if utf8.RuneCountInString(s) > MaxFriendlyNameLength {
		errs.Add("FriendlyName", CodeInvalid, fmt.Sprintf("FriendlyName is longer than %d characters", MaxFriendlyNameLength))
	}
	return s
}

// TriggerUpdate changes what an update may change; nil leaves a field as is.
type TriggerUpdate struct {
	CallbackURL    *string
	CallbackMethod *string
	FriendlyName   *string
}

// Validate checks the fields given, reporting every bad one.
func (u TriggerUpdate) Validate() (TriggerUpdate, error) {
	var errs ValidationError
	var out TriggerUpdate
	if u.CallbackURL != nil {
		v := CheckCallbackURL(*u.CallbackURL, true, &errs)
		out.CallbackURL = &v
	}
	if u.CallbackMethod != nil {
		v := CheckCallbackMethod(*u.CallbackMethod, &errs)
		out.CallbackMethod = &v
	}
	if u.FriendlyName != nil {
		v := CheckFriendlyName(*u.FriendlyName, &errs)
		out.FriendlyName = &v
	}
	return out, errs.Err()
}

// TriggerFilter selects the triggers a list shows; empty fields match all.
// Recurring "alltime" matches the one-offs too, as Twilio's filter does.
type TriggerFilter struct {
	AccountSid    string
	Recurring     string
	TriggerBy     string
	UsageCategory string
}

// Validate checks the filter's values (any letter case), reporting every
// bad one by its Twilio parameter name, and returns them normalised.
func (f TriggerFilter) Validate() (TriggerFilter, error) {
	var errs ValidationError
	out := TriggerFilter{AccountSid: f.AccountSid}
	switch r := strings.ToLower(strings.TrimSpace(f.Recurring)); r {
	case "", RecurringDaily, RecurringMonthly, RecurringYearly, RecurringAllTime:
		out.Recurring = r
	default:
		errs.Add("Recurring", CodeInvalid, fmt.Sprintf("Recurring %q must be daily, monthly, yearly or alltime", f.Recurring))
	}
	switch b := strings.ToLower(strings.TrimSpace(f.TriggerBy)); b {
	case "", TriggerByCount, TriggerByUsage, TriggerByPrice:
		out.TriggerBy = b
	default:
		errs.Add("TriggerBy", CodeInvalid, fmt.Sprintf("TriggerBy %q must be count, usage or price", f.TriggerBy))
	}
	if strings.TrimSpace(f.UsageCategory) != "" {
		if c, ok := ParseCategory(f.UsageCategory); ok {
			out.UsageCategory = c.Name
		} else {
			errs.Add("UsageCategory", CodeInvalid, fmt.Sprintf("UsageCategory %q is not a usage category", f.UsageCategory))
		}
	}
	return out, errs.Err()
}

// Period is the key of the period a firing at t belongs to: the UTC day,
// month or year; one period ever for alltime and one-offs.
func (t Trigger) Period(at time.Time) string {
	at = at.UTC()
	switch t.Recurring {
	case RecurringDaily:
		return at.Format("2006-01-02")
	case RecurringMonthly:
		return at.Format("2006-01")
	case RecurringYearly:
		return at.Format("2006")
	}
	return "all"
}

// Window is the range of days the watched value sums at t: what the usage
// record URI answers (today, this month, this year, or everything up to
// today, as the Records root does).
func (t Trigger) Window(at time.Time) DateRange {
	today := DateOf(at)
	switch t.Recurring {
	case RecurringDaily:
		return DateRange{Start: today, End: today}
	case RecurringMonthly:
		return DateRange{Start: today.MonthStart(), End: today.MonthEnd()}
	case RecurringYearly:
		return DateRange{Start: today.YearStart(), End: today.YearEnd()}
	}
	return DateRange{Start: MinDate, End: today}
}

// UsageRecordURI is the Usage Records URI, under prefix (such as
// /2010-04-01), whose answer at t is the trigger's watched value.
func (t Trigger) UsageRecordURI(prefix string, at time.Time) string {
	base := prefix + "/Accounts/" + t.AccountSid + "/Usage/Records"
	category := "Category=" + url.QueryEscape(t.UsageCategory)
	switch t.Recurring {
	case RecurringDaily:
		return base + "/Today.json?" + category
	case RecurringMonthly:
		return base + "/ThisMonth.json?" + category
	case RecurringYearly:
		w := t.Window(at)
		return base + "/Yearly.json?" + category + "&StartDate=" + w.Start.String() + "&EndDate=" + w.End.String()
	}
	return base + ".json?" + category
}

// URI is the trigger's own URI under prefix.
func (t Trigger) URI(prefix string) string {
	return prefix + "/Accounts/" + t.AccountSid + "/Usage/Triggers/" + t.Sid + ".json"
}

// Watched picks the figure the trigger compares from a category's rolled-up
// sums (Rollup): a count (0 for totalprice, whose count is empty), a usage
// or a price. A count is compared in the same micro-units as the threshold.
func (t Trigger) Watched(s Sums) Micros {
	switch t.TriggerBy {
	case TriggerByCount:
		if s.Count > math.MaxInt64/1_000_000 {
			return math.MaxInt64
		}
		return Micros(s.Count * 1_000_000)
	case TriggerByPrice:
		return s.Price
	}
	return s.Usage
}

// TriggerResource is a trigger as Twilio renders it: its 16 fields, all
// strings, nil where Twilio writes null.
type TriggerResource struct {
	AccountSid     string
	APIVersion     string
	CallbackMethod string
	CallbackURL    string
	CurrentValue   string
	DateCreated    string
	DateFired      *string
	DateUpdated    string
	FriendlyName   string
	Recurring      *string
	Sid            string
	TriggerBy      string
	TriggerValue   string
	URI            string
	UsageCategory  string
	UsageRecordURI string
}

// RFC2822 is how Twilio writes instants: "Sat, 29 Sep 2012 19:47:54 +0000".
const RFC2822 = "Mon, 02 Jan 2006 15:04:05 -0700"

// Resource renders the trigger under prefix (such as /2010-04-01 or
// /restcomm/2012-04-24) at the instant now, which dates the yearly URI.
func (t Trigger) Resource(prefix string, now time.Time) TriggerResource {
	r := TriggerResource{
		AccountSid:     t.AccountSid,
		APIVersion:     t.APIVersion,
		CallbackMethod: t.CallbackMethod,
		CallbackURL:    t.CallbackURL,
		CurrentValue:   t.CurrentValue.String(),
		DateCreated:    t.DateCreated.UTC().Format(RFC2822),
		DateUpdated:    t.DateUpdated.UTC().Format(RFC2822),
		FriendlyName:   t.FriendlyName,
		Sid:            t.Sid,
		TriggerBy:      t.TriggerBy,
		TriggerValue:   t.TriggerValueString(),
		URI:            t.URI(prefix),
		UsageCategory:  t.UsageCategory,
		UsageRecordURI: t.UsageRecordURI(prefix, now),
	}
	if t.DateFired != nil {
		s := t.DateFired.UTC().Format(RFC2822)
		r.DateFired = &s
	}
	if t.Recurring != "" {
		s := t.Recurring
		r.Recurring = &s
	}
	return r
}

// TriggerValueString is the threshold as Twilio writes it: "500.000000".
func (t Trigger) TriggerValueString() string {
	return t.TriggerValue.Decimal().StringFixed(triggerValueFixedPlaces)
}

// TriggerFiring is one firing of a trigger: at most one per trigger and period.
type TriggerFiring struct {
	TriggerSid       string
	Period           string
	FiredAt          time.Time
	CurrentValue     Micros
	UsageRecordURI   string
	IdempotencyToken string // the same on every attempt to deliver it
}

// TriggerDelivery is a claimed outbox row: a firing to deliver, with the
// trigger as it is now (its callback may have been updated since).
type TriggerDelivery struct {
	FiringID   int64
	ClaimToken string // proves the claim is still this worker's when it reports
	Attempts   int    // this one included
	QueuedAt   time.Time
	Firing     TriggerFiring
	Trigger    Trigger
}

// NewIdempotencyToken returns a fresh random token for a firing.
func NewIdempotencyToken() string { return randomHex(16) }
