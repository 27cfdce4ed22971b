package triggers_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
	"github.com/evovoice/billing/triggers"
	"github.com/twilio/twilio-go/client"
)

// flakyCall is one request a flaky receiver answered.
type flakyCall struct {
	token, trigger, fired string
	status                int
}

// flakyFigures is what a round of deliveries to a flaky receiver measured.
type flakyFigures struct {
	delivered int64
	attempts  map[int]int   // deliveries by the attempts they took
	all       time.Duration // from the ingestion's commit to the last 2xx
	requests  int
}

func (f flakyFigures) String() string {
	var parts []string
	total := 0
	for _, n := range slices.Sorted(maps.Keys(f.attempts)) {
		parts = append(parts, fmt.Sprintf("%d:%d", n, f.attempts[n]))
		total += n * f.attempts[n]
	}
	return fmt.Sprintf("%d delivered in %s, %d requests, %.2f attempts per delivery (attempts:deliveries %s)",
		f.delivered, f.all.Round(time.Millisecond), f.requests, float64(total)/float64(max(f.delivered, 1)), strings.Join(parts, " "))
}

// twilioAtSpeed is Twilio's retry schedule (5 s, 30 s, 2 min, 10 min, 1 h,
// then hourly) divided by speed, with enough hourly steps that no delivery
// of a test reaches the engine's own hourly fallback.
func twilioAtSpeed(speed time.Duration) []time.Duration {
	var out []time.Duration
	for _, d := range triggers.DefaultBackoff {
		out = append(out, d/speed)
	}
	for range 20 {
		out = append(out, time.Hour/speed)
	}
	return out
}

