package models

import (
	"testing"
)

// Micro-benchmarks of the date and category logic behind every usage
// answer. Run: go test ./models -run '^$' -bench . -benchmem

var (
	benchToday   = NewDate(2026, 11, 22)
	twoYears     = DateRange{Start: benchToday - 729, End: benchToday}
	benchTotals  = leafTotals()
	benchPeriods = periodTotals(twoYears, GranularityDay)
)

func leafTotals() Totals {
	t := Totals{}
	for i, c := range CategoryNames() {
		if c != TotalPrice && len(Subtree(c)) == 1 {
			t[c] = Sums{Count: int64(i + 1), Usage: Micros(i) * 1_000_000, Price: Micros(i) * 13_000}
		}
	}
	return t
}

func periodTotals(r DateRange, g Granularity) PeriodTotals {
	pt := PeriodTotals{}
	for _, b := range r.Buckets(g) {
		pt[b.Start] = benchTotals
	}
	return pt
}

var sinkDate Date

func BenchmarkParseDateParam(b *testing.B) {
	for _, s := range []string{"2026-11-22", "-30days"} {
		b.Run(s, func(b *testing.B) {
			for range b.N {
				d, err := ParseDateParam(s, benchToday)
				if err != nil {
					b.Fatal(err)
				}
				sinkDate = d
			}
		})
	}
}

func BenchmarkMonthStartEnd(b *testing.B) {
	for i := range b.N {
		d := benchToday - Date(i%730)
		sinkDate = d.MonthStart() + d.MonthEnd()
	}
}

func BenchmarkBuckets(b *testing.B) {
	for _, g := range []struct {
		name string
		g    Granularity
	}{{"daily-2y", GranularityDay}, {"monthly-2y", GranularityMonth}, {"yearly-2y", GranularityYear}} {
		b.Run(g.name, func(b *testing.B) {
			for range b.N {
				if len(twoYears.Buckets(g.g)) == 0 {
					b.Fatal("no buckets")
				}
			}
		})
	}
}

func BenchmarkParseCategory(b *testing.B) {
	for range b.N {
		if _, ok := ParseCategory("SMS_OUTBOUND_LONGCODE"); !ok {
			b.Fatal("not found")
		}
	}
}

// BenchmarkRollup folds stored leaf totals into all 26 categories.
func BenchmarkRollup(b *testing.B) {
	cats := Categories()
	var s Sums
	for range b.N {
		for _, c := range cats {
			s.Add(Rollup(c, benchTotals))
		}
	}
	_ = s
}

// BenchmarkRangeRecords builds the 26-record all-time answer.
func BenchmarkRangeRecords(b *testing.B) {
	for range b.N {
		if len(RangeRecords("AC00000000000000000000000000000001", "usd", Categories(), twoYears, benchTotals)) != 26 {
			b.Fatal("not 26 records")
		}
	}
}

// BenchmarkBucketRecords builds bucketed answers the way the usage plan
// does, a record per category and period: 90 days of one category, and 25
// months of every category (650 records).
func BenchmarkBucketRecords(b *testing.B) {
	calls, _ := LookupCategory("calls")
	days90 := DateRange{Start: benchToday - 89, End: benchToday}
	cases := []struct {
		name    string
		cats    []Category
		buckets []DateRange
		pt      PeriodTotals
	}{
		{"daily90-one-category", []Category{calls}, days90.Buckets(GranularityDay), benchPeriods},
		{"monthly2y-all-categories", Categories(), twoYears.Buckets(GranularityMonth), periodTotals(twoYears, GranularityMonth)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				out := make([]UsageRecord, 0, len(c.cats)*len(c.buckets))
				for _, cat := range c.cats {
					for _, bk := range c.buckets {
						out = append(out, NewRecord("AC00000000000000000000000000000001", "usd", cat, bk, Rollup(cat, c.pt[bk.Start])))
					}
				}
				if len(out) == 0 {
					b.Fatal("no records")
				}
			}
		})
	}
}
