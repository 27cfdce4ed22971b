package triggers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo/repotest"
	"github.com/evovoice/billing/triggers"
)

// BenchmarkIngestToCallback measures, per firing, the time from an
// ingestion's commit to its callback arriving at a loopback receiver,
// through the running engine (ingestion hook, evaluation, outbox, worker).
// Run with -benchtime=100x for p50/p99 over 100 firings.
func BenchmarkIngestToCallback(b *testing.B) {
	for _, backend := range repotest.Backends() {
		b.Run(backend, func(b *testing.B) {
			store := repotest.Open(b, backend)
			box, err := auth.NewTokenBox([]byte(strings.Repeat("k", 32)))
			if err != nil {
				b.Fatal(err)
			}
			arrived := make(chan time.Time, 1)
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { arrived <- time.Now() }))
			defer rc.Close()
			e := triggers.New(triggers.Config{Store: store, Box: box, Now: time.Now, AllowPrivate: true, Interval: time.Hour, Workers: 2})
			store.OnIngest(e.Touched)
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			go e.Run(ctx)
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				// A fresh account per firing, so each ingestion crosses one threshold.
				sid := models.NewAccountSid()
				token := models.NewAuthToken()
				if err := store.CreateAccount(ctx, models.Account{Sid: sid, Name: "L", Currency: "usd", CreatedAt: time.Now()}, models.HashAuthToken(token)); err != nil {
					b.Fatal(err)
				}
				store.SetAuthToken(ctx, sid, models.HashAuthToken(token), box.Seal(sid, token))
				if _, err := e.Create(ctx, sid, "2010-04-01", models.TriggerInput{CallbackURL: rc.URL, TriggerValue: "1", UsageCategory: "calls"}); err != nil {
					b.Fatal(err)
				}
				_, err := store.RecordUsageEvents(ctx, []models.UsageEvent{{ID: fmt.Sprint(i), AccountSid: sid, Category: "calls", OccurredAt: time.Now().UTC().Truncate(time.Microsecond), Count: 1, Usage: 1_000_000}})
				committed := time.Now()
				if err != nil {
					b.Fatal(err)
				}
				select {
				case at := <-arrived:
					lat = append(lat, at.Sub(committed))
				case <-time.After(30 * time.Second):
					b.Fatal("no callback")
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