// deliverToFlakyReceiver fires one trigger on each of accounts×perAccount
// triggers with one ingestion, through the running engine, to a loopback
// receiver that answers 500 to every other request, with Twilio's retry
// schedule a thousand times faster. It fails tb unless every firing is
// delivered, every callback validates with twilio-go's RequestValidator,
// each IdempotencyToken belongs to one firing and nothing is sent for a
// firing after its 2xx.
func deliverToFlakyReceiver(tb testing.TB, store *repo.Store, accounts, perAccount int) flakyFigures {
	tb.Helper()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	box, err := auth.NewTokenBox([]byte(strings.Repeat("k", 32)))
	if err != nil {
		tb.Fatal(err)
	}
	tokens := map[string]string{}
	var (
		mu    sync.Mutex
		calls []flakyCall
	)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		params := map[string]string{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		mu.Lock()
		defer mu.Unlock()
		v := client.NewRequestValidator(tokens[params["AccountSid"]])
		if !v.Validate("http://"+r.Host+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")) {
			tb.Errorf("callback %d does not validate", len(calls)+1)
		}
		c := flakyCall{token: params["IdempotencyToken"], trigger: params["UsageTriggerSid"], fired: params["DateFired"], status: http.StatusOK}
		if len(calls)%2 == 0 {
			c.status = http.StatusInternalServerError
		}
		calls = append(calls, c)
		w.WriteHeader(c.status)
	}))
	defer rc.Close()
	e := triggers.New(triggers.Config{Store: store, Box: box, AllowPrivate: true, Interval: time.Hour, Log: slog.New(slog.DiscardHandler),
		Backoff: twilioAtSpeed(1000), RetryFor: 24 * time.Hour / 1000, Poll: time.Millisecond})
	store.OnIngest(e.Touched)
	go e.Run(ctx)

	var events []models.UsageEvent
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range accounts {
		sid, token := models.NewAccountSid(), models.NewAuthToken()
		if err := store.CreateAccount(ctx, models.Account{Sid: sid, Name: "Flaky", Currency: "usd", CreatedAt: now}, models.HashAuthToken(token)); err != nil {
			tb.Fatal(err)
		}
		if err := store.SetAuthToken(ctx, sid, models.HashAuthToken(token), box.Seal(sid, token)); err != nil {
			tb.Fatal(err)
		}
		mu.Lock()
		tokens[sid] = token
		mu.Unlock()
		for range perAccount {
			if _, err := e.Create(ctx, sid, "2010-04-01", models.TriggerInput{CallbackURL: rc.URL + "/cb", TriggerValue: "1", UsageCategory: "calls", Recurring: "daily"}); err != nil {
				tb.Fatal(err)
			}
		}
		events = append(events, models.UsageEvent{ID: fmt.Sprint("flaky", i), AccountSid: sid, Category: "calls-inbound", OccurredAt: now, Count: 1, Usage: 2_000_000})
	}
	if _, err := store.RecordUsageEvents(ctx, events); err != nil {
		tb.Fatal(err)
	}
	committed := time.Now()
	firings := int64(accounts * perAccount)
	var counts repo.OutboxCounts
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if counts, err = store.CountOutbox(ctx, time.Now()); err != nil {
			tb.Fatal(err)
		}
		if counts.Delivered+counts.Failed == firings {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("outbox %+v after 2 min, want %d delivered", counts, firings)
		}
	}
	stop()
	last := time.Since(committed)

	mu.Lock()
	defer mu.Unlock()
	if counts.Delivered != firings {
		tb.Errorf("outbox %+v, want all %d delivered", counts, firings)
	}
	firingOf := map[string]string{} // token → trigger and date fired
	tokenOf := map[string]string{}  // trigger → token
	attempts := map[string]int{}
	succeeded := map[string]bool{}
	for i, c := range calls {
		firing := c.trigger + " " + c.fired
		if f, ok := firingOf[c.token]; ok && f != firing {
			tb.Errorf("token %s sent for %s and %s", c.token, f, firing)
		}
		firingOf[c.token] = firing
		if t, ok := tokenOf[c.trigger]; ok && t != c.token {
			tb.Errorf("trigger %s sent with tokens %s and %s: it fired twice", c.trigger, t, c.token)
		}
		tokenOf[c.trigger] = c.token
		if succeeded[c.token] {
			tb.Errorf("request %d: token %s sent again after a 2xx", i+1, c.token)
		}
		attempts[c.token]++
		succeeded[c.token] = c.status == http.StatusOK
	}
	fig := flakyFigures{delivered: counts.Delivered, attempts: map[int]int{}, all: last, requests: len(calls)}
	for token, n := range attempts {
		if !succeeded[token] {
			tb.Errorf("token %s: %d attempts, none answered 2xx", token, n)
		}
		fig.attempts[n]++
	}
	if int64(len(succeeded)) != firings {
		tb.Errorf("%d distinct tokens, want one per firing (%d)", len(succeeded), firings)
	}
	return fig
}

// 100 firings to a receiver that answers 500 to every other request: all
// delivered, each after its retries with one token, none twice.
func TestDeliveriesToAFlakyReceiver(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		t.Log(deliverToFlakyReceiver(t, store, 10, 10))
	})
}

// BenchmarkFlakyReceiver reports, for 100 firings to a receiver failing
// every other request with Twilio's schedule a thousand times faster, the
// time to deliver all and the attempts per delivery. -benchtime=1x is one
// round per database.
func BenchmarkFlakyReceiver(b *testing.B) {
	for _, backend := range repotest.Backends() {
		b.Run(backend, func(b *testing.B) {
			var all time.Duration
			var attempts, delivered int
			for b.Loop() {
				b.StopTimer()
				store := repotest.Open(b, backend)
				b.StartTimer()
				fig := deliverToFlakyReceiver(b, store, 10, 10)
				all += fig.all
				attempts += fig.requests
				delivered += int(fig.delivered)
				b.Log(fig)
			}
			b.ReportMetric(float64(all.Milliseconds())/float64(b.N), "ms-to-deliver-100")
			b.ReportMetric(float64(attempts)/float64(delivered), "attempts/delivery")
		})
	}
}
