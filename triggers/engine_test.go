package triggers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// clock is a settable clock, injected where the engine reads the time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fixture is a parent account with a sub-account, both with sealed tokens.
type fixture struct {
	store         *repo.Store
	box           *auth.TokenBox
	clock         *clock
	parent, child string
	tokens        map[string]string
	events        int
}

func newFixture(t *testing.T, store *repo.Store) *fixture {
	t.Helper()
	box, err := auth.NewTokenBox([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: store, box: box, clock: &clock{t: time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)},
		parent: models.NewAccountSid(), child: models.NewAccountSid(), tokens: map[string]string{}}
	ctx := context.Background()
	for _, a := range []models.Account{{Sid: f.parent, Name: "Parent"}, {Sid: f.child, Name: "Child", ParentSid: f.parent}} {
		a.Currency, a.CreatedAt = "usd", f.clock.Now().AddDate(0, -1, 0)
		token := models.NewAuthToken()
		if err := store.CreateAccount(ctx, a, models.HashAuthToken(token)); err != nil {
			t.Fatal(err)
		}
		if err := store.SetAuthToken(ctx, a.Sid, models.HashAuthToken(token), box.Seal(a.Sid, token)); err != nil {
			t.Fatal(err)
		}
		f.tokens[a.Sid] = token
	}
	return f
}

func (f *fixture) engine(cfg triggers.Config) *triggers.Engine {
	cfg.Store, cfg.Box, cfg.Now, cfg.AllowPrivate = f.store, f.box, f.clock.Now, true
	if cfg.Backoff == nil {
		cfg.Backoff = []time.Duration{time.Millisecond}
	}
	return triggers.New(cfg)
}

