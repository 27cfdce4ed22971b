package consume_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/cmd/billing/internal/bench"
	"github.com/evovoice/billing/cmd/billing/internal/consume"
	"github.com/evovoice/billing/cmd/billing/internal/natstest"
	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// seeded fills a store with a small dataset and returns its accounts.
func seeded(t *testing.T, store *repo.Store, seed uint64) []synth.Account {
	t.Helper()
	d := synth.Dataset{Seed: seed, Accounts: 20, Days: 3, End: models.DateOf(time.Now())}
	if _, err := bench.Seed(context.Background(), store, d); err != nil {
		t.Fatal(err)
	}
	return d.AccountList()
}

// startConsumer runs the consumer until the test ends.
func startConsumer(t *testing.T, cfg consume.Config, store consume.Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- consume.Run(ctx, cfg, store) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consume: %v", err)
		}
	})
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func publisher(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, js, err := bench.PublishConnect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return js
}

// deadLetters reads every message of the dead-letter stream.
func deadLetters(t *testing.T, js jetstream.JetStream) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, consume.DeadLetterStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.FetchNoWait(1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	for m := range b.Messages() {
		out = append(out, m)
	}
	return out
}

// TestConsumeExactlyOnceWithDeadLetters publishes events with duplicates (some
// dropped by the stream's duplicate window, some re-sent without a message id
// so that the ledger must drop them) and poison messages among them: the
// ledger holds each good event once, every rollup equals a recount, and each
// poison message is in the dead-letter stream with its reason.
func TestConsumeExactlyOnceWithDeadLetters(t *testing.T) {
	srv := natstest.Start(t)
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		ctx := context.Background()
		accounts := seeded(t, store, 4)
		run := "run-" + strings.ReplaceAll(t.Name(), "/", "-")
		stream := strings.ToUpper(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name()))
		subject := strings.ToLower(stream) + ".events"
		cfg := consume.Config{URL: srv.URL(), Stream: stream, Subject: subject + ".>", Durable: "billing", Batch: 500,
			DeadLetter: strings.ToLower(stream) + ".deadletter", Metrics: consume.NewMetrics()}
		js := publisher(t, srv.URL())
		setCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		// Start from a clean dead-letter stream: the package's tests share it.
		js.DeleteStream(setCtx, consume.DeadLetterStream)
		if _, err := consume.SetUp(setCtx, js, cfg); err != nil {
			t.Fatal(err)
		}
		startConsumer(t, cfg, store)

		events := bench.IngestEvents(bench.IngestConfig{Accounts: accounts, Events: 3000, RunID: run, Today: models.DateOf(time.Now()), Days: 2, Seed: 9})
		var want models.Sums
		for _, e := range events {
			want.Add(models.Sums{Count: e.Count, Usage: e.Usage, Price: e.Price})
		}
		rep, err := bench.PublishEvents(ctx, js, bench.PublishConfig{Subject: subject, Publishers: 3, Duplicates: 0.1, Window: 100}, events)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Resent == 0 || rep.StreamDuplicates != rep.Resent {
			t.Errorf("publish report %+v: want every re-sent event dropped by the stream", rep)
		}
		// Redeliveries the stream cannot see: no message id.
		for _, e := range events[:200] {
			m, _ := bench.EventMessage(subject, e)
			m.Header.Del(jetstream.MsgIDHeader)
			if _, err := js.PublishMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		// Poison: a bad category, an id stored with other content, an unknown
		// account, something that is not JSON at all, ids whose escapes are
		// not text, and a property given twice.
		conflict := events[7]
		conflict.Count++
		unknown := events[8]
		unknown.ID, unknown.AccountSid = run+"-unknown", models.NewAccountSid()
		poison := map[string]string{}
		for _, p := range []struct {
			id, data, reason string
		}{
			{run + "-badcat", strings.Replace(encode(t, events[9]), events[9].Category, "calls-teleport", 1), `category "calls-teleport" is not a usage category`},
			{run + "-conflict", encode(t, conflict), "with other content"},
			{run + "-unknown", encode(t, unknown), "does not exist"},
			{run + "-notjson", "call ended at 12:00, 3 minutes", "not a valid usage event"},
			// Two ids that Go's JSON decoder would both read as "…\uFFFD", so
			// that the second became a duplicate of the first: both refused.
			{run + "-surrogate1", strings.Replace(encode(t, events[10]), `"id":"`+events[10].ID, `"id":"`+events[10].ID+`\ud800`, 1), "half a surrogate pair"},
			{run + "-surrogate2", strings.Replace(encode(t, events[10]), `"id":"`+events[10].ID, `"id":"`+events[10].ID+`\udbff`, 1), "half a surrogate pair"},
			{run + "-twice", strings.Replace(encode(t, events[11]), `{`, `{"price":"0",`, 1), "more than once"},
		} {
			m := nats.NewMsg(subject + ".poison")
			m.Data = []byte(p.data)
			m.Header.Set("Billing-Test", p.id)
			if _, err := js.PublishMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
			poison[p.id] = p.reason
		}
		deadCount := len(poison)

		waitFor(t, 60*time.Second, "every event to be stored and the poison dead-lettered", func() bool {
			n, _, err := store.LedgerTotals(ctx, run+"-")
			return err == nil && n == int64(len(events)) && testutil.ToFloat64(cfg.Metrics.DeadLetters) == float64(len(poison))
		})
		check, err := bench.Verify(ctx, store, run+"-", len(events), want)
		if err != nil {
			t.Fatal(err)
		}
		if !check.OK() {
			t.Fatalf("ledger: %+v", check)
		}
		if got := testutil.ToFloat64(cfg.Metrics.Stored); got != float64(len(events)) {
			t.Errorf("stored counter %.0f, want %d", got, len(events))
		}
		if got := testutil.ToFloat64(cfg.Metrics.Duplicates); got < 200 {
			t.Errorf("duplicates counter %.0f, want at least the 200 re-sent without a message id", got)
		}
		for _, m := range deadLetters(t, js) {
			id := m.Headers().Get("Billing-Test")
			reason, ok := poison[id]
			if !ok {
				t.Errorf("unexpected dead letter %q: %s", m.Data(), m.Headers().Get(consume.ErrorHeader))
				continue
			}
			delete(poison, id)
			if got := m.Headers().Get(consume.ErrorHeader); !strings.Contains(got, reason) {
				t.Errorf("dead letter %s: %s %q, want a reason with %q", id, consume.ErrorHeader, got, reason)
			}
		}
		for id := range poison {
			t.Errorf("poison message %s is not in the dead-letter stream", id)
		}
		waitFor(t, 10*time.Second, "the consumer to acknowledge everything", func() bool {
			st, err := consume.ReadStatus(ctx, js, cfg)
			return err == nil && st.Pending == 0 && st.AckPending == 0 && st.DeadLetters == uint64(deadCount)
		})
	})
}

