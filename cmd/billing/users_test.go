package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/repo"
)

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "billing.db")
	ctx := context.Background()
	pwFile := func(pw string) string {
		f := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(f, []byte(pw), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	good := pwFile("a long enough password\n")
	var out strings.Builder
	if err := run(ctx, []string{"account", "add", "--name", "Acme", "--sid", demoParent, "--db", db}, &out); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "x", "--roles", "Manager", "--password-file", good}, "needs --accounts"},
		{[]string{"--name", "x", "--roles", "manager", "--accounts", demoParent, "--password-file", good}, `unknown role "manager"`},
		{[]string{"--name", "x", "--password-file", good}, "--roles is required"},
		{[]string{"--name", "Bad Name", "--roles", "SystemAdministrator", "--password-file", good}, "may hold only"},
		{[]string{"--name", "x", "--roles", "SystemAdministrator", "--password-file", pwFile("short\n")}, "at least 12 characters"},
		{[]string{"--name", "x", "--roles", "SystemAdministrator", "--password-file", pwFile(strings.Repeat("p", 73))}, "at most 72 bytes"},
		{[]string{"--name", "x", "--roles", "Manager", "--accounts", "AC" + strings.Repeat("e", 32), "--password-file", good}, "no such account"},
		{[]string{"--name", "x", "--roles", "SystemAdministrator", "--password", "secret"}, "flag provided but not defined: -password"},
	} {
		err := run(ctx, append([]string{"user", "add", "--db", db}, c.args...), &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("user add %v: %v, want %q", c.args, err, c.want)
		}
	}

	out.Reset()
	if err := run(ctx, []string{"user", "add", "--db", db, "--name", "Grace", "--display-name", "Grace H.", "--roles", "Manager",
		"--accounts", "AC123", "--password-file", good}, &out); err == nil {
		t.Error("a malformed SID was accepted")
	}
	if err := run(ctx, []string{"user", "add", "--db", db, "--name", "Grace", "--display-name", "Grace H.", "--roles", "Manager",
		"--accounts", demoParent, "--password-file", good}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "user grace added") {
		t.Errorf("output %q", out.String())
	}
	if err := run(ctx, []string{"user", "add", "--db", db, "--name", "grace", "--roles", "SystemAdministrator", "--password-file", good}, &out); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second grace: %v", err)
	}

	store, err := repo.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u, err := store.UserByName(ctx, "grace")
	if err != nil {
		t.Fatal(err)
	}
	if u.DisplayName != "Grace H." || strings.Join(u.AccountIDs, ",") != demoParent || strings.Join(u.Roles, ",") != "Manager" {
		t.Errorf("stored %+v", u)
	}
	checker := auth.NewPasswords()
	if ok, _ := checker.Check(ctx, u.PasswordHash, "a long enough password"); !ok {
		t.Error("the stored hash does not match the password (or kept its newline)")
	}

	if err := run(ctx, []string{"user", "set-password", "--db", db, "--name", "GRACE", "--password-file", pwFile("another good password")}, &out); err != nil {
		t.Fatal(err)
	}
	u, _ = store.UserByName(ctx, "grace")
	if ok, _ := checker.Check(ctx, u.PasswordHash, "another good password"); !ok {
		t.Error("set-password did not take")
	}
	if err := run(ctx, []string{"user", "set-password", "--db", db, "--name", "nobody", "--password-file", good}, &out); err == nil || !strings.Contains(err.Error(), "no user is named nobody") {
		t.Errorf("unknown user: %v", err)
	}
}
