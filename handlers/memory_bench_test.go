package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo/repotest"
)

// BenchmarkWidestDailyPeakMemory sends 32 concurrent Daily requests over the
// whole supported range (0001-01-01..9999-12-31, 3,652,059 days) with an
// account's own Basic credentials, and reports the peak Go heap above what
// it was before (sampled every millisecond from runtime/metrics) and how
// the requests were answered.
//
//	go test ./handlers -run '^$' -bench WidestDailyPeakMemory -benchtime 3x
func BenchmarkWidestDailyPeakMemory(b *testing.B) {
	const concurrent = 32
	for _, backend := range repotest.Backends() {
		b.Run(backend, func(b *testing.B) {
			store := repotest.Open(b, backend)
			ctx := context.Background()
			sid, token := models.NewAccountSid(), models.NewAuthToken()
			a := models.Account{Sid: sid, Name: "Wide", Currency: "usd", CreatedAt: models.NewDate(2023, 1, 1).Time()}
			if err := store.CreateAccount(ctx, a, models.HashAuthToken(token)); err != nil {
				b.Fatal(err)
			}
			var events []models.UsageEvent
			for i, c := range []string{"calls-outbound", "sms-outbound-longcode", "recordings"} {
				events = append(events, models.UsageEvent{ID: c, AccountSid: sid, Category: c,
					OccurredAt: handlertest.Now.Add(-time.Duration(i) * time.Hour), Count: 1, Usage: 1_000_000, Price: 10_000})
			}
			if _, err := store.RecordUsageEvents(ctx, events); err != nil {
				b.Fatal(err)
			}
			verifier, err := auth.NewVerifier(auth.JWTConfig{Algorithm: "HS256", Secret: handlertest.Secret})
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(handlers.New(handlers.Config{
				Store: store, Verifier: verifier, Now: func() time.Time { return handlertest.Now },
				Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
				RequestTimeout: time.Minute,
			}))
			b.Cleanup(srv.Close)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrent}}

			for _, query := range []string{"", "&PageSize=1000"} {
				name := "PageSize=50"
				if query != "" {
					name = query[1:]
				}
				b.Run(name, func(b *testing.B) {
					path := srv.URL + "/2010-04-01/Accounts/" + sid + "/Usage/Records/Daily.json?StartDate=0001-01-01&EndDate=9999-12-31" + query
					var peak uint64
					statuses := map[int]int{}
					for b.Loop() {
						runtime.GC()
						base := heapBytes()
						stop := make(chan struct{})
						sampled := make(chan uint64)
						go func() {
							var top uint64
							tick := time.NewTicker(time.Millisecond)
							defer tick.Stop()
							for {
								if h := heapBytes(); h > top {
									top = h
								}
								select {
								case <-stop:
									sampled <- top
									return
								case <-tick.C:
								}
							}
						}()
						var mu sync.Mutex
						var wg sync.WaitGroup
						for range concurrent {
							wg.Go(func() {
								req, _ := http.NewRequest(http.MethodGet, path, nil)
								req.SetBasicAuth(sid, token)
								res, err := client.Do(req)
								if err != nil {
									b.Error(err)
									return
								}
								io.Copy(io.Discard, res.Body)
								res.Body.Close()
								mu.Lock()
								statuses[res.StatusCode]++
								mu.Unlock()
							})
						}
						wg.Wait()
						close(stop)
						if top := <-sampled; top > base && top-base > peak {
							peak = top - base
						}
					}
					b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
					n := float64(b.N)
					b.ReportMetric(float64(statuses[http.StatusOK])/n, "ok/op")
					b.ReportMetric(float64(statuses[http.StatusServiceUnavailable])/n, "busy/op")
					b.ReportMetric(float64(statuses[http.StatusBadRequest])/n, "refused/op")
				})
			}
		})
	}
}

// heapBytes is the memory the Go heap holds in objects, live or not yet
// collected: what the process's resident size follows.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
