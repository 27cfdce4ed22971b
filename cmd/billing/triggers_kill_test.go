package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
	"github.com/twilio/twilio-go/client"
)

// heldCall is one callback a receiver saw: status 0 when it was held until
// the sender went away.
type heldCall struct {
	token, trigger string
	at             time.Time
	status         int
}

// TestKilledServeDeliversEveryFiringOnce kills (-9) a `billing serve` process
// while its workers wait on a receiver that never answers, then restarts it
// with the receiver answering 200: every firing is delivered exactly once,
// the in-flight ones when their dead worker's claim lease runs out. It logs
// the outbox at the kill and how long the recovery took.
func TestKilledServeDeliversEveryFiringOnce(t *testing.T) {
	bin := buildBilling(t)
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			killMidDelivery(t, bin, backend, 20)
		})
	}
}

func killMidDelivery(t *testing.T, bin, backend string, firings int) {
	db := repotest.NewDatabase(t, backend)
	store := openMigrated(t, db)
	ctx := context.Background()
	key := strings.Repeat("k", 32)
	box, _ := auth.NewTokenBox([]byte(key))
	sid, token := models.NewAccountSid(), models.NewAuthToken()
	if err := store.CreateAccount(ctx, models.Account{Sid: sid, Name: "Kill Co", Currency: "usd", CreatedAt: time.Now().UTC()}, models.HashAuthToken(token)); err != nil {
		t.Fatal(err)
	}
	if err := store.SetAuthToken(ctx, sid, models.HashAuthToken(token), box.Seal(sid, token)); err != nil {
		t.Fatal(err)
	}

	var (
		answer  atomic.Bool  // false: hold every request until its sender goes away
		holding atomic.Int64 // requests held now
		mu      sync.Mutex
		calls   []heldCall
	)
	record := func(c heldCall) { mu.Lock(); calls = append(calls, c); mu.Unlock() }
	snapshot := func() []heldCall { mu.Lock(); defer mu.Unlock(); return append([]heldCall(nil), calls...) }
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		params := map[string]string{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		v := client.NewRequestValidator(token)
		if !v.Validate("http://"+r.Host+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")) {
			t.Error("a callback does not validate")
		}
		c := heldCall{token: params["IdempotencyToken"], trigger: params["UsageTriggerSid"], at: time.Now()}
		if !answer.Load() {
			holding.Add(1)
			<-r.Context().Done()
			holding.Add(-1)
			record(c)
			return
		}
		c.status = http.StatusOK
		record(c)
	}))
	defer rc.Close()
	held := func() int {
		n := 0
		for _, c := range snapshot() {
			if c.status == 0 {
				n++
			}
		}
		return n
	}

	env := []string{"BILLING_SECRET_KEY=" + key, "BILLING_TRIGGER_INTERVAL=1h", "BILLING_WEBHOOK_ALLOW_PRIVATE=true"}
	first := startServeProcess(t, bin, db, env...)
	for i := range firings {
		form := url.Values{"CallbackUrl": {rc.URL + "/cb"}, "TriggerValue": {"1"}, "UsageCategory": {"calls"}, "FriendlyName": {fmt.Sprint("kill ", i)}}
		req, _ := http.NewRequest(http.MethodPost, first.url+"/2010-04-01/Accounts/"+sid+"/Usage/Triggers.json", strings.NewReader(form.Encode()))
		req.SetBasicAuth(sid, token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if code := send(t, req); code != http.StatusCreated {
			t.Fatalf("create trigger %d: %d", i, code)
		}
	}
	signer, err := auth.NewSigner(auth.JWTConfig{Algorithm: "HS256", Secret: []byte(faultSecret)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := signer.Sign("kill-test", "", []string{auth.RoleSystemAdministrator}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"events":[{"id":"k1","accountSid":%q,"category":"calls-outbound","occurredAt":%q,"usage":"2"}]}`, sid, time.Now().UTC().Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPost, first.url+"/billing/usage/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/json")
	if code := send(t, req); code != http.StatusOK {
		t.Fatalf("ingest: %d", code)
	}

	// Every worker of the service (4, the engine's default) waits on the
	// receiver; the kill comes well inside their 15 s attempt.
	const workers = 4
	var counts repo.OutboxCounts
	waitFor(t, 10*time.Second, "the workers to be in flight", func() bool {
		counts, err = store.CountOutbox(ctx, time.Now())
		return err == nil && counts.Claimed == workers && counts.Pending+counts.Claimed == int64(firings) && holding.Load() == workers
	})
	first.kill()
	killed := time.Now()
	waitFor(t, 5*time.Second, "the held callbacks to be dropped", func() bool { return int64(held()) == counts.Claimed })
	if counts, err = store.CountOutbox(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if counts.Delivered != 0 || counts.Failed != 0 || counts.Pending+counts.Claimed != int64(firings) || counts.Claimed == 0 {
		t.Fatalf("outbox after the kill %+v, want %d pending or claimed, some claimed", counts, firings)
	}
	atKill := counts
	claimedAt := snapshot()[0].at

	answer.Store(true)
	second := startServeProcess(t, bin, db, env...)
	ready := time.Since(killed)
	var unclaimed time.Duration
	all := waitFor(t, 60*time.Second, "every firing to be delivered", func() bool {
		counts, err = store.CountOutbox(ctx, time.Now())
		if err == nil && unclaimed == 0 && counts.Delivered >= atKill.Pending {
			unclaimed = time.Since(killed)
		}
		return err == nil && counts.Delivered == int64(firings)
	})
	allAfterKill := time.Since(killed)
	// The service goes on polling its outbox: nothing more is sent.
	time.Sleep(2 * time.Second)
	second.kill()

	got := snapshot()
	okOf := map[string]int{}
	tokenOf := map[string]string{}
	var leaseWait time.Duration
	for _, c := range got {
		if t0, ok := tokenOf[c.trigger]; ok && t0 != c.token {
			t.Errorf("trigger %s called with tokens %s and %s", c.trigger, t0, c.token)
		}
		tokenOf[c.trigger] = c.token
		if okOf[c.token] > 0 {
			t.Errorf("token %s sent again after a 200", c.token)
		}
		if c.status == http.StatusOK {
			okOf[c.token]++
		}
	}
	for _, c := range got {
		if c.status == 0 {
			// Each held firing was delivered again with its token.
			for _, d := range got {
				if d.token == c.token && d.status == http.StatusOK {
					leaseWait = max(leaseWait, d.at.Sub(claimedAt))
				}
			}
		}
	}
	if len(okOf) != firings || len(tokenOf) != firings {
		t.Errorf("%d firings answered 200, %d triggers called; want %d each", len(okOf), len(tokenOf), firings)
	}
	if counts, err = store.CountOutbox(ctx, time.Now()); err != nil || counts.Delivered != int64(firings) || counts.Pending+counts.Claimed+counts.Failed != 0 {
		t.Errorf("outbox at the end %+v (%v), want %d delivered", counts, err, firings)
	}
	t.Logf("%s: %d firings; outbox at the kill: %d pending, %d claimed (in flight), %d delivered; restarted serve ready %s after the kill; "+
		"unclaimed delivered %s after the kill, all %s after the kill (%s after ready); claimed rows redelivered %s after their claim; %d callbacks in all",
		backend, firings, atKill.Pending, atKill.Claimed, atKill.Delivered, ready.Round(time.Millisecond),
		unclaimed.Round(time.Millisecond), allAfterKill.Round(time.Millisecond), all.Round(time.Millisecond), leaseWait.Round(time.Millisecond), len(got))
}

// send makes a request and returns its status, failing the test when none came.
func send(t *testing.T, req *http.Request) int {
	t.Helper()
	res, err := quick.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}
