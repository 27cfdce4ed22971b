package repo

import (
	"context"
	"fmt"

	"github.com/evovoice/billing/models"
)

// RollupMismatch is a rollup row that differs from a recount of the ledger.
type RollupMismatch struct {
	Table      string
	AccountSid string
	Period     string
	Category   string
	Rollup     [3]*int64 // count, usage, price as stored (nil: no row)
	Ledger     [3]*int64 // the same recounted from events (nil: no events)
}

func (m RollupMismatch) String() string {
	show := func(v [3]*int64) string {
		if v[0] == nil {
			return "none"
		}
		return fmt.Sprintf("count=%d usage=%d price=%d", *v[0], *v[1], *v[2])
	}
	return fmt.Sprintf("%s %s %s %s: rollup %s, ledger %s", m.Table, m.AccountSid, m.Period, m.Category, show(m.Rollup), show(m.Ledger))
}

// CheckRollups recounts the whole ledger and returns every rollup row, of
// any tier, that disagrees with it (at most limit of them per tier). The
// ledger is the truth a rollup can always be rebuilt from.
func (s *Store) CheckRollups(ctx context.Context, limit int) ([]RollupMismatch, error) {
	periodOf := map[string]string{
		"day":   "day",
		"month": "CAST(date_trunc('month', day) AS date)",
		"year":  "CAST(date_trunc('year', day) AS date)",
	}
	if s.dialect == SQLite {
		periodOf["month"], periodOf["year"] = "strftime('%Y-%m-01', day)", "strftime('%Y-01-01', day)"
	}
	var out []RollupMismatch
	for _, t := range rollupTiers() {
		// A total tier has one row per account and period, all categories
		// summed: both sides group under the empty category.
		category := "category"
		if t.total {
			category = "''"
		}
		var rows []struct {
			AccountSid, Period, Category string
			Rollups, Events              int64
			RC, RU, RP, LC, LU, LP       int64
		}
		// Rollup rows and events side by side, grouped by rollup key: one
		// aggregate rather than a full outer join, which SQLite runs as a
		// nested loop. A key is right when it has exactly one rollup row if
		// and only if it has events, with the same sums.
		q := fmt.Sprintf(`
			SELECT account_sid, CAST(period AS TEXT) AS period, category,
			       SUM(r) AS rollups, SUM(e) AS events,
			       CAST(SUM(rc) AS BIGINT) AS rc, CAST(SUM(ru) AS BIGINT) AS ru, CAST(SUM(rp) AS BIGINT) AS rp,
			       CAST(SUM(lc) AS BIGINT) AS lc, CAST(SUM(lu) AS BIGINT) AS lu, CAST(SUM(lp) AS BIGINT) AS lp
			FROM (
				SELECT account_sid, %[2]s AS period, %[4]s AS category, 1 AS r, 0 AS e,
				       count AS rc, usage_micros AS ru, price_micros AS rp, 0 AS lc, 0 AS lu, 0 AS lp
				FROM %[1]s
				UNION ALL
				SELECT account_sid, %[3]s, %[4]s, 0, 1, 0, 0, 0, count, usage_micros, price_micros
				FROM usage_events
			) u
			GROUP BY account_sid, period, category
			HAVING SUM(r) <> CASE WHEN SUM(e) > 0 THEN 1 ELSE 0 END
			    OR SUM(rc) <> SUM(lc) OR SUM(ru) <> SUM(lu) OR SUM(rp) <> SUM(lp)
			LIMIT ?`, t.table, t.period, periodOf[t.period], category)
		if err := s.db.WithContext(ctx).Raw(q, limit).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("check %s: %w", t.table, err)
		}
		for _, r := range rows {
			m := RollupMismatch{Table: t.table, AccountSid: r.AccountSid, Period: r.Period, Category: r.Category}
			if r.Rollups > 0 {
				m.Rollup = [3]*int64{&r.RC, &r.RU, &r.RP}
			}
			if r.Events > 0 {
				m.Ledger = [3]*int64{&r.LC, &r.LU, &r.LP}
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// LedgerTotals counts the ledger's events whose id starts with prefix and
// sums them, so that a load test can compare what was stored with what it
// sent. It scans the whole ledger: a check, not a query for the service.
func (s *Store) LedgerTotals(ctx context.Context, prefix string) (events int64, sums models.Sums, err error) {
	var r struct{ N, Count, Usage, Price int64 }
	err = s.db.WithContext(ctx).Raw(`
		SELECT COUNT(*) AS n, CAST(COALESCE(SUM(count), 0) AS BIGINT) AS count,
		       CAST(COALESCE(SUM(usage_micros), 0) AS BIGINT) AS usage, CAST(COALESCE(SUM(price_micros), 0) AS BIGINT) AS price
		FROM usage_events WHERE substr(event_id, 1, ?) = ?`, len(prefix), prefix).Scan(&r).Error
	return r.N, models.Sums{Count: r.Count, Usage: models.Micros(r.Usage), Price: models.Micros(r.Price)}, err
}
