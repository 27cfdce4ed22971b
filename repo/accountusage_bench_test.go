package repo_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

// overviewBenchEnv names a Postgres database seeded with `billing bench seed
// --accounts 1000 --days 730 --seed 1 --end 2026-11-22`.
const overviewBenchEnv = "BILLING_BENCH_OVERVIEW_URL"

// BenchmarkAccountUsage runs the accounts overview at concurrency 8 over the
// bench data and reports its p50 and p99 latency; with -v it logs each
// statement's plan. It needs the seeded database named by overviewBenchEnv.
func BenchmarkAccountUsage(b *testing.B) {
	url := os.Getenv(overviewBenchEnv)
	if url == "" {
		b.Skipf("%s is not set: no seeded bench database", overviewBenchEnv)
	}
	store, err := repo.Open(url)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	totalprice, _ := models.LookupCategory(models.TotalPrice)
	calls, _ := models.LookupCategory("calls")
	end := models.NewDate(2026, 11, 22)
	admin := models.Readable{Every: true}
	for _, c := range []struct {
		name   string
		reader models.Readable
		cat    models.Category
		r      models.DateRange
	}{
		{"month", admin, totalprice, models.DateRange{Start: models.NewDate(2026, 10, 1), End: models.NewDate(2026, 10, 31)}},
		{"year", admin, totalprice, models.DateRange{Start: models.NewDate(2025, 11, 1), End: models.NewDate(2026, 10, 31)}},
		{"year-calls", admin, calls, models.DateRange{Start: models.NewDate(2025, 11, 1), End: models.NewDate(2026, 10, 31)}},
		{"month-to-date", admin, totalprice, models.DateRange{Start: end.MonthStart(), End: end}},
		{"last-365-days", admin, totalprice, models.DateRange{Start: end - 364, End: end}},
	} {
		q := models.AccountUsageQuery{Start: &c.r.Start, End: c.r.End, Category: c.cat, OrderBy: models.OrderPriceDesc, CountPerPage: 50}
		b.Run(c.name, func(b *testing.B) {
			if testing.Verbose() {
				plan, err := store.ExplainAccountUsage(ctx, c.reader, q)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("plan of %s %s..%s:\n%s", c.name, c.r.Start, c.r.End, plan)
			}
			if p, err := store.ListAccountUsage(ctx, c.reader, q); err != nil || p.TotalCount != 1000 {
				b.Fatalf("%d accounts, %v: is the bench data seeded?", p.TotalCount, err)
			}
			b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0))) // 8 goroutines on 1, 2, 4 or 8 procs
			var (
				mu    sync.Mutex
				times []time.Duration
			)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					t0 := time.Now()
					if _, err := store.ListAccountUsage(ctx, c.reader, q); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				times = append(times, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			slices.Sort(times)
			if len(times) > 0 {
				b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(times[min(len(times)-1, len(times)*99/100)].Microseconds())/1000, "p99-ms")
			}
		})
	}
}