// ingest records one event of the account at the clock's time.
func (f *fixture) ingest(t *testing.T, account, category string, usage models.Micros) {
	t.Helper()
	f.events++
	_, err := f.store.RecordUsageEvents(context.Background(), []models.UsageEvent{{
		ID: fmt.Sprintf("e%d", f.events), AccountSid: account, Category: category,
		OccurredAt: f.clock.Now(), Count: 1, Usage: usage, Price: usage / 100,
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// receiver is a callback endpoint that validates every request's signature
// with twilio-go's RequestValidator and records the parameters.
type receiver struct {
	*httptest.Server
	t      *testing.T
	token  string
	mu     sync.Mutex
	calls  []url.Values
	status func(n int) int              // the status of the n-th call (1-based); 200 when nil
	hold   func(n int, r *http.Request) // runs before answering, when set
}

func newReceiver(t *testing.T, token string) *receiver {
	rc := &receiver{t: t, token: token}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		rc.t.Errorf("callback: %v", err)
	}
	v := client.NewRequestValidator(rc.token)
	full := "http://" + r.Host + r.URL.RequestURI()
	params := map[string]string{}
	values := r.URL.Query()
	if r.Method == http.MethodPost {
		values = r.PostForm
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
	}
	if !v.Validate(full, params, r.Header.Get("X-Twilio-Signature")) {
		rc.t.Errorf("callback %s %s: the signature does not validate", r.Method, full)
	}
	rc.mu.Lock()
	rc.calls = append(rc.calls, values)
	n := len(rc.calls)
	rc.mu.Unlock()
	if rc.hold != nil {
		rc.hold(n, r)
	}
	status := http.StatusOK
	if rc.status != nil {
		status = rc.status(n)
	}
	w.WriteHeader(status)
}

func (rc *receiver) received() []url.Values {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]url.Values(nil), rc.calls...)
}

// drain evaluates the accounts and delivers everything due now.
func drain(t *testing.T, e *triggers.Engine, accounts ...string) {
	t.Helper()
	ctx := context.Background()
	if err := e.Evaluate(ctx, accounts); err != nil {
		t.Fatal(err)
	}
	for {
		did, err := e.DeliverOne(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !did {
			return
		}
	}
}

func create(t *testing.T, e *triggers.Engine, account string, in models.TriggerInput) models.Trigger {
	t.Helper()
	tr, err := e.Create(context.Background(), account, "2010-04-01", in)
	if err != nil {
		t.Fatalf("create %+v: %v", in, err)
	}
	return tr
}

func TestSignatureMatchesTwilio(t *testing.T) {
	token := "0123456789abcdef0123456789abcdef"
	v := client.NewRequestValidator(token)
	form := url.Values{"AccountSid": {"AC1"}, "CurrentValue": {"21"}, "UsageRecordUri": {"/2010-04-01/Accounts/AC1/Usage/Records/Today.json?Category=calls"}}
	params := map[string]string{}
	for k := range form {
		params[k] = form.Get(k)
	}
	u := "https://example.com/hook?x=1"
	if !v.Validate(u, params, triggers.Signature(token, u, form)) {
		t.Error("POST signature refused by twilio-go")
	}
	if v.Validate(u, params, triggers.Signature("another", u, form)) {
		t.Error("a signature with another token is accepted")
	}
	get := u + "&" + form.Encode()
	if !v.Validate(get, map[string]string{}, triggers.Signature(token, get, nil)) {
		t.Error("GET signature refused by twilio-go")
	}
}

// A daily trigger on the parent's calls fires once per UTC day from its
// sub-account's inbound calls, however far ingestion pushes the value, and
// again the next day.
func TestOneCallbackPerPeriod(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newFixture(t, store)
		e := f.engine(triggers.Config{})
		rc := newReceiver(t, f.tokens[f.parent])
		tr := create(t, e, f.parent, models.TriggerInput{CallbackURL: rc.URL + "/hook", TriggerValue: "10", UsageCategory: "calls", Recurring: "daily"})

		f.ingest(t, f.child, "calls-inbound-local", 6_000_000)
		drain(t, e, f.child)
		if n := len(rc.received()); n != 0 {
			t.Fatalf("%d callbacks below the threshold", n)
		}
		for range 3 {
			f.ingest(t, f.child, "calls-inbound-local", 6_000_000)
			drain(t, e, f.child)
		}
		calls := rc.received()
		if len(calls) != 1 {
			t.Fatalf("%d callbacks on the first day, want 1", len(calls))
		}
		c := calls[0]
		want := map[string]string{"AccountSid": f.parent, "UsageTriggerSid": tr.Sid, "Recurring": "daily", "UsageCategory": "calls",
			"TriggerBy": "usage", "TriggerValue": "10.000000", "CurrentValue": "12",
			"UsageRecordUri": "/2010-04-01/Accounts/" + f.parent + "/Usage/Records/Today.json?Category=calls",
			"DateFired":      "Sat, 14 Mar 2026 10:00:00 +0000"}
		for k, v := range want {
			if c.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, c.Get(k), v)
			}
		}
		if c.Get("IdempotencyToken") == "" {
			t.Error("no IdempotencyToken")
		}
		got, err := e.Fetch(context.Background(), f.parent, tr.Sid)
		if err != nil {
			t.Fatal(err)
		}
		if got.DateFired == nil || got.CurrentValue != 24_000_000 {
			t.Errorf("after the first day: date fired %v, current value %s; want a date and 24", got.DateFired, got.CurrentValue)
		}

		f.clock.Add(24 * time.Hour)
		drain(t, e, f.child) // a new day starts at zero
		f.ingest(t, f.child, "calls-inbound-local", 11_000_000)
		drain(t, e, f.child)
		f.ingest(t, f.child, "calls-inbound-local", 11_000_000)
		drain(t, e, f.child)
		calls = rc.received()
		if len(calls) != 2 {
			t.Fatalf("%d callbacks after the second day, want 2", len(calls))
		}
		if calls[1].Get("IdempotencyToken") == calls[0].Get("IdempotencyToken") {
			t.Error("two firings share an IdempotencyToken")
		}
		if calls[1].Get("CurrentValue") != "11" {
			t.Errorf("second day's CurrentValue %q, want 11", calls[1].Get("CurrentValue"))
		}
	})
}

