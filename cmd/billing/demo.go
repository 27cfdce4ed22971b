package main

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

// The demo accounts have fixed SIDs so that examples in the README work.
const (
	demoParent    = "AC0000000000000000000000000000d001"
	demoSupport   = "AC0000000000000000000000000000d002"
	demoMarketing = "AC0000000000000000000000000000d003"
	demoMonths    = 13
)

// demoTokenTTL is how long the printed demo tokens stay valid.
const demoTokenTTL = 24 * time.Hour

// seedDemo fills an empty database with three accounts and about 13 months
// of usage, ingested through the same path as real events, then prints the
// URL, the dashboard users' passwords, ready-to-use tokens and fresh auth
// tokens of the demo accounts. On a database that has accounts it adds no data.
func seedDemo(ctx context.Context, store *repo.Store, signer *auth.Signer, box *auth.TokenBox, baseURL string, out io.Writer) error {
	has, err := store.HasAccounts(ctx)
	if err != nil {
		return err
	}
	today := models.DateOf(time.Now())
	if !has {
		if err := createDemoData(ctx, store, today); err != nil {
			return err
		}
	}
	admin, err := signer.Sign("demo-admin", "Demo Administrator", []string{auth.RoleSystemAdministrator}, nil, demoTokenTTL)
	if err != nil {
		return err
	}
	manager, err := signer.Sign("demo-manager", "Demo Manager", []string{auth.RoleManager}, []string{demoParent}, demoTokenTTL)
	if err != nil {
		return err
	}
	tokens, err := rotateDemoTokens(ctx, store, box)
	if err != nil {
		return err
	}
	users, err := demoUsers(ctx, store)
	if err != nil {
		return err
	}
	if has {
		fmt.Fprintln(out, "The database already holds accounts; no demo data was added.")
	}
	fmt.Fprintf(out, "\nBilling service (demo) at %s\n", baseURL)
	if len(users) > 0 {
		fmt.Fprintf(out, "  Dashboard: open %s/ and sign in (new passwords at every demo start):\n", baseURL)
		for _, u := range users {
			fmt.Fprintf(out, "    user %-8s password %s   %s\n", u.name, u.password, u.about)
		}
	}
	fmt.Fprintf(out, `  Accounts: %[2]s Acme Voice (parent)
            %[3]s Acme Support (sub-account)
            %[4]s Acme Marketing (sub-account)
  Tokens, valid for %[5]s:
    SystemAdministrator:       %[6]s
    Manager of Acme Voice:     %[7]s
`, baseURL, demoParent, demoSupport, demoMarketing, demoTokenTTL, admin, manager)
	if tokens != nil {
		fmt.Fprintf(out, `  Auth tokens for HTTP Basic (AccountSid:AuthToken), new at each demo start:
    Acme Voice:                %[1]s
    Acme Support:              %[2]s
    Acme Marketing:            %[3]s
`, tokens[demoParent], tokens[demoSupport], tokens[demoMarketing])
	}
	fmt.Fprintf(out, `  Try:
    curl -H "Authorization: Bearer %[3]s" '%[1]s/billing/usage?AccountId=%[2]s'
`, baseURL, demoSupport, manager)
	if tokens != nil {
		fmt.Fprintf(out, "    curl -u %[2]s:%[3]s '%[1]s/2010-04-01/Accounts/%[4]s/Usage/Records/Monthly.json?Category=calls'\n",
			baseURL, demoParent, tokens[demoParent], demoSupport)
	}
	fmt.Fprintln(out)
	return nil
}

