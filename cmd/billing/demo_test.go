package main

import (
	"context"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

func TestRotateDemoTokens(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		ctx := context.Background()
		if tokens, err := rotateDemoTokens(ctx, store, nil); err != nil || tokens != nil {
			t.Fatalf("without demo accounts: %v, %v", tokens, err)
		}
		for _, sid := range []string{demoParent, demoSupport, demoMarketing} {
			a := models.Account{Sid: sid, Name: sid, Currency: "usd", CreatedAt: time.Now()}
			if err := store.CreateAccount(ctx, a, models.HashAuthToken("old")); err != nil {
				t.Fatal(err)
			}
		}
		first, err := rotateDemoTokens(ctx, store, nil)
		if err != nil {
			t.Fatal(err)
		}
		second, err := rotateDemoTokens(ctx, store, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, sid := range []string{demoParent, demoSupport, demoMarketing} {
			hash, err := store.AuthTokenHash(ctx, sid)
			if err != nil {
				t.Fatal(err)
			}
			if !models.AuthTokenMatches(second[sid], hash) || models.AuthTokenMatches(first[sid], hash) || first[sid] == second[sid] {
				t.Errorf("%s: the printed token is not the one stored, or the old one still works", sid)
			}
		}
	})
}