// A one-off fires once ever; one created over its threshold fires at its
// first evaluation; an offset counts from the value at creation; GET
// callbacks carry the parameters in the query.
func TestOneOffFiresOnce(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newFixture(t, store)
		e := f.engine(triggers.Config{})
		rc := newReceiver(t, f.tokens[f.child])
		f.ingest(t, f.child, "sms-outbound-longcode", 500_000_000) // price 5
		over := create(t, e, f.child, models.TriggerInput{CallbackURL: rc.URL, CallbackMethod: "GET", TriggerValue: "4.5", UsageCategory: "totalprice", TriggerBy: "price"})
		offset := create(t, e, f.child, models.TriggerInput{CallbackURL: rc.URL, TriggerValue: "+2", UsageCategory: "sms", TriggerBy: "count"})
		if offset.TriggerValue != 3_000_000 {
			t.Fatalf("offset trigger value %s, want 3 (1 sent + 2)", offset.TriggerValue)
		}
		drain(t, e, f.child)
		calls := rc.received()
		if len(calls) != 1 || calls[0].Get("UsageTriggerSid") != over.Sid || calls[0].Get("Recurring") != "" {
			t.Fatalf("callbacks %v, want one of the trigger created over its threshold", calls)
		}
		if got := calls[0].Get("UsageRecordUri"); got != "/2010-04-01/Accounts/"+f.child+"/Usage/Records.json?Category=totalprice" {
			t.Errorf("UsageRecordUri %q", got)
		}
		f.ingest(t, f.child, "sms-inbound", 1)
		f.ingest(t, f.child, "sms-outbound", 1)
		drain(t, e, f.child)
		f.clock.Add(40 * 24 * time.Hour)
		f.ingest(t, f.child, "sms", 1)
		drain(t, e, f.child)
		calls = rc.received()
		if len(calls) != 2 || calls[1].Get("UsageTriggerSid") != offset.Sid || calls[1].Get("CurrentValue") != "3" {
			t.Fatalf("callbacks %v, want the over-threshold one and the offset one, once each", calls)
		}
	})
}

// Ended deliveries leave the outbox once old enough; their firings stay,
// so the period does not fire again; a pending delivery stays.
func TestPurgedOutboxDoesNotFireAgain(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newFixture(t, store)
		e := f.engine(triggers.Config{})
		ctx := context.Background()
		rc := newReceiver(t, f.tokens[f.parent])
		done := create(t, e, f.parent, models.TriggerInput{CallbackURL: rc.URL, TriggerValue: "1", UsageCategory: "calls", Recurring: "daily"})
		f.ingest(t, f.parent, "calls", 2_000_000)
		drain(t, e, f.parent)
		down := create(t, e, f.child, models.TriggerInput{CallbackURL: "http://127.0.0.1:1/cb", TriggerValue: "1", UsageCategory: "calls", Recurring: "daily"})
		f.ingest(t, f.child, "calls", 2_000_000)
		drain(t, e, f.child)
		if n, err := store.PurgeOutbox(ctx, f.clock.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("purged %d (%v) of deliveries younger than the cut-off", n, err)
		}
		if n, err := store.PurgeOutbox(ctx, f.clock.Now().Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("purged %d (%v), want the one delivered", n, err)
		}
		if out, _ := store.Outbox(ctx, done.Sid); len(out) != 0 {
			t.Errorf("delivered firing still in the outbox: %+v", out)
		}
		if out, _ := store.Outbox(ctx, down.Sid); len(out) != 1 || out[0].Status != "pending" {
			t.Errorf("pending delivery: %+v, want it kept", out)
		}
		f.ingest(t, f.parent, "calls", 2_000_000)
		drain(t, e, f.parent)
		if n := len(rc.received()); n != 1 {
			t.Errorf("%d callbacks, want 1: the period fired again after its outbox row went", n)
		}
	})
}

