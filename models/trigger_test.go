package models

import (
	"errors"
	"testing"
	"time"
)

func TestTriggerValue(t *testing.T) {
	for in, want := range map[string]struct {
		value  Micros
		offset bool
		ok     bool
	}{
		"500": {500_000_000, false, true}, "0.000001": {1, false, true}, "+30": {30_000_000, true, true}, "12.5": {12_500_000, false, true},
		"0": {}, "-1": {}, "+": {}, "1e3": {}, "0.0000001": {}, "1.2.3": {}, " ": {}, ".": {}, "+-1": {},
		"123456789012345678901234567": {}, "99999999999999999": {},
	} {
		var errs ValidationError
		v, offset := checkTriggerValue(in, &errs)
		if ok := errs.Err() == nil; ok != want.ok || (ok && (v != want.value || offset != want.offset)) {
			t.Errorf("%q: %s offset %v ok %v (%v), want %+v", in, v, offset, ok, errs.Err(), want)
		}
	}
}

func TestTriggerPeriodsAndURIs(t *testing.T) {
	at := time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)
	for _, c := range []struct {
		recurring, period, uri string
		window                 DateRange
	}{
		{"daily", "2026-12-31", "/2010-04-01/Accounts/AC1/Usage/Records/Today.json?Category=calls", DateRange{NewDate(2026, 12, 31), NewDate(2026, 12, 31)}},
		{"monthly", "2026-12", "/2010-04-01/Accounts/AC1/Usage/Records/ThisMonth.json?Category=calls", DateRange{NewDate(2026, 12, 1), NewDate(2026, 12, 31)}},
		{"yearly", "2026", "/2010-04-01/Accounts/AC1/Usage/Records/Yearly.json?Category=calls&StartDate=2026-01-01&EndDate=2026-12-31", DateRange{NewDate(2026, 1, 1), NewDate(2026, 12, 31)}},
		{"alltime", "all", "/2010-04-01/Accounts/AC1/Usage/Records.json?Category=calls", DateRange{MinDate, NewDate(2026, 12, 31)}},
		{"", "all", "/2010-04-01/Accounts/AC1/Usage/Records.json?Category=calls", DateRange{MinDate, NewDate(2026, 12, 31)}},
	} {
		tr := Trigger{AccountSid: "AC1", UsageCategory: "calls", Recurring: c.recurring}
		if p := tr.Period(at); p != c.period {
			t.Errorf("%q: period %s, want %s", c.recurring, p, c.period)
		}
		if p := tr.Period(at.Add(time.Second)); c.recurring != "" && c.recurring != "alltime" && p == c.period {
			t.Errorf("%q: the next instant is in the same period", c.recurring)
		}
		if u := tr.UsageRecordURI("/2010-04-01", at); u != c.uri {
			t.Errorf("%q: %s, want %s", c.recurring, u, c.uri)
		}
		if w := tr.Window(at); w != c.window {
			t.Errorf("%q: window %v, want %v", c.recurring, w, c.window)
		}
	}
}

func TestTriggerResource(t *testing.T) {
	created := time.Date(2012, 9, 29, 19, 47, 54, 0, time.UTC)
	tr := Trigger{Sid: "UT1", AccountSid: "AC1", APIVersion: "2010-04-01", UsageCategory: "calls", TriggerBy: "count",
		TriggerValue: 500_000_000, CurrentValue: 21_000_000, DateCreated: created, DateUpdated: created}
	r := tr.Resource("/restcomm/2012-04-24", created)
	if r.TriggerValue != "500.000000" || r.CurrentValue != "21" || r.DateCreated != "Sat, 29 Sep 2012 19:47:54 +0000" ||
		r.DateFired != nil || r.Recurring != nil || r.URI != "/restcomm/2012-04-24/Accounts/AC1/Usage/Triggers/UT1.json" {
		t.Errorf("%+v", r)
	}
	if got := tr.Watched(Sums{Count: 21, Usage: 5, Price: 7}); got != 21_000_000 {
		t.Errorf("count watched as %s", got)
	}
}

func TestTriggerInputDefaults(t *testing.T) {
	spec, err := TriggerInput{CallbackURL: "https://example.com/cb", TriggerValue: "1", UsageCategory: "SMS_OUTBOUND"}.Validate()
	if err != nil || spec.CallbackMethod != "POST" || spec.TriggerBy != "usage" || spec.Recurring != "" || spec.UsageCategory != "sms-outbound" {
		t.Errorf("%+v %v", spec, err)
	}
	_, err = TriggerInput{}.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 3 {
		t.Errorf("empty input: %v, want the three required parameters", err)
	}
	for _, u := range []string{"example.com/x", "/x", "mailto:a@b", "http://user:pw@example.com/", "http:///x", "https://example.com/#f"} {
		var errs ValidationError
		if CheckCallbackURL(u, true, &errs); errs.Err() == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
