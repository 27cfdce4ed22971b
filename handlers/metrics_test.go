package handlers_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

var sidPattern = regexp.MustCompile(`AC[0-9a-fA-F]{32}`)

func TestMetrics(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		sid := e.Account("Metered", "", models.NewDate(2024, 1, 1))
		e.Records("/billing/usage?AccountId="+sid, e.Admin())
		e.Get("/billing/usage?AccountId="+models.NewAccountSid(), e.Admin()).ExpectError(t, http.StatusNotFound, "NotFound")
		e.Get("/billing/usage?AccountId="+sid, "").ExpectError(t, http.StatusUnauthorized, "Unauthorized")
		e.Get("/no/such/route/"+sid+"?AccountId="+sid, "").ExpectError(t, http.StatusNotFound, "NotFound")
		if r := e.Get("/2010-04-01/Accounts/"+sid+"/Usage/Records/Daily.json?StartDate=2024-03-01", e.Admin()); r.StatusCode != http.StatusOK {
			t.Fatalf("restcomm daily: %d %s", r.StatusCode, r.Body)
		}
		res := e.Ingest(
			handlertest.Event{"id": "m-1", "accountSid": sid, "category": "calls-outbound", "occurredAt": "2024-03-01T10:00:00Z", "count": 1, "usage": "2", "price": "0.026"},
			handlertest.Event{"id": "m-2", "accountSid": sid, "category": "calls-outbound", "occurredAt": "2024-03-01T11:00:00Z", "count": 1, "usage": "3", "price": "0.039"},
		)
		if res.Accepted != 2 {
			t.Fatalf("ingest: %+v", res)
		}
		e.Ingest(handlertest.Event{"id": "m-1", "accountSid": sid, "category": "calls-outbound", "occurredAt": "2024-03-01T10:00:00Z", "count": 1, "usage": "2", "price": "0.026"})

		r := e.Get("/metrics", "") // no token needed
		if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("GET /metrics: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
		}
		body := string(r.Body)
		for _, want := range []string{
			`billing_http_requests_total{method="GET",route="/billing/usage",status="200"} 1`,
			`billing_http_requests_total{method="GET",route="/billing/usage",status="404"} 1`,
			`billing_http_requests_total{method="GET",route="/billing/usage",status="401"} 1`,
			`billing_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
			`billing_http_requests_total{method="GET",route="/2010-04-01/Accounts/:AccountSid/Usage/Records/:subresource",status="200"} 1`,
			`billing_http_requests_total{method="POST",route="/billing/usage/events",status="200"} 2`,
			`billing_http_request_duration_seconds_bucket{method="GET",route="/billing/usage",status="200",le="+Inf"} 1`,
			`billing_http_requests_in_flight 1`, // this very request
			`billing_ingested_events_total 2`,
			`billing_ingested_duplicate_events_total 1`,
			`billing_db_max_open_connections `,
			`billing_db_open_connections `,
			`billing_db_in_use_connections `,
			`billing_db_wait_count_total `,
			`process_resident_memory_bytes `,
			`go_goroutines `,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
		if m := sidPattern.FindString(body); m != "" {
			t.Errorf("/metrics leaks account %s", m)
		}
	})
}

// newReadyEnv is a server whose readiness the test switches.
func newReadyEnv(t *testing.T, store handlers.Store, ready *atomic.Bool) *handlertest.Env {
	t.Helper()
	cfg := auth.JWTConfig{Algorithm: "HS256", Secret: handlertest.Secret, Now: func() time.Time { return handlertest.Now }}
	verifier, _ := auth.NewVerifier(cfg)
	signer, _ := auth.NewSigner(cfg, nil)
	srv := httptest.NewServer(handlers.New(handlers.Config{
		Store: store, Verifier: verifier, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return handlertest.Now }, Ready: ready.Load, RequestTimeout: 3 * time.Second,
	}))
	t.Cleanup(srv.Close)
	return handlertest.NewEnv(t, nil, srv, signer)
}

func TestNotReadyUntilMigrated(t *testing.T) {
	store := repotest.Open(t, "sqlite")
	var ready atomic.Bool
	e := newReadyEnv(t, store, &ready)
	e.Store = store
	sid := e.Account("A", "", models.NewDate(2024, 1, 1))

	if r := e.Get("/readyz", ""); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz before migration: %d", r.StatusCode)
	}
	if r := e.Get("/healthz", ""); r.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", r.StatusCode)
	}
	if r := e.Get("/metrics", ""); r.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %d", r.StatusCode)
	}
	r := e.Get("/billing/usage?AccountId="+sid, e.Admin())
	eb := r.ExpectError(t, http.StatusServiceUnavailable, "ServiceUnavailable")
	if !strings.Contains(eb.ResponseStatus.Message, "try again") || r.Header.Get("Retry-After") == "" {
		t.Fatalf("503 without a clear message or Retry-After: %s %q", r.Body, r.Header.Get("Retry-After"))
	}
	e.PostEvents(handlertest.Event{"id": "x", "accountSid": sid, "category": "calls-outbound", "occurredAt": "2024-03-01T10:00:00Z"}).
		ExpectError(t, http.StatusServiceUnavailable, "ServiceUnavailable")
	expectTwilio503(t, e.Get("/2010-04-01/Accounts/"+sid+"/Usage/Records.json", e.Admin()))
	for _, free := range []string{"/", "/metadata"} {
		if r := e.Get(free, ""); r.StatusCode != http.StatusOK {
			t.Errorf("%s before the database is ready: %d", free, r.StatusCode)
		}
	}

	ready.Store(true)
	if r := e.Get("/readyz", ""); r.StatusCode != http.StatusOK {
		t.Fatalf("readyz once ready: %d", r.StatusCode)
	}
	e.Records("/billing/usage?AccountId="+sid, e.Admin())
}

// TestDatabaseDownIs503 points the service at a Postgres port nobody
// listens on: requests fail fast with 503 and a ServiceStack body, never a
// 500 or a hang, and nothing internal leaks.
func TestDatabaseDownIs503(t *testing.T) {
	store, err := repo.Open("postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var ready atomic.Bool
	ready.Store(true) // as if migrated before the database went away
	e := newReadyEnv(t, store, &ready)
	sid := models.NewAccountSid()
	start := time.Now()
	r := e.Get("/billing/usage?AccountId="+sid, e.Admin())
	r.ExpectError(t, http.StatusServiceUnavailable, "ServiceUnavailable")
	if time.Since(start) > 3*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
	for _, leak := range []string{"dial", "127.0.0.1", "connect", "pgx", "SQL"} {
		if strings.Contains(string(r.Body), leak) {
			t.Fatalf("the error leaks %q: %s", leak, r.Body)
		}
	}
	e.PostEvents(handlertest.Event{"id": "x", "accountSid": sid, "category": "calls-outbound", "occurredAt": "2024-03-01T10:00:00Z"}).
		ExpectError(t, http.StatusServiceUnavailable, "ServiceUnavailable")
	expectTwilio503(t, e.Get("/2012-04-24/Accounts/"+sid+"/Usage/Records/Monthly.json", e.Admin()))
	if r := e.Get("/readyz", ""); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database down: %d", r.StatusCode)
	}
}

// expectTwilio503 checks a Restcomm route's answer while the database is
// unavailable: Twilio's error shape, code 20503, Retry-After.
func expectTwilio503(t *testing.T, r handlertest.Response) {
	t.Helper()
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  int    `json:"status"`
	}
	r.JSON(t, &body)
	if r.StatusCode != http.StatusServiceUnavailable || body.Code != 20503 || body.Status != 503 || !strings.Contains(body.Message, "try again") || r.Header.Get("Retry-After") == "" {
		t.Fatalf("restcomm route: %d %s (Retry-After %q)", r.StatusCode, r.Body, r.Header.Get("Retry-After"))
	}
}
