package models

import (
	"database/sql/driver"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Date is a UTC calendar day, counted in days since 1970-01-01.
type Date int32

const dateLayout = "2006-01-02"

// The supported dates, 0001-01-01..9999-12-31 (four-digit years, which
// YYYY-MM-DD writes and both databases compare as text or dates). Every date
// the service reads (query parameters, page tokens, event instants) must lie
// in it, so that every date it writes, links included, is one it reads back.
const (
	MinDate Date = -719162 // 0001-01-01
	MaxDate Date = 2932896 // 9999-12-31
)

// SupportedDates describes the supported range, for error messages.
const SupportedDates = "0001-01-01 to 9999-12-31"

// Supported reports whether a date is in the supported range.
func (d Date) Supported() bool { return d >= MinDate && d <= MaxDate }

// DateOf is the UTC calendar day of an instant.
func DateOf(t time.Time) Date {
	t = t.UTC()
	return Date(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// NewDate builds a date from its parts; out-of-range parts normalise like time.Date.
func NewDate(y int, m time.Month, d int) Date {
	return DateOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// Time is midnight UTC at the start of the day.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String is YYYY-MM-DD, formatted by hand: it runs several times for every
// record of every answer.
func (d Date) String() string {
	y, m, day := d.Time().Date()
	if y < 0 || y > 9999 {
		return d.Time().Format(dateLayout)
	}
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + int(m)/10), byte('0' + int(m)%10), '-', byte('0' + day/10), byte('0' + day%10)}
	return string(b[:])
}

func (d Date) AddDays(n int) Date { return d + Date(n) }

// MonthStart is the first day of the date's month.
func (d Date) MonthStart() Date {
	t := d.Time()
	return NewDate(t.Year(), t.Month(), 1)
}

// MonthEnd is the last day of the date's month.
func (d Date) MonthEnd() Date {
	t := d.Time()
	return NewDate(t.Year(), t.Month()+1, 1) - 1
}

// YearStart is January 1st of the date's year.
func (d Date) YearStart() Date { return NewDate(d.Time().Year(), 1, 1) }

// YearEnd is December 31st of the date's year.
func (d Date) YearEnd() Date { return NewDate(d.Time().Year(), 12, 31) }

// ParseDate reads a strict YYYY-MM-DD calendar date in the supported range.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || len(s) != len(dateLayout) {
		return 0, fmt.Errorf("%q is not a valid date", s)
	}
	if d := DateOf(t); d.Supported() {
		return d, nil
	}
	return 0, fmt.Errorf("%q is outside the supported dates, %s", s, SupportedDates)
}

var relativeDate = regexp.MustCompile(`^([+-]?)(\d{1,7})days?$`)

// ParseDateParam reads a query date: YYYY-MM-DD, or an offset from today in
// whole days such as -30days, +30days, -1day or 0days.
func ParseDateParam(s string, today Date) (Date, error) {
	if m := relativeDate.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[2]) // at most 7 digits: cannot fail
		if m[1] == "-" {
			n = -n
		}
		d := today.AddDays(n)
		if !d.Supported() {
			return 0, fmt.Errorf("%q lands on %s, outside the supported dates, %s", s, d.Time().Format(dateLayout), SupportedDates)
		}
		return d, nil
	}
	return ParseDate(s)
}

// DateForms describes the accepted date forms, for error messages.
const DateForms = "YYYY-MM-DD or a relative offset such as -30days, +30days, -1day or 0days"

// Scan reads a date column: a time.Time from Postgres, text from SQLite.
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d = DateOf(v)
		return nil
	case string:
		return d.scanText(v)
	case []byte:
		return d.scanText(string(v))
	}
	return fmt.Errorf("cannot scan %T into a date", src)
}

func (d *Date) scanText(s string) error {
	if len(s) > len(dateLayout) {
		s = s[:len(dateLayout)] // a timestamp's date part
	}
	v, err := ParseDate(s)
	*d = v
	return err
}

// Value writes a date as YYYY-MM-DD, which both databases compare correctly.
func (d Date) Value() (driver.Value, error) { return d.String(), nil }

// DateRange is an inclusive range of UTC calendar days.
type DateRange struct{ Start, End Date }

func (r DateRange) Contains(d Date) bool { return d >= r.Start && d <= r.End }

// Days is the number of days in the range.
func (r DateRange) Days() int { return int(r.End-r.Start) + 1 }

// Granularity is how a bucketed query splits its range.
type Granularity int

const (
	GranularityAll Granularity = iota // one bucket for the whole range
	GranularityDay
	GranularityMonth
	GranularityYear
)

// BucketCount is how many calendar periods of the granularity the range
// touches. It and Bucket are arithmetic, so that a plan over the widest
// range (3,652,059 days) costs nothing until a page reads its few buckets.
func (r DateRange) BucketCount(g Granularity) int {
	if r.End < r.Start {
		return 0
	}
	return r.BucketIndex(g, r.End) + 1
}

// Bucket is period i of the range (0 is the first), clipped to the range so
// that it says exactly which days it counts.
func (r DateRange) Bucket(g Granularity, i int) DateRange {
	var b DateRange
	switch g {
	case GranularityDay:
		b = DateRange{r.Start + Date(i), r.Start + Date(i)}
	case GranularityMonth:
		y, m := monthOf(r.Start)
		b.Start = NewDate(y, m+time.Month(i), 1)
		b.End = b.Start.MonthEnd()
	case GranularityYear:
		b.Start = NewDate(r.Start.Time().Year()+i, 1, 1)
		b.End = b.Start.YearEnd()
	default:
		return r
	}
	return DateRange{max(b.Start, r.Start), min(b.End, r.End)}
}

// BucketIndex is the index of the period of the range that holds d.
func (r DateRange) BucketIndex(g Granularity, d Date) int {
	switch g {
	case GranularityDay:
		return int(d - r.Start)
	case GranularityMonth:
		y0, m0 := monthOf(r.Start)
		y, m := monthOf(d)
		return (y-y0)*12 + int(m-m0)
	case GranularityYear:
		return d.Time().Year() - r.Start.Time().Year()
	}
	return 0
}

func monthOf(d Date) (int, time.Month) {
	y, m, _ := d.Time().Date()
	return y, m
}

// Buckets lists every period of the range: for short ranges and tests; a
// long range is read a bucket at a time with BucketCount and Bucket.
func (r DateRange) Buckets(g Granularity) []DateRange {
	out := make([]DateRange, r.BucketCount(g))
	for i := range out {
		out[i] = r.Bucket(g, i)
	}
	return out
}

// BucketStart is the start of the clipped bucket of the range that holds d.
func (r DateRange) BucketStart(g Granularity, d Date) Date {
	return r.Bucket(g, r.BucketIndex(g, d)).Start
}
