package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/shopspring/decimal"
)

// family is a tree of accounts with known usage around the frozen clock
// (today is 2024-03-15):
//
//	parent (created 2023-01-10)
//	├── child (2023-06-01)
//	│   └── grandchild (2023-07-01)
//	└── child2 (2023-06-01)
//	other, unrelated (2023-01-01)
//
// Each account has an auth token, for HTTP Basic.
type family struct {
	*env
	parent, child, child2, grandchild, other string
	tokens                                   map[string]string
}

func newFamily(t *testing.T, store *repo.Store) *family {
	t.Helper()
	f := &family{env: newEnv(t, store), tokens: map[string]string{}}
	f.parent = f.accountWithToken("Parent", "", models.NewDate(2023, 1, 10))
	f.child = f.accountWithToken("Child", f.parent, models.NewDate(2023, 6, 1))
	f.child2 = f.accountWithToken("Child 2", f.parent, models.NewDate(2023, 6, 1))
	f.grandchild = f.accountWithToken("Grandchild", f.child, models.NewDate(2023, 7, 1))
	f.other = f.accountWithToken("Other", "", models.NewDate(2023, 1, 1))
	f.record(
		usage(f.parent, "calls-outbound", "2024-03-15T09:00:00Z", 2, "7", "0.091"),
		usage(f.parent, "calls-outbound", "2024-03-14T23:59:59Z", 1, "3", "0.039"),
		usage(f.parent, "calls-outbound", "2024-03-10T12:00:00Z", 0, "0", "-0.05"), // a credit
		usage(f.parent, "sms-outbound-longcode", "2024-02-10T12:00:00Z", 5, "5", "0.0395"),
		usage(f.parent, "phonenumbers-local", "2024-01-05T00:00:00Z", 1, "1", "1.15"),
		usage(f.parent, "calls-client", "2023-11-20T10:00:00Z", 1, "4", "0.016"),
		usage(f.child, "calls-inbound-local", "2024-03-15T00:00:00Z", 3, "10", "0.085"),
		usage(f.child, "sms-inbound-longcode", "2024-02-29T10:00:00Z", 4, "4", "0.0316"),
		usage(f.child, "calleridlookups", "2023-12-31T23:00:00Z", 1, "1", "0.01"),
		usage(f.grandchild, "recordings", "2024-03-01T08:00:00Z", 2, "5", "0.0125"),
		usage(f.child2, "calls-outbound", "2024-03-15T18:00:00Z", 1, "2", "0.026"),
		usage(f.other, "calls-outbound", "2024-03-15T10:00:00Z", 9, "9", "1"),
	)
	return f
}

// accountWithToken creates an account with a fresh auth token.
func (f *family) accountWithToken(name, parent string, created models.Date) string {
	f.t.Helper()
	a := models.Account{Sid: models.NewAccountSid(), Name: name, ParentSid: parent, Currency: "usd", CreatedAt: created.Time()}
	token := models.NewAuthToken()
	if err := f.store.CreateAccount(context.Background(), a, models.HashAuthToken(token)); err != nil {
		f.t.Fatal(err)
	}
	f.tokens[a.Sid] = token
	return a.Sid
}

// usage builds one event; its id is unique within the test's events.
func usage(account, category, at string, count int64, amount, price string) models.UsageEvent {
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		panic(err)
	}
	return models.UsageEvent{
		ID: fmt.Sprintf("%s-%s-%s", category, at, price), AccountSid: account, Category: category, OccurredAt: t,
		Count: count, Usage: micros(amount), Price: micros(price),
	}
}

func micros(s string) models.Micros {
	m, err := models.MicrosOf(decimal.RequireFromString(s))
	if err != nil {
		panic(err)
	}
	return m
}

func (f *family) record(events ...models.UsageEvent) {
	f.t.Helper()
	if _, err := f.store.RecordUsageEvents(context.Background(), events); err != nil {
		f.t.Fatal(err)
	}
}

// basicGet sends a GET with HTTP Basic credentials of an account (none when
// account is "") and an optional Accept header.
func (f *family) basicGet(path, account, accept string) response {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if account != "" {
		req.SetBasicAuth(account, f.tokens[account])
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return f.send(req)
}

// recordsPath is the path of a usage records list of an account.
func recordsPath(prefix, account, sub string) string {
	p := prefix + "/Accounts/" + account + "/Usage/Records"
	if sub != "" {
		p += "/" + sub
	}
	return p
}

// sameDecimal compares decimal texts by value.
func sameDecimal(a, b string) bool {
	x, errX := decimal.NewFromString(a)
	y, errY := decimal.NewFromString(b)
	return errX == nil && errY == nil && x.Equal(y)
}

// wantStatus fails unless the response has the status.
func (r response) wantStatus(t *testing.T, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.body)
	}
}

// noInternals fails if an error body names Go or SQL internals.
func noInternals(t *testing.T, body []byte) {
	t.Helper()
	for _, s := range []string{"sql", "gorm", "pgx", "sqlite", "runtime", ".go:", "*handlers", "*auth"} {
		if strings.Contains(strings.ToLower(string(body)), s) {
			t.Errorf("error leaks %q: %s", s, body)
		}
	}
}
