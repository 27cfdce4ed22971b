package repo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// TestRecordUsageEventsIsolated stores the good events of a batch and names
// each bad one, where RecordUsageEvents would refuse the whole batch.
func TestRecordUsageEventsIsolated(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		ctx := context.Background()
		acct := newAccount(t, store, "")
		at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
		ev := func(id string, count int64) models.UsageEvent {
			return models.UsageEvent{ID: id, AccountSid: acct, Category: "calls-outbound", OccurredAt: at, Count: count, Usage: models.Micros(count) * 1_000_000, Price: 10_000}
		}
		if _, err := store.RecordUsageEvents(ctx, []models.UsageEvent{ev("stored", 1), ev("stored-2", 1)}); err != nil {
			t.Fatal(err)
		}
		unknown := ev("no-account", 1)
		unknown.AccountSid = models.NewAccountSid()
		euro := ev("euro", 1)
		euro.Currency = "eur"
		batch := []models.UsageEvent{
			ev("good-1", 2),
			ev("stored", 5), // conflicts with the ledger
			unknown,
			ev("good-2", 3),
			ev("stored-2", 1), // a duplicate of the ledger's
			euro,
			ev("good-1", 4), // repeats good-1 with other content
			ev("stored", 5), // repeats the conflicting event
			ev("good-2", 3), // repeats a good event
		}
		// The batch API refuses it whole.
		if _, err := store.RecordUsageEvents(ctx, batch); err == nil {
			t.Fatal("RecordUsageEvents accepted a batch with bad events")
		}
		res, rejected, err := store.RecordUsageEventsIsolated(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted != 2 || len(res.Duplicates) != 2 || res.Duplicates[0] != 4 || res.Duplicates[1] != 8 {
			t.Errorf("result %+v, want 2 accepted and events 4 and 8 duplicates", res)
		}
		want := map[int]string{1: "other content", 2: "does not exist", 5: "billed in usd", 6: "same batch", 7: "other content"}
		if len(rejected) != len(want) {
			t.Fatalf("rejected %+v, want indexes 1, 2, 5, 6, 7", rejected)
		}
		for _, r := range rejected {
			if !strings.Contains(r.Reason, want[r.Index]) || strings.Contains(r.Reason, "events[") {
				t.Errorf("event %d rejected with %q (code %s), want a reason about %q without an index", r.Index, r.Reason, r.Code, want[r.Index])
			}
		}
		n, sums, err := store.LedgerTotals(ctx, "good-")
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 || sums.Count != 5 {
			t.Errorf("ledger holds %d good events counting %d, want 2 counting 5", n, sums.Count)
		}
		if bad, err := store.CheckRollups(ctx, 5); err != nil || len(bad) > 0 {
			t.Errorf("rollups: %v %v", bad, err)
		}
	})
}
