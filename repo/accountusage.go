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

// span is a stretch of one rollup, month starts of usage_monthly or days of
// usage_daily, whose rows all count with the same weights.
type span struct {
	r models.DateRange
	w weights
}

// overviewSpans decides which rollup rows the two periods read, and how
// each counts. Whole months come from the monthly rollup. A partial month
// longer than the rest of its month is read as the month less the rest
// (month to date: the month's row less the days after, usually none),
// else day by day; so no more than half a month of daily rows is read per
// edge. The periods touch, so the days they share are read once, counting
// towards one and against the other.
func overviewSpans(cur, prev models.DateRange) (months, days []span) {
	monthW, dayW := map[models.Date]weights{}, map[models.Date]weights{}
	add := func(m map[models.Date]weights, from, to models.Date, step func(models.Date) models.Date, w weights, sign int) {
		for d := from; d <= to; d = step(d) {
			v := m[d]
			v.cur, v.prev = v.cur+sign*w.cur, v.prev+sign*w.prev
			m[d] = v
		}
	}
	nextMonth := func(d models.Date) models.Date { return d.MonthEnd() + 1 }
	nextDay := func(d models.Date) models.Date { return d + 1 }
	for _, p := range []struct {
		r models.DateRange
		w weights
	}{{cur, weights{cur: 1}}, {prev, weights{prev: 1}}} {
		seg := split(p.r)
		if seg.months != nil {
			add(monthW, seg.months.Start, seg.months.End, nextMonth, p.w, 1)
		}
		for _, d := range seg.days {
			for _, piece := range d.Buckets(models.GranularityMonth) {
				month := models.DateRange{Start: piece.Start.MonthStart(), End: piece.Start.MonthEnd()}
				if rest := month.Days() - piece.Days(); rest < piece.Days() {
					add(monthW, month.Start, month.Start, nextMonth, p.w, 1)
					add(dayW, month.Start, piece.Start-1, nextDay, p.w, -1)
					add(dayW, piece.End+1, month.End, nextDay, p.w, -1)
					continue
				}
				add(dayW, piece.Start, piece.End, nextDay, p.w, 1)
			}
		}
	}
	return coalesce(monthW, nextMonth), coalesce(dayW, func(d models.Date) models.Date { return d + 1 })
}

// coalesce joins consecutive dates of equal weights into spans, leaving out
// dates that count for nothing.
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
	months, days := overviewSpans(period, models.PreviousPeriod(period))
	union := ""
	if len(months) > 0 {
		// One scan of the monthly rollup for all months; each month's weights
		// picked by a CASE (weights are small integers, written inline).
		var ranges, wc, wp strings.Builder
		var rangeArgs, caseArgs []any
		for i, sp := range months {
			if i > 0 {
				ranges.WriteString(" OR ")
			}
			ranges.WriteString("month BETWEEN ? AND ?")
			rangeArgs = append(rangeArgs, sp.r.Start, sp.r.End)
			fmt.Fprintf(&wc, " WHEN month BETWEEN ? AND ? THEN %d", sp.w.cur)
			fmt.Fprintf(&wp, " WHEN month BETWEEN ? AND ? THEN %d", sp.w.prev)
			caseArgs = append(caseArgs, sp.r.Start, sp.r.End)
		}
		b.WriteString("SELECT account_sid, CASE" + wc.String() + " ELSE 0 END AS wc, CASE" + wp.String() + " ELSE 0 END AS wp, count, usage_micros, price_micros FROM usage_monthly WHERE (" + ranges.String() + ")" + catCond + members)
		args = append(append(append(append(args, caseArgs...), caseArgs...), rangeArgs...), catArgs...)
		union = " UNION ALL "
	}
	for _, sp := range days {
		b.WriteString(union)
		union = " UNION ALL "
		w := fmt.Sprintf("%d AS wc, %d AS wp", sp.w.cur, sp.w.prev)
		if s.dialect == Postgres {
			// Days are read account by account along the primary key: a
			// range of days over every account is otherwise a scan of the
			// whole daily rollup (3.7 million rows in the bench data).
			b.WriteString("SELECT m.sid AS account_sid, " + w + ", d.count, d.usage_micros, d.price_micros FROM members m CROSS JOIN LATERAL (SELECT count, usage_micros, price_micros FROM usage_daily WHERE account_sid = m.sid AND day BETWEEN ? AND ?" + catCond + ") d")
			args = append(append(args, sp.r.Start, sp.r.End), catArgs...)
			continue
		}
		b.WriteString("SELECT account_sid, " + w + ", count, usage_micros, price_micros FROM usage_daily WHERE day BETWEEN ? AND ?" + catCond + members)
		args = append(append(args, sp.r.Start, sp.r.End), catArgs...)
	}
	if union == "" {
		// Nothing to read (cannot happen for a non-empty range): no rows.
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