func encode(t *testing.T, e models.UsageEvent) string {
	t.Helper()
	m, err := bench.EventMessage("x", e)
	if err != nil {
		t.Fatal(err)
	}
	var check map[string]any
	if err := json.Unmarshal(m.Data, &check); err != nil {
		t.Fatal(err)
	}
	return string(m.Data)
}

// TestConsumeThroughPostgresRestart crashes the database while events flow:
// the consumer stops acknowledging, retries, resumes by itself, and nothing
// is lost or counted twice.
func TestConsumeThroughPostgresRestart(t *testing.T) {
	srv := natstest.Start(t)
	pg := repotest.NewPrivatePostgres(t)
	pg.Start()
	store, err := repo.Open(pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	accounts := seeded(t, store, 5)
	cfg := consume.Config{URL: srv.URL(), Stream: "RESTART", Subject: "restart.>", Batch: 500, DeadLetter: "restart-deadletter", Metrics: consume.NewMetrics()}
	startConsumer(t, cfg, store)
	events := bench.IngestEvents(bench.IngestConfig{Accounts: accounts, Events: 30_000, RunID: "restart", Today: models.DateOf(time.Now()), Days: 2, Seed: 2})
	var want models.Sums
	for _, e := range events {
		want.Add(models.Sums{Count: e.Count, Usage: e.Usage, Price: e.Price})
	}
	js := publisher(t, srv.URL())
	waitFor(t, 20*time.Second, "the stream", func() bool { _, err := js.Stream(ctx, "RESTART"); return err == nil })
	published := make(chan error, 1)
	go func() {
		_, err := bench.PublishEvents(ctx, js, bench.PublishConfig{Subject: "restart.events", Publishers: 2, Duplicates: 0.05}, events)
		published <- err
	}()
	waitFor(t, 60*time.Second, "a fifth of the events", func() bool { return testutil.ToFloat64(cfg.Metrics.Stored) >= float64(len(events)/5) })
	pg.Stop("immediate")
	time.Sleep(2 * time.Second)
	pg.Start()
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "every event", func() bool {
		n, _, err := store.LedgerTotals(ctx, "restart-")
		return err == nil && n == int64(len(events))
	})
	if testutil.ToFloat64(cfg.Metrics.StoreFailures) == 0 {
		t.Error("no batch failed: the database was not down while events flowed")
	}
	check, err := bench.Verify(ctx, store, "restart-", len(events), want)
	if err != nil {
		t.Fatal(err)
	}
	if !check.OK() {
		t.Fatalf("after the restart: %+v", check)
	}
	t.Logf("%.0f batches failed while the database was down; %.0f duplicates absorbed", testutil.ToFloat64(cfg.Metrics.StoreFailures), testutil.ToFloat64(cfg.Metrics.Duplicates))
	_ = fmt.Sprint()
}
