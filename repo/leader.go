package repo

import (
	"context"
	"database/sql/driver"
	"hash/fnv"
	"log/slog"
	"sync/atomic"
	"time"
)

// Leader runs periodic jobs on one instance at a time: on Postgres, the one
// holding a session advisory lock on a connection of its own. When that
// instance dies, its connection closes, Postgres drops the lock, and another
// instance takes it at its next try (every Retry, 1 s by default): takeover
// within seconds, with no lease to wait out. On SQLite there is one instance
// per file, and it always leads.
//
// A leader that loses its connection stops its jobs at its next check; until
// then a second leader may run alongside. The jobs given to a Leader must be
// harmless when run twice (trigger evaluation is: a firing is unique per
// trigger and period).
type Leader struct {
	store  *Store
	name   string
	key    int64
	Retry  time.Duration // between tries to lead, and between checks of the lock
	log    *slog.Logger
	leader atomic.Bool
}

// NewLeader prepares leadership of the named group of jobs.
func (s *Store) NewLeader(name string, log *slog.Logger) *Leader {
	h := fnv.New64a()
	h.Write([]byte("billing leader " + name))
	if log == nil {
		log = slog.Default()
	}
	return &Leader{store: s, name: name, key: int64(h.Sum64()), Retry: time.Second, log: log}
}

// Leading tells whether this instance leads now.
func (l *Leader) Leading() bool { return l.leader.Load() }

// Run tries to lead until ctx ends; while it leads, it runs jobs with a
// context that ends when leadership is lost.
func (l *Leader) Run(ctx context.Context, jobs func(ctx context.Context)) {
	if l.store.dialect != Postgres {
		l.leader.Store(true)
		defer l.leader.Store(false)
		jobs(ctx)
		return
	}
	// A pool of one connection of its own, so that holding the lock takes
	// no connection from the requests; between tries it stays open.
	own, err := Open(l.store.url)
	if err != nil {
		l.log.Error("periodic jobs cannot run: no connection for their lock", "err", err)
		return
	}
	defer own.Close()
	own.SetMaxConns(1)
	for ctx.Err() == nil {
		l.lead(ctx, own, jobs)
		select {
		case <-ctx.Done():
		case <-time.After(l.Retry):
		}
	}
}

// lead takes the lock if it is free and, holding it, runs the jobs until
// ctx ends or the lock's connection fails.
func (l *Leader) lead(ctx context.Context, own *Store, jobs func(ctx context.Context)) {
	conn, err := own.sqlDB.Conn(ctx)
	if err != nil {
		return
	}
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", l.key).Scan(&got); err != nil || !got {
		conn.Close() // no lock held: kept for the next try
		return
	}
	// The session is discarded, never returned to the pool: its lock ends
	// with it, whatever happens to an unlock.
	defer conn.Raw(func(any) error { return driver.ErrBadConn })
	l.leader.Store(true)
	defer l.leader.Store(false)
	l.log.Info("leading periodic jobs", "jobs", l.name)

	jobsCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); jobs(jobsCtx) }()
	defer func() { stop(); <-done }()
	tick := time.NewTicker(l.Retry)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, max(l.Retry, time.Second))
			err := conn.PingContext(pctx)
			cancel()
			if err != nil {
				l.log.Warn("lost the lead of periodic jobs", "jobs", l.name, "err", err)
				return
			}
		}
	}
}