// A receiver failing twice and then answering 200 gets the same firing
// three times, with one IdempotencyToken; the outbox says delivered.
func TestRetriedUntilDelivered(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newFixture(t, store)
		e := f.engine(triggers.Config{Backoff: []time.Duration{time.Second, time.Second}})
		rc := newReceiver(t, f.tokens[f.parent])
		rc.status = func(n int) int {
			if n <= 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusNoContent
		}
		tr := create(t, e, f.parent, models.TriggerInput{CallbackURL: rc.URL, TriggerValue: "1", UsageCategory: "calls"})
		f.ingest(t, f.parent, "calls", 1_000_000)
		drain(t, e, f.parent)
		for range 2 {
			f.clock.Add(time.Second) // the backoff, on the injected clock
			drain(t, e)
		}
		calls := rc.received()
		if len(calls) != 3 {
			t.Fatalf("%d attempts, want 3", len(calls))
		}
		for _, c := range calls[1:] {
			if c.Get("IdempotencyToken") != calls[0].Get("IdempotencyToken") {
				t.Error("a retry carries another IdempotencyToken")
			}
		}
		out, err := store.Outbox(context.Background(), tr.Sid)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 || out[0].Status != "delivered" || out[0].Attempts != 3 {
			t.Errorf("outbox %+v, want one delivered row after 3 attempts", out)
		}
	})
}

// A receiver that keeps failing is retried on the schedule until the retry
// window has passed, then the delivery is marked failed.
func TestGivesUpAfterRetryWindow(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newFixture(t, store)
		e := f.engine(triggers.Config{Backoff: []time.Duration{time.Minute, 10 * time.Minute}, RetryFor: time.Hour})
		rc := newReceiver(t, f.tokens[f.parent])
		rc.status = func(int) int { return http.StatusInternalServerError }
		tr := create(t, e, f.parent, models.TriggerInput{CallbackURL: rc.URL, TriggerValue: "1", UsageCategory: "calls"})
		f.ingest(t, f.parent, "calls", 1_000_000)
		drain(t, e, f.parent) // attempt 1, next in 1 min
		f.clock.Add(59 * time.Second)
		drain(t, e) // not due yet
		if n := len(rc.received()); n != 1 {
			t.Fatalf("%d attempts before the first backoff ended, want 1", n)
		}
		f.clock.Add(time.Second)
		drain(t, e) // attempt 2, next in 10 min
		for range 5 {
			f.clock.Add(10 * time.Minute)
			drain(t, e) // then hourly: past the hour, so the third attempt is the last
		}
		out, _ := store.Outbox(context.Background(), tr.Sid)
		if len(rc.received()) != 3 || len(out) != 1 || out[0].Status != "failed" || !strings.Contains(out[0].LastError, "gave up after 3 attempts") {
			t.Errorf("%d attempts, outbox %+v; want 3 then failed", len(rc.received()), out)
		}
	})
}

// A worker stopped while the receiver holds its request leaves the row
// claimed; after the lease, a new worker delivers it.
func TestKilledMidDeliveryDeliversAfterRestart(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newFixture(t, store)
		rc := newReceiver(t, f.tokens[f.parent])
		arrived, release := make(chan struct{}), make(chan struct{})
		rc.hold = func(n int, r *http.Request) {
			if n == 1 {
				close(arrived)
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}
		}
		defer close(release)
		first := f.engine(triggers.Config{Lease: time.Minute})
		tr := create(t, first, f.parent, models.TriggerInput{CallbackURL: rc.URL, TriggerValue: "1", UsageCategory: "calls"})
		f.ingest(t, f.parent, "calls", 1_000_000)
		if err := first.Evaluate(context.Background(), []string{f.parent}); err != nil {
			t.Fatal(err)
		}
		ctx, kill := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); first.DeliverOne(ctx) }()
		<-arrived
		kill()
		<-done
		out, _ := store.Outbox(context.Background(), tr.Sid)
		if len(out) != 1 || out[0].Status != "pending" {
			t.Fatalf("outbox after the kill %+v, want pending", out)
		}
		second := f.engine(triggers.Config{})
		if did, err := second.DeliverOne(context.Background()); did || err != nil {
			t.Fatalf("claimed while the dead worker's lease holds (%v, %v)", did, err)
		}
		f.clock.Add(time.Minute + time.Second)
		drain(t, second)
		out, _ = store.Outbox(context.Background(), tr.Sid)
		calls := rc.received()
		if len(out) != 1 || out[0].Status != "delivered" || len(calls) != 2 || calls[0].Get("IdempotencyToken") != calls[1].Get("IdempotencyToken") {
			t.Errorf("after restart: outbox %+v, %d requests; want delivered on the second, same token", out, len(calls))
		}
	})
}

