package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/handlers/servicestack"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

// testSecret signs the tokens of every handler test.
var testSecret = []byte("test-secret-test-secret-test-secret!")

// frozenNow is "now" for every handler test: a leap year, mid-month.
var frozenNow = time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)

// env is a real HTTP server on a loopback port over a real database.
type env struct {
	t      testing.TB
	store  *repo.Store
	srv    *httptest.Server
	signer *auth.Signer
}

// envOption adjusts the JWT configuration of a test server.
type envOption func(*auth.JWTConfig)

func newEnv(t testing.TB, store *repo.Store, opts ...envOption) *env {
	t.Helper()
	cfg := auth.JWTConfig{Algorithm: "HS256", Secret: testSecret, Now: func() time.Time { return frozenNow }}
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
	h := handlers.New(handlers.Config{
		Store:    store,
		Verifier: verifier,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:      func() time.Time { return frozenNow },
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, store: store, srv: srv, signer: signer}
}

// token signs a valid token with roles and accounts.
func (e *env) token(roles []string, accounts ...string) string {
	e.t.Helper()
	tok, err := e.signer.Sign("user-1", "Test User", roles, accounts, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) admin() string { return e.token([]string{auth.RoleSystemAdministrator}) }

func (e *env) manager(accounts ...string) string {
	return e.token([]string{auth.RoleManager}, accounts...)
}

// account creates an account created at the given day and returns its SID.
func (e *env) account(name, parent string, created models.Date) string {
	e.t.Helper()
	a := models.Account{Sid: models.NewAccountSid(), Name: name, ParentSid: parent, Currency: "usd", CreatedAt: created.Time()}
	if err := e.store.CreateAccount(context.Background(), a, models.HashAuthToken("x")); err != nil {
		e.t.Fatal(err)
	}
	return a.Sid
}

// response is an HTTP answer read whole.
type response struct {
	*http.Response
	body []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d, body %q: %v", r.StatusCode, r.body, err)
	}
}

// do sends a request with an optional bearer token.
func (e *env) do(method, path, token string, body []byte) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) response {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{res, b}
}

func (e *env) get(path, token string) response { return e.do(http.MethodGet, path, token, nil) }

// records fetches ListUsageRecords and fails the test on anything but 200.
func (e *env) records(path, token string) []servicestack.UsageRecord {
	e.t.Helper()
	r := e.get(path, token)
	if r.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, r.StatusCode, r.body)
	}
	var out []servicestack.UsageRecord
	r.json(e.t, &out)
	return out
}

// event is shorthand for one usage event in JSON form.
type event map[string]any

// ingest posts events and fails the test unless they are all accepted.
func (e *env) ingest(events ...event) servicestack.RecordUsageEventsResponse {
	e.t.Helper()
	r := e.postEvents(events...)
	if r.StatusCode != http.StatusOK {
		e.t.Fatalf("ingest: %d %s", r.StatusCode, r.body)
	}
	var out servicestack.RecordUsageEventsResponse
	r.json(e.t, &out)
	return out
}

func (e *env) postEvents(events ...event) response {
	e.t.Helper()
	body, err := json.Marshal(map[string]any{"events": events})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(http.MethodPost, "/billing/usage/events", e.admin(), body)
}

// errorBody is ServiceStack's error response.
type errorBody struct {
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

// expectError checks status and error code, and returns the error body.
func (r response) expectError(t testing.TB, status int, code string) errorBody {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.body)
	}
	var eb errorBody
	r.json(t, &eb)
	if eb.ResponseStatus.ErrorCode != code {
		t.Fatalf("errorCode %q, want %q: %s", eb.ResponseStatus.ErrorCode, code, r.body)
	}
	if eb.ResponseStatus.Errors == nil || !strings.Contains(string(r.body), `"errors":[`) {
		t.Fatalf("errors list missing: %s", r.body)
	}
	return eb
}

// byCategory indexes records by category.
func byCategory(recs []servicestack.UsageRecord) map[string]servicestack.UsageRecord {
	m := make(map[string]servicestack.UsageRecord, len(recs))
	for _, r := range recs {
		m[r.Category] = r
	}
	return m
}
