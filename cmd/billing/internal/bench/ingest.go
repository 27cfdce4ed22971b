package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

// IngestConfig is one sustained ingestion load.
type IngestConfig struct {
	BaseURL, Token string
	Accounts       []synth.Account // events go to the accounts with usage
	Events         int             // distinct events to store
	Batch          int             // events per POST, duplicates included
	Senders        int             // concurrent senders
	// Duplicates is the share of each batch that re-sends events of the
	// sender's previous batch, already acknowledged: each must come back as
	// a duplicate and change nothing.
	Duplicates float64
	RunID      string      // prefix of this run's event ids
	Today      models.Date // events fall on the Days days up to Today
	Days       int
	Seed       uint64
	// Retry re-sends a batch answered 503 or cut off (connection lost,
	// timeout) until it is acknowledged, as a client of an idempotent API
	// should; without it such a batch counts as an error.
	Retry   bool
	Timeout time.Duration // per POST
}

// IngestReport is what an ingestion run measured and verified.
type IngestReport struct {
	RunID              string      `json:"runId"`
	Events             int         `json:"events"`    // distinct events
	Sent               int         `json:"sent"`      // events posted, duplicates included, retries not
	Batches            int         `json:"batches"`   // POSTs acknowledged
	BatchSize          int         `json:"batchSize"` // events per POST
	Senders            int         `json:"senders"`   // concurrent senders
	Seconds            float64     `json:"seconds"`   // first POST to last acknowledgement
	EventsPerSec       float64     `json:"eventsPerSecond"`
	Accepted           int         `json:"accepted"`           // as the service reported
	Duplicates         int         `json:"duplicates"`         // as the service reported
	ExpectedDuplicates int         `json:"expectedDuplicates"` // re-sent on purpose
	Retries            int         `json:"retries"`
	ServerRSSMaxBytes  int64       `json:"serverRssMaxBytes,omitempty"` // sampled from /metrics
	Latency            Stats       `json:"batchLatency"`
	Expected           models.Sums `json:"-"`
	LoadAvgBefore      string      `json:"loadAvgBefore"`
	LoadAvgAfter       string      `json:"loadAvgAfter"`
	Copy               *CopyResult `json:"copyBaseline,omitempty"`
	Check              *Check      `json:"check,omitempty"`
}

