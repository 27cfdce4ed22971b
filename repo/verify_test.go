package repo_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
	_ "github.com/glebarez/go-sqlite" // database/sql driver "sqlite", to damage rollups behind the store's back
)

// TestCheckRollupsFindsEveryDifference damages rollups in each possible way
// and expects the recount to name exactly the damaged rows.
func TestCheckRollupsFindsEveryDifference(t *testing.T) {
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
			sid := "AC000000000000000000000000000000aa"
			if err := store.CreateAccount(ctx, models.Account{Sid: sid, Name: "a", Currency: "usd", CreatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, "h"); err != nil {
				t.Fatal(err)
			}
			at := func(d int) time.Time { return time.Date(2024, 2, d, 10, 0, 0, 0, time.UTC) }
			_, err = store.RecordUsageEvents(ctx, []models.UsageEvent{
				{ID: "1", AccountSid: sid, Category: "calls-outbound", OccurredAt: at(1), Count: 1, Usage: 2_000_000, Price: 26_000},
				{ID: "2", AccountSid: sid, Category: "calls-outbound", OccurredAt: at(1), Count: 2, Usage: 5_000_000, Price: 65_000},
				{ID: "3", AccountSid: sid, Category: "sms-outbound-longcode", OccurredAt: at(2), Count: 1, Usage: 1_000_000, Price: 7_900},
			})
			if err != nil {
				t.Fatal(err)
			}
			if bad, err := store.CheckRollups(ctx, 10); err != nil || len(bad) != 0 {
				t.Fatalf("before damage: %v %v", bad, err)
			}

			driver := "sqlite"
			if backend == "postgres" {
				driver = "pgx"
			}
			raw, err := sql.Open(driver, url)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			for _, q := range []string{
				`UPDATE usage_daily SET price_micros = price_micros + 1 WHERE day = '2024-02-01'`,     // wrong sum
				`DELETE FROM usage_daily WHERE day = '2024-02-02'`,                                    // missing row
				`INSERT INTO usage_daily VALUES ('` + sid + `', '2024-02-03', 'recordings', 0, 0, 0)`, // row without events
				`UPDATE usage_monthly SET count = count - 1 WHERE category = 'sms-outbound-longcode'`, // wrong monthly sum
				`UPDATE usage_yearly SET usage_micros = 0 WHERE category = 'calls-outbound'`,          // wrong yearly sum
				`DELETE FROM usage_monthly_total`,                                                     // missing account total
				`INSERT INTO usage_yearly_total VALUES ('` + sid + `', '2023-01-01', 1, 0, 0)`,        // total without events
			} {
				if _, err := raw.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			bad, err := store.CheckRollups(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range bad {
				got = append(got, m.String())
			}
			slices.Sort(got)
			want := []string{
				"usage_daily " + sid + " 2024-02-01 calls-outbound: rollup count=3 usage=7000000 price=91001, ledger count=3 usage=7000000 price=91000",
				"usage_daily " + sid + " 2024-02-02 sms-outbound-longcode: rollup none, ledger count=1 usage=1000000 price=7900",
				"usage_daily " + sid + " 2024-02-03 recordings: rollup count=0 usage=0 price=0, ledger none",
				"usage_monthly " + sid + " 2024-02-01 sms-outbound-longcode: rollup count=0 usage=1000000 price=7900, ledger count=1 usage=1000000 price=7900",
				"usage_monthly_total " + sid + " 2024-02-01 : rollup none, ledger count=4 usage=8000000 price=98900",
				"usage_yearly " + sid + " 2024-01-01 calls-outbound: rollup count=3 usage=0 price=91000, ledger count=3 usage=7000000 price=91000",
				"usage_yearly_total " + sid + " 2023-01-01 : rollup count=1 usage=0 price=0, ledger none",
			}
			if !slices.Equal(got, want) {
				t.Fatalf("mismatches:\n%s\nwant:\n%s", join(got), join(want))
			}
		})
	}
}

func join(s []string) string {
	out := ""
	for _, v := range s {
		out += "  " + v + "\n"
	}
	return out
}
