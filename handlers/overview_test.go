package handlers_test

import (
	"testing"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// TestDefaultStartFromOverview pins the default StartDate, which the
// account overview supplies in the same statement as the account and its
// lineage: the creation day, or the first usage day if earlier.
func TestDefaultStartFromOverview(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		parent := e.Account("Parent", "", models.NewDate(2024, 2, 1))
		early := e.Account("Early", parent, models.NewDate(2024, 2, 10))
		idle := e.Account("Idle", parent, models.NewDate(2024, 2, 20))
		e.Ingest(
			handlertest.Event{"id": "a", "accountSid": early, "category": "calls-outbound", "occurredAt": "2024-01-05T10:00:00Z", "count": 1, "usage": "2", "price": "0.026"},
			handlertest.Event{"id": "b", "accountSid": early, "category": "sms-outbound-longcode", "occurredAt": "2024-03-01T10:00:00Z", "count": 1, "price": "0.0079"},
		)
		for _, c := range []struct {
			sid, token, start string
		}{
			{early, e.Admin(), "2024-01-05"},
			{early, e.Manager(parent), "2024-01-05"}, // the lineage reaches the parent
			{idle, e.Manager(parent), "2024-02-20"},
			{parent, e.Admin(), "2024-02-01"}, // a parent's own usage, not its sub-accounts'
		} {
			recs := handlertest.ByCategory(e.Records("/billing/usage?AccountId="+c.sid, c.token))
			if got := recs["calls"].StartDate; got != c.start {
				t.Errorf("%s: startDate %s, want %s", c.sid, got, c.start)
			}
			if got := recs["calls"].EndDate; got != "2024-03-15" {
				t.Errorf("%s: endDate %s", c.sid, got)
			}
		}
		if got := handlertest.ByCategory(e.Records("/billing/usage?AccountId="+early, e.Admin()))["totalprice"].Price.String(); got != "0.0339" {
			t.Errorf("totalprice %s, want 0.0339", got)
		}
		e.Get("/billing/usage?AccountId="+parent, e.Manager(early)).ExpectError(t, 403, "Forbidden")
	})
}
