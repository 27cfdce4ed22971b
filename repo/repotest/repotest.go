// Package repotest gives tests a fresh, migrated database of each kind: an
// embedded SQLite file always, and PostgreSQL when BILLING_TEST_POSTGRES_URL
// names a server. Each Postgres test gets its own database, cloned from a
// template migrated once per schema version, so runs never see each other.
package repotest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/evovoice/billing/repo"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for the admin connection
)

// PostgresEnv names the variable that switches the Postgres suite on.
const PostgresEnv = "BILLING_TEST_POSTGRES_URL"

// Backend is one database a test runs against.
type Backend struct {
	Name string // "sqlite" or "postgres"
	URL  string
}

// Each runs f as a subtest against a fresh SQLite database and, when the
// Postgres suite is on, a fresh Postgres database.
func Each(t *testing.T, f func(t *testing.T, store *repo.Store)) {
	t.Helper()
	for _, name := range Backends() {
		t.Run(name, func(t *testing.T) {
			f(t, Open(t, name))
		})
	}
}

// Backends lists the databases this run tests: sqlite, and postgres when on.
func Backends() []string {
	if os.Getenv(PostgresEnv) != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// Open returns a migrated, empty store of the named kind, closed and dropped
// when the test ends.
func Open(t testing.TB, backend string) *repo.Store {
	t.Helper()
	u := NewDatabase(t, backend)
	store, err := repo.Open(u)
	if err != nil {
		t.Fatalf("open %s: %v", backend, err)
	}
	t.Cleanup(func() { store.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := store.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", backend, err)
	}
	return store
}

// NewDatabase creates an empty, migrated database of the named kind and
// returns its URL; it is removed when the test ends.
func NewDatabase(t testing.TB, backend string) string {
	t.Helper()
	switch backend {
	case "sqlite":
		return filepath.Join(t.TempDir(), "billing.db")
	case "postgres":
		return newPostgresDatabase(t)
	}
	t.Fatalf("unknown backend %q", backend)
	return ""
}

// PostgresURL returns the Postgres server URL, skipping the test when the
// suite is off. Tests that need Postgres specifically start with it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(PostgresEnv)
	if u == "" {
		t.Skipf("%s is not set: the Postgres suite is off", PostgresEnv)
	}
	return u
}

func newPostgresDatabase(t testing.TB) string {
	t.Helper()
	adminURL := PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		// The suite is on, so an unreachable server fails the run.
		t.Fatalf("postgres at %s is not reachable: %v", PostgresEnv, err)
	}
	template, err := ensureTemplate(ctx, admin, adminURL)
	if err != nil {
		t.Fatalf("postgres template: %v", err)
	}
	name := "billing_test_" + randomSuffix()
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, template)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", adminURL)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(adminURL, name)
}

// ensureTemplate creates and migrates the template for the current schema,
// once across all test processes (an advisory lock serialises them).
func ensureTemplate(ctx context.Context, admin *sql.DB, adminURL string) (string, error) {
	name := "billing_template_" + repo.MigrationsHash()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7020250001)`); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7020250001)`)

	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	// A half-made template from an interrupted run is rebuilt.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s`, name)); err != nil {
		return "", err
	}
	store, err := repo.Open(withDatabase(adminURL, name))
	if err != nil {
		return "", err
	}
	err = store.Migrate(ctx)
	store.Close()
	if err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`ALTER DATABASE %s WITH IS_TEMPLATE true`, name)); err != nil {
		return "", err
	}
	return name, nil
}

// withDatabase points a Postgres URL at another database on the same server.
func withDatabase(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	u.Path = "/" + name
	return u.String()
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
