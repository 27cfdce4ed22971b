package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/cmd/billing/internal/consume"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/triggers"
	"github.com/prometheus/client_golang/prometheus"
)

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func runServe(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("serve")
	if err := parse(f, args); err != nil {
		return err
	}
	cfg := f.Config
	log := cfg.newLogger(os.Stderr)

	jwtCfg, err := cfg.jwtConfig(cfg.Demo)
	if err != nil {
		return err
	}
	verifier, err := auth.NewVerifier(jwtCfg)
	if err != nil {
		return err
	}
	signer, err := checkedSigner(cfg, jwtCfg, verifier)
	if err != nil {
		if cfg.Demo {
			return err
		}
		log.Warn("dashboard sign-in is off: no key to sign tokens with", "err", err)
	}
	box, err := cfg.tokenBox(cfg.Demo)
	if err != nil {
		return err
	}
	if box == nil {
		log.Warn("no BILLING_SECRET_KEY: usage trigger callbacks cannot be signed, so they fail")
	}
	// Not connected yet: the service starts even while the database is down.
	store, err := cfg.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	var collectors []prometheus.Collector
	if len(cfg.ReplicaURLs) > 0 {
		if err := store.AddReplicas(cfg.ReplicaURLs, cfg.ReplicaMaxLag, log); err != nil {
			return err
		}
		checksCtx, stopChecks := context.WithCancel(ctx)
		checksDone := make(chan struct{})
		go func() { defer close(checksDone); store.RunReplicaChecks(checksCtx) }()
		defer func() { stopChecks(); <-checksDone }()
		collectors = append(collectors, newReplicaCollector(store))
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	baseURL := "http://" + ln.Addr().String()

	var ready atomic.Bool
	if cfg.Demo {
		// Demo data needs the database now; the demo runs on a local file.
		if err := migrateUntilDone(ctx, store, log); err != nil {
			ln.Close()
			return err
		}
		ready.Store(true)
		if err := seedDemo(ctx, store, signer, box, baseURL, out); err != nil {
			ln.Close()
			return fmt.Errorf("demo data: %w", err)
		}
		startDirectory(ctx, store, log)
	} else {
		// Serve at once: until the database is reached and migrated, readyz
		// and the API say 503.
		go func() {
			if migrateUntilDone(ctx, store, log) == nil {
				ready.Store(true)
				log.Info("database ready", "database", store.Dialect())
				startDirectory(ctx, store, log)
			}
		}()
	}
	if cfg.PprofAddr != "" {
		_, stop, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}

	if cfg.NATSURL != "" {
		m := consume.NewMetrics()
		collectors = append(collectors, m.Collectors()...)
		stop := startConsumer(ctx, cfg.consumeConfig(log, m), store, ready.Load)
		defer stop()
	}

	// Usage triggers: evaluated after each ingestion and every interval,
	// delivered from the outbox; they start once the database is ready.
	engine := triggers.New(triggers.Config{Store: store, Box: box, Log: log, Interval: cfg.TriggerInterval, AllowPrivate: cfg.WebhookAllowPrivate})
	store.OnIngest(engine.Touched)
	engineCtx, stopEngine := context.WithCancel(ctx)
	engineDone := make(chan struct{})
	var leading atomic.Pointer[repo.Leader]
	go func() {
		defer close(engineDone)
		for !ready.Load() {
			select {
			case <-engineCtx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
		// Every instance evaluates after its own ingestions and delivers
		// from the outbox (claimed row by row); the periodic jobs run on the
		// leader only.
		leader := store.NewLeader("periodic", log)
		go leader.Run(engineCtx, func(ctx context.Context) { periodicJobs(ctx, engine, store, log) })
		leading.Store(leader)
		engine.RunOnDemand(engineCtx)
	}()
	defer func() { stopEngine(); <-engineDone }()
	collectors = append(collectors, engine.Collectors()...)
	collectors = append(collectors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "billing_leader",
		Help: "1 while this instance runs the periodic jobs (trigger evaluation, throttle cleanup) for every instance on the database.",
	}, func() float64 {
		if l := leading.Load(); l != nil && l.Leading() {
			return 1
		}
		return 0
	}))

	srv := &http.Server{
		Handler: minRateBodies(handlers.New(handlers.Config{
			Collectors:     collectors,
			Store:          store,
			Verifier:       verifier,
			Signer:         signer,
			Logger:         log,
			SessionTTL:     cfg.SessionTTL,
			TrustedProxies: cfg.TrustedProxies,
			RequestTimeout: cfg.RequestTimeout,
			Ready:          ready.Load,
			Triggers:       engine,
		})),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       readTimeout,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("listening", "url", baseURL, "dashboard", baseURL+"/", "database", store.Dialect())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(limitPerClient(ln, cfg.TrustedProxies)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish.
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// cleanupInterval is how often the leader deletes sign-in counters quiet
// for a day (they cost a row each, and a day's flood of names is bounded by
// the per-address limit) and ended deliveries older than outboxRetention.
const cleanupInterval = 10 * time.Minute

// outboxRetention is how long a delivered or failed callback stays in the
// outbox for operators to look at: a month, well past the 24 hours of
// retries a failing receiver gets.
const outboxRetention = 30 * 24 * time.Hour

// periodicJobs are what one instance does for all: the periodic trigger
// evaluation and the cleanups; all are harmless when run twice.
func periodicJobs(ctx context.Context, engine *triggers.Engine, store *repo.Store, log *slog.Logger) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { engine.RunPeriodic(ctx) })
	tick := time.NewTicker(cleanupInterval)
	defer tick.Stop()
	for {
		now := time.Now()
		if n, err := store.ForgetSignIns(ctx, now.Add(-auth.ThrottleMemory), now); err != nil && ctx.Err() == nil {
			log.Warn("sign-in throttle cleanup failed", "err", err)
		} else if n > 0 {
			log.Info("sign-in throttle cleanup", "forgotten", n)
		}
		if n, err := store.PurgeOutbox(ctx, now.Add(-outboxRetention)); err != nil && ctx.Err() == nil {
			log.Warn("trigger outbox cleanup failed", "err", err)
		} else if n > 0 {
			log.Info("trigger outbox cleanup", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// startConsumer consumes usage events beside the API once the database is
// migrated; stop waits for the batch in hand.
func startConsumer(ctx context.Context, cfg consume.Config, store *repo.Store, ready func() bool) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !ready() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		cfg.Logger.Info("consuming", "nats", cfg.URL, "stream", cfg.Stream, "durable", cfg.Durable)
		consume.Run(ctx, cfg, store)
	}()
	return func() { cancel(); <-done }
}

// startDirectory loads the account directory, so that requests read their
// accounts from memory; until it is loaded they read the database.
func startDirectory(ctx context.Context, store *repo.Store, log *slog.Logger) {
	if err := store.StartDirectory(ctx); err != nil {
		if ctx.Err() == nil {
			log.Warn("account directory not loaded: accounts are read from the database", "err", err)
		}
		return
	}
	log.Info("account directory loaded")
}

// checkedSigner builds the signer and proves that the verifier accepts its
// tokens, so that a private key not matching the public key is found at
// start-up, not at the first sign-in.
func checkedSigner(c *Config, cfg auth.JWTConfig, v *auth.Verifier) (*auth.Signer, error) {
	s, err := c.newSigner(cfg)
	if err != nil {
		return nil, err
	}
	probe, err := s.Sign("start-up-check", "", nil, nil, time.Minute)
	if err != nil {
		return nil, err
	}
	if _, err := v.Verify(probe); err != nil {
		return nil, fmt.Errorf("tokens signed with BILLING_JWT_PRIVATE_KEY are refused (%v): it does not match the public key", err)
	}
	return s, nil
}

// migrateUntilDone applies the migrations, retrying with backoff while the
// database cannot be reached, until it succeeds or ctx ends.
func migrateUntilDone(ctx context.Context, store *repo.Store, log *slog.Logger) error {
	wait := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, time.Minute)
		err := store.Migrate(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt == 1 || attempt%10 == 0 {
			log.Warn("database not ready; retrying", "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// servePprof serves the Go profiler on a loopback address of its own, apart
// from the API: profiles reveal internals and cost CPU, so they are never on
// the public listener.
func servePprof(addr string, log *slog.Logger) (url string, stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, fmt.Errorf("--pprof %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", nil, fmt.Errorf("--pprof %q: the profiler listens on a loopback address only (127.0.0.1, ::1, localhost)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof listener stopped", "err", err)
		}
	}()
	url = "http://" + ln.Addr().String() + "/debug/pprof/"
	log.Info("profiler listening", "url", url)
	return url, func() { srv.Close() }, nil
}
