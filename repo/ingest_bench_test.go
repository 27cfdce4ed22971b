package repo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo/repotest"
)

// BenchmarkRecordUsageEvents stores batches of 1,000 new events for 200
// accounts over 30 days: the ledger insert and every rollup tier's upsert.
func BenchmarkRecordUsageEvents(b *testing.B) {
	for _, backend := range repotest.Backends() {
		b.Run(backend, func(b *testing.B) {
			store := repotest.Open(b, backend)
			ctx := context.Background()
			var sids []string
			for i := range 200 {
				a := models.Account{Sid: fmt.Sprintf("AC%032x", i+1), Name: "a", Currency: "usd", CreatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
				if err := store.CreateAccount(ctx, a, "h"); err != nil {
					b.Fatal(err)
				}
				sids = append(sids, a.Sid)
			}
			cats := []string{"calls-outbound", "calls-inbound-local", "sms-outbound-longcode", "recordings", "calleridlookups", "transcriptions"}
			day := models.NewDate(2024, 3, 1)
			n := 0
			b.ResetTimer()
			for range b.N {
				events := make([]models.UsageEvent, 1000)
				for i := range events {
					n++
					events[i] = models.UsageEvent{
						ID: fmt.Sprintf("e-%d", n), AccountSid: sids[n%len(sids)], Category: cats[n%len(cats)],
						OccurredAt: (day + models.Date(n%30)).Time().Add(time.Duration(n) * time.Millisecond),
						Count:      1, Usage: 3_000_000, Price: 39_000,
					}
				}
				if _, err := store.RecordUsageEvents(ctx, events); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
