package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"golang.org/x/term"
)

// knownRoles are the roles a user can be given; a typo is refused rather
// than stored as a role nothing checks.
var knownRoles = []string{auth.RoleSystemAdministrator, auth.RoleManager}

func runUserAdd(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("user add")
	name := f.String("name", "", "the sign-in name (required)")
	display := f.String("display-name", "", "the name the dashboard shows (default: the sign-in name)")
	roles := f.String("roles", "", "comma-separated roles: SystemAdministrator, Manager (required)")
	accounts := f.String("accounts", "", "comma-separated SIDs of the accounts a Manager manages, with their sub-accounts")
	pwFile := f.String("password-file", "", "read the password from this file (default: standard input)")
	if err := parse(f, args); err != nil {
		return err
	}
	u := models.User{DisplayName: strings.TrimSpace(*display), Roles: splitList(*roles), CreatedAt: time.Now().UTC()}
	var err error
	if u.Name, err = models.NormalizeUserName(*name); err != nil {
		return fmt.Errorf("user add: --name: %w", err)
	}
	if u.DisplayName == "" {
		u.DisplayName = u.Name
	}
	if len(u.DisplayName) > models.MaxDisplayNameLen {
		return fmt.Errorf("user add: --display-name is longer than %d characters", models.MaxDisplayNameLen)
	}
	if len(u.Roles) == 0 {
		return errors.New("user add: --roles is required (SystemAdministrator, Manager)")
	}
	for _, r := range u.Roles {
		if !slices.Contains(knownRoles, r) {
			return fmt.Errorf("user add: unknown role %q (roles are %s; letter case counts)", r, strings.Join(knownRoles, ", "))
		}
	}
	for _, s := range splitList(*accounts) {
		sid, ok := models.NormalizeAccountSid(s)
		if !ok {
			return fmt.Errorf("user add: --accounts: %q is not AC followed by 32 hex digits", s)
		}
		u.AccountIDs = append(u.AccountIDs, sid)
	}
	if slices.Contains(u.Roles, auth.RoleManager) && len(u.AccountIDs) == 0 {
		return errors.New("user add: a Manager needs --accounts: the accounts it manages")
	}
	pw, err := readPassword(*pwFile)
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	if u.PasswordHash, err = auth.HashPassword(pw); err != nil {
		return err
	}
	store, err := f.Config.openDB(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if u, err = store.CreateUser(ctx, u); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	fmt.Fprintf(out, "user %s added (id %d, roles %s)\n", u.Name, u.ID, strings.Join(u.Roles, ","))
	return nil
}

func runUserSetPassword(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("user set-password")
	name := f.String("name", "", "the sign-in name (required)")
	pwFile := f.String("password-file", "", "read the password from this file (default: standard input)")
	if err := parse(f, args); err != nil {
		return err
	}
	n, err := models.NormalizeUserName(*name)
	if err != nil {
		return fmt.Errorf("user set-password: --name: %w", err)
	}
	pw, err := readPassword(*pwFile)
	if err != nil {
		return fmt.Errorf("user set-password: %w", err)
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	store, err := f.Config.openDB(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.SetUserPassword(ctx, n, hash); errors.Is(err, repo.ErrNotFound) {
		return fmt.Errorf("user set-password: no user is named %s", n)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(out, "password of %s changed; tokens already issued stay valid until they expire\n", n)
	return nil
}

// readPassword reads a password from a file, or from standard input: typed
// twice without echo at a terminal, else its first line. Never from a flag,
// which every user of the machine can read in the process list.
func readPassword(file string) (string, error) {
	var pw string
	switch {
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		pw, _, _ = strings.Cut(string(data), "\n")
	case term.IsTerminal(int(os.Stdin.Fd())):
		first, err := prompt("Password: ")
		if err != nil {
			return "", err
		}
		again, err := prompt("Password again: ")
		if err != nil {
			return "", err
		}
		if first != again {
			return "", errors.New("the two passwords differ")
		}
		pw = first
	default:
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		pw = line
	}
	pw = strings.TrimRight(pw, "\r\n")
	if err := models.CheckPassword(pw); err != nil {
		return "", err
	}
	return pw, nil
}

func prompt(label string) (string, error) {
	fmt.Fprint(os.Stderr, label)
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	return string(b), err
}
