// Package handlertest is the shared test environment of the server and
// both faces: a real HTTP server on a loopback port over a real database
// (SQLite and Postgres, see repotest.Each), signed tokens, and a Family of
// accounts with usage.
package handlertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/handlers/servicestack"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/shopspring/decimal"
)

// Secret signs the tokens of every handler test.
var Secret = []byte("test-secret-test-secret-test-secret!")

// Now is "now" for every handler test: a leap year, mid-month.
var Now = time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)

// Env is a real HTTP server on a loopback port over a real database.
type Env struct {
	T      testing.TB
	Store  *repo.Store
	Srv    *httptest.Server
	Signer *auth.Signer
	// Client checks every answer against the server's /openapi.json.
	Client   *http.Client
	Contract *Contract
}

// Option adjusts the JWT configuration of a test server.
type Option func(*auth.JWTConfig)

// New starts the server over store, with handlers.New's defaults and a
// frozen clock.
func New(t testing.TB, store *repo.Store, opts ...Option) *Env {
	t.Helper()
	return NewWith(t, store, nil, opts...)
}

// NewWith is New with room to adjust the handlers' configuration (mod may
// be nil), such as to serve the Usage Triggers resource.
func NewWith(t testing.TB, store *repo.Store, mod func(*handlers.Config), opts ...Option) *Env {
	t.Helper()
	cfg := auth.JWTConfig{Algorithm: "HS256", Secret: Secret, Now: func() time.Time { return Now }}
	for _, o := range opts {
		o(&cfg)
	}
	verifier, err := auth.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auth.NewSigner(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := handlers.Config{
		Store:    store,
		Verifier: verifier,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:      func() time.Time { return Now },
	}
	if mod != nil {
		mod(&hc)
	}
	srv := httptest.NewServer(handlers.New(hc))
	t.Cleanup(srv.Close)
	return NewEnv(t, store, srv, signer)
}

// NewEnv wraps a running server, its client checking every answer against
// the server's /openapi.json.
func NewEnv(t testing.TB, store *repo.Store, srv *httptest.Server, signer *auth.Signer) *Env {
	t.Helper()
	e := &Env{T: t, Store: store, Srv: srv, Signer: signer, Contract: LoadContract(t, srv.URL)}
	return e.For(t)
}

// For is the same server seen from another test (a fuzz run, a subtest).
func (e *Env) For(t testing.TB) *Env {
	c := *e
	c.T = t
	c.Client = &http.Client{Transport: e.Contract.Validating(t, http.DefaultTransport)}
	return &c
}

// Token signs a valid token with roles and accounts.
func (e *Env) Token(roles []string, accounts ...string) string {
	e.T.Helper()
	tok, err := e.Signer.Sign("user-1", "Test User", roles, accounts, time.Hour)
	if err != nil {
		e.T.Fatal(err)
	}
	return tok
}

func (e *Env) Admin() string { return e.Token([]string{auth.RoleSystemAdministrator}) }

func (e *Env) Manager(accounts ...string) string {
	return e.Token([]string{auth.RoleManager}, accounts...)
}

// Account creates an account created at the given day and returns its SID.
func (e *Env) Account(name, parent string, created models.Date) string {
	e.T.Helper()
	a := models.Account{Sid: models.NewAccountSid(), Name: name, ParentSid: parent, Currency: "usd", CreatedAt: created.Time()}
	if err := e.Store.CreateAccount(context.Background(), a, models.HashAuthToken("x")); err != nil {
		e.T.Fatal(err)
	}
	return a.Sid
}

// Response is an HTTP answer read whole.
type Response struct {
	*http.Response
	Body []byte // read whole; it stands for the stream, already closed
}

func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("status %d, body %q: %v", r.StatusCode, r.Body, err)
	}
}

