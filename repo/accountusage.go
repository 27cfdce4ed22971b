package repo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
// Ordering by a figure (price, usage, count), paging and the totals per
// currency happen in that statement, so that a page of 50 of 1,000
// accounts moves 50 rows and the totals: scanning all 1,000 in Go was half
// of the CPU a request cost. Orders by name and by change rank here, on
// every row: lower-casing and the exact decimal change, alike on both
// databases.
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
	stmt, args := s.overviewStatement(with, args, q, period, everyAccount)
	rows, sums, err := s.overviewRows(ctx, stmt, args)
	if err != nil {
		return models.AccountUsagePage{}, err
	}
	if _, _, ranked := q.SortFigure(); ranked {
		return models.AccountUsagePageOf(q, period, rows, sums), nil
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
	first, last := min(cur.Start, prev.Start), max(cur.End, prev.End)
	weightOf := func(d models.Date) weights {
		var w weights
		if cur.Contains(d) {
			w.cur = 1
		}
		if prev.Contains(d) {
			w.prev = 1
		}
		return w
	}
	// A period inside or outside each range has one weight for all its
	// days and folds whole: only the few periods an end of a range cuts are
	// looked at finer, so that the work grows with the years of a range,
	// not its days (5,000 years took 1.7 s and 500 MB day by day).
	uniform := func(a, b models.Date) bool {
		for _, r := range []models.DateRange{cur, prev} {
			if !(r.Start <= a && b <= r.End) && !(b < r.Start || r.End < a) {
				return false
			}
		}
		return true
	}
	var yearW, monthW, dayW []weighted
	for y := first.YearStart(); y <= last; y = nextYear(y) {
		if uniform(y, y.YearEnd()) {
			yearW = append(yearW, weighted{y, weightOf(y)})
			continue
		}
		var monthsOfYear []weighted
		for m := max(y, first.MonthStart()); m <= min(y.YearEnd(), last); m = nextMonth(m) {
			if uniform(m, m.MonthEnd()) {
				monthsOfYear = append(monthsOfYear, weighted{m, weightOf(m)})
				continue
			}
			var daysOfMonth []weighted
			for d := max(m, first); d <= min(m.MonthEnd(), last); d++ {
				daysOfMonth = append(daysOfMonth, weighted{d, weightOf(d)})
			}
			coarse, left := fold(daysOfMonth, models.Date.MonthStart, func(m models.Date) models.Date { return m.MonthEnd() }, nextDay)
			monthsOfYear = append(monthsOfYear, coarse...)
			dayW = append(dayW, left...)
		}
		coarse, left := fold(monthsOfYear, models.Date.YearStart, func(y models.Date) models.Date { return y.YearEnd().MonthStart() }, nextMonth)
		yearW = append(yearW, coarse...)
		monthW = append(monthW, left...)
	}
	return coalesce(yearW, nextYear), coalesce(monthW, nextMonth), coalesce(dayW, nextDay)
}

// weighted is a period, by its first day, with its weights.
type weighted struct {
	d models.Date
	w weights
}

// nextDay, nextMonth and nextYear step from a period's first day to the next's.
func nextDay(d models.Date) models.Date   { return d + 1 }
func nextMonth(d models.Date) models.Date { return d.MonthEnd() + 1 }
func nextYear(d models.Date) models.Date  { return d.YearEnd() + 1 }

// fold moves weights of fine periods (days, months; in order) to the coarse
// period holding them (month, year) where that leaves fewer rows to read:
// the coarse row takes the weight most of its fine periods have, and each
// fine period keeps the difference. It returns the coarse periods and the
// fine ones left, both in order. parent is the coarse period of a fine one,
// last its last fine period, next the fine period after one.
func fold(fine []weighted, parent, last, next func(models.Date) models.Date) (coarse, left []weighted) {
	for len(fine) > 0 {
		p := parent(fine[0].d)
		n := 1
		for n < len(fine) && parent(fine[n].d) == p {
			n++
		}
		group := fine[:n]
		fine = fine[n:]
		// At most three weights occur: (1,0), (0,1) and, where the periods
		// overlap, (1,1).
		var tally [4]struct {
			w weights
			n int
		}
		kinds, nonzero := 0, 0
		for _, f := range group {
			if f.w == (weights{}) {
				continue
			}
			nonzero++
			i := 0
			for i < kinds && tally[i].w != f.w {
				i++
			}
			if i == kinds {
				tally[i].w, kinds = f.w, kinds+1
			}
			tally[i].n++
		}
		var best weights
		bestN := 0
		for _, t := range tally[:kinds] {
			// Ties go to the smaller weights, so that the statement is the
			// same from one call to the next.
			if t.n > bestN || t.n == bestN && (t.w.cur < best.cur || t.w.cur == best.cur && t.w.prev < best.prev) {
				best, bestN = t.w, t.n
			}
		}
		units := 0
		for d := p; d <= last(p); d = next(d) {
			units++
		}
		if 1+units-bestN >= nonzero {
			left = append(left, group...)
			continue
		}
		coarse = append(coarse, weighted{p, best})
		// Every fine period of p now counts the difference, those outside
		// the two periods (weight zero) included.
		i := 0
		for d := p; d <= last(p); d = next(d) {
			var w weights
			if i < len(group) && group[i].d == d {
				w = group[i].w
				i++
			}
			left = append(left, weighted{d, weights{w.cur - best.cur, w.prev - best.prev}})
		}
	}
	return coarse, left
}

