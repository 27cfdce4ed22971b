package repo

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evovoice/billing/models"
)

// Read replicas: Postgres streaming replicas that serve the usage reads a
// request asks for (ReadReplica). Routing is the store's own rather than
// gorm's dbresolver, which knows neither health nor lag: a replica that
// fails or lags beyond the bound is skipped until it recovers, with none
// healthy the primary serves, and a read that fails on a replica because it
// cannot be reached is retried once on the primary, so that no request fails
// because a replica is down.

// Defaults of replica routing.
const (
	DefaultReplicaMaxLag = 5 * time.Second
	// replicaCheckEvery is how often each replica's health is checked: a
	// stopped replica is skipped at most this long after (plus one timeout).
	replicaCheckEvery   = 500 * time.Millisecond
	replicaCheckTimeout = time.Second
	// primarySamples is how many of the primary's past WAL positions are kept
	// to date a replica's replay position: 128 checks, 64 s, far beyond any
	// sensible lag bound.
	primarySamples = 128
)

// replica is one read replica and what its checker last saw.
type replica struct {
	name  string // host:port/database, no credentials: for metrics and logs
	store *Store // the replica's connections, with the primary's queries

	healthy   atomic.Bool
	currentTo atomic.Int64 // Unix µs its data is current to; 0 unknown
	lag       atomic.Int64 // ns, as of the last check
	reads     atomic.Uint64
	fallbacks atomic.Uint64
}

// replicaSet is every replica of a primary and the round-robin cursor.
type replicaSet struct {
	list   []*replica
	maxLag time.Duration
	next   atomic.Uint64
	log    *slog.Logger

	mu      sync.Mutex
	samples []lsnSample // the primary's recent WAL positions, oldest first
}

type lsnSample struct {
	lsn uint64
	at  time.Time
}

// ReplicaState is what /metrics shows of a replica.
type ReplicaState struct {
	Name      string
	Healthy   bool
	Lag       time.Duration
	Reads     uint64 // statements served
	Fallbacks uint64 // reads it failed that the primary served
}

// AddReplicas gives the store read replicas (Postgres URLs), skipped when
// their replay lag exceeds maxLag. They count as down until RunReplicaChecks
// has seen them.
func (s *Store) AddReplicas(urls []string, maxLag time.Duration, log *slog.Logger) error {
	if s.dialect != Postgres {
		return fmt.Errorf("read replicas need a Postgres primary")
	}
	if log == nil {
		log = slog.Default()
	}
	set := &replicaSet{maxLag: maxLag, log: log}
	for _, u := range urls {
		if DialectOf(u) != Postgres {
			return fmt.Errorf("replica %q is not a postgres:// URL", redact(u))
		}
		r, err := Open(u)
		if err != nil {
			return fmt.Errorf("replica %s: %w", redact(u), err)
		}
		set.list = append(set.list, &replica{name: redact(u), store: r})
	}
	s.replicas = set
	return nil
}

// redact names a database by host, port and database only.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "replica"
	}
	return u.Host + u.Path
}

// ReplicaStates reports each replica's state, in configuration order.
func (s *Store) ReplicaStates() []ReplicaState {
	if s.replicas == nil {
		return nil
	}
	out := make([]ReplicaState, len(s.replicas.list))
	for i, r := range s.replicas.list {
		out[i] = ReplicaState{Name: r.name, Healthy: r.healthy.Load(), Lag: time.Duration(r.lag.Load()),
			Reads: r.reads.Load(), Fallbacks: r.fallbacks.Load()}
	}
	return out
}

// RunReplicaChecks checks every replica every 500 ms until ctx ends.
func (s *Store) RunReplicaChecks(ctx context.Context) {
	if s.replicas == nil {
		return
	}
	tick := time.NewTicker(replicaCheckEvery)
	defer tick.Stop()
	for {
		s.checkReplicas(ctx)
		select {
		case <-ctx.Done():
			for _, r := range s.replicas.list {
				r.store.Close()
			}
			return
		case <-tick.C:
		}
	}
}

