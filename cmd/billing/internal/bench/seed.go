package bench

import (
	"context"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

// Seed writes the dataset into an empty database. The store computes each
// account's rollups from its events with the code ingestion uses, so the
// database ends up as if the events had been ingested.
func Seed(ctx context.Context, store *repo.Store, d Dataset) (repo.BulkStats, error) {
	accounts := d.AccountList()
	bySid := make(map[string]Account, len(accounts))
	for _, a := range accounts {
		bySid[a.Sid] = a
	}
	return store.BulkLoad(ctx, d.BulkAccounts(accounts), func(a models.Account) []models.UsageEvent {
		return d.History(bySid[a.Sid])
	})
}
