package main

import (
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/evovoice/billing/repo/repotest"
)

// TestSettingsReportEveryProblem: every bad value is named in one error, by
// the flag when the flag gave it, else by the variable.
func TestSettingsReportEveryProblem(t *testing.T) {
	t.Setenv("BILLING_DB_CONNS", "0")
	t.Setenv("BILLING_JWT_SECRET", "short")
	t.Setenv("BILLING_JWT_ALGORITHM", "")
	t.Setenv("BILLING_SESSION_TTL", "soon")
	t.Setenv("BILLING_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local, 10.1.2.3/99")
	t.Setenv("BILLING_DEMO", "maybe")
	t.Setenv("BILLING_SECRET_KEY", "short")
	t.Setenv("BILLING_WEBHOOK_ALLOW_PRIVATE", "sometimes")
	t.Setenv("BILLING_TRIGGER_INTERVAL", "1m") // the flag's 0s is reported, by the flag
	_, err := billing(t, "serve", "--addr", "127.0.0.1:0", "--request-timeout", "0s", "--data-dir", t.TempDir(),
		"--trigger-interval", "0s", "--replicas", "-1")
	want := `serve: BILLING_DB_CONNS: must be a whole number ≥ 1; BILLING_DEMO: must be true or false; ` +
		`--request-timeout: must be a positive duration such as 8h or 30s; BILLING_JWT_SECRET: at least 32 bytes; ` +
		`BILLING_SECRET_KEY: at least 32 bytes; --trigger-interval: must be a positive duration such as 8h or 30s; ` +
		`BILLING_WEBHOOK_ALLOW_PRIVATE: must be true or false; ` +
		`BILLING_SESSION_TTL: must be a positive duration such as 8h or 30s; ` +
		`BILLING_TRUSTED_PROXIES: "proxy.local", "10.1.2.3/99": not a CIDR such as 10.0.0.0/8; ` +
		`--replicas: must be a whole number ≥ 1`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	if _, err := billing(t, "migrate", "--db-conns", "many", "--data-dir", t.TempDir()); err == nil || err.Error() != "migrate: --db-conns: must be a whole number ≥ 1" {
		t.Errorf("a bad flag over a bad variable: %v", err)
	}
	t.Setenv("BILLING_NATS_URL", "")
	if _, err := billing(t, "consume", "--batch", "0", "--data-dir", t.TempDir()); err == nil ||
		err.Error() != "consume: BILLING_DB_CONNS: must be a whole number ≥ 1; --batch: must be a whole number ≥ 1; --nats: required (or BILLING_NATS_URL)" {
		t.Errorf("consume without NATS: %v", err)
	}
	t.Setenv("BILLING_JWT_SECRET", "")
	t.Setenv("BILLING_JWT_ALGORITHM", "rs256")
	if _, err := billing(t, "token", "--sub", "x"); err == nil || err.Error() != "token: BILLING_JWT_PUBLIC_KEY: required for BILLING_JWT_ALGORITHM=RS256" {
		t.Errorf("RS256 without a public key: %v", err)
	}
}

// TestSettingsSources: a command reads only its own settings; a variable
// replaces the default and a flag the variable.
func TestSettingsSources(t *testing.T) {
	t.Setenv("BILLING_SESSION_TTL", "soon") // serve's, not migrate's
	t.Setenv("BILLING_DB_CONNS", "2")
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			db := repotest.NewDatabase(t, backend)
			t.Setenv("BILLING_DATABASE_URL", db)
			if out, err := billing(t, "migrate"); err != nil || !strings.Contains(out, backend) {
				t.Fatalf("migrate from BILLING_DATABASE_URL: %q %v", out, err)
			}
			t.Setenv("BILLING_DATABASE_URL", filepath.Join(t.TempDir(), "missing", "dir", "x.db"))
			if out, err := billing(t, "migrate", "--db", db); err != nil || !strings.Contains(out, backend) {
				t.Fatalf("--db over BILLING_DATABASE_URL: %q %v", out, err)
			}
		})
	}
	t.Setenv("BILLING_DATABASE_URL", "")
	dir := t.TempDir()
	t.Setenv("BILLING_DATA_DIR", dir)
	if _, err := billing(t, "migrate"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "billing.db")); err != nil {
		t.Errorf("the default database is not in BILLING_DATA_DIR: %v", err)
	}
}

// TestREADMEConfigurationTable: the README's table is the settings list,
// row for row.
func TestREADMEConfigurationTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := settingsMarkdown()
	for _, row := range strings.SplitAfter(want, "\n") {
		if row != "" && !strings.Contains(string(readme), "\n"+row) {
			t.Errorf("README.md lacks the row %q", strings.TrimSpace(row))
		}
	}
	if !strings.Contains(string(readme), "\n"+want+"\n") {
		t.Errorf("README.md's Configuration section should hold this table, generated from settings():\n\n%s", want)
	}
}

// TestEveryVariableIsASetting: each BILLING_ variable named in the module's
// Go source (tests aside: BILLING_TEST_* are the tests' own) is in the
// settings list, so help and the README show it.
func TestEveryVariableIsASetting(t *testing.T) {
	var declared []string
	for _, s := range new(Config).settings() {
		if s.env != "" {
			declared = append(declared, s.env)
		}
	}
	found := map[string][]string{}
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "../.." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range billingVariables(src) {
			found[v] = append(found[v], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for v, paths := range found {
		if !slices.Contains(declared, v) {
			t.Errorf("%s (read in %s) is not in the settings list (cmd/billing/settings.go)", v, strings.Join(paths, ", "))
		}
	}
	for _, v := range declared {
		if len(found[v]) == 0 {
			t.Errorf("the scan missed %s, which settings.go declares", v)
		}
	}
	if got := billingVariables([]byte("package x\nvar a, b, c = \"BILLING_NEW_THING\", `BILLING_TEST_URL`, \"see BILLING_OTHER\"\n")); !slices.Equal(got, []string{"BILLING_NEW_THING"}) {
		t.Errorf("scanning a sample: %v", got)
	}
}

// billingVariables are the BILLING_ names that start string literals of a
// Go source file, BILLING_TEST_* aside.
func billingVariables(src []byte) []string {
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", fset.Base(), len(src)), src, nil, 0)
	var out []string
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			return out
		}
		if tok != token.STRING {
			continue
		}
		v, err := strconv.Unquote(lit)
		if err != nil || !strings.HasPrefix(v, "BILLING_") || strings.HasPrefix(v, "BILLING_TEST_") {
			continue
		}
		end := strings.IndexFunc(v, func(r rune) bool { return !(r == '_' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') })
		if end < 0 {
			end = len(v)
		}
		out = append(out, v[:end])
	}
}
