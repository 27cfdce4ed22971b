package repo

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/evovoice/billing/auth"
)

// The sign-in throttle's counters (auth.ThrottleStore), shared by every
// instance on the database. Each attempt is one UPSERT … RETURNING per key
// in one transaction: the row lock (Postgres) or the write lock (SQLite,
// BEGIN IMMEDIATE) orders concurrent attempts, so no increment is lost and
// no burst passes the limit.

// admitKey counts one running attempt unless the key is locked out or at its
// limit within the window; it returns the new count, or no row when refused.
// Failures older than the window and lockouts quiet for auth.ThrottleMemory
// are forgotten on the way.
const admitKey = `INSERT INTO signin_throttle AS t (key, failures, last_us, locked_until_us, lockouts)
	VALUES (?, 1, ?, 0, 0)
	ON CONFLICT (key) DO UPDATE SET
		failures = CASE WHEN ? - t.last_us > ? THEN 1 ELSE t.failures + 1 END,
		lockouts = CASE WHEN ? - t.last_us > ? THEN 0 ELSE t.lockouts END,
		last_us = ?
	WHERE t.locked_until_us <= ? AND (t.failures < ? OR ? - t.last_us > ?)
	RETURNING failures`

// BeginSignIn implements auth.ThrottleStore.
func (s *Store) BeginSignIn(ctx context.Context, keys []auth.ThrottleKey, now time.Time) (time.Duration, error) {
	nowUs := now.UnixMicro()
	var refused []auth.ThrottleKey
	tx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	for _, k := range keys {
		window, memory := k.Limit.Window.Microseconds(), auth.ThrottleMemory.Microseconds()
		var n int
		err := tx.QueryRowContext(ctx, s.rebind(admitKey), k.ID, nowUs,
			nowUs, window, nowUs, memory, nowUs, nowUs, k.Limit.Failures, nowUs, window).Scan(&n)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			refused = append(refused, k)
		case err != nil:
			return 0, err
		}
	}
	if len(refused) == 0 {
		return 0, tx.Commit()
	}
	// Refused: count nothing (the rollback), and wait for the longest lockout.
	wait := time.Second // attempts still running use the allowance up
	for _, k := range refused {
		var until int64
		if err := tx.QueryRowContext(ctx, s.rebind("SELECT locked_until_us FROM signin_throttle WHERE key = ?"), k.ID).Scan(&until); err != nil {
			return 0, err
		}
		wait = max(wait, time.UnixMicro(until).Sub(now))
	}
	return wait, nil
}

// EndSignIn implements auth.ThrottleStore.
func (s *Store) EndSignIn(ctx context.Context, k auth.ThrottleKey, outcome auth.ThrottleOutcome, now time.Time) error {
	switch outcome {
	case auth.ThrottleCleared:
		_, err := s.sqlDB.ExecContext(ctx, s.rebind("UPDATE signin_throttle SET failures = 0, lockouts = 0 WHERE key = ?"), k.ID)
		return err
	case auth.ThrottleForgiven:
		_, err := s.sqlDB.ExecContext(ctx, s.rebind("UPDATE signin_throttle SET failures = failures - 1 WHERE key = ? AND failures > 0"), k.ID)
		return err
	}
	// A failure at the limit locks the key out, for twice as long as the
	// last time (up to the cap); the count starts again.
	return s.inTx(ctx, func(tx *sql.Tx) error {
		lock := "SELECT failures, locked_until_us, lockouts FROM signin_throttle WHERE key = ?"
		if s.dialect == Postgres {
			lock += " FOR UPDATE"
		}
		var failures, lockouts int
		var until int64
		if err := tx.QueryRowContext(ctx, s.rebind(lock), k.ID).Scan(&failures, &until, &lockouts); errors.Is(err, sql.ErrNoRows) {
			return nil // forgotten meanwhile
		} else if err != nil {
			return err
		}
		if failures < k.Limit.Failures || now.Before(time.UnixMicro(until)) {
			return nil
		}
		d := min(k.Limit.FirstLockout<<min(lockouts, 20), k.Limit.MaxLockout)
		_, err := tx.ExecContext(ctx, s.rebind("UPDATE signin_throttle SET locked_until_us = ?, lockouts = lockouts + 1, failures = 0 WHERE key = ?"),
			now.Add(d).UnixMicro(), k.ID)
		return err
	})
}

// ForgetSignIns implements auth.ThrottleStore.
func (s *Store) ForgetSignIns(ctx context.Context, before, now time.Time) (int64, error) {
	res, err := s.sqlDB.ExecContext(ctx, s.rebind("DELETE FROM signin_throttle WHERE last_us < ? AND locked_until_us <= ?"), before.UnixMicro(), now.UnixMicro())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
