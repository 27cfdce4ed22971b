package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/repo"
)

// envVar documents one environment variable for `billing help`.
type envVar struct{ name, usage string }

// environment lists every variable the binary reads, flags' twins included.
var environment = []envVar{
	{"BILLING_ADDR", "address serve listens on (--addr; default 127.0.0.1:8080)"},
	{"BILLING_DATABASE_URL", "postgres://… or a SQLite file path (--db; default <data dir>/billing.db)"},
	{"BILLING_DB_CONNS", fmt.Sprintf("most database connections (--db-conns; default %d on Postgres)", repo.DefaultPostgresConns)},
	{"BILLING_DATA_DIR", "folder for the SQLite file and the demo JWT secret (--data-dir; default ./data)"},
	{"BILLING_DEMO", "true to seed demo data and print tokens (--demo)"},
	{"BILLING_JWT_ALGORITHM", "HS256 (default), RS256 or ES256; only this algorithm is accepted"},
	{"BILLING_JWT_SECRET", "HS256 secret, at least 32 bytes (generated into the data dir with --demo when unset)"},
	{"BILLING_JWT_PUBLIC_KEY", "PEM public key, or the path of a PEM file, for RS256/ES256"},
	{"BILLING_JWT_PRIVATE_KEY", "PEM private key, or its path, for RS256/ES256: signs `billing token` and dashboard sign-ins"},
	{"BILLING_JWT_ISSUER", "required iss claim (checked when set; written by `billing token`)"},
	{"BILLING_JWT_AUDIENCE", "required aud claim (checked when set; written by `billing token`)"},
	{"BILLING_SECRET_KEY", "at least 32 bytes: seals auth tokens (AES-GCM) so trigger callbacks can be signed (generated into the data dir with --demo when unset)"},
	{"BILLING_TRIGGER_INTERVAL", "how often serve evaluates every usage trigger, besides after each ingestion (default 1m)"},
	{"BILLING_WEBHOOK_ALLOW_PRIVATE", "true lets trigger callbacks go to loopback, private and link-local addresses (tests, on-premise)"},
	{"BILLING_SESSION_TTL", "how long a dashboard sign-in lasts (default 12h)"},
	{"BILLING_TRUSTED_PROXIES", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client"},
	{"BILLING_PPROF_ADDR", "loopback address for Go profiles, off when empty (--pprof)"},
	{"BILLING_BENCH_URL", "service URL for bench query and bench ingest (--url)"},
	{"BILLING_BENCH_TOKEN", "SystemAdministrator bearer token for bench query and bench ingest (--token)"},
	{"BILLING_LOG_FORMAT", "text (default) or json"},
	{"BILLING_LOG_LEVEL", "debug, info (default), warn or error"},
}

// flags is a subcommand's flag set whose defaults come from the environment.
type flags struct{ *flag.FlagSet }

func newFlags(name string) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by main
	return flags{fs}
}

// str registers a string flag whose default is its environment twin, if set.
func (f flags) str(name, env, def, usage string) *string {
	if v := os.Getenv(env); env != "" && v != "" {
		def = v
	}
	return f.String(name, def, usage)
}

func (f flags) boolean(name, env string, usage string) *bool {
	def := false
	if v := strings.ToLower(os.Getenv(env)); v == "1" || v == "true" || v == "yes" {
		def = true
	}
	return f.Bool(name, def, usage)
}

// dbFlags are the flags of every subcommand that touches the database.
type dbFlags struct {
	url     *string
	dataDir *string
	conns   *string
}

func (f flags) db() dbFlags {
	return dbFlags{
		url:     f.str("db", "BILLING_DATABASE_URL", "", "database URL: postgres://… or a SQLite file path"),
		dataDir: f.str("data-dir", "BILLING_DATA_DIR", "data", "folder for the SQLite file and the demo JWT secret"),
		conns:   f.str("db-conns", "BILLING_DB_CONNS", "", fmt.Sprintf("most database connections (default %d on Postgres, 8 on SQLite)", repo.DefaultPostgresConns)),
	}
}

// openStore prepares the store the flags name, without connecting.
func (d dbFlags) openStore() (*repo.Store, error) {
	return openStore(d.databaseURL(), *d.conns)
}

// openStore opens a store with an optional pool size.
func openStore(url, conns string) (*repo.Store, error) {
	n := 0
	if conns != "" {
		var err error
		if n, err = strconv.Atoi(conns); err != nil || n < 1 {
			return nil, fmt.Errorf("--db-conns %q: want a whole number ≥ 1", conns)
		}
	}
	store, err := repo.Open(url)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		store.SetMaxConns(n)
	}
	return store, nil
}

