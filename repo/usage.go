package repo

import (
	"context"
	"database/sql"
	"strings"

	"github.com/evovoice/billing/models"
)

// segments splits a range into whole calendar months, read from the monthly
// rollup, and the days before and after them, read from the daily rollup.
type segments struct {
	months *models.DateRange // first days of the first and last whole month
	days   []models.DateRange
}

func split(r models.DateRange) segments {
	firstWhole := r.Start
	if firstWhole != firstWhole.MonthStart() {
		firstWhole = firstWhole.MonthEnd() + 1
	}
	lastWhole := r.End
	if lastWhole != lastWhole.MonthEnd() {
		lastWhole = lastWhole.MonthStart() - 1
	}
	if firstWhole > lastWhole {
		return segments{days: []models.DateRange{r}}
	}
	seg := segments{months: &models.DateRange{Start: firstWhole, End: lastWhole.MonthStart()}}
	if r.Start < firstWhole {
		seg.days = append(seg.days, models.DateRange{Start: r.Start, End: firstWhole - 1})
	}
	if lastWhole < r.End {
		seg.days = append(seg.days, models.DateRange{Start: lastWhole + 1, End: r.End})
	}
	return seg
}

// sumRow is one aggregated row of a usage query.
type sumRow struct {
	Period   models.Date
	Category string
	Count    int64
	Usage    int64
	Price    int64
}

func (r sumRow) sums() models.Sums {
	return models.Sums{Count: r.Count, Usage: models.Micros(r.Usage), Price: models.Micros(r.Price)}
}

// filter appends the account and category conditions shared by every select.
func (s *Store) filter(q models.UsageQuery, b *strings.Builder, args []any) []any {
	cond, more := s.anyOf("account_sid", q.Accounts)
	b.WriteString(" " + cond)
	args = append(args, more...)
	if len(q.Categories) > 0 {
		cond, more := s.anyOf("category", q.Categories)
		b.WriteString(" AND " + cond)
		args = append(args, more...)
	}
	return args
}

// sumRows reads rows of (category, count, usage, price), preceded by the
// period when withPeriod is set.
func (s *Store) sumRows(ctx context.Context, q string, args []any, withPeriod bool, each func(sumRow)) error {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var r sumRow
	dest := []any{&r.Category, &r.Count, &r.Usage, &r.Price}
	if withPeriod {
		dest = append([]any{&r.Period}, dest...)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		each(r)
	}
	return rows.Err()
}

// usageTotals sums the usage of the query's accounts over its whole range, per
// stored category: whole months from the monthly rollup, the rest by day.
func (s *Store) usageTotals(ctx context.Context, q models.UsageQuery) (models.Totals, error) {
	seg := split(q.Range)
	var b strings.Builder
	var args []any
	b.WriteString("SELECT category, CAST(SUM(count) AS BIGINT) AS count, CAST(SUM(usage_micros) AS BIGINT) AS usage, CAST(SUM(price_micros) AS BIGINT) AS price FROM (")
	union := ""
	if seg.months != nil {
		b.WriteString("SELECT category, count, usage_micros, price_micros FROM usage_monthly WHERE")
		args = s.filter(q, &b, args)
		b.WriteString(" AND month BETWEEN ? AND ?")
		args = append(args, seg.months.Start, seg.months.End)
		union = " UNION ALL "
	}
	for _, d := range seg.days {
		b.WriteString(union + "SELECT category, count, usage_micros, price_micros FROM usage_daily WHERE")
		args = s.filter(q, &b, args)
		b.WriteString(" AND day BETWEEN ? AND ?")
		args = append(args, d.Start, d.End)
		union = " UNION ALL "
	}
	b.WriteString(") u GROUP BY category")

	out := models.Totals{}
	err := s.sumRows(ctx, b.String(), args, false, func(r sumRow) { out[r.Category] = r.sums() })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// usageByPeriod sums the usage of the query's accounts per bucket of the
// granularity (day, month or year; buckets clipped to the range) and category.
func (s *Store) usageByPeriod(ctx context.Context, q models.UsageQuery, g models.Granularity) (models.PeriodTotals, error) {
	var b strings.Builder
	var args []any
	union := ""
	// Daily buckets come from the daily rollup alone; months and years sum
	// whole months from the monthly rollup and clipped ends by day.
	seg := segments{days: []models.DateRange{q.Range}}
	if g != models.GranularityDay {
		seg = split(q.Range)
	}
	if seg.months != nil {
		b.WriteString("SELECT month AS period, category, CAST(SUM(count) AS BIGINT) AS count, CAST(SUM(usage_micros) AS BIGINT) AS usage, CAST(SUM(price_micros) AS BIGINT) AS price FROM usage_monthly WHERE")
		args = s.filter(q, &b, args)
		b.WriteString(" AND month BETWEEN ? AND ? GROUP BY month, category")
		args = append(args, seg.months.Start, seg.months.End)
		union = " UNION ALL "
	}
	for _, d := range seg.days {
		b.WriteString(union + "SELECT day AS period, category, CAST(SUM(count) AS BIGINT) AS count, CAST(SUM(usage_micros) AS BIGINT) AS usage, CAST(SUM(price_micros) AS BIGINT) AS price FROM usage_daily WHERE")
		args = s.filter(q, &b, args)
		b.WriteString(" AND day BETWEEN ? AND ? GROUP BY day, category")
		args = append(args, d.Start, d.End)
		union = " UNION ALL "
	}

	out := models.PeriodTotals{}
	err := s.sumRows(ctx, b.String(), args, true, func(r sumRow) {
		b := q.Range.BucketStart(g, r.Period)
		t := out[b]
		if t == nil {
			t = models.Totals{}
			out[b] = t
		}
		sum := t[r.Category]
		sum.Add(r.sums())
		t[r.Category] = sum
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// firstUsageDay reads FirstUsageDay from the database.
func (s *Store) firstUsageDay(ctx context.Context, accounts []string) (models.Date, bool, error) {
	// One index probe per account rather than a scan of all their rows.
	var first sql.Null[models.Date]
	err := s.db.WithContext(ctx).Raw(`
		SELECT MIN(f) FROM (
			SELECT (SELECT MIN(d.day) FROM usage_daily d WHERE d.account_sid = a.sid) AS f
			FROM accounts a WHERE a.sid IN ?
		) firsts`, accounts).Row().Scan(&first)
	return first.V, first.Valid, err
}
