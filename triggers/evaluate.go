package triggers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/evovoice/billing/models"
)

// EvaluateAll evaluates every trigger of every account: the periodic safety net.
func (e *Engine) EvaluateAll(ctx context.Context) error {
	accounts, err := e.cfg.Store.AccountsWithTriggers(ctx)
	if err != nil {
		return err
	}
	return e.evaluate(ctx, accounts)
}

// Evaluate evaluates the triggers that usage of the touched accounts can
// move: theirs and their ancestors', since an account's watched value
// includes its sub-accounts' usage.
func (e *Engine) Evaluate(ctx context.Context, touched []string) error {
	seen := map[string]bool{}
	var accounts []string
	for _, a := range touched {
		lineage, err := e.cfg.Store.Lineage(ctx, a)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				continue
			}
			return err
		}
		for _, sid := range lineage {
			if !seen[sid] {
				seen[sid] = true
				accounts = append(accounts, sid)
			}
		}
	}
	return e.evaluate(ctx, accounts)
}

// evaluate fires every trigger of the accounts whose watched value reached
// its threshold and has not fired in the current period.
func (e *Engine) evaluate(ctx context.Context, accounts []string) error {
	if len(accounts) == 0 {
		return nil
	}
	list, err := e.cfg.Store.TriggersOf(ctx, accounts)
	if err != nil {
		return err
	}
	now := e.cfg.Now().UTC()
	values := valueCache{}
	fired := false
	for _, t := range list {
		v, err := values.get(ctx, e, t, now)
		if err != nil {
			return err
		}
		if v < t.TriggerValue {
			if v != t.CurrentValue {
				if err := e.cfg.Store.SetTriggerValue(ctx, t.Sid, v); err != nil {
					return err
				}
			}
			continue
		}
		f := models.TriggerFiring{
			TriggerSid:       t.Sid,
			Period:           t.Period(now),
			FiredAt:          now,
			CurrentValue:     v,
			UsageRecordURI:   t.UsageRecordURI("/"+t.APIVersion, now),
			IdempotencyToken: models.NewIdempotencyToken(),
		}
		ok, err := e.cfg.Store.RecordFiring(ctx, f)
		if err != nil {
			return fmt.Errorf("trigger %s: %w", t.Sid, err)
		}
		if ok {
			fired = true
			e.metrics.firings.Inc()
		} else if v != t.CurrentValue {
			// Fired earlier in this period: the value still shows.
			if err := e.cfg.Store.SetTriggerValue(ctx, t.Sid, v); err != nil {
				return err
			}
		}
	}
	if fired {
		signal(e.wake)
	}
	return nil
}

// watched is a trigger's watched value at now: exactly what its usage
// record URI answers (the account and its sub-accounts, the category and
// its descendants, the UTC period).
func (e *Engine) watched(ctx context.Context, t models.Trigger, now time.Time) (models.Micros, error) {
	return valueCache{}.get(ctx, e, t, now)
}

// valueCache shares one read of the rollups per account and window among
// an evaluation's triggers.
type valueCache map[cacheKey]models.Totals

type cacheKey struct {
	account string
	window  models.DateRange
}

func (c valueCache) get(ctx context.Context, e *Engine, t models.Trigger, now time.Time) (models.Micros, error) {
	k := cacheKey{t.AccountSid, t.Window(now)}
	totals, ok := c[k]
	if !ok {
		accounts, err := e.cfg.Store.Descendants(ctx, t.AccountSid)
		if err != nil {
			return 0, err
		}
		// Every category at once: the account's triggers watch several.
		if totals, err = e.cfg.Store.UsageTotals(ctx, models.UsageQuery{Accounts: accounts, Range: k.window}); err != nil {
			return 0, err
		}
		c[k] = totals
	}
	category, ok := models.LookupCategory(t.UsageCategory)
	if !ok {
		return 0, fmt.Errorf("trigger %s watches unknown category %q", t.Sid, t.UsageCategory)
	}
	return t.Watched(models.Rollup(category, totals)), nil
}