// databaseURL is the URL to open: the one given, or the embedded default.
func (d dbFlags) databaseURL() string {
	if *d.url != "" {
		return *d.url
	}
	return filepath.Join(*d.dataDir, "billing.db")
}

// open connects to the database and applies pending migrations.
func (d dbFlags) open(ctx context.Context) (*repo.Store, error) {
	store, err := d.openStore()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// jwtConfig reads the token settings from the environment. With generate set
// (demo mode) and no key configured, it creates an HS256 secret in the data
// folder, readable only by its owner, and reuses it on later runs.
func jwtConfig(dataDir string, generate bool) (auth.JWTConfig, error) {
	cfg := auth.JWTConfig{
		Algorithm: strings.ToUpper(os.Getenv("BILLING_JWT_ALGORITHM")),
		Secret:    []byte(os.Getenv("BILLING_JWT_SECRET")),
		Issuer:    os.Getenv("BILLING_JWT_ISSUER"),
		Audience:  os.Getenv("BILLING_JWT_AUDIENCE"),
		Leeway:    30 * time.Second,
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = "HS256"
	}
	if cfg.Algorithm != "HS256" {
		pem, err := pemSetting("BILLING_JWT_PUBLIC_KEY")
		if err != nil {
			return cfg, err
		}
		cfg.PublicKeyPEM = pem
		return cfg, nil
	}
	if len(cfg.Secret) > 0 {
		return cfg, nil
	}
	secret, err := dataDirSecret(filepath.Join(dataDir, "jwt-secret"), generate)
	if err != nil {
		return cfg, err
	}
	if secret == nil {
		return cfg, errors.New("no JWT key: set BILLING_JWT_SECRET (HS256), or BILLING_JWT_ALGORITHM and BILLING_JWT_PUBLIC_KEY; or run with --demo")
	}
	cfg.Secret = secret
	return cfg, nil
}

// dataDirSecret reads a secret kept in a file of the data folder; with
// generate set and no file, it creates one (32 random bytes, hex), readable
// only by its owner, reused on later runs. nil when there is none.
func dataDirSecret(path string, generate bool) ([]byte, error) {
	if data, err := os.ReadFile(path); err == nil {
		return []byte(strings.TrimSpace(string(data))), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if !generate {
		return nil, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	secret := hex.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return nil, err
	}
	return []byte(secret), nil
}

// tokenBox seals auth tokens under BILLING_SECRET_KEY, or else the key in
// the data folder (created with generate, as --demo does). nil when there
// is no key: tokens are then stored as hashes only, and callbacks of those
// accounts cannot be signed.
func tokenBox(dataDir string, generate bool) (*auth.TokenBox, error) {
	key := []byte(os.Getenv("BILLING_SECRET_KEY"))
	if len(key) == 0 {
		var err error
		if key, err = dataDirSecret(filepath.Join(dataDir, "secret-key"), generate); err != nil || key == nil {
			return nil, err
		}
	}
	box, err := auth.NewTokenBox(key)
	if err != nil {
		return nil, fmt.Errorf("BILLING_SECRET_KEY: %w", err)
	}
	return box, nil
}

// sealToken is the sealed form of a token to store, nil without a box.
func sealToken(box *auth.TokenBox, sid, token string) []byte {
	if box == nil {
		return nil
	}
	return box.Seal(sid, token)
}

// newSigner builds the token signer: the HS256 secret, or for RS256 and
// ES256 the private key in BILLING_JWT_PRIVATE_KEY.
func newSigner(cfg auth.JWTConfig) (*auth.Signer, error) {
	var key []byte
	if cfg.Algorithm != "HS256" {
		var err error
		if key, err = pemSetting("BILLING_JWT_PRIVATE_KEY"); err != nil {
			return nil, err
		}
	}
	return auth.NewSigner(cfg, key)
}

// pemSetting reads a variable holding PEM text or the path of a PEM file.
func pemSetting(name string) ([]byte, error) {
	v := os.Getenv(name)
	if v == "" {
		return nil, fmt.Errorf("%s is required for BILLING_JWT_ALGORITHM=%s", name, os.Getenv("BILLING_JWT_ALGORITHM"))
	}
	if strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") {
		return []byte(v), nil
	}
	return os.ReadFile(v)
}

// newLogger builds the process logger from BILLING_LOG_FORMAT and _LEVEL.
func newLogger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("BILLING_LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(os.Getenv("BILLING_LOG_FORMAT"), "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