// Do sends a request with an optional bearer token.
func (e *Env) Do(method, path, token string, body []byte) Response {
	e.T.Helper()
	req, err := http.NewRequest(method, e.Srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.T.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return e.Send(req)
}

func (e *Env) Send(req *http.Request) Response {
	e.T.Helper()
	res, err := e.Client.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return Response{res, b}
}

func (e *Env) Get(path, token string) Response { return e.Do(http.MethodGet, path, token, nil) }

// Records fetches ListUsageRecords and fails the test on anything but 200.
func (e *Env) Records(path, token string) []servicestack.UsageRecord {
	e.T.Helper()
	r := e.Get(path, token)
	if r.StatusCode != http.StatusOK {
		e.T.Fatalf("GET %s: %d %s", path, r.StatusCode, r.Body)
	}
	var out []servicestack.UsageRecord
	r.JSON(e.T, &out)
	return out
}

// Event is shorthand for one usage Event in JSON form.
type Event map[string]any

// Ingest posts events and fails the test unless they are all accepted.
func (e *Env) Ingest(events ...Event) servicestack.RecordUsageEventsResponse {
	e.T.Helper()
	r := e.PostEvents(events...)
	if r.StatusCode != http.StatusOK {
		e.T.Fatalf("ingest: %d %s", r.StatusCode, r.Body)
	}
	var out servicestack.RecordUsageEventsResponse
	r.JSON(e.T, &out)
	return out
}

func (e *Env) PostEvents(events ...Event) Response {
	e.T.Helper()
	body, err := json.Marshal(map[string]any{"events": events})
	if err != nil {
		e.T.Fatal(err)
	}
	return e.Do(http.MethodPost, "/billing/usage/events", e.Admin(), body)
}

// ErrorBody is ServiceStack's error Response.
type ErrorBody struct {
	ResponseStatus struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
		Errors    []struct {
			ErrorCode string `json:"errorCode"`
			FieldName string `json:"fieldName"`
			Message   string `json:"message"`
		} `json:"errors"`
	} `json:"responseStatus"`
}

// ExpectError checks status and error code, and returns the error body.
func (r Response) ExpectError(t testing.TB, status int, code string) ErrorBody {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.Body)
	}
	var eb ErrorBody
	r.JSON(t, &eb)
	if eb.ResponseStatus.ErrorCode != code {
		t.Fatalf("errorCode %q, want %q: %s", eb.ResponseStatus.ErrorCode, code, r.Body)
	}
	if eb.ResponseStatus.Errors == nil || !strings.Contains(string(r.Body), `"errors":[`) {
		t.Fatalf("errors list missing: %s", r.Body)
	}
	return eb
}

// byCategory indexes records by category.
func ByCategory(recs []servicestack.UsageRecord) map[string]servicestack.UsageRecord {
	m := make(map[string]servicestack.UsageRecord, len(recs))
	for _, r := range recs {
		m[r.Category] = r
	}
	return m
}

// Family is a tree of accounts with known usage around the frozen clock
// (today is 2024-03-15):
//
//	parent (created 2023-01-10)
//	├── child (2023-06-01)
//	│   └── grandchild (2023-07-01)
//	└── child2 (2023-06-01)
//	other, unrelated (2023-01-01)
//
// Each account has an auth token, for HTTP Basic.
type Family struct {
	*Env
	Parent, Child, Child2, Grandchild, Other string
	Tokens                                   map[string]string
}

func NewFamily(t *testing.T, store *repo.Store) *Family {
	t.Helper()
	return NewFamilyWith(t, store, nil)
}

// NewFamilyWith is NewFamily served by NewWith(mod).
func NewFamilyWith(t *testing.T, store *repo.Store, mod func(*handlers.Config)) *Family {
	t.Helper()
	f := &Family{Env: NewWith(t, store, mod), Tokens: map[string]string{}}
	f.Parent = f.AccountWithToken("Parent", "", models.NewDate(2023, 1, 10))
	f.Child = f.AccountWithToken("Child", f.Parent, models.NewDate(2023, 6, 1))
	f.Child2 = f.AccountWithToken("Child 2", f.Parent, models.NewDate(2023, 6, 1))
	f.Grandchild = f.AccountWithToken("Grandchild", f.Child, models.NewDate(2023, 7, 1))
	f.Other = f.AccountWithToken("Other", "", models.NewDate(2023, 1, 1))
	f.Record(
		Usage(f.Parent, "calls-outbound", "2024-03-15T09:00:00Z", 2, "7", "0.091"),
		Usage(f.Parent, "calls-outbound", "2024-03-14T23:59:59Z", 1, "3", "0.039"),
		Usage(f.Parent, "calls-outbound", "2024-03-10T12:00:00Z", 0, "0", "-0.05"), // a credit
		Usage(f.Parent, "sms-outbound-longcode", "2024-02-10T12:00:00Z", 5, "5", "0.0395"),
		Usage(f.Parent, "phonenumbers-local", "2024-01-05T00:00:00Z", 1, "1", "1.15"),
		Usage(f.Parent, "calls-client", "2023-11-20T10:00:00Z", 1, "4", "0.016"),
		Usage(f.Child, "calls-inbound-local", "2024-03-15T00:00:00Z", 3, "10", "0.085"),
		Usage(f.Child, "sms-inbound-longcode", "2024-02-29T10:00:00Z", 4, "4", "0.0316"),
		Usage(f.Child, "calleridlookups", "2023-12-31T23:00:00Z", 1, "1", "0.01"),
		Usage(f.Grandchild, "recordings", "2024-03-01T08:00:00Z", 2, "5", "0.0125"),
		Usage(f.Child2, "calls-outbound", "2024-03-15T18:00:00Z", 1, "2", "0.026"),
		Usage(f.Other, "calls-outbound", "2024-03-15T10:00:00Z", 9, "9", "1"),
	)
	return f
}

