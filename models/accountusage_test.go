package models

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestPreviousPeriod(t *testing.T) {
	d := func(y, m, day int) Date { return NewDate(y, time.Month(m), day) }
	for _, c := range []struct {
		name       string
		start, end Date
		want       DateRange
	}{
		{"leap February, whole month", d(2024, 2, 1), d(2024, 2, 29), DateRange{d(2024, 1, 1), d(2024, 1, 31)}},
		{"March after a leap February", d(2024, 3, 1), d(2024, 3, 31), DateRange{d(2024, 2, 1), d(2024, 2, 29)}},
		{"March after a common February", d(2023, 3, 1), d(2023, 3, 31), DateRange{d(2023, 2, 1), d(2023, 2, 28)}},
		{"whole year", d(2024, 1, 1), d(2024, 12, 31), DateRange{d(2023, 1, 1), d(2023, 12, 31)}},
		{"whole months across years", d(2024, 11, 1), d(2025, 2, 28), DateRange{d(2024, 7, 1), d(2024, 10, 31)}},
		{"whole months back across years", d(2025, 1, 1), d(2025, 2, 28), DateRange{d(2024, 11, 1), d(2024, 12, 31)}},
		{"February 1-28 of a leap year is 28 days", d(2024, 2, 1), d(2024, 2, 28), DateRange{d(2024, 1, 4), d(2024, 1, 31)}},
		{"the leap day alone", d(2024, 2, 29), d(2024, 2, 29), DateRange{d(2024, 2, 28), d(2024, 2, 28)}},
		{"over the leap day", d(2024, 2, 29), d(2024, 3, 1), DateRange{d(2024, 2, 27), d(2024, 2, 28)}},
		{"month end to month end is days", d(2024, 1, 31), d(2024, 2, 29), DateRange{d(2024, 1, 1), d(2024, 1, 30)}},
		{"partial month", d(2024, 3, 10), d(2024, 3, 31), DateRange{d(2024, 2, 17), d(2024, 3, 9)}},
	} {
		if got := PreviousPeriod(DateRange{c.start, c.end}); got != c.want {
			t.Errorf("%s: previous of %s..%s is %s..%s, want %s..%s", c.name, c.start, c.end, got.Start, got.End, c.want.Start, c.want.End)
		}
	}
}

func TestPercentChange(t *testing.T) {
	for _, c := range []struct {
		usage, previous Micros
		want            string // "" for nil
	}{
		{0, 0, ""},
		{5, 0, ""},
		{150, 100, "50"},
		{0, 100, "-100"},
		{1, 3, "-66.67"}, // -66.666… rounds away from zero
		{4, 3, "33.33"},
		{2, 3, "-33.33"},
		{1_000_001, 1_000_000, "0"},    // 0.0001% rounds to 0
		{1_000_050, 1_000_000, "0.01"}, // 0.005% is a half: away from zero
		{999_950, 1_000_000, "-0.01"},
		{100, -100, "200"}, // from a credit to a charge: up
	} {
		got := PercentChange(c.usage, c.previous)
		switch {
		case c.want == "" && got != nil:
			t.Errorf("change %d over %d = %s, want null", c.usage, c.previous, got)
		case c.want != "" && (got == nil || got.String() != c.want):
			t.Errorf("change %d over %d = %v, want %s", c.usage, c.previous, got, c.want)
		}
	}
}

