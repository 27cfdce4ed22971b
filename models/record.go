package models

import (
	"slices"

	"github.com/shopspring/decimal"
)

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

// ListedCategories are the categories a bucketed answer lists: the named
// one, or else every category whose figures over the whole range (t) are not
// all zero: a category is listed exactly when its range record is not zero.
func ListedCategories(cats []Category, named bool, t Totals) []Category {
	if named {
		return cats
	}
	var out []Category
	for _, c := range cats {
		if !Rollup(c, t).IsZero() {
			out = append(out, c)
		}
	}
	return out
}

// StoredCategories are the stored categories whose rollups the figures of
// cats need: their subtrees, or nil (every category) when totalprice is
// among them.
func StoredCategories(cats []Category) []string {
	var out []string
	for _, c := range cats {
		if c.Name == TotalPrice {
			return nil
		}
		for _, name := range Subtree(c.Name) {
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}
