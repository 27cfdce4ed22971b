package repo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/evovoice/billing/models"
)

// listAccountUsage answers the accounts overview: every account the reader
// may read that the query selects, with its figures of one category over the
// range and the previous period, ordered and paged, with totals per currency
// of all of them. ErrOutOfScope when ParentId is not readable (ErrNotFound
// for a reader of every account when it does not exist).
//
// The figures of all accounts come from one statement, whatever their
// number: a recursive walk of the parent links for the reader's scope and
// for each row's subtree, joined to one group-by over the rollups of both
// periods (see overviewSpans for which rows are read). ParentId
// costs a lineage probe first, a default StartDate one more statement.
// Ordering and paging happen here, not in SQL: the totals and the count need
// every matching row anyway, and the change ranks as the exact decimal the
// answer shows, alike on both databases.
func (s *Store) listAccountUsage(ctx context.Context, r models.Readable, q models.AccountUsageQuery) (models.AccountUsagePage, error) {
	if q.ParentID != "" {
		lineage, err := s.Lineage(ctx, q.ParentID)
		switch {
		case errors.Is(err, ErrNotFound) && r.Every:
			return models.AccountUsagePage{}, ErrNotFound
		case errors.Is(err, ErrNotFound):
			return models.AccountUsagePage{}, models.ErrOutOfScope
		case err != nil:
			return models.AccountUsagePage{}, err
		case !r.Every && !slices.ContainsFunc(lineage, func(sid string) bool { return slices.Contains(r.Roots, sid) }):
			return models.AccountUsagePage{}, models.ErrOutOfScope
		}
	}
	period := models.DateRange{Start: q.End, End: q.End}
	if q.Start != nil {
		period.Start = *q.Start
	}
	if !r.Every && len(r.Roots) == 0 {
		return models.BuildAccountUsagePage(q, period, nil), nil
	}
	with, args := s.overviewAccounts(r, q)
	if q.Start == nil {
		start, err := s.overviewDefaultStart(ctx, with, args, q.End)
		if err != nil {
			return models.AccountUsagePage{}, err
		}
		period.Start = start
	}
	// Every account listed: no need to narrow the rollups' scan to members.
	everyAccount := r.Every && q.ParentID == "" && q.NameFilter == ""
	rows, err := s.overviewRows(ctx, with, args, q.Category, period, everyAccount)
	if err != nil {
		return models.AccountUsagePage{}, err
	}
	return models.BuildAccountUsagePage(q, period, rows), nil
}

