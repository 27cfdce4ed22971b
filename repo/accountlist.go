package repo

import (
	"context"
	"slices"
	"strings"

	"github.com/evovoice/billing/models"
)

// listAccounts returns one page of the accounts a filter selects, sorted by
// name (then SID), each with its ancestors, and how many there are in all.
func (s *Store) listAccounts(ctx context.Context, f models.AccountFilter) (models.AccountPage, error) {
	if !f.Every && len(f.Roots) == 0 {
		return models.AccountPage{Accounts: []models.ListedAccount{}}, nil
	}
	var (
		with  string
		conds []string
		args  []any
	)
	if !f.Every {
		// UNION, not UNION ALL: a manager of a parent and of its child sees the
		// child once.
		with = `WITH RECURSIVE visible(sid) AS (
			SELECT sid FROM accounts WHERE sid IN ?
			UNION
			SELECT a.sid FROM accounts a JOIN visible v ON a.parent_sid = v.sid
		) `
		conds = append(conds, "sid IN (SELECT sid FROM visible)")
		args = append(args, f.Roots)
	}
	if f.NameFilter != "" {
		pattern := "%" + escapeLike(strings.ToLower(f.NameFilter)) + "%"
		conds = append(conds, `(lower(name) LIKE ? ESCAPE '\' OR lower(sid) LIKE ? ESCAPE '\')`)
		args = append(args, pattern, pattern)
	}
	if f.IDs != nil {
		conds = append(conds, "sid IN ?")
		args = append(args, append([]string{""}, f.IDs...)) // never an empty IN list
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	db := s.db.WithContext(ctx)

	var total int64
	if err := db.Raw(with+"SELECT count(*) FROM accounts"+where, args...).Scan(&total).Error; err != nil {
		return models.AccountPage{}, err
	}
	// Byte order on lower-cased names, so that both databases sort alike.
	order := " ORDER BY lower(name), sid"
	if s.dialect == Postgres {
		order = ` ORDER BY lower(name) COLLATE "C", sid`
	}
	page := with + "SELECT sid, name, parent_sid, currency, created_at FROM accounts" + where + order
	if f.Limit > 0 {
		page += " LIMIT ? OFFSET ?"
		args = append(args, f.Limit, f.Offset)
	}
	var rows []accountRow
	if err := db.Raw(page, args...).Scan(&rows).Error; err != nil {
		return models.AccountPage{}, err
	}
	sids := make([]string, len(rows))
	for i, r := range rows {
		sids[i] = r.Sid
	}
	ancestors, err := s.ancestors(ctx, sids)
	if err != nil {
		return models.AccountPage{}, err
	}
	out := models.AccountPage{Accounts: make([]models.ListedAccount, len(rows)), Total: int(total)}
	for i, r := range rows {
		anc := ancestors[r.Sid]
		if anc == nil {
			anc = []string{}
		}
		out.Accounts[i] = models.ListedAccount{Account: r.model(), AncestorIDs: anc}
	}
	return out, nil
}

// ancestors finds every account's ancestors, top-level account first.
func (s *Store) ancestors(ctx context.Context, sids []string) (map[string][]string, error) {
	out := make(map[string][]string, len(sids))
	for start := 0; start < len(sids); start += maxParams {
		var rows []struct {
			Start string
			Sid   string
			Depth int
		}
		err := s.db.WithContext(ctx).Raw(`
			WITH RECURSIVE up(start, sid, parent_sid, depth) AS (
				SELECT sid, sid, parent_sid, 0 FROM accounts WHERE sid IN ?
				UNION ALL
				SELECT u.start, a.sid, a.parent_sid, u.depth + 1 FROM accounts a JOIN up u ON a.sid = u.parent_sid
			)
			SELECT start, sid, depth FROM up WHERE depth > 0 ORDER BY start, depth DESC`,
			sids[start:min(start+maxParams, len(sids))]).Scan(&rows).Error
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.Start] = append(out[r.Start], r.Sid)
		}
	}
	return out, nil
}

// escapeLike makes a user's text match literally inside a LIKE pattern.
func escapeLike(s string) string {
	var b strings.Builder
	for _, r := range s {
		if slices.Contains([]rune{'\\', '%', '_'}, r) {
			b.WriteRune('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
