package triggers

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

// Store is what the engine needs from storage.
type Store interface {
	Lineage(ctx context.Context, sid string) ([]string, error)
	Descendants(ctx context.Context, sid string) ([]string, error)
	UsageTotals(ctx context.Context, q models.UsageQuery) (models.Totals, error)
	SealedAuthToken(ctx context.Context, sid string) ([]byte, error)

	CreateTrigger(ctx context.Context, t models.Trigger) error
	Trigger(ctx context.Context, sid string) (models.Trigger, error)
	ListTriggers(ctx context.Context, f models.TriggerFilter, after string, limit int) ([]models.Trigger, error)
	UpdateTrigger(ctx context.Context, sid string, u models.TriggerUpdate, now time.Time) error
	DeleteTrigger(ctx context.Context, sid string) error
	TriggersOf(ctx context.Context, accounts []string) ([]models.Trigger, error)
	AccountsWithTriggers(ctx context.Context) ([]string, error)
	SetTriggerValue(ctx context.Context, sid string, v models.Micros) error
	RecordFiring(ctx context.Context, f models.TriggerFiring) (bool, error)
	ClaimDelivery(ctx context.Context, now time.Time, lease time.Duration) (*models.TriggerDelivery, error)
	FinishDelivery(ctx context.Context, d *models.TriggerDelivery, outcome string, next time.Time, reason string) (bool, error)
	OutboxStats(ctx context.Context) (pending int64, oldest time.Time, err error)
}

// Defaults of the engine.
const (
	DefaultInterval = time.Minute
	// Twilio's webhook timeouts.
	connectTimeout  = 5 * time.Second
	deliveryTimeout = 15 * time.Second
	// A claim outlives the longest a live worker can hold it: the attempt
	// (token read and request) is cut at 15 s and the report at 10 s, so
	// 30 s leaves 5 s for clock skew between instances. A killed worker's
	// rows wait for it to run out, which delays their retry by at most 30 s:
	// the second step of the backoff.
	finishTimeout   = 10 * time.Second
	defaultLease    = deliveryTimeout + finishTimeout + 5*time.Second
	defaultRetryFor = 24 * time.Hour
	defaultPoll     = time.Second
	defaultWorkers  = 4
	// The most of a callback's response read (and discarded): enough to
	// finish a small answer and reuse the connection, never more.
	maxResponseRead = 4 << 10
)

// DefaultBackoff is the wait after each failed attempt; after the last one,
// hourly, until RetryFor has passed since the firing.
var DefaultBackoff = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour}

// Config wires an engine.
type Config struct {
	Store Store
	// Box opens sealed auth tokens to sign callbacks; without it no callback
	// can be signed, and deliveries fail with that reason.
	Box *auth.TokenBox
	Now func() time.Time // time.Now when nil
	Log *slog.Logger     // slog.Default when nil
	// AllowPrivate lets callbacks go to loopback, private and link-local
	// addresses (BILLING_WEBHOOK_ALLOW_PRIVATE).
	AllowPrivate bool
	Interval     time.Duration   // between evaluations of every trigger; DefaultInterval when 0
	Backoff      []time.Duration // DefaultBackoff when nil
	RetryFor     time.Duration   // 24 h when 0
	Lease        time.Duration   // how long a claim lasts; 30 s when 0
	Poll         time.Duration   // how often an idle worker looks for due deliveries; 1 s when 0
	Workers      int             // deliveries at once; 4 when 0
	Resolver     *net.Resolver   // net.DefaultResolver when nil
}

// Engine creates, evaluates and delivers usage triggers.
type Engine struct {
	cfg     Config
	client  *http.Client
	metrics *Metrics

	mu      sync.Mutex
	touched map[string]bool // accounts ingested into since the last evaluation
	evalNow chan struct{}   // wakes the evaluator
	wake    chan struct{}   // wakes the workers: a firing was recorded
}

// New builds an engine; Run starts its loops.
func New(cfg Config) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = defaultRetryFor
	}
	if cfg.Lease <= 0 {
		cfg.Lease = defaultLease
	}
	if cfg.Poll <= 0 {
		cfg.Poll = defaultPoll
	}
	if cfg.Workers <= 0 {
		cfg.Workers = defaultWorkers
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	return &Engine{
		cfg:     cfg,
		client:  callbackClient(cfg.AllowPrivate),
		metrics: newMetrics(cfg.Store),
		touched: map[string]bool{},
		evalNow: make(chan struct{}, 1),
		wake:    make(chan struct{}, 1),
	}
}

// Touched tells the engine that new usage of the accounts was committed. It
// never blocks: the evaluator picks the accounts up at once, off the
// ingestion's path; the periodic evaluation covers anything missed (a crash
// before it ran).
func (e *Engine) Touched(accounts []string) {
	e.mu.Lock()
	for _, a := range accounts {
		e.touched[a] = true
	}
	e.mu.Unlock()
	signal(e.evalNow)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run evaluates and delivers until ctx ends: RunPeriodic and RunOnDemand.
func (e *Engine) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { e.RunPeriodic(ctx) })
	e.RunOnDemand(ctx)
	wg.Wait()
}

// RunOnDemand evaluates after ingestions into this instance and delivers the
// outbox until ctx ends. Every instance runs it: firings are unique per
// trigger and period, and each outbox row is claimed by one worker at a time.
func (e *Engine) RunOnDemand(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { e.evaluateLoop(ctx) })
	for range e.cfg.Workers {
		wg.Go(func() { e.deliverLoop(ctx) })
	}
	wg.Wait()
}

// RunPeriodic evaluates every trigger at once, then every Interval, until ctx
// ends. One instance is enough (the leader of several): the first pass
// catches what a previous process or leader left.
func (e *Engine) RunPeriodic(ctx context.Context) {
	ticker := time.NewTicker(e.cfg.Interval)
	defer ticker.Stop()
	for {
		if err := e.EvaluateAll(ctx); err != nil && ctx.Err() == nil {
			e.cfg.Log.Warn("usage triggers: evaluation failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// evaluateLoop evaluates the triggers of the accounts ingested into.
func (e *Engine) evaluateLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.evalNow:
			e.mu.Lock()
			accounts := make([]string, 0, len(e.touched))
			for a := range e.touched {
				accounts = append(accounts, a)
			}
			clear(e.touched)
			e.mu.Unlock()
			if err := e.Evaluate(ctx, accounts); err != nil && ctx.Err() == nil {
				e.cfg.Log.Warn("usage triggers: evaluation after ingestion failed; the periodic evaluation retries", "err", err)
			}
		}
	}
}

func (e *Engine) deliverLoop(ctx context.Context) {
	for ctx.Err() == nil {
		did, err := e.DeliverOne(ctx)
		if err != nil && ctx.Err() == nil {
			e.cfg.Log.Warn("usage triggers: outbox unavailable", "err", err)
		}
		if did && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-e.wake:
		case <-time.After(e.cfg.Poll):
		}
	}
}

// ErrTooMany is returned when an account already has 1,000 triggers.
var ErrTooMany = repo.ErrTooManyTriggers

// ErrNotFound is returned for a trigger or account that does not exist, or
// a trigger of another account.
var ErrNotFound = models.ErrNotFound

var errNoKey = errors.New("no secret key is configured (BILLING_SECRET_KEY), so no callback can be signed")
