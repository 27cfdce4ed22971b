// Package usage is what both API faces share once a request is bound: the
// decision whether the caller may read the account it names, admission of
// the query, and the usage plan over the Store. It knows nothing of HTTP.
package usage

import (
	"context"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
)

// Store is what usage questions read.
type Store interface {
	AccountOverview(ctx context.Context, sid string) (models.AccountOverview, error)
	Descendants(ctx context.Context, sid string) ([]string, error)
	FirstUsageDay(ctx context.Context, accounts []string) (models.Date, bool, error)
	UsageTotals(ctx context.Context, q models.UsageQuery) (models.Totals, error)
	UsageByPeriod(ctx context.Context, q models.UsageQuery, g models.Granularity) (models.PeriodTotals, error)
	// ReadReplica lets the usage reads made with the returned context go to
	// a healthy read replica, and says when its data is current to (zero:
	// the primary serves, current now). Everything else uses the primary.
	ReadReplica(ctx context.Context) (context.Context, time.Time)
}

// Service answers usage questions for the faces.
type Service struct {
	store   Store
	scope   *auth.Scope
	queries *queryLimit
	now     func() time.Time
}

// New builds the service; budget and wait bound the queries running at
// once (see Admit).
func New(store Store, now func() time.Time, budget int, wait time.Duration) *Service {
	return &Service{
		store: store,
		// Decide only: the lineage comes with the account's overview.
		scope:   auth.NewScope(nil, models.ErrNotFound),
		queries: newQueryLimit(int64(budget), wait),
		now:     now,
	}
}

// Today is the current UTC calendar day by the service's clock.
func (s *Service) Today() models.Date { return models.DateOf(s.now()) }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// ReadReplica lets the usage reads of a request (its Authorize and Plan
// included) go to a read replica, and says when the data read is current
// to: the replica's last replayed transaction, or now on the primary.
func (s *Service) ReadReplica(ctx context.Context) (context.Context, time.Time) {
	ctx, currentTo := s.store.ReadReplica(ctx)
	if currentTo.IsZero() {
		currentTo = s.now()
	}
	return ctx, currentTo
}

// Authorize reads the account a request names (with its lineage and first
// usage day, in one statement) and decides whether p may read it. Both
// faces call it after binding the account and before checking the rest of
// the request, so that a caller without access learns nothing from the
// validator (see the README's Decisions).
func (s *Service) Authorize(ctx context.Context, p *auth.Principal, sid string) (models.AccountOverview, error) {
	ov, err := s.store.AccountOverview(ctx, sid)
	if err := s.scope.Decide(p, sid, ov.Lineage, err); err != nil {
		return models.AccountOverview{}, err
	}
	return ov, nil
}
