package triggers

import (
	"context"
	"errors"

	"github.com/evovoice/billing/models"
)

// Create validates and stores a trigger of an account, created on the face
// of apiVersion (2010-04-01 or 2012-04-24). Every bad parameter is reported
// in one *models.ValidationError whose fields are Twilio's parameter names;
// nothing is stored then. The caller has checked that the account exists
// and that its principal may manage it. The new trigger is evaluated at once.
func (e *Engine) Create(ctx context.Context, accountSid, apiVersion string, in models.TriggerInput) (models.Trigger, error) {
	spec, err := in.Validate()
	var errs models.ValidationError
	if ve := (*models.ValidationError)(nil); errors.As(err, &ve) {
		errs = *ve
	} else if err != nil {
		return models.Trigger{}, err
	}
	// Where the URL points is checked only once its form is right.
	var form models.ValidationError
	if url := models.CheckCallbackURL(in.CallbackURL, true, &form); form.Err() == nil {
		e.checkCallback(ctx, url, &errs)
	}
	if err := errs.Err(); err != nil {
		return models.Trigger{}, err
	}
	now := e.cfg.Now().UTC()
	t := models.Trigger{
		Sid:            models.NewTriggerSid(),
		AccountSid:     accountSid,
		APIVersion:     apiVersion,
		FriendlyName:   spec.FriendlyName,
		CallbackURL:    spec.CallbackURL,
		CallbackMethod: spec.CallbackMethod,
		UsageCategory:  spec.UsageCategory,
		Recurring:      spec.Recurring,
		TriggerBy:      spec.TriggerBy,
		TriggerValue:   spec.Value,
		DateCreated:    now,
		DateUpdated:    now,
	}
	current, err := e.watched(ctx, t, now)
	if err != nil {
		return models.Trigger{}, err
	}
	t.CurrentValue = current
	if spec.Offset {
		t.TriggerValue += current
	}
	if err := e.cfg.Store.CreateTrigger(ctx, t); err != nil {
		return models.Trigger{}, err
	}
	e.Touched([]string{accountSid})
	return t, nil
}

// checkCallback refuses, unless private addresses are allowed, a callback
// whose host resolves to an internal address.
func (e *Engine) checkCallback(ctx context.Context, url string, errs *models.ValidationError) {
	if url == "" || e.cfg.AllowPrivate {
		return
	}
	if err := checkDestination(ctx, e.cfg.Resolver, url); err != nil {
		errs.Add("CallbackUrl", models.CodeInvalid, "CallbackUrl "+err.Error())
	}
}

// Fetch returns a trigger of the account; ErrNotFound when it does not
// exist or belongs to another account.
func (e *Engine) Fetch(ctx context.Context, accountSid, sid string) (models.Trigger, error) {
	sid, ok := models.NormalizeTriggerSid(sid)
	if !ok {
		return models.Trigger{}, ErrNotFound
	}
	t, err := e.cfg.Store.Trigger(ctx, sid)
	if err != nil {
		return models.Trigger{}, err
	}
	if t.AccountSid != accountSid {
		return models.Trigger{}, ErrNotFound
	}
	return t, nil
}

// List returns up to limit triggers of f.AccountSid matching the filter
// (checked, every bad value reported at once), in SID order after the SID
// after ("" from the first).
func (e *Engine) List(ctx context.Context, f models.TriggerFilter, after string, limit int) ([]models.Trigger, error) {
	f, err := f.Validate()
	if err != nil {
		return nil, err
	}
	return e.cfg.Store.ListTriggers(ctx, f, after, limit)
}

// Update changes the callback and name of a trigger of the account,
// reporting every bad parameter at once, and returns the trigger as stored.
func (e *Engine) Update(ctx context.Context, accountSid, sid string, u models.TriggerUpdate) (models.Trigger, error) {
	if _, err := e.Fetch(ctx, accountSid, sid); err != nil {
		return models.Trigger{}, err
	}
	checked, err := u.Validate()
	var errs models.ValidationError
	if ve := (*models.ValidationError)(nil); errors.As(err, &ve) {
		errs = *ve
	} else if err != nil {
		return models.Trigger{}, err
	}
	if checked.CallbackURL != nil && !hasField(errs, "CallbackUrl") {
		e.checkCallback(ctx, *checked.CallbackURL, &errs)
	}
	if err := errs.Err(); err != nil {
		return models.Trigger{}, err
	}
	sid, _ = models.NormalizeTriggerSid(sid)
	if err := e.cfg.Store.UpdateTrigger(ctx, sid, checked, e.cfg.Now().UTC()); err != nil {
		return models.Trigger{}, err
	}
	return e.cfg.Store.Trigger(ctx, sid)
}

// Delete removes a trigger of the account, and its pending deliveries.
func (e *Engine) Delete(ctx context.Context, accountSid, sid string) error {
	t, err := e.Fetch(ctx, accountSid, sid)
	if err != nil {
		return err
	}
	return e.cfg.Store.DeleteTrigger(ctx, t.Sid)
}

func hasField(errs models.ValidationError, field string) bool {
	for _, f := range errs.Errors {
		if f.Field == field {
			return true
		}
	}
	return false
}