// Two instances on one database, each with its evaluator and workers
// running, make one callback.
func TestTwoInstancesOneCallback(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			u := repotest.NewDatabase(t, backend)
			var stores []*repo.Store
			for range 2 {
				s, err := repo.Open(u)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				if err := s.Migrate(context.Background()); err != nil {
					t.Fatal(err)
				}
				stores = append(stores, s)
			}
			f := newFixture(t, stores[0])
			rc := newReceiver(t, f.tokens[f.parent])
			var engines []*triggers.Engine
			for _, s := range stores {
				g := *f
				g.store = s
				e := g.engine(triggers.Config{Interval: 20 * time.Millisecond, Poll: 10 * time.Millisecond, Workers: 3})
				s.OnIngest(e.Touched)
				engines = append(engines, e)
			}
			create(t, engines[0], f.parent, models.TriggerInput{CallbackURL: rc.URL, TriggerValue: "1", UsageCategory: "calls", Recurring: "monthly"})
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for _, e := range engines {
				wg.Add(1)
				go func() { defer wg.Done(); e.Run(ctx) }()
			}
			f.ingest(t, f.child, "calls-sip", 2_000_000)
			deadline := time.Now().Add(20 * time.Second)
			for len(rc.received()) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			// Both instances keep evaluating (every 20 ms) and polling.
			time.Sleep(300 * time.Millisecond)
			stop()
			wg.Wait()
			if n := len(rc.received()); n != 1 {
				t.Fatalf("%d callbacks from two instances, want 1", n)
			}
		})
	}
}

// With private addresses not allowed, callbacks to internal addresses are
// refused at creation, and at delivery by the address actually dialled.
func TestInternalCallbacksRefused(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newFixture(t, store)
		strict := triggers.New(triggers.Config{Store: store, Box: f.box, Now: f.clock.Now})
		for _, u := range []string{"http://127.0.0.1/x", "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]/x",
			"http://[::ffff:127.0.0.1]/x", "http://localhost:8080/x", "https://192.168.0.1/", "http://0.0.0.0/", "http://224.0.0.1/",
			"http://[64:ff9b::a9fe:a9fe]/latest", "http://[64:ff9b::7f00:1]/x", "http://[64:ff9b:1::a00:1]/x", "http://[::127.0.0.1]/x",
			"http://[2002:a00:1::1]/x", "http://[::]/x"} {
			_, err := strict.Create(context.Background(), f.parent, "2010-04-01", models.TriggerInput{CallbackURL: u, TriggerValue: "1", UsageCategory: "calls"})
			var ve *models.ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Field != "CallbackUrl" {
				t.Errorf("%s: %v, want a CallbackUrl error", u, err)
			}
		}
		rc := newReceiver(t, f.tokens[f.parent])
		tr := create(t, f.engine(triggers.Config{}), f.parent, models.TriggerInput{CallbackURL: rc.URL, TriggerValue: "1", UsageCategory: "calls"})
		f.ingest(t, f.parent, "calls", 1_000_000)
		drain(t, strict, f.parent)
		out, _ := store.Outbox(context.Background(), tr.Sid)
		if len(rc.received()) != 0 || len(out) != 1 || out[0].Status != "pending" || !strings.Contains(out[0].LastError, "loopback") {
			t.Errorf("delivery to 127.0.0.1 with private addresses refused: %d requests, outbox %+v", len(rc.received()), out)
		}
		// A name is judged by the address it resolves to when dialled.
		byName := strings.Replace(rc.URL, "127.0.0.1", "localhost", 1)
		tr = create(t, f.engine(triggers.Config{}), f.child, models.TriggerInput{CallbackURL: byName, TriggerValue: "1", UsageCategory: "calls"})
		f.ingest(t, f.child, "calls", 1_000_000)
		drain(t, strict, f.child)
		out, _ = store.Outbox(context.Background(), tr.Sid)
		if len(rc.received()) != 0 || len(out) != 1 || !strings.Contains(out[0].LastError, "loopback") {
			t.Errorf("delivery to localhost with private addresses refused: %d requests, outbox %+v", len(rc.received()), out)
		}
	})
}

