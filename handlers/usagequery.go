package handlers

import (
	"context"
	"fmt"

	"github.com/evovoice/billing/models"
)

// usageQuery is a question about one account's usage, shared by every API
// face once it has bound and authorized its request.
type usageQuery struct {
	account            models.Account
	includeSubaccounts bool
	start, end         *models.Date     // as requested; nil takes the default
	category           *models.Category // nil lists every category
	granularity        models.Granularity
	// The account's own first usage day when the caller already read it
	// (firstUsageKnown; nil: no usage), to spare a query.
	firstUsage      *models.Date
	firstUsageKnown bool
}

// usageAnswer is the records of a usage query and the range they cover.
type usageAnswer struct {
	records []models.UsageRecord
	period  models.DateRange
}

// runUsageQuery answers a query whole.
func (a *API) runUsageQuery(ctx context.Context, q usageQuery) (usageAnswer, error) {
	plan, err := a.planUsageQuery(ctx, q)
	if err != nil {
		return usageAnswer{}, err
	}
	records, err := plan.records(ctx, 0, plan.len())
	if err != nil {
		return usageAnswer{}, err
	}
	return usageAnswer{records: records, period: plan.period}, nil
}

// usagePlan is a resolved usage query: the accounts and range it covers and
// the categories and periods it lists. Its records are ordered by category
// (catalog order), then period; they are read a window at a time, so that a
// page of a long daily answer costs what it shows.
type usagePlan struct {
	store       Store
	account     models.Account
	accounts    []string
	period      models.DateRange
	granularity models.Granularity
	cats        []models.Category // listed, in catalog order
	// buckets is how many periods each category has (one for GranularityAll);
	// period.Bucket computes them, so that the plan's size does not grow
	// with the range: 0001-01-01..9999-12-31 by day is 3,652,059 buckets,
	// which as a slice cost 29 MB (58 MB while it grew) per request.
	buckets int
	totals  models.Totals // range totals, read while planning a range query
}

// planUsageQuery resolves the defaults of a query (EndDate today; StartDate
// the account's creation day, or its first usage day if earlier) and decides
// which categories it lists. A range query reads its totals here; a bucketed
// one reads only the range totals that decide which categories have usage.
func (a *API) planUsageQuery(ctx context.Context, q usageQuery) (*usagePlan, error) {
	p := &usagePlan{store: a.store, account: q.account, accounts: []string{q.account.Sid}, granularity: q.granularity}
	if q.includeSubaccounts {
		var err error
		if p.accounts, err = a.store.Descendants(ctx, q.account.Sid); err != nil {
			return nil, err
		}
	}

	p.period = models.DateRange{End: a.today()}
	if q.end != nil {
		p.period.End = *q.end
	}
	if q.start != nil {
		p.period.Start = *q.start
	} else {
		p.period.Start = models.DateOf(q.account.CreatedAt)
		first, ok := models.Date(0), false
		if q.firstUsageKnown && !q.includeSubaccounts {
			if ok = q.firstUsage != nil; ok {
				first = *q.firstUsage
			}
		} else {
			var err error
			if first, ok, err = a.store.FirstUsageDay(ctx, p.accounts); err != nil {
				return nil, err
			}
		}
		if ok && first < p.period.Start {
			p.period.Start = first
		}
		// A default start never makes a range backwards: an EndDate before the
		// account existed asks for that one day.
		p.period.Start = min(p.period.Start, p.period.End)
	}
	if p.period.Start > p.period.End {
		// Only a StartDate after the default EndDate (today) gets here.
		return nil, badRequest("StartDate", models.CodeInvalid, fmt.Sprintf("StartDate %s is after EndDate %s", p.period.Start, p.period.End))
	}

	cats := models.Categories()
	if q.category != nil {
		cats = []models.Category{*q.category}
	}
	p.cats, p.buckets = cats, p.period.BucketCount(q.granularity)
	if q.granularity == models.GranularityAll || q.category == nil {
		var err error
		uq := models.UsageQuery{Accounts: p.accounts, Range: p.period, Categories: models.StoredCategories(cats)}
		if p.totals, err = a.store.UsageTotals(ctx, uq); err != nil {
			return nil, err
		}
	}
	if q.granularity != models.GranularityAll {
		p.cats = models.ListedCategories(cats, q.category != nil, p.totals)
	}
	return p, nil
}

// len is the number of records in the whole answer.
func (p *usagePlan) len() int { return len(p.cats) * p.buckets }

// key is what orders record i: its category's catalog index and its period's start.
func (p *usagePlan) key(i int) (category int, start models.Date) {
	index, _ := models.CategoryIndex(p.cats[i/p.buckets].Name)
	return index, p.period.Bucket(p.granularity, i%p.buckets).Start
}

// countThrough is how many records sort at or before a key.
func (p *usagePlan) countThrough(category int, start models.Date) int {
	count := 0
	for _, c := range p.cats {
		index, _ := models.CategoryIndex(c.Name)
		switch {
		case index < category:
			count += p.buckets
		case index == category && start >= p.period.Start:
			// The buckets starting at or before start: those up to the one
			// holding it (each bucket starts on or before the days it holds).
			count += min(p.period.BucketIndex(p.granularity, min(start, p.period.End))+1, p.buckets)
		}
	}
	return count
}

// records reads the records at positions [from, to) of the answer.
func (p *usagePlan) records(ctx context.Context, from, to int) ([]models.UsageRecord, error) {
	to = min(to, p.len())
	if from >= to {
		return []models.UsageRecord{}, nil
	}
	sid, currency := p.account.Sid, p.account.Currency
	if p.granularity == models.GranularityAll {
		return models.RangeRecords(sid, currency, p.cats[from:to], p.period, p.totals), nil
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
			Range:      models.DateRange{Start: p.period.Bucket(p.granularity, b0).Start, End: p.period.Bucket(p.granularity, b1-1).End},
			Categories: models.StoredCategories(cats),
		}
		byPeriod, err := p.store.UsageByPeriod(ctx, uq, p.granularity)
		if err != nil {
			return nil, err
		}
		for _, r := range group {
			for i := b0; i < b1; i++ {
				b := p.period.Bucket(p.granularity, i)
				out = append(out, models.NewRecord(sid, currency, r.cat, b, models.Rollup(r.cat, byPeriod[b.Start])))
			}
		}
	}
	return out, nil
}
