package repo_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

func newAccount(t *testing.T, store *repo.Store, parent string) string {
	t.Helper()
	a := models.Account{Sid: models.NewAccountSid(), Name: "test", ParentSid: parent, Currency: "usd", CreatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := store.CreateAccount(context.Background(), a, "hash"); err != nil {
		t.Fatal(err)
	}
	return a.Sid
}

// TestConcurrentOverlappingBatches runs many senders whose batches share ids,
// then checks that every rollup equals a recount of the ledger and that the
// ledger holds each distinct event exactly once.
func TestConcurrentOverlappingBatches(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		ctx := context.Background()
		accounts := []string{newAccount(t, store, ""), newAccount(t, store, ""), newAccount(t, store, "")}
		cats := []string{"calls-outbound", "calls-inbound-local", "sms-outbound-longcode", "recordings"}

		// A pool of distinct events; each is sent by several senders.
		const distinct = 3000
		pool := make([]models.UsageEvent, distinct)
		rng := rand.New(rand.NewPCG(1, 2))
		var want models.Sums
		for i := range pool {
			pool[i] = models.UsageEvent{
				ID:         fmt.Sprintf("ev-%d", i),
				AccountSid: accounts[i%len(accounts)],
				Category:   cats[rng.IntN(len(cats))],
				OccurredAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(90*24*3600)) * time.Second),
				Count:      int64(1 + rng.IntN(5)),
				Usage:      models.Micros(rng.IntN(10_000_000)),
				Price:      models.Micros(rng.IntN(100_000) - 10_000),
			}
			want.Add(models.Sums{Count: pool[i].Count, Usage: pool[i].Usage, Price: pool[i].Price})
		}

		const senders, batches, batchSize = 12, 8, 250
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted, duplicates := 0, 0
		errs := make(chan error, senders*batches)
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(s), 99))
				for range batches {
					// Overlapping windows of the pool, shuffled, so that
					// senders race for the same ids in different orders.
					start := r.IntN(distinct - batchSize)
					batch := append([]models.UsageEvent(nil), pool[start:start+batchSize]...)
					r.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
					res, err := store.RecordUsageEvents(ctx, batch)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					accepted += res.Accepted
					duplicates += len(res.Duplicates)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("a sender failed: %v", err)
		}
		// Then send the whole pool once more, so that every event is in.
		for start := 0; start < distinct; start += 1000 {
			res, err := store.RecordUsageEvents(ctx, pool[start:start+1000])
			if err != nil {
				t.Fatal(err)
			}
			accepted += res.Accepted
			duplicates += len(res.Duplicates)
		}
		if accepted != distinct {
			t.Errorf("accepted %d events, want each of the %d exactly once", accepted, distinct)
		}
		if accepted+duplicates != senders*batches*batchSize+distinct {
			t.Errorf("accepted %d + duplicates %d != events sent", accepted, duplicates)
		}

		bad, err := store.CheckRollups(ctx, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range bad {
			t.Errorf("mismatch: %s", m)
		}
		// And the rollups hold exactly the pool's totals, read both ways.
		all := models.UsageQuery{Accounts: accounts, Range: models.DateRange{Start: models.NewDate(2024, 1, 1), End: models.NewDate(2024, 12, 31)}}
		totals, err := store.UsageTotals(ctx, all)
		if err != nil {
			t.Fatal(err)
		}
		var got models.Sums
		for _, s := range totals {
			got.Add(s)
		}
		if got != want {
			t.Errorf("totals %+v, want %+v", got, want)
		}
		byDay, err := store.UsageByPeriod(ctx, all, models.GranularityDay)
		if err != nil {
			t.Fatal(err)
		}
		got = models.Sums{}
		for _, day := range byDay {
			for _, s := range day {
				got.Add(s)
			}
		}
		if got != want {
			t.Errorf("daily totals %+v, want %+v", got, want)
		}
	})
}

// TestMillionSmallPrices sums a million prices that floats get wrong.
func TestMillionSmallPrices(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		ctx := context.Background()
		acct := newAccount(t, store, "")
		const n = 1_000_000
		prices := []models.Micros{100_000, 200_000, 1, 7} // 0.1, 0.2, 0.000001, 0.000007
		var want models.Micros
		batch := make([]models.UsageEvent, 0, models.MaxBatchEvents)
		day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range n {
			p := prices[i%len(prices)]
			want += p
			batch = append(batch, models.UsageEvent{
				ID: fmt.Sprintf("p%d", i), AccountSid: acct, Category: "sms-outbound-longcode",
				OccurredAt: day.Add(time.Duration(i%(366*24)) * time.Hour), Count: 1, Usage: 1_000_000, Price: p,
			})
			if len(batch) == cap(batch) {
				if _, err := store.RecordUsageEvents(ctx, batch); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		totals, err := store.UsageTotals(ctx, models.UsageQuery{Accounts: []string{acct}, Range: models.DateRange{Start: models.NewDate(2024, 1, 1), End: models.NewDate(2024, 12, 31)}})
		if err != nil {
			t.Fatal(err)
		}
		got := totals["sms-outbound-longcode"]
		if got.Price != want || got.Count != n || got.Price.String() != "75002" {
			t.Errorf("sum of prices = %s (count %d), want %s", got.Price, got.Count, want)
		}
	})
}

func TestStoreErrors(t *testing.T) {
	store := repotest.Open(t, "sqlite")
	ctx := context.Background()
	acct := newAccount(t, store, "")
	if err := store.CreateAccount(ctx, models.Account{Sid: acct, Name: "again", Currency: "usd"}, "h"); !errors.Is(err, repo.ErrAccountExists) {
		t.Errorf("duplicate SID: %v", err)
	}
	if err := store.CreateAccount(ctx, models.Account{Sid: models.NewAccountSid(), Name: "orphan", ParentSid: models.NewAccountSid(), Currency: "usd"}, "h"); !errors.Is(err, repo.ErrParentNotFound) {
		t.Errorf("unknown parent: %v", err)
	}
	if _, err := store.Account(ctx, models.NewAccountSid()); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	if _, err := store.Lineage(ctx, models.NewAccountSid()); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown lineage: %v", err)
	}
	child := newAccount(t, store, acct)
	grandchild := newAccount(t, store, child)
	if l, err := store.Lineage(ctx, grandchild); err != nil || len(l) != 3 || l[0] != grandchild || l[2] != acct {
		t.Errorf("lineage = %v, %v", l, err)
	}
	if d, err := store.Descendants(ctx, acct); err != nil || len(d) != 3 {
		t.Errorf("descendants = %v, %v", d, err)
	}
}