// overviewAccounts is the WITH clause naming the accounts of an overview:
// listed(sid), its rows, and members(root, sid, currency), each row's
// account with, under IncludeSubaccounts, its subtree. A subtree stops at a
// sub-account in another currency, which heads a row of its own when the
// listing is the whole scope, so that no row adds dollars to euros and no
// account is counted in two rows.
func (s *Store) overviewAccounts(r models.Readable, q models.AccountUsageQuery) (string, []any) {
	var (
		b     strings.Builder
		args  []any
		conds []string
	)
	b.WriteString("WITH RECURSIVE ")
	inScope := "true"
	if !r.Every {
		// UNION, not UNION ALL: a manager of a parent and of its child sees
		// the child once.
		cond, more := s.anyOf("sid", r.Roots)
		b.WriteString(`visible(sid) AS (
			SELECT sid FROM accounts WHERE ` + cond + `
			UNION
			SELECT a.sid FROM accounts a JOIN visible v ON a.parent_sid = v.sid
		), `)
		args = append(args, more...)
		conds = append(conds, "l.sid IN (SELECT sid FROM visible)")
		inScope = "p.sid IN (SELECT sid FROM visible)"
	}
	switch {
	case q.ParentID != "":
		conds = append(conds, "l.parent_sid = ?")
		args = append(args, q.ParentID)
	case q.IncludeSubaccounts:
		// The heads of the readable forest: their subtrees cover it once.
		conds = append(conds, `NOT EXISTS (SELECT 1 FROM accounts p WHERE p.sid = l.parent_sid AND p.currency = l.currency AND `+inScope+`)`)
	}
	if q.NameFilter != "" {
		// ListAccounts' NameFilter: name or SID contains it, in any letter case.
		pattern := "%" + escapeLike(strings.ToLower(q.NameFilter)) + "%"
		conds = append(conds, `(lower(l.name) LIKE ? ESCAPE '\' OR lower(l.sid) LIKE ? ESCAPE '\')`)
		args = append(args, pattern, pattern)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	b.WriteString("listed(sid) AS (SELECT l.sid FROM accounts l" + where + "), ")
	b.WriteString("members(root, sid, currency) AS (SELECT a.sid, a.sid, a.currency FROM listed l JOIN accounts a ON a.sid = l.sid")
	if q.IncludeSubaccounts {
		b.WriteString(" UNION ALL SELECT m.root, a.sid, a.currency FROM members m JOIN accounts a ON a.parent_sid = m.sid AND a.currency = m.currency")
	}
	b.WriteString(") ")
	return b.String(), args
}

// overviewDefaultStart is ListUsageRecords' default StartDate over the
// overview's accounts: the earliest creation day, or first usage day if
// earlier, of any member; never after end.
func (s *Store) overviewDefaultStart(ctx context.Context, with string, args []any, end models.Date) (models.Date, error) {
	// One index probe per account for its first usage day.
	rows, err := s.query(ctx, with+`SELECT MIN(a.created_at), MIN((SELECT MIN(d.day) FROM usage_daily d WHERE d.account_sid = a.sid))
		FROM members m JOIN accounts a ON a.sid = m.sid`, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var created, first sql.Null[models.Date]
	if rows.Next() {
		if err := rows.Scan(&created, &first); err != nil {
			return 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	start := end
	if created.Valid {
		start = min(start, created.V)
	}
	if first.Valid {
		start = min(start, first.V)
	}
	return start, nil
}

// weights say how a rollup row counts towards the period (cur) and the
// previous period (prev): +1, -1 or 0 each.
type weights struct{ cur, prev int }

// span is a stretch of one rollup tier, first days of its periods, whose
// rows all count with the same weights.
type span struct {
	r models.DateRange
	w weights
}

// overviewSpans decides which rollup rows the two periods read, and how
// each counts, from the yearly, monthly and daily tiers. Every day of a
// period counts once towards it; then, month by month and year by year, a
// coarser row stands for its days (months) when that reads fewer rows: the
// month with the weight most of its days have, less or plus the days that
// differ. So the month to date is the month less its few days left, a year
// of whole months whatever its alignment is about two yearly rows and a few
// monthly ones, and the days the periods share are read once, counting
// towards one and against the other.
func overviewSpans(cur, prev models.DateRange) (years, months, days []span) {
	dayW := map[models.Date]weights{}
	for _, p := range []struct {
		r models.DateRange
		w weights
	}{{cur, weights{cur: 1}}, {prev, weights{prev: 1}}} {
		for d := p.r.Start; d <= p.r.End; d++ {
			v := dayW[d]
			v.cur, v.prev = v.cur+p.w.cur, v.prev+p.w.prev
			dayW[d] = v
		}
	}
	monthW := fold(dayW, models.Date.MonthStart, func(m models.Date) models.Date { return m.MonthEnd() }, nextDay)
	yearW := fold(monthW, models.Date.YearStart, func(y models.Date) models.Date { return y.YearEnd().MonthStart() }, nextMonth)
	return coalesce(yearW, nextYear), coalesce(monthW, nextMonth), coalesce(dayW, nextDay)
}

// nextDay, nextMonth and nextYear step from a period's first day to the next's.
func nextDay(d models.Date) models.Date   { return d + 1 }
func nextMonth(d models.Date) models.Date { return d.MonthEnd() + 1 }
func nextYear(d models.Date) models.Date  { return d.YearEnd() + 1 }

// fold moves weights of fine periods (days, months) to the coarse period
// holding them (month, year) where that leaves fewer rows to read: the
// coarse row takes the weight most of its fine periods have, and each fine
// period keeps the difference. parent is the coarse period of a fine one,
// last its last fine period, next the fine period after one.
func fold(fine map[models.Date]weights, parent, last, next func(models.Date) models.Date) map[models.Date]weights {
	tally := map[models.Date]map[weights]int{}
	for d, w := range fine {
		if w == (weights{}) {
			continue
		}
		p := parent(d)
		if tally[p] == nil {
			tally[p] = map[weights]int{}
		}
		tally[p][w]++
	}
	coarse := map[models.Date]weights{}
	for p, counts := range tally {
		units, nonzero := 0, 0
		for d := p; d <= last(p); d = next(d) {
			units++
		}
		var best weights
		for w, n := range counts {
			nonzero += n
			// Ties go to the smaller weights, so that the statement is the
			// same from one call to the next.
			if n > counts[best] || n == counts[best] && (w.cur < best.cur || w.cur == best.cur && w.prev < best.prev) {
				best = w
			}
		}
		if 1+units-counts[best] >= nonzero {
			continue
		}
		coarse[p] = best
		for d := p; d <= last(p); d = next(d) {
			v := fine[d]
			v.cur, v.prev = v.cur-best.cur, v.prev-best.prev
			fine[d] = v
		}
	}
	return coarse
}

// coalesce joins consecutive periods of equal weights into spans, leaving
// out periods that count for nothing.
func coalesce(m map[models.Date]weights, next func(models.Date) models.Date) []span {
	var out []span
	for _, d := range slices.Sorted(maps.Keys(m)) {
		w := m[d]
		if w == (weights{}) {
			continue
		}
		if n := len(out); n > 0 && out[n-1].w == w && next(out[n-1].r.End) == d {
			out[n-1].r.End = d
			continue
		}
		out = append(out, span{models.DateRange{Start: d, End: d}, w})
	}
	return out
}

// overviewStatement reads every listed account with its figures over the
// period and the previous period: count, usage and price of each.
func (s *Store) overviewStatement(with string, args []any, c models.Category, period models.DateRange, everyAccount bool) (string, []any) {
	var b strings.Builder
	b.WriteString(with)
	args = slices.Clone(args)
	// Sums by account alone, the periods told apart inside them: grouping by
	// a computed period too made Postgres guess a group per row (183,000 for
	// 1,600) and sort on disk instead of hashing.
	b.WriteString(`, per(account_sid, c0, u0, p0, c1, u1, p1) AS (SELECT account_sid,
		CAST(SUM(wc * count) AS BIGINT), CAST(SUM(wc * usage_micros) AS BIGINT), CAST(SUM(wc * price_micros) AS BIGINT),
		CAST(SUM(wp * count) AS BIGINT), CAST(SUM(wp * usage_micros) AS BIGINT), CAST(SUM(wp * price_micros) AS BIGINT)
		FROM (`)
	cats := models.StoredCategories([]models.Category{c})
	var catCond string
	var catArgs []any
	if cats != nil {
		cond, more := s.anyOf("category", cats)
		catCond, catArgs = " AND "+cond, more
	}
	members := ""
	if !everyAccount {
		members = " AND account_sid IN (SELECT sid FROM members)"
	}
	years, months, days := overviewSpans(period, models.PreviousPeriod(period))
	// The yearly and account total tiers are keyed period first: one
	// index-only scan of the periods listed. The daily and monthly tiers
	// are keyed by account first: read account by account.
	type read struct {
		table, period string
		spans         []span
		next          func(models.Date) models.Date
		periodFirst   bool
	}
	reads := []read{{"usage_yearly", "year", years, nextYear, true}, {"usage_monthly", "month", months, nextMonth, false}, {"usage_daily", "day", days, nextDay, false}}
	if cats == nil {
		// totalprice sums every category: the account totals, one row per
		// account and period instead of one per category.
		reads[0].table, reads[1].table, reads[1].periodFirst = "usage_yearly_total", "usage_monthly_total", true
	}
	union := ""
	for _, t := range reads {
		cat, more := catCond, catArgs
		if strings.HasSuffix(t.table, "_total") {
			cat, more = "", nil
		}
		if t.periodFirst && len(t.spans) > 0 {
			// Each span's weights picked by a CASE (small integers, inline).
			var in, wc, wp strings.Builder
			var inArgs, caseArgs []any
			for _, sp := range t.spans {
				fmt.Fprintf(&wc, " WHEN %s BETWEEN ? AND ? THEN %d", t.period, sp.w.cur)
				fmt.Fprintf(&wp, " WHEN %s BETWEEN ? AND ? THEN %d", t.period, sp.w.prev)
				caseArgs = append(caseArgs, sp.r.Start, sp.r.End)
				for d := sp.r.Start; d <= sp.r.End; d = t.next(d) {
					if len(inArgs) > 0 {
						in.WriteString(", ")
					}
					in.WriteString("?")
					inArgs = append(inArgs, d)
				}
			}
			b.WriteString(union + "SELECT account_sid, CASE" + wc.String() + " ELSE 0 END AS wc, CASE" + wp.String() + " ELSE 0 END AS wp, count, usage_micros, price_micros FROM " + t.table + " WHERE " + t.period + " IN (" + in.String() + ")" + cat + members)
			args = append(append(append(append(args, caseArgs...), caseArgs...), inArgs...), more...)
			union = " UNION ALL "
			continue
		}
		for _, sp := range t.spans {
			b.WriteString(union)
			union = " UNION ALL "
			w := fmt.Sprintf("%d AS wc, %d AS wp", sp.w.cur, sp.w.prev)
			if s.dialect == Postgres {
				// Along the primary key, account by account: a range of
				// periods over every account is otherwise a scan of the
				// whole rollup (3.7 million daily rows in the bench data).
				b.WriteString("SELECT m.sid AS account_sid, " + w + ", d.count, d.usage_micros, d.price_micros FROM members m CROSS JOIN LATERAL (SELECT count, usage_micros, price_micros FROM " + t.table + " WHERE account_sid = m.sid AND " + t.period + " BETWEEN ? AND ?" + cat + ") d")
				args = append(append(args, sp.r.Start, sp.r.End), more...)
				continue
			}
			b.WriteString("SELECT account_sid, " + w + ", count, usage_micros, price_micros FROM " + t.table + " WHERE " + t.period + " BETWEEN ? AND ?" + cat + members)
			args = append(append(args, sp.r.Start, sp.r.End), more...)
		}
	}
	if union == "" {
		// Nothing to read (a range whose days all cancel out): no rows.
		b.WriteString("SELECT account_sid, 0 AS wc, 0 AS wp, count, usage_micros, price_micros FROM usage_monthly WHERE false")
	}
	b.WriteString(`) u GROUP BY account_sid)
		SELECT a.sid, a.name, a.parent_sid, a.currency,
			CAST(COALESCE(SUM(per.c0), 0) AS BIGINT), CAST(COALESCE(SUM(per.u0), 0) AS BIGINT), CAST(COALESCE(SUM(per.p0), 0) AS BIGINT),
			CAST(COALESCE(SUM(per.c1), 0) AS BIGINT), CAST(COALESCE(SUM(per.u1), 0) AS BIGINT), CAST(COALESCE(SUM(per.p1), 0) AS BIGINT)
		FROM members m JOIN accounts a ON a.sid = m.root LEFT JOIN per ON per.account_sid = m.sid
		GROUP BY a.sid, a.name, a.parent_sid, a.currency`)
	return b.String(), args
}

// overviewRows reads every listed account with its figures over the period
// (Current) and the previous period (Previous).
func (s *Store) overviewRows(ctx context.Context, with string, args []any, c models.Category, period models.DateRange, everyAccount bool) ([]models.AccountUsageRow, error) {
	q, args := s.overviewStatement(with, args, c, period, everyAccount)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []models.AccountUsageRow
	for rows.Next() {
		var (
			r         models.AccountUsageRow
			parent    sql.NullString
			cu, pu    int64
			cp, pp    int64
			cur, prev = &r.Current, &r.Previous
		)
		if err := rows.Scan(&r.Sid, &r.Name, &parent, &r.Currency, &cur.Count, &cu, &cp, &prev.Count, &pu, &pp); err != nil {
			return nil, err
		}
		r.ParentSid = parent.String
		cur.Usage, cur.Price, prev.Usage, prev.Price = models.Micros(cu), models.Micros(cp), models.Micros(pu), models.Micros(pp)
		out = append(out, r)
	}
	return out, rows.Err()
}