// Every bad parameter is reported at once, nothing is stored; scope and
// the CRUD methods behave.
func TestServiceValidationAndScope(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newFixture(t, store)
		e := f.engine(triggers.Config{})
		ctx := context.Background()
		_, err := e.Create(ctx, f.parent, "2010-04-01", models.TriggerInput{CallbackURL: "ftp://x", CallbackMethod: "PUT",
			FriendlyName: strings.Repeat("n", 65), Recurring: "weekly", TriggerBy: "cost", TriggerValue: "-1", UsageCategory: "nope"})
		var ve *models.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("%v, want a validation error", err)
		}
		var fields []string
		for _, fe := range ve.Errors {
			fields = append(fields, fe.Field)
		}
		if got := strings.Join(fields, ","); got != "CallbackUrl,CallbackMethod,FriendlyName,Recurring,TriggerBy,UsageCategory,TriggerValue" {
			t.Errorf("bad fields %s", got)
		}
		if list, _ := e.List(ctx, models.TriggerFilter{AccountSid: f.parent}, "", 50); len(list) != 0 {
			t.Fatalf("a refused trigger was stored: %v", list)
		}

		a := create(t, e, f.parent, models.TriggerInput{CallbackURL: "http://127.0.0.1:9/a", TriggerValue: "5", UsageCategory: "calls", Recurring: "monthly", FriendlyName: "a"})
		create(t, e, f.parent, models.TriggerInput{CallbackURL: "http://127.0.0.1:9/b", TriggerValue: "5", UsageCategory: "sms", TriggerBy: "price"})
		for filter, want := range map[models.TriggerFilter]int{
			{AccountSid: f.parent}: 2, {AccountSid: f.parent, Recurring: "monthly"}: 1, {AccountSid: f.parent, Recurring: "alltime"}: 1,
			{AccountSid: f.parent, TriggerBy: "price"}: 1, {AccountSid: f.parent, UsageCategory: "calls"}: 1, {AccountSid: f.child}: 0,
		} {
			if list, err := e.List(ctx, filter, "", 50); err != nil || len(list) != want {
				t.Errorf("list %+v: %d (%v), want %d", filter, len(list), err, want)
			}
		}
		if list, err := e.List(ctx, models.TriggerFilter{AccountSid: f.parent, Recurring: "MONTHLY", UsageCategory: "Calls"}, "", 50); err != nil || len(list) != 1 {
			t.Errorf("filter in another letter case: %d, %v", len(list), err)
		}
		if _, err := e.List(ctx, models.TriggerFilter{AccountSid: f.parent, Recurring: "weekly", TriggerBy: "x", UsageCategory: "fax"}, "", 50); !errors.As(err, &ve) || len(ve.Errors) != 3 {
			t.Errorf("bad filters: %v, want three field errors", err)
		}
		page, _ := e.List(ctx, models.TriggerFilter{AccountSid: f.parent}, "", 1)
		rest, _ := e.List(ctx, models.TriggerFilter{AccountSid: f.parent}, page[0].Sid, 50)
		if len(page) != 1 || len(rest) != 1 || rest[0].Sid <= page[0].Sid {
			t.Errorf("paging by SID: %v then %v", page, rest)
		}
		if _, err := e.Fetch(ctx, f.child, a.Sid); !errors.Is(err, triggers.ErrNotFound) {
			t.Errorf("another account's trigger: %v, want not found", err)
		}
		name, method := "renamed", "get"
		up, err := e.Update(ctx, f.parent, a.Sid, models.TriggerUpdate{FriendlyName: &name, CallbackMethod: &method})
		if err != nil || up.FriendlyName != "renamed" || up.CallbackMethod != "GET" || up.CallbackURL != a.CallbackURL {
			t.Errorf("update: %+v, %v", up, err)
		}
		bad := "nope"
		if _, err := e.Update(ctx, f.parent, a.Sid, models.TriggerUpdate{CallbackURL: &bad, CallbackMethod: &bad}); !errors.As(err, &ve) || len(ve.Errors) != 2 {
			t.Errorf("bad update: %v, want two field errors", err)
		}
		if err := e.Delete(ctx, f.child, a.Sid); !errors.Is(err, triggers.ErrNotFound) {
			t.Errorf("delete by another account: %v", err)
		}
		if err := e.Delete(ctx, f.parent, a.Sid); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Fetch(ctx, f.parent, a.Sid); !errors.Is(err, triggers.ErrNotFound) {
			t.Errorf("fetch after delete: %v", err)
		}
	})
}

