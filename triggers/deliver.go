package triggers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

// DeliverOne claims the delivery due first and attempts it; false when none
// was due. When ctx ends mid-attempt the claim is left to expire, so that
// the delivery is made after a restart.
func (e *Engine) DeliverOne(ctx context.Context) (bool, error) {
	d, err := e.cfg.Store.ClaimDelivery(ctx, e.cfg.Now().UTC(), e.cfg.Lease)
	if err != nil || d == nil {
		return false, err
	}
	actx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	outcome, reason := e.attempt(actx, d)
	cancel()
	if ctx.Err() != nil {
		return true, nil // stopping: the lease runs out and another attempt follows
	}
	now := e.cfg.Now().UTC()
	var next time.Time
	if outcome == repo.DeliveryRetry {
		next = now.Add(e.backoff(d.Attempts))
		if next.Sub(d.QueuedAt) > e.cfg.RetryFor {
			outcome, reason = repo.DeliveryFailed, fmt.Sprintf("gave up after %d attempts over %s: %s", d.Attempts, e.cfg.RetryFor, reason)
		}
	}
	// The report must land even when ctx is about to end.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	held, err := e.cfg.Store.FinishDelivery(fctx, d, outcome, next, reason)
	if err != nil {
		return true, err
	}
	if !held {
		e.cfg.Log.Warn("usage triggers: a delivery's claim expired before it finished", "trigger", d.Trigger.Sid, "attempt", d.Attempts)
		return true, nil
	}
	e.metrics.deliveries.WithLabelValues(outcome).Inc()
	if outcome != repo.DeliveryDelivered {
		e.cfg.Log.Warn("usage triggers: callback not delivered", "trigger", d.Trigger.Sid, "account", d.Trigger.AccountSid,
			"attempt", d.Attempts, "outcome", outcome, "reason", reason)
	}
	return true, nil
}

// backoff is the wait after the attempt-th failed attempt.
func (e *Engine) backoff(attempt int) time.Duration {
	if attempt-1 < len(e.cfg.Backoff) {
		return e.cfg.Backoff[attempt-1]
	}
	return time.Hour
}

// attempt makes one delivery: it decides the outcome and a reason that
// carries no secret and no part of the response body.
func (e *Engine) attempt(ctx context.Context, d *models.TriggerDelivery) (outcome, reason string) {
	token, err := e.authToken(ctx, d.Trigger.AccountSid)
	if err != nil {
		if errors.Is(err, errUnsigned) || errors.Is(err, errNoKey) {
			return repo.DeliveryFailed, err.Error()
		}
		return repo.DeliveryRetry, "reading the account's auth token failed"
	}
	req, err := callbackRequest(ctx, d, token)
	if err != nil {
		return repo.DeliveryFailed, "the callback URL cannot be requested: " + err.Error()
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return repo.DeliveryRetry, describeFailure(err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return repo.DeliveryRetry, fmt.Sprintf("the callback answered %d", resp.StatusCode)
	}
	return repo.DeliveryDelivered, ""
}

var errUnsigned = errors.New("the account's auth token was set before a secret key existed, so its callbacks cannot be signed: rotate the token (billing account rotate-token) with BILLING_SECRET_KEY set")

// authToken opens an account's sealed auth token.
func (e *Engine) authToken(ctx context.Context, account string) (string, error) {
	if e.cfg.Box == nil {
		return "", errNoKey
	}
	sealed, err := e.cfg.Store.SealedAuthToken(ctx, account)
	if err != nil {
		return "", err
	}
	if sealed == nil {
		return "", errUnsigned
	}
	token, err := e.cfg.Box.Open(account, sealed)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errUnsigned, err)
	}
	return token, nil
}

// describeFailure names a transport failure without echoing the URL (it may
// carry a secret of the receiver in its query).
func describeFailure(err error) string {
	switch {
	case errors.Is(err, errPrivate):
		return "the callback's address " + errPrivate.Error()
	case errors.Is(err, context.DeadlineExceeded), strings.Contains(err.Error(), "Client.Timeout"):
		return "the callback did not answer within 15 s"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "the callback could not be reached: " + err.Error()
}

// Params are the parameters of a callback, as Twilio sends them.
func Params(d *models.TriggerDelivery) url.Values {
	t, f := d.Trigger, d.Firing
	return url.Values{
		"AccountSid":       {t.AccountSid},
		"UsageTriggerSid":  {t.Sid},
		"DateFired":        {f.FiredAt.UTC().Format(models.RFC2822)},
		"Recurring":        {t.Recurring},
		"UsageCategory":    {t.UsageCategory},
		"TriggerBy":        {t.TriggerBy},
		"TriggerValue":     {t.TriggerValueString()},
		"CurrentValue":     {f.CurrentValue.String()},
		"UsageRecordUri":   {f.UsageRecordURI},
		"IdempotencyToken": {f.IdempotencyToken},
	}
}

// sentURL is the callback URL as the request line carries it, which is what
// receivers validate the signature against: an empty path is sent as "/".
func sentURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Path == "" && u.RawPath == "" {
		u.Path = "/"
		return u.String(), nil
	}
	return raw, nil
}

// callbackRequest builds the signed request: a form POST, or a GET with the
// parameters added to the URL's query; the signature covers the URL as sent.
func callbackRequest(ctx context.Context, d *models.TriggerDelivery, token string) (*http.Request, error) {
	params := Params(d)
	target, err := sentURL(d.Trigger.CallbackURL)
	if err != nil {
		return nil, err
	}
	var req *http.Request
	if d.Trigger.CallbackMethod == http.MethodGet {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + params.Encode()
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, target, nil); err != nil {
			return nil, err
		}
		req.Header.Set("X-Twilio-Signature", Signature(token, target, nil))
	} else {
		if req, err = http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(params.Encode())); err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", Signature(token, target, params))
	}
	req.Header.Set("User-Agent", "billing-usage-triggers/1")
	req.Header.Set("I-Twilio-Idempotency-Token", d.Firing.IdempotencyToken)
	return req, nil
}
