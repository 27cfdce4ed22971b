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

// More demo accounts, with usage of different shapes for the accounts
// overview to rank: one growing fast, one that dropped sharply last month,
// one idle for months, one in euros with a sub-account of its own, and a
// customer outside Acme that only the administrator sees.
const (
	demoSales        = "AC0000000000000000000000000000d004" // under Acme Voice, growing 25% a month
	demoOutreach     = "AC0000000000000000000000000000d005" // under Acme Voice, down to a tenth last month
	demoArchive      = "AC0000000000000000000000000000d006" // under Acme Voice, no usage since its third month
	demoEurope       = "AC0000000000000000000000000000d007" // under Acme Voice, in EUR
	demoEuropeBerlin = "AC0000000000000000000000000000d008" // under Acme Europe, in EUR
	demoGlobex       = "AC0000000000000000000000000000d009" // top-level, another customer
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
            and under Acme Voice: Acme Sales (growing), Acme Outreach (dropped last month),
            Acme Archive (idle), Acme Europe (EUR, with Acme Europe Berlin); Globex Telecom (another customer)
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
	created := map[string]bool{}
	for _, a := range accounts {
		// An account whose volume changes appears once per phase.
		if !created[a.Sid] {
			if err := store.CreateAccount(ctx, a.Account, models.HashAuthToken(models.NewAuthToken())); err != nil {
				return err
			}
			created[a.Sid] = true
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

// demoAccounts are the demo's accounts, opened in the first days of the
// month 13 months back, with usage up to today (but Acme Archive's). An
// account whose volume changes is listed once per phase, each phase with
// its own days, scale and random stream.
func demoAccounts(today models.Date) []synth.Account {
	start := models.NewDate(today.Time().Year(), today.Time().Month()-demoMonths, 1)
	lastMonth := today.MonthStart() - 1
	account := func(sid, name, parent string, openedDay int, p synth.Profile) synth.Account {
		opened := start.AddDays(openedDay)
		p.Weekend = 0.3
		return synth.Account{
			Account: models.Account{Sid: sid, Name: name, ParentSid: parent, Currency: "usd", CreatedAt: opened.Time()},
			Profile: p, Scale: 1,
			Active: models.DateRange{Start: opened, End: today},
		}
	}
	phase := func(a synth.Account, from, to models.Date, scale float64) synth.Account {
		a.Active, a.Scale = models.DateRange{Start: from, End: to}, scale
		return a
	}
	euro := func(a synth.Account) synth.Account { a.Currency = "eur"; return a }
	dialer := synth.Profile{
		PerDay:  map[string]float64{"calls-outbound": 60, "sms-outbound-longcode": 30},
		Minutes: map[string]float64{"calls-outbound": 2.4},
		Monthly: map[string]int64{"phonenumbers-local": 3},
	}
	outreach := account(demoOutreach, "Acme Outreach", demoParent, 5, dialer)
	europe := euro(account(demoEurope, "Acme Europe", demoParent, 20, synth.Profile{
		PerDay:  map[string]float64{"calls-inbound-local": 35, "calls-outbound": 10, "sms-outbound-longcode": 25},
		Minutes: map[string]float64{"calls-inbound-local": 4.1, "calls-outbound": 3},
		Monthly: map[string]int64{"phonenumbers-local": 3},
	}))
	berlin := euro(account(demoEuropeBerlin, "Acme Europe Berlin", demoEurope, 60, synth.Profile{
		PerDay:  map[string]float64{"calls-inbound-local": 14, "sms-inbound-longcode": 6},
		Minutes: map[string]float64{"calls-inbound-local": 3.2},
		Monthly: map[string]int64{"phonenumbers-local": 1},
	}))
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
		phase(outreach, outreach.Active.Start, lastMonth.MonthStart()-1, 1),
		phase(outreach, lastMonth.MonthStart(), today, 0.1),
		phase(account(demoArchive, "Acme Archive", demoParent, 2, dialer), start.AddDays(2), start.AddDays(2).MonthEnd().AddDays(45), 0.5),
		europe,
		berlin,
		account(demoGlobex, "Globex Telecom", "", 1, synth.Profile{
			PerDay:  map[string]float64{"calls-inbound-tollfree": 90, "calls-outbound": 40, "recordings": 30},
			Minutes: map[string]float64{"calls-inbound-tollfree": 6.3, "calls-outbound": 3.1, "recordings": 6},
			Monthly: map[string]int64{"phonenumbers-tollfree": 6}, Recording: true,
		}),
	}
	// Acme Sales opened six months back and grows 25% a month: one phase a month.
	sales := account(demoSales, "Acme Sales", demoParent, 0, dialer)
	sales.CreatedAt = models.NewDate(today.Time().Year(), today.Time().Month()-6, 1).Time()
	scale := 0.3
	for month := models.DateOf(sales.CreatedAt); month <= today; month = month.MonthEnd() + 1 {
		accounts = append(accounts, phase(sales, month, min(month.MonthEnd(), today), scale))
		scale *= 1.25
	}
	for i := range accounts {
		accounts[i].Stream = uint64(i) + 1
	}
	return accounts
}