// checkReplicas samples the primary's WAL position, then dates each
// replica's replay position by it: a replica that has replayed what the
// primary had written at time T is current to T. An idle primary's replay
// timestamp (of the last transaction) would make a caught-up replica look
// hours behind; the WAL positions do not. The replay timestamp serves when
// the samples are too young to date the position.
func (s *Store) checkReplicas(ctx context.Context) {
	set := s.replicas
	ctx, cancel := context.WithTimeout(ctx, replicaCheckTimeout)
	defer cancel()
	at := time.Now()
	var lsn string
	if err := s.sqlDB.QueryRowContext(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err == nil {
		if n, ok := parseLSN(lsn); ok {
			set.mu.Lock()
			set.samples = append(set.samples, lsnSample{n, at})
			if len(set.samples) > primarySamples {
				set.samples = set.samples[1:]
			}
			set.mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for _, r := range set.list {
		wg.Go(func() { set.check(ctx, r) })
	}
	wg.Wait()
}

func (set *replicaSet) check(ctx context.Context, r *replica) {
	var (
		recovering bool
		replay     sql.NullString
		replayedAt sql.NullTime
		now        time.Time
	)
	err := r.store.sqlDB.QueryRowContext(ctx, `SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,
		pg_last_xact_replay_timestamp(), now()`).Scan(&recovering, &replay, &replayedAt, &now)
	var currentTo time.Time
	switch {
	case err != nil:
		err = fmt.Errorf("unreachable: %w", err)
	case !recovering:
		// Promoted, or not a replica at all: its data may have left ours.
		err = fmt.Errorf("not in recovery: not a replica of the primary")
	default:
		if n, ok := parseLSN(replay.String); ok {
			currentTo = set.datedBy(n)
		}
		if replayedAt.Valid && replayedAt.Time.After(currentTo) {
			currentTo = replayedAt.Time
		}
		if currentTo.IsZero() {
			err = fmt.Errorf("has replayed nothing yet")
		}
	}
	if err != nil {
		if r.healthy.Swap(false) {
			set.log.Warn("read replica skipped", "replica", r.name, "reason", err.Error())
		}
		return
	}
	lag := max(now.Sub(currentTo), 0)
	r.currentTo.Store(currentTo.UnixMicro())
	r.lag.Store(int64(lag))
	ok := lag <= set.maxLag
	if was := r.healthy.Swap(ok); was != ok {
		if ok {
			set.log.Info("read replica in use", "replica", r.name, "lag", lag.String())
		} else {
			set.log.Warn("read replica skipped", "replica", r.name, "reason", "lag "+lag.String()+" beyond "+set.maxLag.String())
		}
	}
}

// datedBy is the time of the latest primary sample the position has
// reached; zero when it has reached none of them.
func (set *replicaSet) datedBy(pos uint64) time.Time {
	set.mu.Lock()
	defer set.mu.Unlock()
	for i := len(set.samples) - 1; i >= 0; i-- {
		if set.samples[i].lsn <= pos {
			return set.samples[i].at
		}
	}
	return time.Time{}
}

// parseLSN reads a WAL position such as 16/B374D848.
func parseLSN(s string) (uint64, bool) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, false
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	return h<<32 | l, err1 == nil && err2 == nil
}

// readPin routes the reads of one request.
type readPin struct {
	replica *replica
	failed  atomic.Bool // the replica failed: the rest goes to the primary
}

type readPinKey struct{}

// ReadReplica lets the store serve the usage reads made with the returned
// context from one healthy replica (in turn), and says when that replica's
// data is current to; the time is zero when the primary serves (no replica
// configured or healthy): its data is current now. Writes, and reads with
// other contexts, go to the primary.
func (s *Store) ReadReplica(ctx context.Context) (context.Context, time.Time) {
	set := s.replicas
	if set == nil {
		return ctx, time.Time{}
	}
	n := uint64(len(set.list))
	start := set.next.Add(1)
	for i := range n {
		r := set.list[(start+i)%n]
		if r.healthy.Load() {
			return context.WithValue(ctx, readPinKey{}, &readPin{replica: r}), time.UnixMicro(r.currentTo.Load()).UTC()
		}
	}
	return ctx, time.Time{}
}

// routed runs a read on the context's replica, or on the primary; a read
// that fails on the replica because it cannot be reached is run once more on
// the primary, and so is the rest of the request.
func routed[T any](ctx context.Context, s *Store, read func(*Store) (T, error)) (T, error) {
	p, _ := ctx.Value(readPinKey{}).(*readPin)
	if p == nil || p.failed.Load() {
		return read(s)
	}
	v, err := read(p.replica.store)
	if err != nil && ctx.Err() == nil && s.Unavailable(err) {
		p.failed.Store(true)
		p.replica.fallbacks.Add(1)
		if p.replica.healthy.Swap(false) {
			s.replicas.log.Warn("read replica skipped", "replica", p.replica.name, "reason", "a read failed: "+err.Error())
		}
		return read(s)
	}
	if err == nil {
		p.replica.reads.Add(1)
	}
	return v, err
}

// The reads a replica may serve: usage and account listings. An account's
// own record, lineage and first usage day come from the directory, or the
// primary when it cannot vouch for them (directory.go): a replica may not
// hold an account created a moment ago, and refusing it would be wrong.

// UsageTotals sums usage per category over the query's days.
func (s *Store) UsageTotals(ctx context.Context, q models.UsageQuery) (models.Totals, error) {
	return routed(ctx, s, func(r *Store) (models.Totals, error) { return r.usageTotals(ctx, q) })
}

// UsageByPeriod sums usage per category and period of the granularity.
func (s *Store) UsageByPeriod(ctx context.Context, q models.UsageQuery, g models.Granularity) (models.PeriodTotals, error) {
	return routed(ctx, s, func(r *Store) (models.PeriodTotals, error) { return r.usageByPeriod(ctx, q, g) })
}

// ListAccounts lists the accounts a filter selects.
func (s *Store) ListAccounts(ctx context.Context, f models.AccountFilter) (models.AccountPage, error) {
	return routed(ctx, s, func(r *Store) (models.AccountPage, error) { return r.listAccounts(ctx, f) })
}

// ListAccountUsage is the accounts overview.
func (s *Store) ListAccountUsage(ctx context.Context, rd models.Readable, q models.AccountUsageQuery) (models.AccountUsagePage, error) {
	return routed(ctx, s, func(r *Store) (models.AccountUsagePage, error) { return r.listAccountUsage(ctx, rd, q) })
}
