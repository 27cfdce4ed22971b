package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/repo"
)

// openStore prepares the store the settings name, without connecting.
func (c *Config) openStore() (*repo.Store, error) {
	store, err := repo.Open(c.databaseURL())
	if err != nil {
		return nil, err
	}
	if c.DBConns > 0 {
		store.SetMaxConns(c.DBConns)
	}
	return store, nil
}

// databaseURL is the URL to open: the one given, or the embedded default in
// the data folder.
func (c *Config) databaseURL() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "billing.db")
}

// openDB connects to the database and applies pending migrations.
func (c *Config) openDB(ctx context.Context) (*repo.Store, error) {
	store, err := c.openStore()
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

// jwtConfig is the token verification settings. With generate set (demo
// mode) and no key configured, it creates an HS256 secret in the data
// folder, readable only by its owner, and reuses it on later runs.
func (c *Config) jwtConfig(generate bool) (auth.JWTConfig, error) {
	cfg := auth.JWTConfig{
		Algorithm: c.JWTAlgorithm,
		Secret:    []byte(c.JWTSecret),
		Issuer:    c.JWTIssuer,
		Audience:  c.JWTAudience,
		Leeway:    30 * time.Second,
	}
	if cfg.Algorithm != "HS256" {
		pem, err := pemSetting("BILLING_JWT_PUBLIC_KEY", c.JWTPublicKey, cfg.Algorithm)
		if err != nil {
			return cfg, err
		}
		cfg.PublicKeyPEM = pem
		return cfg, nil
	}
	if len(cfg.Secret) > 0 {
		return cfg, nil
	}
	secret, err := dataDirSecret(filepath.Join(c.DataDir, "jwt-secret"), generate)
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
func (c *Config) tokenBox(generate bool) (*auth.TokenBox, error) {
	key := []byte(c.SecretKey)
	if len(key) == 0 {
		var err error
		if key, err = dataDirSecret(filepath.Join(c.DataDir, "secret-key"), generate); err != nil || key == nil {
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
func (c *Config) newSigner(cfg auth.JWTConfig) (*auth.Signer, error) {
	var key []byte
	if cfg.Algorithm != "HS256" {
		var err error
		if key, err = pemSetting("BILLING_JWT_PRIVATE_KEY", c.JWTPrivateKey, cfg.Algorithm); err != nil {
			return nil, err
		}
	}
	return auth.NewSigner(cfg, key)
}

// pemSetting reads a setting holding PEM text or the path of a PEM file.
func pemSetting(name, v, algorithm string) ([]byte, error) {
	if v == "" {
		return nil, fmt.Errorf("%s is required for BILLING_JWT_ALGORITHM=%s", name, algorithm)
	}
	if strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") {
		return []byte(v), nil
	}
	return os.ReadFile(v)
}

// newLogger builds the process logger.
func (c *Config) newLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if strings.EqualFold(c.LogFormat, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
