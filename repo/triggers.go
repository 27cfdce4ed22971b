package repo

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/evovoice/billing/models"
)

// ErrTooManyTriggers is returned when an account already has the most
// triggers allowed.
var ErrTooManyTriggers = models.ErrTooManyTriggers

const triggerColumns = `t.sid, t.account_sid, t.api_version, t.friendly_name, t.callback_url, t.callback_method,
	t.usage_category, t.recurring, t.trigger_by, t.trigger_value_micros, t.current_value_micros,
	t.created_us, t.updated_us, t.fired_us`

func scanTrigger(sc interface{ Scan(...any) error }, extra ...any) (models.Trigger, error) {
	var (
		t                models.Trigger
		created, updated int64
		fired            sql.NullInt64
	)
	dest := append([]any{&t.Sid, &t.AccountSid, &t.APIVersion, &t.FriendlyName, &t.CallbackURL, &t.CallbackMethod,
		&t.UsageCategory, &t.Recurring, &t.TriggerBy, &t.TriggerValue, &t.CurrentValue,
		&created, &updated, &fired}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return t, err
	}
	t.DateCreated, t.DateUpdated = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	if fired.Valid {
		f := time.UnixMicro(fired.Int64).UTC()
		t.DateFired = &f
	}
	return t, nil
}

// inTx runs f in a transaction of database/sql, committed when f succeeds.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// CreateTrigger stores a new trigger, refusing the 1,001st of an account
// (ErrTooManyTriggers) and an unknown account (ErrNotFound).
func (s *Store) CreateTrigger(ctx context.Context, t models.Trigger) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// Locking the account row serialises creations for it on Postgres,
		// so that two at once cannot both pass the count; SQLite transactions
		// are serial anyway (BEGIN IMMEDIATE).
		lock := "SELECT sid FROM accounts WHERE sid = ?"
		if s.dialect == Postgres {
			lock += " FOR UPDATE"
		}
		var sid string
		if err := tx.QueryRowContext(ctx, s.rebind(lock), t.AccountSid).Scan(&sid); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind("SELECT COUNT(*) FROM usage_triggers WHERE account_sid = ?"), t.AccountSid).Scan(&n); err != nil {
			return err
		}
		if n >= models.MaxTriggersPerAccount {
			return ErrTooManyTriggers
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO usage_triggers (sid, account_sid, api_version, friendly_name,
			callback_url, callback_method, usage_category, recurring, trigger_by, trigger_value_micros,
			current_value_micros, created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.Sid, t.AccountSid, t.APIVersion, t.FriendlyName, t.CallbackURL, t.CallbackMethod, t.UsageCategory,
			t.Recurring, t.TriggerBy, int64(t.TriggerValue), int64(t.CurrentValue), t.DateCreated.UnixMicro(), t.DateUpdated.UnixMicro())
		return err
	})
}

// Trigger returns one trigger, or ErrNotFound.
func (s *Store) Trigger(ctx context.Context, sid string) (models.Trigger, error) {
	rows, err := s.query(ctx, "SELECT "+triggerColumns+" FROM usage_triggers t WHERE t.sid = ?", sid)
	if err != nil {
		return models.Trigger{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return models.Trigger{}, err
		}
		return models.Trigger{}, ErrNotFound
	}
	return scanTrigger(rows)
}

// ListTriggers returns up to limit triggers of the filter's account in SID
// order, starting after the SID after ("" from the first).
func (s *Store) ListTriggers(ctx context.Context, f models.TriggerFilter, after string, limit int) ([]models.Trigger, error) {
	q := "SELECT " + triggerColumns + " FROM usage_triggers t WHERE t.account_sid = ? AND t.sid > ?"
	args := []any{f.AccountSid, after}
	switch f.Recurring {
	case "":
	case models.RecurringAllTime:
		q += " AND t.recurring IN ('alltime', '')"
	default:
		q += " AND t.recurring = ?"
		args = append(args, f.Recurring)
	}
	if f.TriggerBy != "" {
		q += " AND t.trigger_by = ?"
		args = append(args, f.TriggerBy)
	}
	if f.UsageCategory != "" {
		q += " AND t.usage_category = ?"
		args = append(args, f.UsageCategory)
	}
	q += " ORDER BY t.sid LIMIT ?"
	args = append(args, limit)
	return s.triggers(ctx, q, args...)
}

// TriggersOf returns every trigger of the accounts.
func (s *Store) TriggersOf(ctx context.Context, accounts []string) ([]models.Trigger, error) {
	var out []models.Trigger
	for start := 0; start < len(accounts); start += maxParams {
		cond, args := s.anyOf("t.account_sid", accounts[start:min(start+maxParams, len(accounts))])
		ts, err := s.triggers(ctx, "SELECT "+triggerColumns+" FROM usage_triggers t WHERE "+cond+" ORDER BY t.account_sid, t.sid", args...)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	return out, nil
}

// AccountsWithTriggers lists the accounts that have at least one trigger.
func (s *Store) AccountsWithTriggers(ctx context.Context) ([]string, error) {
	rows, err := s.query(ctx, "SELECT DISTINCT account_sid FROM usage_triggers ORDER BY account_sid")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sid string
		if err := rows.Scan(&sid); err != nil {
			return nil, err
		}
		out = append(out, sid)
	}
	return out, rows.Err()
}