// coalesce joins consecutive periods (in order) of equal weights into
// spans, leaving out periods that count for nothing.
func coalesce(periods []weighted, next func(models.Date) models.Date) []span {
	var out []span
	for _, p := range periods {
		if p.w == (weights{}) {
			continue
		}
		if n := len(out); n > 0 && out[n-1].w == p.w && next(out[n-1].r.End) == p.d {
			out[n-1].r.End = p.d
			continue
		}
		out = append(out, span{models.DateRange{Start: p.d, End: p.d}, p.w})
	}
	return out
}

// overviewStatement reads the listed accounts with their figures over the
// period and the previous period: count, usage and price of each. When the
// order is by a figure, only the page's rows, in order, then the sums per
// currency of every row (kind 1, with the number of accounts); else every
// row, unordered. The columns are overviewRows'.
func (s *Store) overviewStatement(with string, args []any, q models.AccountUsageQuery, period models.DateRange, everyAccount bool) (string, []any) {
	c, subtrees := q.Category, q.IncludeSubaccounts
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
	members := ""
	if !everyAccount {
		members = " AND account_sid IN (SELECT sid FROM members)"
	}
	cats := models.StoredCategories([]models.Category{c})
	var catCond string
	var catArgs []any
	if cats != nil {
		cond, more := s.anyOf("category", cats)
		catCond, catArgs = " AND "+cond, more
	}
	years, months, days := overviewSpans(period, models.PreviousPeriod(period))
	// Years and months are read period first (usage_monthly through its
	// index by month, migration 00022): one index-only scan of the periods
	// listed, each span's weights picked by a CASE (small integers, inline).
	// totalprice sums every category: the account totals, one row per
	// account and period instead of one per category.
	yearly, monthly, cat, more := "usage_yearly", "usage_monthly", catCond, catArgs
	if cats == nil {
		yearly, monthly, cat, more = "usage_yearly_total", "usage_monthly_total", "", nil
	}
	union := ""
	for _, t := range []struct {
		table, period string
		spans         []span
		next          func(models.Date) models.Date
	}{{yearly, "year", years, nextYear}, {monthly, "month", months, nextMonth}} {
		if len(t.spans) == 0 {
			continue
		}
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
	}
	for _, sp := range days {
		b.WriteString(union)
		union = " UNION ALL "
		w := fmt.Sprintf("%d AS wc, %d AS wp", sp.w.cur, sp.w.prev)
		if s.dialect == Postgres {
			// Along the primary key, account by account: a range of days
			// over every account is otherwise a scan of the whole rollup
			// (3.7 million rows in the bench data).
			b.WriteString("SELECT m.sid AS account_sid, " + w + ", d.count, d.usage_micros, d.price_micros FROM members m CROSS JOIN LATERAL (SELECT count, usage_micros, price_micros FROM usage_daily WHERE account_sid = m.sid AND day BETWEEN ? AND ?" + catCond + ") d")
			args = append(append(args, sp.r.Start, sp.r.End), catArgs...)
			continue
		}
		b.WriteString("SELECT account_sid, " + w + ", count, usage_micros, price_micros FROM usage_daily WHERE day BETWEEN ? AND ?" + catCond + members)
		args = append(append(args, sp.r.Start, sp.r.End), catArgs...)
	}
	if union == "" {
		// Nothing to read (a range whose days all cancel out): no rows.
		b.WriteString("SELECT account_sid, 0 AS wc, 0 AS wp, count, usage_micros, price_micros FROM usage_daily WHERE false")
	}
	b.WriteString(") u GROUP BY account_sid), ")
	if !subtrees {
		// One row per listed account: no second aggregate.
		b.WriteString(`listed_rows AS (SELECT a.sid, a.name, a.parent_sid, a.currency,
			COALESCE(per.c0, 0) AS c0, COALESCE(per.u0, 0) AS u0, COALESCE(per.p0, 0) AS p0,
			COALESCE(per.c1, 0) AS c1, COALESCE(per.u1, 0) AS u1, COALESCE(per.p1, 0) AS p1
		FROM accounts a LEFT JOIN per ON per.account_sid = a.sid`)
		if !everyAccount {
			b.WriteString(" WHERE a.sid IN (SELECT sid FROM listed)")
		}
	} else {
		b.WriteString(`listed_rows AS (SELECT a.sid, a.name, a.parent_sid, a.currency,
			CAST(COALESCE(SUM(per.c0), 0) AS BIGINT) AS c0, CAST(COALESCE(SUM(per.u0), 0) AS BIGINT) AS u0, CAST(COALESCE(SUM(per.p0), 0) AS BIGINT) AS p0,
			CAST(COALESCE(SUM(per.c1), 0) AS BIGINT) AS c1, CAST(COALESCE(SUM(per.u1), 0) AS BIGINT) AS u1, CAST(COALESCE(SUM(per.p1), 0) AS BIGINT) AS p1
		FROM members m JOIN accounts a ON a.sid = m.root LEFT JOIN per ON per.account_sid = m.sid
		GROUP BY a.sid, a.name, a.parent_sid, a.currency`)
	}
	b.WriteString(") ")
	const columns = "sid, name, parent_sid, currency, c0, u0, p0, c1, u1, p1"
	figure, desc, ok := q.SortFigure()
	if !ok {
		b.WriteString("SELECT 0 AS kind, " + columns + ", 1 AS n FROM listed_rows")
		return b.String(), args
	}
	// The order BuildAccountUsagePage gives, SIDs compared byte by byte.
	order := "sid"
	if s.dialect == Postgres {
		order = `sid COLLATE "C"`
	}
	if figure != "" {
		dir := ""
		if desc {
			dir = " DESC"
		}
		order = map[string]string{"price": "p0", "usage": "u0", "count": "c0"}[figure] + dir + ", " + order
	}
	b.WriteString(`SELECT * FROM (
		SELECT * FROM (SELECT 0 AS kind, ` + columns + `, 1 AS n FROM listed_rows ORDER BY ` + order + ` LIMIT ? OFFSET ?) page
		UNION ALL
		SELECT 1, '', '', NULL, currency, CAST(SUM(c0) AS BIGINT), CAST(SUM(u0) AS BIGINT), CAST(SUM(p0) AS BIGINT),
			CAST(SUM(c1) AS BIGINT), CAST(SUM(u1) AS BIGINT), CAST(SUM(p1) AS BIGINT), COUNT(*)
		FROM listed_rows GROUP BY currency
	) r ORDER BY kind, ` + order)
	args = append(args, q.CountPerPage, q.Page*q.CountPerPage)
	return b.String(), args
}

