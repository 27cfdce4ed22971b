package repo_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

// TestSQLiteFilesArePrivate: the ledger, its WAL and shared-memory files
// and the folder created for them are for the service's user only.
func TestSQLiteFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	file := filepath.Join(dir, "billing.db")
	store, err := repo.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a := models.Account{Sid: models.NewAccountSid(), Name: "A", Currency: "usd"}
	if err := store.CreateAccount(ctx, a, models.HashAuthToken("x")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, file: 0o600, file + "-wal": 0o600, file + "-shm": 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), fi.Mode(), want)
		}
	}
}
