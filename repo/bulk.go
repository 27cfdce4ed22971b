package repo

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// BulkAccount is an account to bulk-load, with the hash of its auth token.
type BulkAccount struct {
	models.Account
	AuthTokenHash string
}

// BulkStats counts what a bulk load wrote.
type BulkStats struct {
	Accounts, Events, DailyRows, MonthlyRows int64
	SummaryRows                              int64 // of the yearly and account total tiers
}

// count adds a chunk's rollup rows to the stats.
func (st *BulkStats) count(c bulkChunk) {
	st.Events += int64(len(c.events))
	for n, t := range rollupTiers() {
		rows := int64(len(c.keys[n]))
		switch t.table {
		case "usage_daily":
			st.DailyRows += rows
		case "usage_monthly":
			st.MonthlyRows += rows
		default:
			st.SummaryRows += rows
		}
	}
}

// ErrNotEmpty is returned by BulkLoad for a database that holds data.
var ErrNotEmpty = errors.New("the database already holds accounts or events; bulk loading needs an empty one")

// BulkLoad fills an empty database in one transaction: the accounts, then
// account by account (in SID order) the events history returns, written to
// the ledger together with the rollups summed from them by the code that
// ingestion uses (rollups), so that the result is what ingesting the same
// events would give. history runs in a goroutine of its own, one account
// ahead of the writes. PostgreSQL is written with COPY … FREEZE into tables
// truncated in the same transaction, so the rows need no VACUUM before
// index-only scans; SQLite with batched INSERTs.
func (s *Store) BulkLoad(ctx context.Context, accounts []BulkAccount, history func(models.Account) []models.UsageEvent) (BulkStats, error) {
	accounts = parentsFirst(accounts)
	bySid := slices.Clone(accounts)
	slices.SortFunc(bySid, func(a, b BulkAccount) int { return strings.Compare(a.Sid, b.Sid) })

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan bulkChunk, 2)
	go func() {
		defer close(chunks)
		for _, a := range bySid {
			c := newBulkChunk(history(a.Account))
			select {
			case chunks <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	if s.dialect == Postgres {
		return s.bulkLoadPostgres(ctx, accounts, chunks)
	}
	return s.bulkLoadSQLite(ctx, accounts, chunks)
}

// parentsFirst orders accounts so that each comes after its parent.
func parentsFirst(accounts []BulkAccount) []BulkAccount {
	depth := make(map[string]int, len(accounts))
	parent := make(map[string]string, len(accounts))
	for _, a := range accounts {
		parent[a.Sid] = a.ParentSid
	}
	var depthOf func(sid string, guard int) int
	depthOf = func(sid string, guard int) int {
		if d, ok := depth[sid]; ok {
			return d
		}
		d := 0
		if p := parent[sid]; p != "" && guard < len(accounts) {
			d = depthOf(p, guard+1) + 1
		}
		depth[sid] = d
		return d
	}
	out := slices.Clone(accounts)
	slices.SortStableFunc(out, func(a, b BulkAccount) int { return cmp.Compare(depthOf(a.Sid, 0), depthOf(b.Sid, 0)) })
	return out
}

// bulkChunk is one account's events, in event id order, and their rollups
// per tier (rollupTiers' order), with their keys in key order.
type bulkChunk struct {
	events     []models.UsageEvent
	sums       []map[rollupKey]models.Sums
	keys       [][]rollupKey
	ingestedAt time.Time
}

func newBulkChunk(events []models.UsageEvent) bulkChunk {
	slices.SortFunc(events, func(a, b models.UsageEvent) int {
		return cmp.Or(strings.Compare(a.AccountSid, b.AccountSid), strings.Compare(a.ID, b.ID))
	})
	all := make([]int, len(events))
	for i := range all {
		all[i] = i
	}
	c := bulkChunk{events: events, sums: rollups(events, all), ingestedAt: time.Now().UTC()}
	for _, sums := range c.sums {
		c.keys = append(c.keys, sortedKeys(sums))
	}
	return c
}

func (s *Store) checkEmpty(ctx context.Context) error {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM accounts LIMIT 1) a) + (SELECT COUNT(*) FROM (SELECT 1 FROM usage_events LIMIT 1) e)`).Row().Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return ErrNotEmpty
	}
	return nil
}

func (s *Store) bulkLoadPostgres(ctx context.Context, accounts []BulkAccount, chunks <-chan bulkChunk) (BulkStats, error) {
	var st BulkStats
	if err := s.checkEmpty(ctx); err != nil {
		return st, err
	}
	tables := []string{"usage_events"}
	for _, t := range rollupTiers() {
		tables = append(tables, t.table)
	}
	err := s.withPgx(ctx, func(conn *pgx.Conn) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background())
		// The directory's first-usage trigger stands aside for this
		// transaction (migration 00021); one reload notice replaces it.
		if _, err := tx.Exec(ctx, `SET LOCAL billing.bulk_load = 'on'`); err != nil {
			return err
		}
		// FREEZE needs the tables truncated in this transaction; they are empty.
		if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(tables, ", ")); err != nil {
			return err
		}
		rows := make([][]any, len(accounts))
		for i, a := range accounts {
			rows[i] = []any{a.Sid, a.Name, nullable(a.ParentSid), a.Currency, a.AuthTokenHash, a.CreatedAt.UTC()}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"accounts"}, []string{"sid", "name", "parent_sid", "currency", "auth_token_hash", "created_at"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy accounts: %w", err)
		}
		st.Accounts = int64(len(accounts))
		var buf bytes.Buffer
		copyText := func(table string, columns string, fill func(*bytes.Buffer)) error {
			buf.Reset()
			fill(&buf)
			if buf.Len() == 0 {
				return nil
			}
			_, err := tx.Conn().PgConn().CopyFrom(ctx, &buf, "COPY "+table+" ("+columns+") FROM STDIN WITH (FORMAT text, FREEZE)")
			if err != nil {
				return fmt.Errorf("copy %s: %w", table, err)
			}
			return nil
		}
		for c := range chunks {
			if err := copyText("usage_events", "account_sid, event_id, category, occurred_at, day, count, usage_micros, price_micros, ingested_at", c.eventsText); err != nil {
				return err
			}
			for n, t := range rollupTiers() {
				if err := copyText(t.table, t.keyColumns()+", count, usage_micros, price_micros", func(b *bytes.Buffer) { t.rollupText(b, c.keys[n], c.sums[n]) }); err != nil {
					return err
				}
			}
			st.count(c)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify('billing_directory', '*')`); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return BulkStats{}, err
	}
	// Planner statistics for the new data; the visibility map is already set.
	if err := s.db.WithContext(ctx).Exec(`ANALYZE accounts, ` + strings.Join(tables, ", ")).Error; err != nil {
		return st, err
	}
	return st, nil
}

