package main

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/cmd/billing/internal/bench"
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
	start := models.NewDate(today.Time().Year(), today.Time().Month()-demoMonths, 1)
	accounts := []models.Account{
		{Sid: demoParent, Name: "Acme Voice", Currency: "usd", CreatedAt: start.Time()},
		{Sid: demoSupport, Name: "Acme Support", ParentSid: demoParent, Currency: "usd", CreatedAt: start.AddDays(3).Time()},
		{Sid: demoMarketing, Name: "Acme Marketing", ParentSid: demoParent, Currency: "usd", CreatedAt: start.AddDays(10).Time()},
	}
	for _, a := range accounts {
		if err := store.CreateAccount(ctx, a, models.HashAuthToken(models.NewAuthToken())); err != nil {
			return err
		}
	}
	events := demoEvents(accounts, today)
	for len(events) > 0 {
		n := min(len(events), models.MaxBatchEvents)
		if _, err := store.RecordUsageEvents(ctx, events[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

// demoProfile is how much of each kind of usage an account has on a weekday.
type demoProfile struct {
	perDay   map[string]float64 // category -> events per weekday
	minutes  map[string]float64 // category -> average minutes per event (voice)
	numbers  map[string]int64   // category -> items billed monthly
	shortcds int64
}

// demoRates are prices per unit, in micro-dollars (exact).
var demoRates = map[string]models.Micros{
	"calls-inbound-local":    8_500,
	"calls-inbound-tollfree": 22_000,
	"calls-outbound":         13_000,
	"calls-client":           4_000,
	"calls-sip":              4_000,
	"sms-inbound-longcode":   7_900,
	"sms-inbound-shortcode":  7_500,
	"sms-outbound-longcode":  7_900,
	"sms-outbound-shortcode": 10_000,
	"phonenumbers-local":     1_150_000,
	"phonenumbers-tollfree":  2_150_000,
	"shortcodes-random":      1_000_000_000,
	"calleridlookups":        10_000,
	"recordings":             2_500,
	"transcriptions":         50_000,
	"recordingstorage":       500,
}

func demoProfiles() map[string]demoProfile {
	return map[string]demoProfile{
		demoParent: {
			perDay:  map[string]float64{"calls-outbound": 12, "calls-client": 3, "sms-outbound-longcode": 20, "calleridlookups": 4},
			minutes: map[string]float64{"calls-outbound": 4.5, "calls-client": 7},
			numbers: map[string]int64{"phonenumbers-local": 2},
		},
		demoSupport: {
			perDay: map[string]float64{
				"calls-inbound-local": 55, "calls-inbound-tollfree": 30, "calls-outbound": 18, "calls-sip": 9,
				"sms-inbound-longcode": 40, "sms-outbound-longcode": 45, "calleridlookups": 25,
				"recordings": 17, "transcriptions": 4,
			},
			minutes: map[string]float64{"calls-inbound-local": 3.8, "calls-inbound-tollfree": 5.2, "calls-outbound": 2.9, "calls-sip": 6.1, "recordings": 4.2, "transcriptions": 3.5},
			numbers: map[string]int64{"phonenumbers-local": 8, "phonenumbers-tollfree": 2},
		},
		demoMarketing: {
			perDay: map[string]float64{
				"calls-outbound": 22, "sms-outbound-shortcode": 650, "sms-inbound-shortcode": 45,
				"sms-outbound-longcode": 80, "sms-inbound-longcode": 12,
			},
			minutes:  map[string]float64{"calls-outbound": 1.9},
			numbers:  map[string]int64{"phonenumbers-local": 4},
			shortcds: 1,
		},
	}
}

// demoEvents generates a reproducible, plausible history: weekday-heavy
// traffic growing a little each month, numbers and short codes billed on the
// first of each month, recording storage accruing monthly.
func demoEvents(accounts []models.Account, today models.Date) []models.UsageEvent {
	rng := rand.New(rand.NewPCG(2024, 11))
	profiles := demoProfiles()
	var events []models.UsageEvent
	add := func(a models.Account, day models.Date, cat string, hour int, count int64, usage models.Micros) {
		events = append(events, models.UsageEvent{
			ID:         fmt.Sprintf("demo-%s-%s-%s", a.Sid[len(a.Sid)-4:], day, cat),
			AccountSid: a.Sid,
			Category:   cat,
			OccurredAt: day.Time().Add(time.Duration(hour)*time.Hour + time.Duration(rng.IntN(3600))*time.Second),
			Count:      count,
			Usage:      usage,
			Price:      usage * demoRates[cat] / 1_000_000,
		})
	}
	for _, a := range accounts {
		p := profiles[a.Sid]
		first := models.DateOf(a.CreatedAt)
		var storedMinutes int64
		for day := first; day <= today; day++ {
			t := day.Time()
			monthsIn := float64(day-first) / 30.4
			growth := math.Pow(1.03, monthsIn)
			shape := 1.0
			if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
				shape = 0.3
			}
			for _, cat := range models.CategoryNames() {
				rate, ok := p.perDay[cat]
				if !ok {
					continue
				}
				n := bench.Poisson(rng, rate*growth*shape)
				if n == 0 {
					continue
				}
				usage := models.Micros(n) * 1_000_000
				if avg, voice := p.minutes[cat]; voice {
					// Billed minutes: each call rounds up to a whole minute.
					var mins int64
					for range n {
						mins += int64(math.Ceil(rng.ExpFloat64() * avg))
					}
					usage = models.Micros(mins) * 1_000_000
					if cat == "recordings" {
						storedMinutes += mins
					}
				}
				add(a, day, cat, 9+rng.IntN(9), n, usage)
			}
			if t.Day() == 1 {
				for cat, n := range p.numbers {
					add(a, day, cat, 0, n, models.Micros(n)*1_000_000)
				}
				if p.shortcds > 0 {
					add(a, day, "shortcodes-random", 0, p.shortcds, models.Micros(p.shortcds)*1_000_000)
				}
				if storedMinutes > 0 {
					add(a, day, "recordingstorage", 0, storedMinutes/4, models.Micros(storedMinutes)*1_000_000)
				}
			}
		}
	}
	return events
}
