package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
	twilio "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// twilioClientFor is the official Twilio client with an account's
// credentials, sending what it addresses to api.twilio.com to base instead.
func twilioClientFor(t *testing.T, base, account, token string) *twilio.RestClient {
	t.Helper()
	t.Setenv("TWILIO_EDGE", "")
	t.Setenv("TWILIO_REGION", "")
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c := &client.Client{
		Credentials: client.NewCredentials(account, token),
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host != "api.twilio.com" {
				return nil, fmt.Errorf("the client addressed %s", r.URL.Host)
			}
			out := r.Clone(r.Context())
			out.URL.Scheme, out.URL.Host, out.Host = target.Scheme, target.Host, ""
			return http.DefaultTransport.RoundTrip(out)
		})},
	}
	c.SetAccountSid(account)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A trigger created over HTTP with twilio-go: `billing serve` evaluates triggers right after an ingestion commit (the
// periodic evaluation is set to an hour, so it is not what fires) and
// delivers the signed callback; /metrics counts it.
func TestServeDeliversTriggerCallbacks(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			db := repotest.NewDatabase(t, backend)
			key := strings.Repeat("q", 32)
			t.Setenv("BILLING_SECRET_KEY", key)
			t.Setenv("BILLING_TRIGGER_INTERVAL", "1h")
			t.Setenv("BILLING_WEBHOOK_ALLOW_PRIVATE", "true")
			store, err := repo.Open(db)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			ctx := context.Background()
			if err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			box, _ := auth.NewTokenBox([]byte(key))
			sid, token := models.NewAccountSid(), models.NewAuthToken()
			if err := store.CreateAccount(ctx, models.Account{Sid: sid, Name: "A", Currency: "usd", CreatedAt: time.Now().UTC()}, models.HashAuthToken(token)); err != nil {
				t.Fatal(err)
			}
			if err := store.SetAuthToken(ctx, sid, models.HashAuthToken(token), box.Seal(sid, token)); err != nil {
				t.Fatal(err)
			}
			got := make(chan string, 10)
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				params := map[string]string{}
				for k := range r.PostForm {
					params[k] = r.PostForm.Get(k)
				}
				v := client.NewRequestValidator(token)
				if !v.Validate("http://"+r.Host+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")) {
					t.Error("callback signature does not validate")
				}
				got <- r.PostForm.Get("UsageTriggerSid")
			}))
			defer rc.Close()
			// The trigger is created over HTTP, with the official client and
			// the account's own credentials.
			s := startService(t, db)
			waitFor(t, 30*time.Second, "the service to be ready", func() bool { return status(s.url+"/readyz", "") == http.StatusOK })
			rest := twilioClientFor(t, s.url, sid, token)
			tr, err := rest.Api.CreateUsageTrigger((&api.CreateUsageTriggerParams{}).
				SetCallbackUrl(rc.URL + "/cb").SetTriggerValue("2").SetUsageCategory("calls").SetRecurring("daily"))
			if err != nil {
				t.Fatal(err)
			}
			body := fmt.Sprintf(`{"events":[{"id":"x1","accountSid":%q,"category":"calls-outbound","occurredAt":%q,"usage":"3"}]}`, sid, time.Now().UTC().Format(time.RFC3339))
			req, _ := http.NewRequest(http.MethodPost, s.url+"/billing/usage/events", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+s.admin)
			req.Header.Set("Content-Type", "application/json")
			res, err := quick.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("ingest: %d", res.StatusCode)
			}
			select {
			case sidGot := <-got:
				if sidGot != *tr.Sid {
					t.Errorf("callback for %q, want %s", sidGot, *tr.Sid)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no callback after the ingestion")
			}
			waitFor(t, 10*time.Second, "the delivery to be counted", func() bool {
				_, m := get(s.url+"/metrics", "")
				return strings.Contains(string(m), `billing_trigger_deliveries_total{outcome="delivered"} 1`) &&
					strings.Contains(string(m), "billing_trigger_outbox_pending 0")
			})
			// The resource shows the firing.
			fired, err := rest.Api.FetchUsageTrigger(*tr.Sid, nil)
			if err != nil || fired.DateFired == nil || fired.CurrentValue == nil || *fired.CurrentValue != "3" {
				t.Errorf("after the firing: %+v %v", fired, err)
			}
		})
	}
}
