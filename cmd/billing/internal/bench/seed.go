// Package bench is the load harness behind `billing bench`: the synthetic
// dataset (package synth) loaded in bulk, a closed-loop query load over HTTP
// or straight to the database, and a sustained ingestion load with an
// exactly-once check.
package bench

import (
	"context"

	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

// Seed writes the dataset into an empty database. The store computes each
// account's rollups from its events with the code ingestion uses, so the
// database ends up as if the events had been ingested.
func Seed(ctx context.Context, store *repo.Store, d synth.Dataset) (repo.BulkStats, error) {
	accounts := d.AccountList()
	bySid := make(map[string]synth.Account, len(accounts))
	for _, a := range accounts {
		bySid[a.Sid] = a
	}
	return store.BulkLoad(ctx, BulkAccounts(d, accounts), func(a models.Account) []models.UsageEvent {
		return d.History(bySid[a.Sid])
	})
}

// BulkAccounts are the accounts as the store bulk-loads them.
func BulkAccounts(d synth.Dataset, accounts []synth.Account) []repo.BulkAccount {
	out := make([]repo.BulkAccount, len(accounts))
	for i, a := range accounts {
		out[i] = repo.BulkAccount{Account: a.Account, AuthTokenHash: models.HashAuthToken(d.AuthToken(a.Sid))}
	}
	return out
}