// overviewRows runs an overview statement: its rows of accounts, and the
// sums per currency of a statement that ranks (kind 1 rows).
func (s *Store) overviewRows(ctx context.Context, stmt string, args []any) ([]models.AccountUsageRow, []models.CurrencySums, error) {
	rows, err := s.query(ctx, stmt, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		out  []models.AccountUsageRow
		sums []models.CurrencySums
	)
	for rows.Next() {
		var (
			r              models.AccountUsageRow
			kind, n        int
			parent         sql.NullString
			cu, cp, pu, pp int64
			cur, prev      = &r.Current, &r.Previous
		)
		if err := rows.Scan(&kind, &r.Sid, &r.Name, &parent, &r.Currency, &cur.Count, &cu, &cp, &prev.Count, &pu, &pp, &n); err != nil {
			return nil, nil, err
		}
		cur.Usage, cur.Price, prev.Usage, prev.Price = models.Micros(cu), models.Micros(cp), models.Micros(pu), models.Micros(pp)
		if kind == 1 {
			sums = append(sums, models.CurrencySums{Currency: r.Currency, Accounts: n, Current: r.Current, Previous: r.Previous})
			continue
		}
		r.ParentSid = parent.String
		out = append(out, r)
	}
	return out, sums, rows.Err()
}