// An account has at most 1,000 triggers, even when creations race.
func TestTriggerLimit(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newFixture(t, store)
		ctx := context.Background()
		now := f.clock.Now()
		const extra = 10
		var (
			mu              sync.Mutex
			stored, refused int
			wg              sync.WaitGroup
		)
		jobs := make(chan struct{})
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range jobs {
					err := store.CreateTrigger(ctx, models.Trigger{Sid: models.NewTriggerSid(), AccountSid: f.child, APIVersion: "2010-04-01",
						CallbackURL: "http://example.com/", CallbackMethod: "POST", UsageCategory: "calls", TriggerBy: "usage",
						TriggerValue: 1, DateCreated: now, DateUpdated: now})
					mu.Lock()
					switch {
					case err == nil:
						stored++
					case errors.Is(err, triggers.ErrTooMany):
						refused++
					default:
						t.Error(err)
					}
					mu.Unlock()
				}
			}()
		}
		for range models.MaxTriggersPerAccount + extra {
			jobs <- struct{}{}
		}
		close(jobs)
		wg.Wait()
		if stored != models.MaxTriggersPerAccount || refused != extra {
			t.Errorf("%d stored, %d refused; want %d and %d", stored, refused, models.MaxTriggersPerAccount, extra)
		}
	})
}

// Callbacks of an account whose token was stored without the key fail
// for good, with the reason.
func TestUnsealedTokenFails(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newFixture(t, store)
		ctx := context.Background()
		if err := store.SetAuthToken(ctx, f.parent, models.HashAuthToken("t"), nil); err != nil {
			t.Fatal(err)
		}
		e := f.engine(triggers.Config{})
		rc := newReceiver(t, "t")
		tr := create(t, e, f.parent, models.TriggerInput{CallbackURL: rc.URL, TriggerValue: "1", UsageCategory: "calls"})
		f.ingest(t, f.parent, "calls", 1_000_000)
		drain(t, e, f.parent)
		out, _ := store.Outbox(ctx, tr.Sid)
		if len(rc.received()) != 0 || len(out) != 1 || out[0].Status != "failed" || !strings.Contains(out[0].LastError, "rotate") {
			t.Errorf("unsealed: %d requests, outbox %+v", len(rc.received()), out)
		}
	})
}