func TestCheckAccountUsage(t *testing.T) {
	today := NewDate(2024, 3, 15)
	q, err := CheckAccountUsage(AccountUsageInput{}, today)
	if err != nil {
		t.Fatal(err)
	}
	if q.Start != nil || q.End != today || q.Category.Name != TotalPrice || q.IncludeSubaccounts || q.OrderBy != OrderPriceDesc || q.Page != 0 || q.CountPerPage != 100 {
		t.Errorf("defaults: %+v", q)
	}
	q, err = CheckAccountUsage(AccountUsageInput{StartDate: "-14days", EndDate: "2024-03-15", ParentID: "AC0000000000000000000000000000D001",
		Category: "CALLS", IncludeSubaccounts: "true", NameFilter: "  acme ", OrderBy: "-Change", Page: "2", CountPerPage: "1000"}, today)
	if err != nil {
		t.Fatal(err)
	}
	if *q.Start != NewDate(2024, 3, 1) || q.ParentID != "AC0000000000000000000000000000d001" || q.Category.Name != "calls" || !q.IncludeSubaccounts ||
		q.NameFilter != "acme" || q.OrderBy != OrderChangeDesc || q.Page != 2 || q.CountPerPage != 1000 {
		t.Errorf("parsed: %+v", q)
	}

	_, err = CheckAccountUsage(AccountUsageInput{StartDate: "2024-13-01", EndDate: "yesterday", ParentID: "AC1", Category: "voice",
		IncludeSubaccounts: "maybe", OrderBy: "price desc", Page: "-1", CountPerPage: "1001"}, today)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a validation error, got %v", err)
	}
	var fields []string
	for _, f := range ve.Errors {
		fields = append(fields, f.Field)
	}
	want := []string{"StartDate", "EndDate", "ParentId", "Category", "IncludeSubaccounts", "OrderBy", "Page", "CountPerPage"}
	if !slices.Equal(fields, want) {
		t.Errorf("bad fields %v, want every one of %v", fields, want)
	}

	for _, in := range []AccountUsageInput{
		{StartDate: "2024-03-16"},                        // after the default EndDate, today
		{StartDate: "2024-03-02", EndDate: "2024-03-01"}, // backwards
		{StartDate: "0001-01-01", EndDate: "0001-01-31"}, // no room for the previous period
		{CountPerPage: "0"},
		{NameFilter: string(make([]byte, 201))},
	} {
		if _, err := CheckAccountUsage(in, today); !errors.As(err, &ve) {
			t.Errorf("%+v: want a validation error, got %v", in, err)
		}
	}
}

func TestAccountUsagePageOrdersAndTotals(t *testing.T) {
	cat, _ := LookupCategory(TotalPrice)
	rows := []AccountUsageRow{
		{Account: Account{Sid: "ACb", Name: "beta", Currency: "usd"}, Current: Sums{Price: 200}, Previous: Sums{Price: 100}},
		{Account: Account{Sid: "ACa", Name: "Alpha", Currency: "usd"}, Current: Sums{Price: 200}},
		{Account: Account{Sid: "ACc", Name: "gamma", Currency: "eur"}, Current: Sums{Price: 50}, Previous: Sums{Price: 100}},
	}
	q := AccountUsageQuery{Category: cat, OrderBy: OrderPriceDesc, CountPerPage: 2}
	p := BuildAccountUsagePage(q, DateRange{NewDate(2024, 3, 1), NewDate(2024, 3, 31)}, rows)
	if p.TotalCount != 3 || len(p.Items) != 2 || p.Items[0].Sid != "ACa" || p.Items[1].Sid != "ACb" {
		t.Errorf("page 0: %+v", p.Items)
	}
	if len(p.Totals) != 2 || p.Totals[0].Currency != "eur" || p.Totals[1].Currency != "usd" || p.Totals[1].Price.String() != "0.0004" || p.Totals[0].Change.String() != "-50" {
		t.Errorf("totals: %+v", p.Totals)
	}
	if p.Items[1].Usage.String() != "0.0002" || p.Items[1].Count != 0 || p.Items[1].Change.String() != "100" || p.Items[0].Change != nil {
		t.Errorf("totalprice figures: %+v", p.Items)
	}
	q.OrderBy, q.Page = OrderChangeDesc, 1
	p = BuildAccountUsagePage(q, DateRange{NewDate(2024, 3, 1), NewDate(2024, 3, 31)}, rows)
	if len(p.Items) != 1 || p.Items[0].Sid != "ACa" { // no change: last
		t.Errorf("-change page 1: %+v", p.Items)
	}
}
