package repo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo/repotest"
)

// BenchmarkReads times the two statements behind an all-time answer: the
// account overview and the totals over two years (monthly rows plus the
// partial months by day), on one account with 12 categories a day.
func BenchmarkReads(b *testing.B) {
	for _, backend := range repotest.Backends() {
		b.Run(backend, func(b *testing.B) {
			store := repotest.Open(b, backend)
			ctx := context.Background()
			end := models.NewDate(2026, 11, 22)
			sid := "AC00000000000000000000000000000001"
			if err := store.CreateAccount(ctx, models.Account{Sid: sid, Name: "a", Currency: "usd", CreatedAt: (end - 729).Time()}, "h"); err != nil {
				b.Fatal(err)
			}
			var events []models.UsageEvent
			leaves := []string{"calls-inbound-local", "calls-inbound-tollfree", "calls-outbound", "calls-client", "calls-sip", "sms-inbound-longcode",
				"sms-outbound-longcode", "sms-outbound-shortcode", "calleridlookups", "recordings", "transcriptions", "phonenumbers-local"}
			for d := end - 729; d <= end; d++ {
				for i, c := range leaves {
					events = append(events, models.UsageEvent{ID: fmt.Sprintf("%s-%s", d, c), AccountSid: sid, Category: c,
						OccurredAt: d.Time().Add(time.Duration(i) * time.Hour), Count: 3, Usage: 9_000_000, Price: 117_000})
				}
			}
			for start := 0; start < len(events); start += models.MaxBatchEvents {
				if _, err := store.RecordUsageEvents(ctx, events[start:min(start+models.MaxBatchEvents, len(events))]); err != nil {
					b.Fatal(err)
				}
			}
			q := models.UsageQuery{Accounts: []string{sid}, Range: models.DateRange{Start: end - 729, End: end}}
			b.Run("overview", func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					if _, err := store.AccountOverview(ctx, sid); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("totals-2y", func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					if _, err := store.UsageTotals(ctx, q); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("daily-90d", func(b *testing.B) {
				b.ReportAllocs()
				q := models.UsageQuery{Accounts: []string{sid}, Categories: models.Subtree("calls"), Range: models.DateRange{Start: end - 89, End: end}}
				for range b.N {
					if _, err := store.UsageByPeriod(ctx, q, models.GranularityDay); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
