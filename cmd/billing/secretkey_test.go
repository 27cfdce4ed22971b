package main

import (
	"context"
	"strings"
	"testing"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// account add and rotate-token seal the token when a secret key is set, and
// store only its hash (dropping any sealed one) when not.
func TestAuthTokensSealedWithSecretKey(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			db, dir := repotest.NewDatabase(t, backend), t.TempDir()
			key := strings.Repeat("s", 40)
			t.Setenv("BILLING_SECRET_KEY", key)
			out, err := billing(t, "account", "add", "--db", db, "--data-dir", dir, "--name", "Acme")
			if err != nil {
				t.Fatal(err)
			}
			sid, token := parseEnv(out)["ACCOUNT_SID"], parseEnv(out)["AUTH_TOKEN"]
			store, err := repo.Open(db)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			box, _ := auth.NewTokenBox([]byte(key))
			sealed, err := store.SealedAuthToken(context.Background(), sid)
			if err != nil || strings.Contains(string(sealed), token) {
				t.Fatalf("sealed %x, %v", sealed, err)
			}
			if got, err := box.Open(sid, sealed); err != nil || got != token {
				t.Errorf("the sealed token opens to %q (%v), want the printed one", got, err)
			}

			t.Setenv("BILLING_SECRET_KEY", "")
			if _, err := billing(t, "account", "rotate-token", "--db", db, "--data-dir", dir, sid); err != nil {
				t.Fatal(err)
			}
			if sealed, err := store.SealedAuthToken(context.Background(), sid); err != nil || sealed != nil {
				t.Errorf("after a rotation without the key the old sealed token remains: %x, %v", sealed, err)
			}
			t.Setenv("BILLING_SECRET_KEY", "too short")
			if _, err := billing(t, "account", "rotate-token", "--db", db, "--data-dir", dir, sid); err == nil {
				t.Error("a short BILLING_SECRET_KEY is accepted")
			}
		})
	}
}