func (s *Store) triggers(ctx context.Context, q string, args ...any) ([]models.Trigger, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []models.Trigger
	for rows.Next() {
		t, err := scanTrigger(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateTrigger changes a trigger's callback and name, or returns ErrNotFound.
func (s *Store) UpdateTrigger(ctx context.Context, sid string, u models.TriggerUpdate, now time.Time) error {
	sets, args := []string{"updated_us = ?"}, []any{now.UnixMicro()}
	if u.CallbackURL != nil {
		sets, args = append(sets, "callback_url = ?"), append(args, *u.CallbackURL)
	}
	if u.CallbackMethod != nil {
		sets, args = append(sets, "callback_method = ?"), append(args, *u.CallbackMethod)
	}
	if u.FriendlyName != nil {
		sets, args = append(sets, "friendly_name = ?"), append(args, *u.FriendlyName)
	}
	res, err := s.sqlDB.ExecContext(ctx, s.rebind("UPDATE usage_triggers SET "+strings.Join(sets, ", ")+" WHERE sid = ?"), append(args, sid)...)
	return affected(res, err)
}

// DeleteTrigger removes a trigger with its firings and pending deliveries,
// or returns ErrNotFound.
func (s *Store) DeleteTrigger(ctx context.Context, sid string) error {
	res, err := s.sqlDB.ExecContext(ctx, s.rebind("DELETE FROM usage_triggers WHERE sid = ?"), sid)
	return affected(res, err)
}

func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetTriggerValue records the watched value of an evaluation that did not
// fire; it writes only when the value changed.
func (s *Store) SetTriggerValue(ctx context.Context, sid string, v models.Micros) error {
	_, err := s.sqlDB.ExecContext(ctx, s.rebind("UPDATE usage_triggers SET current_value_micros = ? WHERE sid = ? AND current_value_micros <> ?"), int64(v), sid, int64(v))
	return err
}

// RecordFiring stores a firing and its outbox row in one transaction, and
// the value and date on the trigger. It reports false, storing nothing, when
// the trigger already fired in that period: the unique key (trigger_sid,
// period) decides, whatever the instances and restarts.
func (s *Store) RecordFiring(ctx context.Context, f models.TriggerFiring) (bool, error) {
	fired := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO trigger_firings (trigger_sid, period, fired_us,
			current_value_micros, usage_record_uri, idempotency_token) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (trigger_sid, period) DO NOTHING RETURNING id`),
			f.TriggerSid, f.Period, f.FiredAt.UnixMicro(), int64(f.CurrentValue), f.UsageRecordURI, f.IdempotencyToken).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind("UPDATE usage_triggers SET current_value_micros = ?, fired_us = ? WHERE sid = ?"),
			int64(f.CurrentValue), f.FiredAt.UnixMicro(), f.TriggerSid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind("INSERT INTO trigger_outbox (firing_id, status, created_us, next_attempt_us) VALUES (?, 'pending', ?, ?)"),
			id, f.FiredAt.UnixMicro(), f.FiredAt.UnixMicro()); err != nil {
			return err
		}
		fired = true
		return nil
	})
	return fired, err
}

// ClaimDelivery claims the pending delivery due first, until now+lease, and
// counts the attempt; nil when none is due. Each claim is one statement that
// skips rows another worker holds (FOR UPDATE SKIP LOCKED on Postgres; on
// SQLite writers are serial), so two workers never claim one row; a claim
// whose worker died expires with its lease.
func (s *Store) ClaimDelivery(ctx context.Context, now time.Time, lease time.Duration) (*models.TriggerDelivery, error) {
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return nil, err
	}
	d := &models.TriggerDelivery{ClaimToken: hex.EncodeToString(token)}
	pick := "SELECT firing_id FROM trigger_outbox WHERE status = 'pending' AND next_attempt_us <= ? AND claimed_until_us <= ? ORDER BY next_attempt_us LIMIT 1"
	if s.dialect == Postgres {
		pick += " FOR UPDATE SKIP LOCKED"
	}
	var queued int64
	err := s.sqlDB.QueryRowContext(ctx, s.rebind(`UPDATE trigger_outbox SET claimed_until_us = ?, claim_token = ?, attempts = attempts + 1
		WHERE firing_id = (`+pick+`) RETURNING firing_id, attempts, created_us`),
		now.Add(lease).UnixMicro(), d.ClaimToken, now.UnixMicro(), now.UnixMicro()).Scan(&d.FiringID, &d.Attempts, &queued)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	d.QueuedAt = time.UnixMicro(queued).UTC()
	var firedUs, value int64
	row := s.sqlDB.QueryRowContext(ctx, s.rebind(`SELECT f.trigger_sid, f.period, f.fired_us, f.current_value_micros,
		f.usage_record_uri, f.idempotency_token, `+triggerColumns+`
		FROM trigger_firings f JOIN usage_triggers t ON t.sid = f.trigger_sid WHERE f.id = ?`), d.FiringID)
	var t models.Trigger
	t, err = scanTrigger(prefixScanner{row, []any{&d.Firing.TriggerSid, &d.Firing.Period, &firedUs, &value,
		&d.Firing.UsageRecordURI, &d.Firing.IdempotencyToken}})
	if err != nil {
		// The trigger was deleted between the claim and now: its outbox row
		// went with it.
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, err
	}
	d.Trigger = t
	d.Firing.FiredAt, d.Firing.CurrentValue = time.UnixMicro(firedUs).UTC(), models.Micros(value)
	return d, nil
}

// prefixScanner scans some leading columns into its own destinations.
type prefixScanner struct {
	row    *sql.Row
	before []any
}

func (p prefixScanner) Scan(dest ...any) error { return p.row.Scan(append(p.before, dest...)...) }

// Outcomes of a delivery attempt.
const (
	DeliveryDelivered = "delivered"
	DeliveryRetry     = "retry"
	DeliveryFailed    = "failed"
)

// FinishDelivery records an attempt's outcome: delivered, retry at next, or
// failed for good; reason says why an attempt failed (no secrets, no
// response bodies). It reports false when the claim was lost (the lease
// expired and another worker took the row), recording nothing.
func (s *Store) FinishDelivery(ctx context.Context, d *models.TriggerDelivery, outcome string, next time.Time, reason string) (bool, error) {
	const maxReason = 500
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	var q string
	args := []any{}
	switch outcome {
	case DeliveryDelivered:
		q = "UPDATE trigger_outbox SET status = 'delivered', claimed_until_us = 0, last_error = ''"
	case DeliveryRetry:
		q = "UPDATE trigger_outbox SET next_attempt_us = ?, claimed_until_us = 0, last_error = ?"
		args = append(args, next.UnixMicro(), reason)
	case DeliveryFailed:
		q = "UPDATE trigger_outbox SET status = 'failed', claimed_until_us = 0, last_error = ?"
		args = append(args, reason)
	default:
		return false, fmt.Errorf("unknown delivery outcome %q", outcome)
	}
	res, err := s.sqlDB.ExecContext(ctx, s.rebind(q+" WHERE firing_id = ? AND claim_token = ? AND status = 'pending'"), append(args, d.FiringID, d.ClaimToken)...)
	if err := affected(res, err); errors.Is(err, ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// PurgeOutbox deletes the outbox rows of deliveries that ended (delivered
// or failed) and were queued before before, and says how many. Their
// firings stay: they are what keeps a period from firing twice.
func (s *Store) PurgeOutbox(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.sqlDB.ExecContext(ctx, s.rebind("DELETE FROM trigger_outbox WHERE status <> 'pending' AND created_us < ?"), before.UnixMicro())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// OutboxStats are the pending deliveries and when the oldest was queued
// (zero when none).
func (s *Store) OutboxStats(ctx context.Context) (pending int64, oldest time.Time, err error) {
	var first sql.NullInt64
	err = s.sqlDB.QueryRowContext(ctx, "SELECT COUNT(*), MIN(created_us) FROM trigger_outbox WHERE status = 'pending'").Scan(&pending, &first)
	if first.Valid {
		oldest = time.UnixMicro(first.Int64).UTC()
	}
	return pending, oldest, err
}

// OutboxRow is the state of one firing's delivery, for tests and operators.
type OutboxRow struct {
	TriggerSid, Period, Status, LastError string
	Attempts                              int
}

// Outbox lists the deliveries of a trigger's firings, oldest first.
func (s *Store) Outbox(ctx context.Context, triggerSid string) ([]OutboxRow, error) {
	rows, err := s.query(ctx, `SELECT f.trigger_sid, f.period, o.status, o.last_error, o.attempts
		FROM trigger_outbox o JOIN trigger_firings f ON f.id = o.firing_id WHERE f.trigger_sid = ? ORDER BY f.id`, triggerSid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutboxRow
	for rows.Next() {
		var r OutboxRow
		if err := rows.Scan(&r.TriggerSid, &r.Period, &r.Status, &r.LastError, &r.Attempts); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// OutboxCounts are the deliveries by state at a time: pending (waiting for
// an attempt), claimed (pending, under a worker's unexpired lease),
// delivered and failed.
type OutboxCounts struct{ Pending, Claimed, Delivered, Failed int64 }

// CountOutbox counts every delivery by its state at now.
func (s *Store) CountOutbox(ctx context.Context, now time.Time) (OutboxCounts, error) {
	var c OutboxCounts
	err := s.sqlDB.QueryRowContext(ctx, s.rebind(`SELECT
		COUNT(CASE WHEN status = 'pending' AND claimed_until_us <= ? THEN 1 END),
		COUNT(CASE WHEN status = 'pending' AND claimed_until_us > ? THEN 1 END),
		COUNT(CASE WHEN status = 'delivered' THEN 1 END),
		COUNT(CASE WHEN status = 'failed' THEN 1 END) FROM trigger_outbox`), now.UnixMicro(), now.UnixMicro()).
		Scan(&c.Pending, &c.Claimed, &c.Delivered, &c.Failed)
	return c, err
}