// CopyResult is the bare-COPY baseline over the same events.
type CopyResult struct {
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"eventsPerSecond"`
}

// Check compares the database with what the run sent.
type Check struct {
	LedgerEvents     int64    `json:"ledgerEvents"` // this run's events in the ledger
	LedgerMatches    bool     `json:"ledgerMatchesSent"`
	RollupMismatches []string `json:"rollupMismatches"`
	Seconds          float64  `json:"seconds"`
}

// OK tells whether every event was stored exactly once and every rollup
// equals a recount of the ledger.
func (c *Check) OK() bool { return c != nil && c.LedgerMatches && len(c.RollupMismatches) == 0 }

// wireEvent is an event as POST /billing/usage/events takes it.
type wireEvent struct {
	ID         string `json:"id"`
	AccountSid string `json:"accountSid"`
	Category   string `json:"category"`
	OccurredAt string `json:"occurredAt"`
	Count      int64  `json:"count"`
	Usage      string `json:"usage"`
	Price      string `json:"price"`
	Currency   string `json:"currency"`
}

// ingestBatch is one POST body, encoded before the clock starts so that the
// load measures the service, not the encoder.
type ingestBatch struct {
	body       []byte
	events     int
	duplicates int
}

// IngestEvents generates the run's distinct events: random accounts with
// usage, leaf categories, days and amounts.
func IngestEvents(cfg IngestConfig) []models.UsageEvent {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x1e57))
	var targets []synth.Account
	for _, a := range cfg.Accounts {
		if a.Profile.Name != synth.Idle {
			targets = append(targets, a)
		}
	}
	if len(targets) == 0 {
		targets = cfg.Accounts
	}
	var leaves []string
	for _, c := range models.Categories() {
		if c.Name != models.TotalPrice && len(models.Subtree(c.Name)) == 1 {
			leaves = append(leaves, c.Name)
		}
	}
	rates := synth.Rates()
	events := make([]models.UsageEvent, cfg.Events)
	for i := range events {
		a := targets[rng.IntN(len(targets))]
		cat := leaves[rng.IntN(len(leaves))]
		day := cfg.Today - models.Date(rng.IntN(max(cfg.Days, 1)))
		if first := models.DateOf(a.CreatedAt); day < first {
			day = first
		}
		count := int64(1 + rng.IntN(5))
		usage := models.Micros(count) * models.Micros(1+rng.IntN(600)) * 10_000 // hundredths
		events[i] = models.UsageEvent{
			ID: fmt.Sprintf("%s-%09d", cfg.RunID, i), AccountSid: a.Sid, Category: cat,
			OccurredAt: day.Time().Add(time.Duration(rng.IntN(86_400_000_000)) * time.Microsecond),
			Count:      count, Usage: usage, Price: usage * rates[cat] / 1_000_000,
		}
	}
	return events
}

func wire(e models.UsageEvent) wireEvent {
	return wireEvent{ID: e.ID, AccountSid: e.AccountSid, Category: e.Category, OccurredAt: e.OccurredAt.Format(time.RFC3339Nano),
		Count: e.Count, Usage: e.Usage.String(), Price: e.Price.String(), Currency: "usd"}
}

// plan splits the events into each sender's batches: sender s sends batches
// s, s+senders, … in turn, and each of its batches after the first re-sends
// some events of its previous one.
func plan(cfg IngestConfig, events []models.UsageEvent) ([][]ingestBatch, int, error) {
	dups := int(float64(cfg.Batch) * cfg.Duplicates)
	fresh := cfg.Batch - dups
	if fresh < 1 {
		return nil, 0, errors.New("the duplicate share leaves no room for new events in a batch")
	}
	perSender := make([][]ingestBatch, cfg.Senders)
	prev := make([][]models.UsageEvent, cfg.Senders)
	expectedDups := 0
	for n, start := 0, 0; start < len(events); n, start = n+1, start+fresh {
		s := n % cfg.Senders
		batch := events[start:min(start+fresh, len(events))]
		out := make([]wireEvent, 0, len(batch)+dups)
		for _, e := range batch {
			out = append(out, wire(e))
		}
		d := min(dups, len(prev[s]))
		for i := range d {
			out = append(out, wire(prev[s][i*len(prev[s])/d]))
		}
		body, err := json.Marshal(map[string]any{"events": out})
		if err != nil {
			return nil, 0, err
		}
		perSender[s] = append(perSender[s], ingestBatch{body: body, events: len(out), duplicates: d})
		expectedDups += d
		prev[s] = batch
	}
	return perSender, expectedDups, nil
}

// RunIngest posts the events in batches from concurrent senders and, given
// a store, verifies the result and runs the COPY baseline over the same events.
func RunIngest(ctx context.Context, cfg IngestConfig, store *repo.Store, copyBaseline bool, progress io.Writer) (IngestReport, error) {
	cfg.Senders = max(cfg.Senders, 1)
	cfg.Batch = max(cfg.Batch, 1)
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	rep := IngestReport{RunID: cfg.RunID, Events: cfg.Events, BatchSize: cfg.Batch, Senders: cfg.Senders}
	events := IngestEvents(cfg)
	for _, e := range events {
		rep.Expected.Add(models.Sums{Count: e.Count, Usage: e.Usage, Price: e.Price})
	}
	perSender, expectedDups, err := plan(cfg, events)
	if err != nil {
		return rep, err
	}
	rep.ExpectedDuplicates = expectedDups
	client := &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: cfg.Senders,
		},
	}
	defer client.CloseIdleConnections()

	if progress != nil {
		fmt.Fprintf(progress, "ingest: %d events in batches of %d (%.0f%% re-sent), %d senders…\n", cfg.Events, cfg.Batch, 100*cfg.Duplicates, cfg.Senders)
	}
	var rss rssSampler
	stopRSS := rss.start(client, cfg.BaseURL+"/metrics")
	rep.LoadAvgBefore = loadAvg()
	var (
		accepted, duplicates, retries, sent, batches atomic.Int64
		firstErr                                     error
		errOnce                                      sync.Once
	)
	recs := make([]*recorder, cfg.Senders)
	begin := time.Now()
	var wg sync.WaitGroup
	for s := range perSender {
		rec := newRecorder()
		recs[s] = rec
		wg.Go(func() {
			for _, b := range perSender[s] {
				res, took, tries, err := post(ctx, client, cfg, b.body)
				retries.Add(int64(tries - 1))
				if err != nil {
					rec.add("batch", took, errorKind(err))
					errOnce.Do(func() { firstErr = err })
					if !cfg.Retry {
						continue
					}
					return
				}
				rec.add("batch", took, "")
				accepted.Add(int64(res.Accepted))
				duplicates.Add(int64(res.Duplicates))
				sent.Add(int64(b.events))
				batches.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	stopRSS()
	rep.ServerRSSMaxBytes = rss.max()
	rep.LoadAvgAfter = loadAvg()
	rep.Seconds = elapsed.Seconds()
	rep.Sent, rep.Batches = int(sent.Load()), int(batches.Load())
	rep.EventsPerSec = float64(rep.Sent) / elapsed.Seconds()
	rep.Accepted, rep.Duplicates, rep.Retries = int(accepted.Load()), int(duplicates.Load()), int(retries.Load())
	rep.Latency, _ = summarize(recs, elapsed)
	if firstErr != nil {
		return rep, fmt.Errorf("ingestion failed: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if store == nil {
		return rep, nil
	}
	if copyBaseline {
		took, err := store.CopyBaseline(ctx, events)
		if err != nil {
			return rep, fmt.Errorf("copy baseline: %w", err)
		}
		rep.Copy = &CopyResult{Seconds: took.Seconds(), EventsPerSec: float64(len(events)) / took.Seconds()}
	}
	check, err := Verify(ctx, store, cfg.RunID+"-", len(events), rep.Expected)
	rep.Check = check
	return rep, err
}

// Verify checks that the ledger holds exactly the run's events with the
// expected sums, and that every rollup row equals a recount of the ledger.
func Verify(ctx context.Context, store *repo.Store, idPrefix string, events int, want models.Sums) (*Check, error) {
	start := time.Now()
	n, sums, err := store.LedgerTotals(ctx, idPrefix)
	if err != nil {
		return nil, err
	}
	bad, err := store.CheckRollups(ctx, 20)
	if err != nil {
		return nil, err
	}
	c := &Check{LedgerEvents: n, LedgerMatches: n == int64(events) && sums == want, RollupMismatches: []string{}, Seconds: time.Since(start).Seconds()}
	for _, m := range bad {
		c.RollupMismatches = append(c.RollupMismatches, m.String())
	}
	return c, nil
}

type ingestAnswer struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
}

// post sends one batch, retrying (when configured) while the service is
// unavailable or the exchange is cut off.
func post(ctx context.Context, client *http.Client, cfg IngestConfig, body []byte) (ingestAnswer, time.Duration, int, error) {
	wait := 100 * time.Millisecond
	for tries := 1; ; tries++ {
		start := time.Now()
		ans, retryable, err := postOnce(ctx, client, cfg, body)
		took := time.Since(start)
		if err == nil || !retryable || !cfg.Retry || ctx.Err() != nil {
			return ans, took, tries, err
		}
		select {
		case <-ctx.Done():
			return ans, took, tries, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

func postOnce(ctx context.Context, client *http.Client, cfg IngestConfig, body []byte) (ans ingestAnswer, retryable bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.BaseURL+"/billing/usage/events", bytes.NewReader(body))
	if err != nil {
		return ans, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cfg.Token)
	res, err := client.Do(req)
	if err != nil {
		return ans, true, err
	}
	defer res.Body.Close()
	text, err := io.ReadAll(res.Body)
	if err != nil {
		return ans, true, err
	}
	if res.StatusCode != http.StatusOK {
		return ans, res.StatusCode == http.StatusServiceUnavailable, &statusError{res.StatusCode, string(text)}
	}
	return ans, false, json.Unmarshal(text, &ans)
}

// statusError is an answer other than 200.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }
