package repo_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// TestDirectoryReloadsAfterPostgresRestart restarts Postgres under a read
// load and changes an account (token rotation, a late event) before the
// service's listener is back: nothing was notified to it, yet it must never
// answer the old token more than a second after the rotation, and once it
// answers from memory again it must hold both changes (reload on reconnect).
func TestDirectoryReloadsAfterPostgresRestart(t *testing.T) {
	pg := repotest.NewPrivatePostgres(t)
	pg.Start()
	open := func() *repo.Store {
		s, err := repo.Open(pg.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	service, other := open(), open()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := service.StartDirectory(ctx); err != nil {
		t.Fatal(err)
	}
	created := models.NewDate(2024, 3, 1)
	a := models.Account{Sid: models.NewAccountSid(), Name: "a", Currency: "usd", CreatedAt: created.Time()}
	oldHash, newHash := models.HashAuthToken("old"), models.HashAuthToken("new")
	if err := other.CreateAccount(ctx, a, oldHash); err != nil {
		t.Fatal(err)
	}
	if h, err := service.AuthTokenHash(ctx, a.Sid); err != nil || h != oldHash {
		t.Fatalf("before: %q, %v", h, err)
	}

	var (
		rotated  atomic.Int64 // Unix ns of the rotation's commit; 0 before
		stale    atomic.Int64 // reads of the old token more than a second after it
		stop     = make(chan struct{})
		loadDone sync.WaitGroup
	)
	loadDone.Add(1)
	go func() {
		defer loadDone.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			rctx, rcancel := context.WithTimeout(ctx, time.Second)
			start := time.Now()
			h, err := service.AuthTokenHash(rctx, a.Sid)
			rcancel()
			if r := rotated.Load(); err == nil && h == oldHash && r != 0 && start.UnixNano() > r+int64(time.Second) {
				stale.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	pg.Stop("fast")
	pg.Start()
	// Changed as soon as the server is back, before the listener reconnects
	// (its backoff is at least 100 ms).
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := other.SetAuthToken(ctx, a.Sid, newHash, nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rotation after restart: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rotated.Store(time.Now().UnixNano())
	late := models.UsageEvent{ID: "late", AccountSid: a.Sid, Category: "sms-outbound", OccurredAt: (created - 30).Time(), Count: 1, Usage: 1, Price: 1}
	if _, err := other.RecordUsageEvents(ctx, []models.UsageEvent{late}); err != nil {
		t.Fatal(err)
	}

	// Wait until the service answers from memory again: no statement sent.
	var sent atomic.Int64
	service.TraceStatements(func(string) { sent.Add(1) })
	deadline = time.Now().Add(10 * time.Second)
	for {
		before := sent.Load()
		h, err := service.AuthTokenHash(ctx, a.Sid)
		if err == nil && sent.Load() == before {
			if h != newHash {
				t.Fatalf("from memory after the restart: the old token hash")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the directory did not come back after the restart (last: %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := sent.Load()
	first, ok, err := service.FirstUsageDay(ctx, []string{a.Sid})
	if err != nil || !ok || first != created-30 || sent.Load() != before {
		t.Fatalf("first usage from memory after the restart: %v %v %v (statements %d)", first, ok, err, sent.Load()-before)
	}
	service.TraceStatements(nil)
	close(stop)
	loadDone.Wait()
	if n := stale.Load(); n > 0 {
		t.Fatalf("%d reads returned the old token hash more than a second after the rotation", n)
	}
}
