package models

import "github.com/shopspring/decimal"

// Sums are the rolled-up figures of some usage.
type Sums struct {
	Count int64
	Usage Micros
	Price Micros
}

func (s *Sums) Add(o Sums) {
	s.Count += o.Count
	s.Usage += o.Usage
	s.Price += o.Price
}

func (s Sums) IsZero() bool { return s == Sums{} }

// Totals are sums per category as stored (the category events were filed under).
type Totals map[string]Sums

// PeriodTotals are totals per bucket, keyed by the bucket's start date.
type PeriodTotals map[Date]Totals

// UsageRecord is the usage of one category over one period. Each API face
// renders it in its own way; URI is filled in by the face.
type UsageRecord struct {
	AccountSid  string
	Category    string
	Description string
	StartDate   Date
	EndDate     Date
	Count       *int64 // nil for totalprice, whose count is empty
	CountUnit   string
	Usage       decimal.Decimal
	UsageUnit   string
	Price       decimal.Decimal
	PriceUnit   string
	URI         string
}

// Rollup turns stored totals into the figures of one category: its own events
// plus all of its descendants', and for totalprice the price of everything.
func Rollup(c Category, t Totals) Sums {
	var s Sums
	for _, name := range Subtree(c.Name) {
		s.Add(t[name])
	}
	if c.Name == TotalPrice {
		return Sums{Usage: s.Price, Price: s.Price}
	}
	return s
}

// NewRecord builds the record of one category over one period.
func NewRecord(accountSid, currency string, c Category, period DateRange, s Sums) UsageRecord {
	r := UsageRecord{
		AccountSid:  accountSid,
		Category:    c.Name,
		Description: c.Description,
		StartDate:   period.Start,
		EndDate:     period.End,
		CountUnit:   c.CountUnit,
		Usage:       s.Usage.Decimal(),
		UsageUnit:   c.UsageUnit,
		Price:       s.Price.Decimal(),
		PriceUnit:   currency,
	}
	if c.Name == TotalPrice {
		r.UsageUnit = currency
	} else {
		count := s.Count
		r.Count = &count
	}
	return r
}

// RangeRecords is a range query's answer: one record per category, zeros
// included, in catalog order.
func RangeRecords(accountSid, currency string, cats []Category, period DateRange, t Totals) []UsageRecord {
	out := make([]UsageRecord, 0, len(cats))
	for _, c := range cats {
		out = append(out, NewRecord(accountSid, currency, c, period, Rollup(c, t)))
	}
	return out
}

// BucketRecords is a bucketed query's answer: for each category, in catalog
// order, one record per bucket. A category with no usage in the whole range is
// left out unless named explicitly; a listed one gets every bucket, zeros
// included, so that a chart can draw it directly.
func BucketRecords(accountSid, currency string, cats []Category, named bool, buckets []DateRange, pt PeriodTotals) []UsageRecord {
	var out []UsageRecord
	sums := make([]Sums, len(buckets))
	for _, c := range cats {
		used := false
		for i, b := range buckets {
			sums[i] = Rollup(c, pt[b.Start])
			used = used || !sums[i].IsZero()
		}
		if !used && !named {
			continue
		}
		for i, b := range buckets {
			out = append(out, NewRecord(accountSid, currency, c, b, sums[i]))
		}
	}
	return out
}