// AccountWithToken creates an account with a fresh auth token.
func (f *Family) AccountWithToken(name, parent string, created models.Date) string {
	f.T.Helper()
	a := models.Account{Sid: models.NewAccountSid(), Name: name, ParentSid: parent, Currency: "usd", CreatedAt: created.Time()}
	token := models.NewAuthToken()
	if err := f.Store.CreateAccount(context.Background(), a, models.HashAuthToken(token)); err != nil {
		f.T.Fatal(err)
	}
	f.Tokens[a.Sid] = token
	return a.Sid
}

// Usage builds one Event; its id is unique within the test's events.
func Usage(account, category, at string, count int64, amount, price string) models.UsageEvent {
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		panic(err)
	}
	return models.UsageEvent{
		ID: fmt.Sprintf("%s-%s-%s", category, at, price), AccountSid: account, Category: category, OccurredAt: t,
		Count: count, Usage: Micros(amount), Price: Micros(price),
	}
}

func Micros(s string) models.Micros {
	m, err := models.MicrosOf(decimal.RequireFromString(s))
	if err != nil {
		panic(err)
	}
	return m
}

func (f *Family) Record(events ...models.UsageEvent) {
	f.T.Helper()
	if _, err := f.Store.RecordUsageEvents(context.Background(), events); err != nil {
		f.T.Fatal(err)
	}
}

// BasicGet sends a GET with HTTP Basic credentials of an account (none when
// Account is "") and an optional Accept header.
func (f *Family) BasicGet(path, account, accept string) Response {
	f.T.Helper()
	req, err := http.NewRequest(http.MethodGet, f.Srv.URL+path, nil)
	if err != nil {
		f.T.Fatal(err)
	}
	if account != "" {
		req.SetBasicAuth(account, f.Tokens[account])
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return f.Send(req)
}

// Form sends a form-encoded request with an account's Basic credentials
// (none when account is ""), with extra headers as name, value pairs.
func (f *Family) Form(method, path, account string, v url.Values, headers ...string) Response {
	f.T.Helper()
	req, err := http.NewRequest(method, f.Srv.URL+path, strings.NewReader(v.Encode()))
	if err != nil {
		f.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if account != "" {
		req.SetBasicAuth(account, f.Tokens[account])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return f.Send(req)
}

// recordsPath is the path of a usage records list of an account.
func RecordsPath(prefix, account, sub string) string {
	p := prefix + "/Accounts/" + account + "/Usage/Records"
	if sub != "" {
		p += "/" + sub
	}
	return p
}

// sameDecimal compares decimal texts by value.
func SameDecimal(a, b string) bool {
	x, errX := decimal.NewFromString(a)
	y, errY := decimal.NewFromString(b)
	return errX == nil && errY == nil && x.Equal(y)
}

// WantStatus fails unless the Response has the status.
func (r Response) WantStatus(t *testing.T, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.Body)
	}
}

// noInternals fails if an error body names Go or SQL internals.
func NoInternals(t *testing.T, body []byte) {
	t.Helper()
	for _, s := range []string{"sql", "gorm", "pgx", "sqlite", "runtime", ".go:", "*handlers", "*auth"} {
		if strings.Contains(strings.ToLower(string(body)), s) {
			t.Errorf("error leaks %q: %s", s, body)
		}
	}
}

// String is the body, for failure messages.
func (r Response) String() string { return string(r.Body) }

// TwilioErr is Twilio's error body.
type TwilioErr struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// TwilioError checks a Twilio JSON error: status, code, more_info, no
// internals; it returns the body.
func TwilioError(r Response, t *testing.T, status, code int) TwilioErr {
	t.Helper()
	r.WantStatus(t, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q: %s", ct, r.Body)
	}
	var e TwilioErr
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	if e.Code != code || e.Status != status || e.Message == "" || e.MoreInfo != "https://www.twilio.com/docs/errors/"+strconv.Itoa(code) {
		t.Fatalf("error %+v, want status %d code %d", e, status, code)
	}
	NoInternals(t, r.Body)
	return e
}
