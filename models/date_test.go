package models

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseDateParam(t *testing.T) {
	today := NewDate(2024, 3, 15)
	cases := []struct {
		in   string
		want string // "" means an error
	}{
		{"2024-02-29", "2024-02-29"}, // leap day
		{"2023-02-29", ""},           // not a leap year
		{"2024-04-31", ""},
		{"2024-12-31", "2024-12-31"},
		{"2024-1-01", ""},
		{"20240101", ""},
		{"2024-01-01T00:00:00Z", ""},
		{" 2024-01-01", ""},
		{"-30days", "2024-02-14"},
		{"+30days", "2024-04-14"},
		{"30days", "2024-04-14"},
		{"-1day", "2024-03-14"},
		{"0days", "2024-03-15"},
		{"-15days", "2024-02-29"},
		{"-30 days", ""},
		{"-30weeks", ""},
		{"-99999999days", ""},
		{"-9999999days", ""}, // before year 1
		{"", ""},
	}
	for _, c := range cases {
		got, err := ParseDateParam(c.in, today)
		if c.want == "" {
			if err == nil {
				t.Errorf("ParseDateParam(%q) = %s, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("ParseDateParam(%q) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
}

func TestDateOfIsUTC(t *testing.T) {
	cases := map[string]string{
		"2024-02-29T23:59:59Z":      "2024-02-29",
		"2024-03-01T00:00:00Z":      "2024-03-01",
		"2024-03-01T01:30:00+02:00": "2024-02-29", // 23:30 UTC the day before
		"2023-12-31T20:00:00-05:00": "2024-01-01",
		"1969-12-31T23:59:59Z":      "1969-12-31",
	}
	for in, want := range cases {
		ts, _ := time.Parse(time.RFC3339, in)
		if got := DateOf(ts).String(); got != want {
			t.Errorf("DateOf(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestBucketsAreClipped(t *testing.T) {
	r := DateRange{NewDate(2023, 12, 15), NewDate(2024, 3, 2)}
	var got []string
	for _, b := range r.Buckets(GranularityMonth) {
		got = append(got, b.Start.String()+".."+b.End.String())
	}
	want := []string{"2023-12-15..2023-12-31", "2024-01-01..2024-01-31", "2024-02-01..2024-02-29", "2024-03-01..2024-03-02"}
	if len(got) != len(want) {
		t.Fatalf("months = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("month %d = %s, want %s", i, got[i], want[i])
		}
	}
	years := r.Buckets(GranularityYear)
	if len(years) != 2 || years[0].End.String() != "2023-12-31" || years[1].Start.String() != "2024-01-01" || years[1].End != r.End {
		t.Errorf("years = %v", years)
	}
	if days := r.Buckets(GranularityDay); len(days) != r.Days() || days[0].Start != r.Start || days[len(days)-1].End != r.End {
		t.Errorf("%d daily buckets for %d days", len(days), r.Days())
	}
	if all := r.Buckets(GranularityAll); len(all) != 1 || all[0] != r {
		t.Errorf("all = %v", all)
	}
	for _, d := range []Date{r.Start, NewDate(2024, 2, 10), r.End} {
		b := r.BucketStart(GranularityMonth, d)
		if b < r.Start || b > d || (b != r.Start && b != d.MonthStart()) {
			t.Errorf("BucketStart(month, %s) = %s", d, b)
		}
	}
}

func TestMonthEnds(t *testing.T) {
	for in, want := range map[Date]string{
		NewDate(2024, 2, 10): "2024-02-29",
		NewDate(2023, 2, 10): "2023-02-28",
		NewDate(2024, 12, 1): "2024-12-31",
		NewDate(2024, 4, 30): "2024-04-30",
	} {
		if got := in.MonthEnd().String(); got != want {
			t.Errorf("%s.MonthEnd() = %s, want %s", in, got, want)
		}
	}
}

func TestDateString(t *testing.T) {
	for _, d := range []Date{MinDate, NewDate(1970, 1, 1), NewDate(2024, 2, 29), NewDate(2026, 11, 22), MaxDate, MinDate - 1, MaxDate + 1} {
		if got, want := d.String(), d.Time().Format("2006-01-02"); got != want {
			t.Errorf("%d: %q, want %q", d, got, want)
		}
	}
}

func TestSupportedDates(t *testing.T) {
	if MinDate != DateOf(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)) || MaxDate != DateOf(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("MinDate %s, MaxDate %s", MinDate, MaxDate)
	}
	today := NewDate(2024, 3, 15)
	for _, s := range []string{"0001-01-01", "9999-12-31", "-738959days", "+2913099days"} {
		if d, err := ParseDateParam(s, today); err != nil || !d.Supported() {
			t.Errorf("%s: %s, %v", s, d, err)
		}
	}
	for _, s := range []string{"0000-12-25", "0000-01-01", "0000-12-31", "-738960days", "+2913100days", "-9999999days", "+9999999days"} {
		if d, err := ParseDateParam(s, today); err == nil || !strings.Contains(err.Error(), SupportedDates) {
			t.Errorf("%s: accepted as %d (%v)", s, d, err)
		}
	}
}

// TestBucketArithmetic checks Bucket, BucketCount and BucketIndex against
// walking the calendar a period at a time, up to both ends of the range.
func TestBucketArithmetic(t *testing.T) {
	walk := func(r DateRange, g Granularity) []DateRange {
		var out []DateRange
		for s := r.Start; s <= r.End; {
			e := map[Granularity]Date{GranularityDay: s, GranularityMonth: s.MonthEnd(), GranularityYear: s.YearEnd(), GranularityAll: r.End}[g]
			e = min(e, r.End)
			out = append(out, DateRange{s, e})
			s = e + 1
		}
		return out
	}
	for _, r := range []DateRange{
		{NewDate(2024, 1, 15), NewDate(2024, 3, 15)},
		{NewDate(2023, 12, 31), NewDate(2025, 1, 1)},
		{MinDate, MinDate + 400},
		{MaxDate - 400, MaxDate},
		{MaxDate, MaxDate},
		{MinDate, MinDate},
	} {
		for _, g := range []Granularity{GranularityAll, GranularityDay, GranularityMonth, GranularityYear} {
			want := walk(r, g)
			if got := r.Buckets(g); !slices.Equal(got, want) {
				t.Errorf("%v %d: %v, want %v", r, g, got, want)
			}
			for i, b := range want {
				for _, d := range []Date{b.Start, b.End} {
					if got := r.BucketIndex(g, d); got != i {
						t.Errorf("%v %d: BucketIndex(%s) = %d, want %d", r, g, d, got, i)
					}
				}
			}
		}
	}
	wide := DateRange{MinDate, MaxDate}
	for g, n := range map[Granularity]int{GranularityAll: 1, GranularityDay: 3_652_059, GranularityMonth: 119_988, GranularityYear: 9999} {
		if got := wide.BucketCount(g); got != n {
			t.Errorf("%d: %d buckets, want %d", g, got, n)
		}
		if last := wide.Bucket(g, n-1); last.End != MaxDate {
			t.Errorf("%d: last bucket %v", g, last)
		}
	}
}