// withPgx runs f on one pgx connection of the pool, for what database/sql
// cannot express (COPY).
func (s *Store) withPgx(ctx context.Context, f func(*pgx.Conn) error) error {
	if s.dialect != Postgres {
		return errors.New("this operation needs PostgreSQL")
	}
	conn, err := s.sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		return f(c.Conn())
	})
}

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// Text COPY format: tab-separated columns, backslash escapes in text.
var copyEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

const copyTimeLayout = "2006-01-02 15:04:05.999999+00"

func (c bulkChunk) eventsText(b *bytes.Buffer) {
	ingested := c.ingestedAt.Format(copyTimeLayout)
	var num [20]byte
	for _, e := range c.events {
		copyEscaper.WriteString(b, e.AccountSid)
		b.WriteByte('\t')
		copyEscaper.WriteString(b, e.ID)
		b.WriteByte('\t')
		copyEscaper.WriteString(b, e.Category)
		b.WriteByte('\t')
		b.WriteString(e.OccurredAt.UTC().Format(copyTimeLayout))
		b.WriteByte('\t')
		b.WriteString(e.Day().String())
		for _, v := range [...]int64{e.Count, int64(e.Usage), int64(e.Price)} {
			b.WriteByte('\t')
			b.Write(strconv.AppendInt(num[:0], v, 10))
		}
		b.WriteByte('\t')
		b.WriteString(ingested)
		b.WriteByte('\n')
	}
}

