package repo

import (
	"context"
	"strings"

	"github.com/evovoice/billing/models"
)

// ExplainAccountUsage runs EXPLAIN (ANALYZE, BUFFERS) of the overview's main
// statement on Postgres, for the benchmark's log.
func (s *Store) ExplainAccountUsage(ctx context.Context, r models.Readable, q models.AccountUsageQuery) (string, error) {
	with, args := s.overviewAccounts(r, q)
	stmt, args := s.overviewStatement(with, args, q, models.DateRange{Start: *q.Start, End: q.End}, r.Every && q.ParentID == "" && q.NameFilter == "")
	rows, err := s.query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+stmt, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		b.WriteString(line + "\n")
	}
	return b.String(), rows.Err()
}

// RedoMigration rolls the schema back to just before version and applies
// every migration again, so that a test sees a migration run over data.
func (s *Store) RedoMigration(ctx context.Context, version int64) error {
	p, err := s.migrator()
	if err != nil {
		return err
	}
	if _, err := p.DownTo(ctx, version-1); err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}
