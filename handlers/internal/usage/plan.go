package usage

import (
	"context"
	"fmt"

	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/evovoice/billing/models"
)

// Query is a question about one authorized account's usage.
type Query struct {
	Account            models.AccountOverview // as Authorize read it
	IncludeSubaccounts bool
	Start, End         *models.Date     // as requested; nil takes the default
	Category           *models.Category // nil lists every category
	Granularity        models.Granularity
}

// Plan is a resolved usage query: the accounts and range it covers and
// the categories and periods it lists. Its records are ordered by category
// (catalog order), then period; they are read a window at a time, so that a
// page of a long daily answer costs what it shows.
type Plan struct {
	store       Store
	account     models.Account
	accounts    []string
	Period      models.DateRange
	granularity models.Granularity
	cats        []models.Category // listed, in catalog order
	// buckets is how many periods each category has (one for GranularityAll);
	// period.Bucket computes them, so that the plan's size does not grow
	// with the range: 0001-01-01..9999-12-31 by day is 3,652,059 buckets,
	// which as a slice cost 29 MB (58 MB while it grew) per request.
	buckets int
	totals  models.Totals // range totals, read while planning a range query
}

// Plan resolves the defaults of a query (EndDate today; StartDate
// the account's creation day, or its first usage day if earlier) and decides
// which categories it lists. A range query reads its totals here; a bucketed
// one reads only the range totals that decide which categories have usage.
func (s *Service) Plan(ctx context.Context, q Query) (*Plan, error) {
	acc := q.Account.Account
	p := &Plan{store: s.store, account: acc, accounts: []string{acc.Sid}, granularity: q.Granularity}
	if q.IncludeSubaccounts {
		var err error
		if p.accounts, err = s.store.Descendants(ctx, acc.Sid); err != nil {
			return nil, err
		}
	}

	p.Period = models.DateRange{End: s.Today()}
	if q.End != nil {
		p.Period.End = *q.End
	}
	if q.Start != nil {
		p.Period.Start = *q.Start
	} else {
		p.Period.Start = models.DateOf(acc.CreatedAt)
		// The account's own first usage day came with its overview; a
		// subtree's needs a query.
		first, ok := models.Date(0), false
		if !q.IncludeSubaccounts {
			if ok = q.Account.FirstUsage != nil; ok {
				first = *q.Account.FirstUsage
			}
		} else {
			var err error
			if first, ok, err = s.store.FirstUsageDay(ctx, p.accounts); err != nil {
				return nil, err
			}
		}
		if ok && first < p.Period.Start {
			p.Period.Start = first
		}
		// A default start never makes a range backwards: an EndDate before the
		// account existed asks for that one day.
		p.Period.Start = min(p.Period.Start, p.Period.End)
	}
	if p.Period.Start > p.Period.End {
		// Only a StartDate after the default EndDate (today) gets here.
		return nil, problem.BadRequest("StartDate", models.CodeInvalid, fmt.Sprintf("StartDate %s is after EndDate %s", p.Period.Start, p.Period.End))
	}

	cats := models.Categories()
	if q.Category != nil {
		cats = []models.Category{*q.Category}
	}
	p.cats, p.buckets = cats, p.Period.BucketCount(q.Granularity)
	if q.Granularity == models.GranularityAll || q.Category == nil {
		var err error
		uq := models.UsageQuery{Accounts: p.accounts, Range: p.Period, Categories: models.StoredCategories(cats)}
		if p.totals, err = s.store.UsageTotals(ctx, uq); err != nil {
			return nil, err
		}
	}
	if q.Granularity != models.GranularityAll {
		p.cats = models.ListedCategories(cats, q.Category != nil, p.totals)
	}
	return p, nil
}

// Len is the number of records in the whole answer.
func (p *Plan) Len() int { return len(p.cats) * p.buckets }

// Key is what orders record i: its category's catalog index and its period's start.
func (p *Plan) Key(i int) (category int, start models.Date) {
	index, _ := models.CategoryIndex(p.cats[i/p.buckets].Name)
	return index, p.Period.Bucket(p.granularity, i%p.buckets).Start
}

// CountThrough is how many records sort at or before a key.
func (p *Plan) CountThrough(category int, start models.Date) int {
	count := 0
	for _, c := range p.cats {
		index, _ := models.CategoryIndex(c.Name)
		switch {
		case index < category:
			count += p.buckets
		case index == category && start >= p.Period.Start:
			// The buckets starting at or before start: those up to the one
			// holding it (each bucket starts on or before the days it holds).
			count += min(p.Period.BucketIndex(p.granularity, min(start, p.Period.End))+1, p.buckets)
		}
	}
	return count
}

// Records reads the records at positions [from, to) of the answer.
func (p *Plan) Records(ctx context.Context, from, to int) ([]models.UsageRecord, error) {
	to = min(to, p.Len())
	if from >= to {
		return []models.UsageRecord{}, nil
	}
	sid, currency := p.account.Sid, p.account.Currency
	if p.granularity == models.GranularityAll {
		return models.RangeRecords(sid, currency, p.cats[from:to], p.Period, p.totals), nil
	}

	// The window covers a run of categories, each over a run of periods: the
	// first and last categories may be partial, those between are whole. Runs
	// with the same periods share one query, so a window costs at most three.
	type run struct {
		cat    models.Category
		b0, b1 int // periods [b0, b1)
	}
	n := p.buckets
	var runs []run
	for i := from / n; i*n < to; i++ {
		runs = append(runs, run{p.cats[i], max(from-i*n, 0), min(to-i*n, n)})
	}
	out := make([]models.UsageRecord, 0, to-from)
	for len(runs) > 0 {
		same := 1
		for same < len(runs) && runs[same].b0 == runs[0].b0 && runs[same].b1 == runs[0].b1 {
			same++
		}
		group := runs[:same]
		runs = runs[same:]
		cats := make([]models.Category, len(group))
		for i, r := range group {
			cats[i] = r.cat
		}
		b0, b1 := group[0].b0, group[0].b1
		uq := models.UsageQuery{
			Accounts:   p.accounts,
			Range:      models.DateRange{Start: p.Period.Bucket(p.granularity, b0).Start, End: p.Period.Bucket(p.granularity, b1-1).End},
			Categories: models.StoredCategories(cats),
		}
		byPeriod, err := p.store.UsageByPeriod(ctx, uq, p.granularity)
		if err != nil {
			return nil, err
		}
		for _, r := range group {
			for i := b0; i < b1; i++ {
				b := p.Period.Bucket(p.granularity, i)
				out = append(out, models.NewRecord(sid, currency, r.cat, b, models.Rollup(r.cat, byPeriod[b.Start])))
			}
		}
	}
	return out, nil
}
