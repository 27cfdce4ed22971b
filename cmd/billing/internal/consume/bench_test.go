package consume_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/evovoice/billing/cmd/billing/internal/bench"
	"github.com/evovoice/billing/cmd/billing/internal/consume"
	"github.com/evovoice/billing/cmd/billing/internal/natstest"
	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo/repotest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// BenchmarkConsumeFullStream fills a stream with 100,000 events per
// iteration, then times the consumer draining it into the database (the
// Postgres suite's when on), exactly once.
func BenchmarkConsumeFullStream(b *testing.B) {
	backend := repotest.Backends()[len(repotest.Backends())-1]
	srv := natstest.Start(b)
	store := repotest.Open(b, backend)
	ctx := context.Background()
	d := synth.Dataset{Seed: 3, Accounts: 100, Days: 3, End: models.DateOf(time.Now())}
	if _, err := bench.Seed(ctx, store, d); err != nil {
		b.Fatal(err)
	}
	nc, js, err := bench.PublishConnect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	const n = 100_000
	var total time.Duration
	for i := range b.N {
		cfg := consume.Config{URL: srv.URL(), Metrics: consume.NewMetrics()}
		if _, err := consume.SetUp(ctx, js, cfg); err != nil {
			b.Fatal(err)
		}
		events := bench.IngestEvents(bench.IngestConfig{Accounts: d.AccountList(), Events: n, RunID: "full" + string(rune('a'+i)), Today: d.End, Days: 1, Seed: uint64(i)})
		if _, err := bench.PublishEvents(ctx, js, bench.PublishConfig{Subject: "usage.events", Publishers: 4}, events); err != nil {
			b.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- consume.Run(runCtx, cfg, store) }()
		for testutil.ToFloat64(cfg.Metrics.Stored) < n {
			time.Sleep(5 * time.Millisecond)
		}
		total += time.Since(start)
		cancel()
		<-done
		b.ReportMetric(float64(n)/testutil.ToFloat64(cfg.Metrics.Batches), "events/batch")
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "events/s")
}

// BenchmarkPublishToQueryable publishes one event at a time to a running
// consumer and waits until the ledger answers with it: the time from
// publish to queryable, reported as p50 and p99.
func BenchmarkPublishToQueryable(b *testing.B) {
	backend := repotest.Backends()[len(repotest.Backends())-1]
	srv := natstest.Start(b)
	store := repotest.Open(b, backend)
	ctx := context.Background()
	acct := models.Account{Sid: models.NewAccountSid(), Name: "latency", Currency: "usd", CreatedAt: time.Now().UTC().Add(-time.Hour)}
	if err := store.CreateAccount(ctx, acct, "hash"); err != nil {
		b.Fatal(err)
	}
	nc, js, err := bench.PublishConnect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	cfg := consume.Config{URL: srv.URL()}
	if _, err := consume.SetUp(ctx, js, cfg); err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- consume.Run(runCtx, cfg, store) }()
	defer func() { cancel(); <-done }()
	const n = 300
	var lat []time.Duration
	for range b.N {
		lat = lat[:0]
		for i := range n {
			e := models.UsageEvent{ID: fmt.Sprintf("lat-%d-%d", time.Now().UnixNano(), i), AccountSid: acct.Sid, Category: "calls-outbound",
				OccurredAt: time.Now().UTC().Truncate(time.Microsecond), Count: 1, Usage: 60_000_000, Price: 13_000}
			m, _ := bench.EventMessage("usage.events", e)
			start := time.Now()
			if _, err := js.PublishMsg(ctx, m); err != nil {
				b.Fatal(err)
			}
			for {
				got, _, err := store.LedgerTotals(ctx, e.ID)
				if err != nil {
					b.Fatal(err)
				}
				if got == 1 {
					break
				}
				time.Sleep(500 * time.Microsecond)
			}
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
}