func (t rollupTier) rollupText(b *bytes.Buffer, keys []rollupKey, sums map[rollupKey]models.Sums) {
	var num [20]byte
	for _, k := range keys {
		v := sums[k]
		copyEscaper.WriteString(b, k.account)
		b.WriteByte('\t')
		b.WriteString(k.period.String())
		if !t.total {
			b.WriteByte('\t')
			copyEscaper.WriteString(b, k.category)
		}
		for _, n := range [...]int64{v.Count, int64(v.Usage), int64(v.Price)} {
			b.WriteByte('\t')
			b.Write(strconv.AppendInt(num[:0], n, 10))
		}
		b.WriteByte('\n')
	}
}

// bulkInsertRows is how many rows one SQLite INSERT carries.
const bulkInsertRows = maxParams / eventColumns

func (s *Store) bulkLoadSQLite(ctx context.Context, accounts []BulkAccount, chunks <-chan bulkChunk) (BulkStats, error) {
	var st BulkStats
	if err := s.checkEmpty(ctx); err != nil {
		return st, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, a := range accounts {
			row := accountRow{Sid: a.Sid, Name: a.Name, ParentSid: nullable(a.ParentSid), Currency: a.Currency, AuthTokenHash: a.AuthTokenHash, CreatedAt: a.CreatedAt.UTC()}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
		}
		st.Accounts = int64(len(accounts))
		for c := range chunks {
			for start := 0; start < len(c.events); start += bulkInsertRows {
				part := c.events[start:min(start+bulkInsertRows, len(c.events))]
				args := make([]any, 0, len(part)*eventColumns)
				for _, e := range part {
					args = append(args, e.AccountSid, e.ID, e.Category, e.OccurredAt, e.Day(), e.Count, int64(e.Usage), int64(e.Price), c.ingestedAt)
				}
				q := "INSERT INTO usage_events (account_sid, event_id, category, occurred_at, day, count, usage_micros, price_micros, ingested_at) VALUES " + placeholders(len(part), eventColumns)
				if err := tx.Exec(q, args...).Error; err != nil {
					return err
				}
			}
			for n, t := range rollupTiers() {
				cols := rollupColumns
				if t.total {
					cols--
				}
				for start := 0; start < len(c.keys[n]); start += maxParams / rollupColumns {
					part := c.keys[n][start:min(start+maxParams/rollupColumns, len(c.keys[n]))]
					q := "INSERT INTO " + t.table + " (" + t.keyColumns() + ", count, usage_micros, price_micros) VALUES " + placeholders(len(part), cols)
					if err := tx.Exec(q, t.rowArgs(part, c.sums[n])...).Error; err != nil {
						return err
					}
				}
			}
			st.count(c)
		}
		return ctx.Err()
	})
	if err != nil {
		return BulkStats{}, err
	}
	return st, s.db.WithContext(ctx).Exec(`ANALYZE`).Error
}

// placeholders writes rows groups of n question marks: (?,?),(?,?)…
func placeholders(rows, n int) string {
	group := "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(group+",", rows), ",")
}

// CopyBaseline writes events with a bare binary COPY into a new table shaped
// like the ledger but without any index or key, drops it, and returns how
// long the COPY took: the disk's and the server's limit for taking in these
// events, to compare ingestion with. PostgreSQL only.
func (s *Store) CopyBaseline(ctx context.Context, events []models.UsageEvent) (time.Duration, error) {
	var took time.Duration
	err := s.withPgx(ctx, func(conn *pgx.Conn) error {
		table := fmt.Sprintf("bench_copy_baseline_%d", time.Now().UnixNano())
		if _, err := conn.Exec(ctx, `CREATE TABLE `+table+` (LIKE usage_events)`); err != nil {
			return err
		}
		defer conn.Exec(context.Background(), `DROP TABLE IF EXISTS `+table)
		now := time.Now().UTC()
		start := time.Now()
		_, err := conn.CopyFrom(ctx, pgx.Identifier{table},
			[]string{"account_sid", "event_id", "category", "occurred_at", "day", "count", "usage_micros", "price_micros", "ingested_at"},
			pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
				e := events[i]
				return []any{e.AccountSid, e.ID, e.Category, e.OccurredAt, e.Day().Time(), e.Count, int64(e.Usage), int64(e.Price), now}, nil
			}))
		took = time.Since(start)
		return err
	})
	return took, err
}
