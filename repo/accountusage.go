package repo

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/evovoice/billing/models"
)

// ListAccountUsage answers the accounts overview: every account the reader
// may read that the query selects, with its figures of one category over the
// range and the previous period, ordered and paged, with totals per currency
// of all of them. ErrOutOfScope when ParentId is not readable (ErrNotFound
// for a reader of every account when it does not exist).
//
// The figures of all accounts come from one statement, whatever their
// number: a recursive walk of the parent links for the reader's scope and
// for each row's subtree, joined to one group-by over the monthly rollup for
// whole months and the daily rollup for the edges of both periods. ParentId
// costs a lineage probe first, a default StartDate one more statement.
// Ordering and paging happen here, not in SQL: the totals and the count need
// every matching row anyway, and the change ranks as the exact decimal the
// answer shows, alike on both databases.
func (s *Store) ListAccountUsage(ctx context.Context, r models.Readable, q models.AccountUsageQuery) (models.AccountUsagePage, error) {
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
	if !r.Every && len(r.Roots) == 0 {
		return models.BuildAccountUsagePage(q, models.DateRange{Start: q.End, End: q.End}, nil), nil
	}
	with, args := s.overviewAccounts(r, q)
	period := models.DateRange{End: q.End}
	if q.Start != nil {
		period.Start = *q.Start
	} else {
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

// span is a stretch of one rollup: month starts of usage_monthly, or days
// of usage_daily.
type span struct {
	monthly bool
	r       models.DateRange
}

// overviewSpans splits both periods into rollup spans, joining spans of the
// same rollup that touch (a whole-month range and its previous months are one
// scan): the statement tells the periods apart by date.
func overviewSpans(cur, prev models.DateRange) []span {
	var out []span
	for _, r := range []models.DateRange{prev, cur} {
		seg := split(r)
		var parts []span
		for _, d := range seg.days {
			parts = append(parts, span{r: d})
		}
		if seg.months != nil {
			parts = append(parts, span{monthly: true, r: *seg.months})
		}
		for _, p := range parts {
			i := slices.IndexFunc(out, func(o span) bool {
				if o.monthly != p.monthly {
					return false
				}
				if p.monthly {
					return o.r.End.MonthEnd()+1 == p.r.Start
				}
				return o.r.End+1 == p.r.Start
			})
			if i >= 0 {
				out[i].r.End = p.r.End
				continue
			}
			out = append(out, p)
		}
	}
	return out
}

// overviewRows reads every listed account with its figures over the period
// (Current) and the previous period (Previous).
func (s *Store) overviewRows(ctx context.Context, with string, args []any, c models.Category, period models.DateRange, everyAccount bool) ([]models.AccountUsageRow, error) {
	prev := models.PreviousPeriod(period)
	var b strings.Builder
	b.WriteString(with)
	args = slices.Clone(args)
	b.WriteString(", per(account_sid, p, count, usage, price) AS (SELECT account_sid, p, CAST(SUM(count) AS BIGINT), CAST(SUM(usage_micros) AS BIGINT), CAST(SUM(price_micros) AS BIGINT) FROM (")
	cats := models.StoredCategories([]models.Category{c})
	for i, sp := range overviewSpans(period, prev) {
		table, col := "usage_daily", "day"
		if sp.monthly {
			table, col = "usage_monthly", "month"
		}
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		// p is 0 for the period, 1 for the previous one.
		b.WriteString("SELECT account_sid, CASE WHEN " + col + " >= ? THEN 0 ELSE 1 END AS p, count, usage_micros, price_micros FROM " + table +
			" WHERE " + col + " BETWEEN ? AND ?")
		args = append(args, period.Start, sp.r.Start, sp.r.End)
		if !everyAccount {
			b.WriteString(" AND account_sid IN (SELECT sid FROM members)")
		}
		if cats != nil {
			cond, more := s.anyOf("category", cats)
			b.WriteString(" AND " + cond)
			args = append(args, more...)
		}
	}
	b.WriteString(`) u GROUP BY account_sid, p)
		SELECT a.sid, a.name, a.parent_sid, a.currency, per.p, CAST(SUM(per.count) AS BIGINT), CAST(SUM(per.usage) AS BIGINT), CAST(SUM(per.price) AS BIGINT)
		FROM members m JOIN accounts a ON a.sid = m.root LEFT JOIN per ON per.account_sid = m.sid
		GROUP BY a.sid, a.name, a.parent_sid, a.currency, per.p`)

	rows, err := s.query(ctx, b.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []models.AccountUsageRow
	index := map[string]int{}
	for rows.Next() {
		var (
			a                   models.Account
			parent              sql.NullString
			p                   sql.NullInt64
			count, usage, price sql.NullInt64
		)
		if err := rows.Scan(&a.Sid, &a.Name, &parent, &a.Currency, &p, &count, &usage, &price); err != nil {
			return nil, err
		}
		i, ok := index[a.Sid]
		if !ok {
			a.ParentSid = parent.String
			i = len(out)
			index[a.Sid] = i
			out = append(out, models.AccountUsageRow{Account: a})
		}
		if !p.Valid {
			continue // no usage in either period
		}
		sums := models.Sums{Count: count.Int64, Usage: models.Micros(usage.Int64), Price: models.Micros(price.Int64)}
		if p.Int64 == 0 {
			out[i].Current.Add(sums)
		} else {
			out[i].Previous.Add(sums)
		}
	}
	return out, rows.Err()
}
