package repo_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// TestRollupTiersEqualLedger ingests events across month and year ends,
// late events (days and years before what is already rolled up), credits,
// resent duplicates and a rejected batch, and compares every row of the
// yearly and account total tiers with a recount of the events accepted.
// Then it redoes the migration that adds those tiers, which must fill them
// from the monthly rollup to the same rows.
func TestRollupTiersEqualLedger(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			url := repotest.NewDatabase(t, backend)
			store, err := repo.Open(url)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			if err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			a, b := "AC000000000000000000000000000000a1", "AC000000000000000000000000000000b2"
			for _, sid := range []string{a, b} {
				if err := store.CreateAccount(ctx, models.Account{Sid: sid, Name: sid, Currency: "usd", CreatedAt: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)}, "h"); err != nil {
					t.Fatal(err)
				}
			}
			at := func(y int, m time.Month, d, h, s int) time.Time { return time.Date(y, m, d, h, 0, s, 0, time.UTC) }
			ev := func(id, sid, cat string, t time.Time, n int64, usage, price models.Micros) models.UsageEvent {
				return models.UsageEvent{ID: id, AccountSid: sid, Category: cat, OccurredAt: t, Count: n, Usage: usage, Price: price}
			}
			batches := [][]models.UsageEvent{
				{ // the last second of a year and the first of the next
					ev("1", a, "calls-outbound", at(2024, 12, 31, 23, 3599), 1, 60_000_000, 13_000),
					ev("2", a, "calls-outbound", at(2025, 1, 1, 0, 0), 2, 120_000_000, 26_000),
					ev("3", a, "sms-outbound-longcode", at(2025, 1, 31, 23, 0), 1, 1_000_000, 7_900),
					ev("4", b, "recordings", at(2025, 2, 28, 12, 0), 1, 30_000_000, 2_500),
				},
				{ // late: a year and a month before what is rolled up, and a credit
					ev("5", a, "calls-outbound", at(2023, 6, 15, 8, 0), 3, 90_000_000, 19_500),
					ev("6", a, "calleridlookups", at(2024, 12, 1, 9, 0), 0, 0, -500_000),
					ev("7", b, "recordings", at(2025, 1, 2, 10, 0), 1, 10_000_000, -2_500),
					ev("1", a, "calls-outbound", at(2024, 12, 31, 23, 3599), 1, 60_000_000, 13_000), // resent: a duplicate
				},
			}
			var accepted []models.UsageEvent
			for i, batch := range batches {
				res, err := store.RecordUsageEvents(ctx, batch)
				if err != nil {
					t.Fatalf("batch %d: %v", i, err)
				}
				for j, e := range batch {
					if !slices.Contains(res.Duplicates, j) {
						accepted = append(accepted, e)
					}
				}
			}
			// An id reused with other content rejects the batch: nothing of
			// it may reach any tier.
			if _, err := store.RecordUsageEvents(ctx, []models.UsageEvent{
				ev("8", b, "recordings", at(2026, 3, 1, 0, 0), 1, 1, 1_000_000),
				ev("2", a, "calls-outbound", at(2025, 1, 1, 0, 0), 2, 120_000_000, 99_999),
			}); err == nil {
				t.Fatal("a batch reusing an id with other content was accepted")
			}
			if bad, err := store.CheckRollups(ctx, 10); err != nil || len(bad) > 0 {
				t.Fatalf("rollups differ from the ledger: %v %v", bad, err)
			}

			want := map[string]map[string][3]int64{"usage_yearly": {}, "usage_monthly_total": {}, "usage_yearly_total": {}}
			for _, e := range accepted {
				d := models.DateOf(e.OccurredAt)
				for table, key := range map[string]string{
					"usage_yearly":        fmt.Sprintf("%s %s %s", e.AccountSid, d.YearStart(), e.Category),
					"usage_monthly_total": fmt.Sprintf("%s %s", e.AccountSid, d.MonthStart()),
					"usage_yearly_total":  fmt.Sprintf("%s %s", e.AccountSid, d.YearStart()),
				} {
					v := want[table][key]
					want[table][key] = [3]int64{v[0] + e.Count, v[1] + int64(e.Usage), v[2] + int64(e.Price)}
				}
			}
			raw, err := sql.Open(map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[backend], url)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			check := func(when string) {
				t.Helper()
				for table, rows := range want {
					got := readTier(t, raw, table)
					if !maps.Equal(got, rows) {
						t.Errorf("%s, %s:\n got %v\nwant %v", when, table, got, rows)
					}
				}
			}
			check("after ingestion")
			if err := store.RedoMigration(ctx, 11); err != nil {
				t.Fatal(err)
			}
			check("after the migration filled the tiers")
			if bad, err := store.CheckRollups(ctx, 10); err != nil || len(bad) > 0 {
				t.Fatalf("after the migration: %v %v", bad, err)
			}
		})
	}
}

// readTier reads a tier's rows keyed by "account period [category]".
func readTier(t *testing.T, db *sql.DB, table string) map[string][3]int64 {
	t.Helper()
	cols := "account_sid, CAST(year AS TEXT), category"
	switch table {
	case "usage_monthly_total":
		cols = "account_sid, CAST(month AS TEXT), ''"
	case "usage_yearly_total":
		cols = "account_sid, CAST(year AS TEXT), ''"
	}
	rows, err := db.Query("SELECT " + cols + ", count, usage_micros, price_micros FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][3]int64{}
	for rows.Next() {
		var sid, period, cat string
		var v [3]int64
		if err := rows.Scan(&sid, &period, &cat, &v[0], &v[1], &v[2]); err != nil {
			t.Fatal(err)
		}
		key := sid + " " + period
		if cat != "" {
			key += " " + cat
		}
		out[key] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
