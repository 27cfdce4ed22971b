package repo_test

import (
	"errors"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

func TestUsers(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		ctx := t.Context()
		now := time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)
		a := models.Account{Sid: models.NewAccountSid(), Name: "A", Currency: "usd", CreatedAt: now}
		b := models.Account{Sid: models.NewAccountSid(), Name: "B", Currency: "usd", CreatedAt: now}
		for _, acc := range []models.Account{a, b} {
			if err := store.CreateAccount(ctx, acc, "hash"); err != nil {
				t.Fatal(err)
			}
		}
		u, err := store.CreateUser(ctx, models.User{Name: "dana", DisplayName: "Dana", PasswordHash: "h1",
			Roles: []string{"Manager", "SystemAdministrator"}, AccountIDs: []string{b.Sid, a.Sid}, CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if u.ID == 0 {
			t.Fatal("no id")
		}
		got, err := store.UserByName(ctx, "dana")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || got.DisplayName != "Dana" || got.PasswordHash != "h1" || len(got.Roles) != 2 || got.Roles[1] != "SystemAdministrator" ||
			len(got.AccountIDs) != 2 || !got.CreatedAt.Equal(now) {
			t.Errorf("read back %+v", got)
		}

		if _, err := store.CreateUser(ctx, models.User{Name: "dana", PasswordHash: "h", CreatedAt: now}); !errors.Is(err, repo.ErrUserExists) {
			t.Errorf("a second dana: %v", err)
		}
		if _, err := store.CreateUser(ctx, models.User{Name: "eve", PasswordHash: "h", AccountIDs: []string{models.NewAccountSid()}, CreatedAt: now}); !errors.Is(err, repo.ErrUnknownAccount) {
			t.Errorf("unknown account: %v", err)
		}
		if _, err := store.UserByName(ctx, "eve"); !errors.Is(err, repo.ErrNotFound) {
			t.Errorf("a refused user was stored: %v", err)
		}

		if err := store.SetUserPassword(ctx, "dana", "h2"); err != nil {
			t.Fatal(err)
		}
		if got, _ := store.UserByName(ctx, "dana"); got.PasswordHash != "h2" {
			t.Errorf("hash %q after the change", got.PasswordHash)
		}
		if err := store.SetUserPassword(ctx, "nobody", "h"); !errors.Is(err, repo.ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}
	})
}
