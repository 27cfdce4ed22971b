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

// CheckRollups recounts the whole ledger and returns every daily or monthly
// rollup row that disagrees with it (at most limit of them). The ledger is
// the truth a rollup can always be rebuilt from.
func (s *Store) CheckRollups(ctx context.Context, limit int) ([]RollupMismatch, error) {
	month := "CAST(date_trunc('month', day) AS date)"
	if s.dialect == SQLite {
		month = "strftime('%Y-%m-01', day)"
	}
	var out []RollupMismatch
	for _, t := range []struct{ table, period, expr string }{
		{"usage_daily", "day", "day"},
		{"usage_monthly", "month", month},
	} {
		var rows []struct {
			AccountSid, Period, Category string
			RC, RU, RP, LC, LU, LP       *int64
		}
		// Periods compare as YYYY-MM-DD text on both databases.
		q := fmt.Sprintf(`
			SELECT COALESCE(r.account_sid, l.account_sid) AS account_sid,
			       CAST(COALESCE(r.%[2]s, l.period) AS TEXT) AS period,
			       COALESCE(r.category, l.category) AS category,
			       r.count AS rc, r.usage_micros AS ru, r.price_micros AS rp,
			       l.count AS lc, l.usage_micros AS lu, l.price_micros AS lp
			FROM %[1]s r
			FULL OUTER JOIN (
				SELECT account_sid, %[3]s AS period, category,
				       CAST(SUM(count) AS BIGINT) AS count, CAST(SUM(usage_micros) AS BIGINT) AS usage_micros, CAST(SUM(price_micros) AS BIGINT) AS price_micros
				FROM usage_events GROUP BY account_sid, %[3]s, category
			) l ON l.account_sid = r.account_sid AND l.period = r.%[2]s AND l.category = r.category
			WHERE r.count IS DISTINCT FROM l.count OR r.usage_micros IS DISTINCT FROM l.usage_micros OR r.price_micros IS DISTINCT FROM l.price_micros
			LIMIT ?`, t.table, t.period, t.expr)
		if err := s.db.WithContext(ctx).Raw(q, limit).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("check %s: %w", t.table, err)
		}
		for _, r := range rows {
			out = append(out, RollupMismatch{Table: t.table, AccountSid: r.AccountSid, Period: r.Period, Category: r.Category,
				Rollup: [3]*int64{r.RC, r.RU, r.RP}, Ledger: [3]*int64{r.LC, r.LU, r.LP}})
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
