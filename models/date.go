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

// Earliest and latest dates the service accepts (four-digit years).
var (
	MinDate = DateOf(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))
	MaxDate = DateOf(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
)

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

// ParseDate reads a strict YYYY-MM-DD calendar date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || len(s) != len(dateLayout) {
		return 0, fmt.Errorf("%q is not a valid date", s)
	}
	return DateOf(t), nil
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
		if d < MinDate || d > MaxDate {
			return 0, fmt.Errorf("%q is out of range", s)
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

// Buckets splits the range into calendar periods of the granularity; the first
// and last are clipped to the range so each says exactly which days it counts.
func (r DateRange) Buckets(g Granularity) []DateRange {
	if r.End < r.Start {
		return nil
	}
	var out []DateRange
	for s := r.Start; s <= r.End; {
		var e Date
		switch g {
		case GranularityDay:
			e = s
		case GranularityMonth:
			e = s.MonthEnd()
		case GranularityYear:
			e = s.YearEnd()
		default:
			e = r.End
		}
		if e > r.End {
			e = r.End
		}
		out = append(out, DateRange{s, e})
		s = e + 1
	}
	return out
}

// BucketStart is the start of the clipped bucket of the range that holds d.
func (r DateRange) BucketStart(g Granularity, d Date) Date {
	var s Date
	switch g {
	case GranularityDay:
		s = d
	case GranularityMonth:
		s = d.MonthStart()
	case GranularityYear:
		s = d.YearStart()
	default:
		s = r.Start
	}
	if s < r.Start {
		s = r.Start
	}
	return s
}
