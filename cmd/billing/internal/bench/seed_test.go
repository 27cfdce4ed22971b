package bench_test

import (
	"context"
	"errors"
	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"reflect"
	"slices"
	"testing"

	"github.com/evovoice/billing/cmd/billing/internal/bench"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

var small = synth.Dataset{Seed: 7, Accounts: 40, Days: 75, End: models.NewDate(2024, 3, 15)}

// TestSeedEqualsIngestion loads the dataset in bulk into one database and
// ingests the same events through RecordUsageEvents into another: every
// rollup read must agree, and both must pass the ledger recount.
func TestSeedEqualsIngestion(t *testing.T) {
	repotest.Each(t, func(t *testing.T, seeded *repo.Store) {
		ctx := context.Background()
		st, err := bench.Seed(ctx, seeded, small)
		if err != nil {
			t.Fatal(err)
		}
		accounts := small.AccountList()
		var all []models.UsageEvent
		for _, a := range accounts {
			all = append(all, small.History(a)...)
		}
		if st.Accounts != int64(len(accounts)) || st.Events != int64(len(all)) || st.DailyRows == 0 || st.MonthlyRows == 0 || st.SummaryRows == 0 {
			t.Fatalf("stats %+v for %d accounts, %d events", st, len(accounts), len(all))
		}

		ingested := repotest.Open(t, string(seeded.Dialect()))
		for _, a := range bench.BulkAccounts(small, sortParentsFirst(accounts)) {
			if err := ingested.CreateAccount(ctx, a.Account, a.AuthTokenHash); err != nil {
				t.Fatal(err)
			}
		}
		for start := 0; start < len(all); start += 3000 {
			if _, err := ingested.RecordUsageEvents(ctx, all[start:min(start+3000, len(all))]); err != nil {
				t.Fatal(err)
			}
		}

		for _, s := range []*repo.Store{seeded, ingested} {
			bad, err := s.CheckRollups(ctx, 5)
			if err != nil || len(bad) > 0 {
				t.Fatalf("%s: rollups differ from the ledger: %v %v", s.Dialect(), bad, err)
			}
		}
		whole := models.DateRange{Start: small.Start(), End: small.End}
		for _, a := range accounts {
			for _, g := range []models.Granularity{models.GranularityDay, models.GranularityMonth} {
				q := models.UsageQuery{Accounts: a.Descendants, Range: whole}
				want, err := ingested.UsageByPeriod(ctx, q, g)
				if err != nil {
					t.Fatal(err)
				}
				got, err := seeded.UsageByPeriod(ctx, q, g)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s granularity %d: seeded %v, ingested %v", a.Sid, g, got, want)
				}
			}
		}
		n, sums, err := seeded.LedgerTotals(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		var want models.Sums
		for _, e := range all {
			want.Add(models.Sums{Count: e.Count, Usage: e.Usage, Price: e.Price})
		}
		if n != int64(len(all)) || sums != want {
			t.Fatalf("ledger holds %d events summing %+v, want %d summing %+v", n, sums, len(all), want)
		}

		// Bulk loading refuses a database that holds data.
		if _, err := bench.Seed(ctx, seeded, small); !errors.Is(err, repo.ErrNotEmpty) {
			t.Fatalf("seeding twice: %v, want ErrNotEmpty", err)
		}
	})
}

// sortParentsFirst orders accounts so that CreateAccount finds each parent.
func sortParentsFirst(accounts []synth.Account) []synth.Account {
	depth := func(a synth.Account) int {
		d := 0
		for p := a.ParentSid; p != ""; d++ {
			for _, b := range accounts {
				if b.Sid == p {
					p = b.ParentSid
					break
				}
			}
		}
		return d
	}
	out := slices.Clone(accounts)
	slices.SortStableFunc(out, func(a, b synth.Account) int { return depth(a) - depth(b) })
	return out
}
