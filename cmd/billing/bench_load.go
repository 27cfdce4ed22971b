package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/evovoice/billing/cmd/billing/internal/bench"
	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runBenchQuery(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("bench query")
	concurrency := f.Int("concurrency", 32, "requests in flight: each worker sends its next request when the last is answered")
	duration := f.Duration("duration", 30*time.Second, "how long to measure each run")
	warmup := f.Duration("warmup", 3*time.Second, "how long to run before measuring")
	mix := f.String("mix", bench.DefaultMix, "requests and weights: name[:weight],… over the presets")
	var templates listFlag
	f.Var(&templates, "template", "extra request name:weight:/path?query with {account}, {category}, {today}, {today-N}, {month-N}, {monthend-N} (repeatable)")
	baseline := f.String("baseline", "", "also read straight from the database (--db): sql (the reads the service makes), answer (only each answer's usage read), or sql,answer")
	rounds := f.Int("rounds", 1, "repeat baseline and HTTP runs in turn this many times; medians are compared (shared machines drift)")
	jsonOut := f.String("json", "", "write every run's results to this file as JSON")
	ds := f.dataset()
	if err := parse(f, args); err != nil {
		return err
	}
	d, err := ds.dataset()
	if err != nil {
		return err
	}
	reqs, err := bench.ParseMix(*mix, templates)
	if err != nil {
		return err
	}
	settings := f.Config
	cfg := bench.QueryConfig{
		BaseURL: strings.TrimSuffix(settings.BenchURL, "/"), Token: settings.BenchToken, Concurrency: *concurrency,
		Duration: *duration, Warmup: *warmup, Mix: reqs, Accounts: d.AccountList(),
		Today: models.DateOf(time.Now()), Seed: d.Seed,
	}
	cfg.MetricsURL = cfg.BaseURL + "/metrics"

	// The runs of one round, in order: baselines first, then HTTP.
	var modes []bench.QueryConfig
	if *baseline != "" {
		if settings.DatabaseURL == "" {
			return errors.New("--baseline needs --db")
		}
		store, err := settings.openStore()
		if err != nil {
			return err
		}
		defer store.Close()
		// The service answers account reads from its directory; so does
		// the "sql" baseline, to issue what the service issues.
		if err := store.StartDirectory(ctx); err != nil {
			return err
		}
		for _, m := range splitList(*baseline) {
			c := cfg
			c.Store = store
			switch m {
			case "sql":
			case "answer":
				c.AnswerOnly = true
			default:
				return fmt.Errorf("--baseline %q: say sql, answer or sql,answer", m)
			}
			modes = append(modes, c)
		}
	}
	if settings.BenchToken != "" {
		modes = append(modes, cfg)
	} else if len(modes) == 0 {
		return errors.New("--token is required (or BILLING_BENCH_TOKEN)")
	}
	var reports []bench.QueryReport
	perSec := map[string][]float64{}
	for round := 1; round <= max(*rounds, 1); round++ {
		for _, c := range modes {
			c.Seed = d.Seed + uint64(round)
			rep, err := bench.RunQuery(ctx, c, out)
			if err != nil {
				return err
			}
			printQueryReport(out, rep)
			reports = append(reports, rep)
			perSec[rep.Mode] = append(perSec[rep.Mode], rep.All.PerSec)
		}
	}
	if len(modes) > 1 {
		fmt.Fprintln(out)
		for _, m := range []string{"sql", "answer", "http"} {
			if v := perSec[m]; len(v) > 0 {
				fmt.Fprintf(out, "%-6s median %.1f req/s over %d run(s)\n", m, median(v), len(v))
			}
		}
		if h := perSec["http"]; len(h) > 0 {
			for _, m := range []string{"sql", "answer"} {
				if b := perSec[m]; len(b) > 0 {
					fmt.Fprintf(out, "HTTP throughput is %.1f%% of the %s baseline's (medians)\n", 100*median(h)/median(b), m)
				}
			}
		}
	}
	if *jsonOut != "" {
		return bench.WriteJSON(*jsonOut, reports)
	}
	return nil
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func printQueryReport(out io.Writer, rep bench.QueryReport) {
	fmt.Fprintf(out, "\n%s → %s, concurrency %d, %.1f s measured (load average %s before, %s after)\n", rep.Mode, rep.Target, rep.Concurrency, rep.Seconds, rep.LoadAvgBefore, rep.LoadAvgAfter)
	bench.PrintStats(out, rep.All, rep.ByRequest)
	if rep.ServerRSSMaxBytes > 0 {
		fmt.Fprintf(out, "server RSS peak: %.1f MB\n", float64(rep.ServerRSSMaxBytes)/(1<<20))
	}
}

func runBenchIngest(ctx context.Context, args []string, out io.Writer) (err error) {
	f := newFlags("bench ingest")
	events := f.Int("events", 300_000, "distinct events to store")
	batch := f.Int("batch", 1000, "events per POST, re-sent duplicates included (at most 10,000)")
	senders := f.Int("senders", 4, "concurrent senders")
	dups := f.Float64("duplicates", 0.05, "share of each batch that re-sends events of the sender's previous batch")
	eventDays := f.Int("event-days", 1, "events fall on this many days up to today (1: as they happen; more touches more rollup rows)")
	retry := f.Bool("retry", false, "re-send a batch answered 503 or cut off until it is acknowledged")
	baseline := f.String("baseline", "", "copy: also time a bare COPY of the same events into an unindexed table (--db, PostgreSQL)")
	jsonOut := f.String("json", "", "write the results to this file as JSON")
	natsURL := f.String("nats", "", "also publish the same number of events to this NATS JetStream (usage.events.<account>) and time a consumer (serve with BILLING_NATS_URL, or billing consume) storing them; needs --db")
	publishers := f.Int("publishers", 4, "concurrent NATS publishers")
	ds := f.dataset()
	if err := parse(f, args); err != nil {
		return err
	}
	d, err := ds.dataset()
	if err != nil {
		return err
	}
	settings := f.Config
	if *natsURL != "" {
		if settings.DatabaseURL == "" {
			return errors.New("--nats needs --db to see when the consumer has stored the events")
		}
		defer func() {
			if err == nil {
				err = benchNATS(ctx, *natsURL, settings.DatabaseURL, d, *events, *publishers, *dups, *eventDays, out)
			}
		}()
		if settings.BenchToken == "" {
			return nil // NATS only
		}
	}
	if settings.BenchToken == "" {
		return errors.New("--token is required (or BILLING_BENCH_TOKEN)")
	}
	if *batch < 1 || *batch > models.MaxBatchEvents || *events < 1 || *dups < 0 || *dups >= 1 {
		return fmt.Errorf("--batch must be 1..%d, --events at least 1 and --duplicates in [0, 1)", models.MaxBatchEvents)
	}
	if *baseline != "" && *baseline != "copy" {
		return fmt.Errorf("--baseline %q: the ingestion baseline is copy", *baseline)
	}
	var store *repo.Store
	if settings.DatabaseURL != "" {
		if store, err = repo.Open(settings.DatabaseURL); err != nil {
			return err
		}
		defer store.Close()
	} else if *baseline != "" {
		return errors.New("--baseline copy needs --db")
	}
	cfg := bench.IngestConfig{
		BaseURL: strings.TrimSuffix(settings.BenchURL, "/"), Token: settings.BenchToken, Accounts: d.AccountList(),
		Events: *events, Batch: *batch, Senders: *senders, Duplicates: *dups,
		RunID: fmt.Sprintf("bench-%d", time.Now().UnixNano()), Today: models.DateOf(time.Now()), Days: *eventDays,
		Seed: d.Seed, Retry: *retry,
	}
	rep, runErr := bench.RunIngest(ctx, cfg, store, *baseline == "copy", out)
	fmt.Fprintf(out, "\n%d distinct events (%d posted, %d re-sent) in %d batches of %d from %d senders: %.1f s, %.0f events/s (load average %s before, %s after)\n",
		rep.Events, rep.Sent, rep.ExpectedDuplicates, rep.Batches, rep.BatchSize, rep.Senders, rep.Seconds, rep.EventsPerSec, rep.LoadAvgBefore, rep.LoadAvgAfter)
	fmt.Fprintf(out, "service reported %d accepted, %d duplicates; %d retries; server RSS peak %.1f MB\n", rep.Accepted, rep.Duplicates, rep.Retries, float64(rep.ServerRSSMaxBytes)/(1<<20))
	bench.PrintStats(out, rep.Latency, nil)
	if rep.Copy != nil {
		fmt.Fprintf(out, "bare COPY of the same %d events into an unindexed table: %.2f s, %.0f events/s (ingestion is %.1f%% of it)\n",
			rep.Events, rep.Copy.Seconds, rep.Copy.EventsPerSec, 100*rep.EventsPerSec/rep.Copy.EventsPerSec)
	}
	if c := rep.Check; c != nil {
		fmt.Fprintf(out, "ledger holds %d of this run's events (want %d), sums match: %t; rollup rows differing from a recount: %d (checked in %.1f s)\n",
			c.LedgerEvents, rep.Events, c.LedgerMatches, len(c.RollupMismatches), c.Seconds)
		for _, m := range c.RollupMismatches {
			fmt.Fprintln(out, "  ", m)
		}
	}
	if *jsonOut != "" {
		if err := bench.WriteJSON(*jsonOut, rep); err != nil {
			return err
		}
	}
	switch {
	case runErr != nil:
		return runErr
	case rep.Check != nil && !rep.Check.OK():
		return errors.New("the database does not hold exactly the events sent")
	case rep.Duplicates != rep.ExpectedDuplicates && rep.Retries == 0:
		return fmt.Errorf("the service reported %d duplicates, %d were sent", rep.Duplicates, rep.ExpectedDuplicates)
	}
	return nil
}

// benchNATS publishes events to the stream and waits until the ledger holds
// them all, exactly once: the consumer's throughput, publishing included.
func benchNATS(ctx context.Context, url, dbURL string, d synth.Dataset, events, publishers int, dups float64, days int, out io.Writer) error {
	store, err := repo.Open(dbURL)
	if err != nil {
		return err
	}
	defer store.Close()
	nc, js, err := bench.PublishConnect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	runID := fmt.Sprintf("nats-%d", time.Now().UnixNano())
	evs := bench.IngestEvents(bench.IngestConfig{Accounts: d.AccountList(), Events: events, RunID: runID, Today: models.DateOf(time.Now()), Days: days, Seed: d.Seed + 1})
	var want models.Sums
	for _, e := range evs {
		want.Add(models.Sums{Count: e.Count, Usage: e.Usage, Price: e.Price})
	}
	fmt.Fprintf(out, "\nnats: publishing %d events from %d publishers (%.0f%% re-sent) to %s…\n", events, publishers, 100*dups, url)
	start := time.Now()
	pub, err := bench.PublishEvents(ctx, js, bench.PublishConfig{Subject: "usage.events", Publishers: publishers, Duplicates: dups}, evs)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "published %d messages (%d re-sent, %d dropped by the stream, %d retries) in %.1f s, %.0f messages/s\n",
		pub.Published, pub.Resent, pub.StreamDuplicates, pub.Retries, pub.Seconds, pub.PerSec)
	for {
		n, _, err := store.LedgerTotals(ctx, runID+"-")
		if err != nil {
			return err
		}
		if n >= int64(events) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	took := time.Since(start)
	fmt.Fprintf(out, "the consumer stored all %d events %.1f s after the first publish: %.0f events/s\n", events, took.Seconds(), float64(events)/took.Seconds())
	check, err := bench.Verify(ctx, store, runID+"-", events, want)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ledger holds %d of this run's NATS events (want %d), sums match: %t; rollup rows differing from a recount: %d\n", check.LedgerEvents, events, check.LedgerMatches, len(check.RollupMismatches))
	if !check.OK() {
		return errors.New("the database does not hold exactly the events published")
	}
	return nil
}