// rotateDemoTokens gives the demo accounts fresh auth tokens at each demo
// start, since only their hashes are stored; nil when the database has no
// demo accounts.
func rotateDemoTokens(ctx context.Context, store *repo.Store, box *auth.TokenBox) (map[string]string, error) {
	tokens := map[string]string{}
	for _, sid := range []string{demoParent, demoSupport, demoMarketing} {
		token := models.NewAuthToken()
		err := store.SetAuthToken(ctx, sid, models.HashAuthToken(token), sealToken(box, sid, token))
		if errors.Is(err, models.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		tokens[sid] = token
	}
	return tokens, nil
}

// demoUser is a dashboard user of the demo and its fresh password.
type demoUser struct{ name, password, about string }

// demoUsers creates the demo's dashboard users, or gives them new passwords:
// only hashes are stored, so the passwords can be printed only when set.
// Users are touched only in a demo database (one holding the demo parent
// account), so that --demo never resets a real administrator's password.
func demoUsers(ctx context.Context, store *repo.Store) ([]demoUser, error) {
	if _, err := store.Account(ctx, demoParent); errors.Is(err, models.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	specs := []struct {
		user  models.User
		about string
	}{
		{models.User{Name: "admin", DisplayName: "Demo Administrator", Roles: []string{auth.RoleSystemAdministrator}}, "(SystemAdministrator: every account)"},
		{models.User{Name: "manager", DisplayName: "Demo Manager", Roles: []string{auth.RoleManager}, AccountIDs: []string{demoParent}}, "(Manager of Acme Voice and its sub-accounts)"},
	}
	var out []demoUser
	for _, s := range specs {
		pw := crand.Text()[:16]
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return nil, err
		}
		u := s.user
		u.PasswordHash, u.CreatedAt = hash, time.Now().UTC()
		_, err = store.CreateUser(ctx, u)
		if errors.Is(err, repo.ErrUserExists) {
			err = store.SetUserPassword(ctx, u.Name, hash)
		}
		if err != nil {
			return nil, fmt.Errorf("demo user %s: %w", u.Name, err)
		}
		out = append(out, demoUser{u.Name, pw, s.about})
	}
	return out, nil
}

func createDemoData(ctx context.Context, store *repo.Store, today models.Date) error {
	accounts := demoAccounts(today)
	var events []models.UsageEvent
	for _, a := range accounts {
		if err := store.CreateAccount(ctx, a.Account, models.HashAuthToken(models.NewAuthToken())); err != nil {
			return err
		}
		events = append(events, synth.History(demoSeed, a)...)
	}
	for len(events) > 0 {
		n := min(len(events), models.MaxBatchEvents)
		if _, err := store.RecordUsageEvents(ctx, events[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

// demoSeed fixes the demo's random streams: every demo started on the same
// day holds the same history.
const demoSeed = 2024

// demoAccounts are the demo's parent and two sub-accounts, opened in the
// first days of the month 13 months back, with usage up to today.
func demoAccounts(today models.Date) []synth.Account {
	start := models.NewDate(today.Time().Year(), today.Time().Month()-demoMonths, 1)
	account := func(sid, name, parent string, openedDay int, p synth.Profile) synth.Account {
		opened := start.AddDays(openedDay)
		p.Weekend = 0.3
		return synth.Account{
			Account: models.Account{Sid: sid, Name: name, ParentSid: parent, Currency: "usd", CreatedAt: opened.Time()},
			Profile: p, Scale: 1,
			Active: models.DateRange{Start: opened, End: today},
		}
	}
	accounts := []synth.Account{
		account(demoParent, "Acme Voice", "", 0, synth.Profile{
			PerDay:  map[string]float64{"calls-outbound": 12, "calls-client": 3, "sms-outbound-longcode": 20, "calleridlookups": 4},
			Minutes: map[string]float64{"calls-outbound": 4.5, "calls-client": 7},
			Monthly: map[string]int64{"phonenumbers-local": 2},
		}),
		account(demoSupport, "Acme Support", demoParent, 3, synth.Profile{
			PerDay: map[string]float64{
				"calls-inbound-local": 55, "calls-inbound-tollfree": 30, "calls-outbound": 18, "calls-sip": 9,
				"sms-inbound-longcode": 40, "sms-outbound-longcode": 45, "calleridlookups": 25,
				"recordings": 17, "transcriptions": 4,
			},
			Minutes:   map[string]float64{"calls-inbound-local": 3.8, "calls-inbound-tollfree": 5.2, "calls-outbound": 2.9, "calls-sip": 6.1, "recordings": 4.2, "transcriptions": 3.5},
			Monthly:   map[string]int64{"phonenumbers-local": 8, "phonenumbers-tollfree": 2},
			Recording: true,
		}),
		account(demoMarketing, "Acme Marketing", demoParent, 10, synth.Profile{
			PerDay: map[string]float64{
				"calls-outbound": 22, "sms-outbound-shortcode": 650, "sms-inbound-shortcode": 45,
				"sms-outbound-longcode": 80, "sms-inbound-longcode": 12,
			},
			Minutes: map[string]float64{"calls-outbound": 1.9},
			Monthly: map[string]int64{"phonenumbers-local": 4, "shortcodes-random": 1},
		}),
	}
	for i := range accounts {
		accounts[i].Stream = uint64(i) + 1
	}
	return accounts
}
