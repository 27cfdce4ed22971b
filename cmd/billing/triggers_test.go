package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
	"github.com/evovoice/billing/triggers"
	"github.com/twilio/twilio-go/client"
)

// `billing serve` evaluates triggers right after an ingestion commit (the
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
			e := triggers.New(triggers.Config{Store: store, Box: box, AllowPrivate: true})
			tr, err := e.Create(ctx, sid, "2010-04-01", models.TriggerInput{CallbackURL: rc.URL + "/cb", TriggerValue: "2", UsageCategory: "calls", Recurring: "daily"})
			if err != nil {
				t.Fatal(err)
			}

			s := startService(t, db)
			waitFor(t, 30*time.Second, "the service to be ready", func() bool { return status(s.url+"/readyz", "") == http.StatusOK })
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
				if sidGot != tr.Sid {
					t.Errorf("callback for %q, want %s", sidGot, tr.Sid)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no callback after the ingestion")
			}
			waitFor(t, 10*time.Second, "the delivery to be counted", func() bool {
				_, m := get(s.url+"/metrics", "")
				return strings.Contains(string(m), `billing_trigger_deliveries_total{outcome="delivered"} 1`) &&
					strings.Contains(string(m), "billing_trigger_outbox_pending 0")
			})
		})
	}
}
