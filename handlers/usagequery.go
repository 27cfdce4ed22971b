package handlers

import (
	"context"

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

// runUsageQuery resolves the defaults of a query (EndDate today; StartDate the
// account's creation day, or its first usage day if earlier) and reads the
// rollups.
func (a *API) runUsageQuery(ctx context.Context, q usageQuery) (usageAnswer, error) {
	accounts := []string{q.account.Sid}
	if q.includeSubaccounts {
		var err error
		if accounts, err = a.store.Descendants(ctx, q.account.Sid); err != nil {
			return usageAnswer{}, err
		}
	}

	period := models.DateRange{End: a.today()}
	if q.end != nil {
		period.End = *q.end
	}
	if q.start != nil {
		period.Start = *q.start
	} else {
		period.Start = models.DateOf(q.account.CreatedAt)
		first, ok := models.Date(0), false
		if q.firstUsageKnown && !q.includeSubaccounts {
			if ok = q.firstUsage != nil; ok {
				first = *q.firstUsage
			}
		} else {
			var err error
			if first, ok, err = a.store.FirstUsageDay(ctx, accounts); err != nil {
				return usageAnswer{}, err
			}
		}
		if ok && first < period.Start {
			period.Start = first
		}
		// A default start never makes a range backwards: an EndDate before the
		// account existed asks for that one day.
		period.Start = min(period.Start, period.End)
	}

	cats := models.Categories()
	if q.category != nil {
		cats = []models.Category{*q.category}
	}
	uq := models.UsageQuery{Accounts: accounts, Range: period, Categories: storedCategories(q.category)}
	currency := q.account.Currency

	if q.granularity == models.GranularityAll {
		totals, err := a.store.UsageTotals(ctx, uq)
		if err != nil {
			return usageAnswer{}, err
		}
		return usageAnswer{records: models.RangeRecords(q.account.Sid, currency, cats, period, totals), period: period}, nil
	}
	byPeriod, err := a.store.UsageByPeriod(ctx, uq, q.granularity)
	if err != nil {
		return usageAnswer{}, err
	}
	buckets := period.Buckets(q.granularity)
	return usageAnswer{records: models.BucketRecords(q.account.Sid, currency, cats, q.category != nil, buckets, byPeriod), period: period}, nil
}

// storedCategories are the categories whose rollups a filter needs: the
// category and its descendants; nil (all) for no filter or totalprice.
func storedCategories(c *models.Category) []string {
	if c == nil || c.Name == models.TotalPrice {
		return nil
	}
	return models.Subtree(c.Name)
}
