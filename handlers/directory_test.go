package handlers_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// rotationBound is the stated bound within which another process's change
// (token rotation, first usage day) reaches a running service.
const rotationBound = time.Second

// directoryEnv is a service whose store runs the account directory, and a
// second store on the same database standing in for another process
// (`billing account add`, `rotate-token`, another service ingesting).
type directoryEnv struct {
	*handlertest.Env
	Other   *repo.Store
	url     string
	backend string
}

func newDirectoryEnv(t *testing.T, backend string) directoryEnv {
	t.Helper()
	url := repotest.NewDatabase(t, backend)
	open := func() *repo.Store {
		s, err := repo.Open(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	}
	service, other := open(), open()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := service.StartDirectory(ctx); err != nil {
		t.Fatal(err)
	}
	return directoryEnv{Env: handlertest.New(t, service), Other: other, url: url, backend: backend}
}

// addAccount creates an account through the other store.
func (e directoryEnv) addAccount(parent, token string, created models.Date) string {
	e.T.Helper()
	a := models.Account{Sid: models.NewAccountSid(), Name: "acct", ParentSid: parent, Currency: "usd", CreatedAt: created.Time()}
	if err := e.Other.CreateAccount(context.Background(), a, models.HashAuthToken(token)); err != nil {
		e.T.Fatal(err)
	}
	return a.Sid
}

func ingest(t *testing.T, s *repo.Store, sid string, day models.Date) {
	t.Helper()
	ev := models.UsageEvent{ID: "ev-" + day.String() + "-" + sid[2:10], AccountSid: sid, Category: "sms-outbound",
		OccurredAt: day.Time().Add(time.Hour), Count: 1, Usage: 1_000_000, Price: 7_500}
	if _, err := s.RecordUsageEvents(context.Background(), []models.UsageEvent{ev}); err != nil {
		t.Fatal(err)
	}
}

func (e directoryEnv) basic(path, sid, token string) int {
	e.T.Helper()
	req, err := http.NewRequest(http.MethodGet, e.Srv.URL+path, nil)
	if err != nil {
		e.T.Fatal(err)
	}
	req.SetBasicAuth(sid, token)
	return e.Send(req).StatusCode
}

// defaultStart is the StartDate of a ListUsageRecords answer without one.
func (e directoryEnv) defaultStart(sid string) string {
	e.T.Helper()
	res := e.Do(http.MethodGet, "/billing/usage?AccountId="+sid+"&Category=sms", e.Admin(), nil)
	var recs []struct{ StartDate string }
	res.JSON(e.T, &recs)
	if res.StatusCode != http.StatusOK || len(recs) != 1 {
		e.T.Fatalf("status %d, body %s", res.StatusCode, res.Body)
	}
	return recs[0].StartDate
}

// within polls cond until it holds or the bound has passed since start.
func within(t *testing.T, start time.Time, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if time.Since(start) > bound {
			t.Fatalf("%s: not within %v", what, bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDirectoryFindsAccountAddedElsewhereAtOnce(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			e := newDirectoryEnv(t, backend)
			created := models.NewDate(2024, 3, 1)
			parent := e.addAccount("", "parent-token", created)
			child := e.addAccount(parent, "child-token", created)
			// First use, straight after the other process's commit: the
			// child is read with its parent, so the parent's manager may read it.
			if res := e.Do(http.MethodGet, "/billing/usage?AccountId="+child, e.Manager(parent), nil); res.StatusCode != http.StatusOK {
				t.Fatalf("manager of the parent reads a new child: status %d, %s", res.StatusCode, res.Body)
			}
			if code := e.basic("/2010-04-01/Accounts/"+child+"/Usage/Records.json", child, "child-token"); code != http.StatusOK {
				t.Fatalf("Basic on a new account: %d", code)
			}
			// A SID that does not exist yet is not remembered as missing.
			later := models.NewAccountSid()
			if res := e.Do(http.MethodGet, "/billing/usage?AccountId="+later, e.Admin(), nil); res.StatusCode != http.StatusNotFound {
				t.Fatalf("unknown account: status %d", res.StatusCode)
			}
			a := models.Account{Sid: later, Name: "late", Currency: "usd", CreatedAt: created.Time()}
			if err := e.Other.CreateAccount(context.Background(), a, models.HashAuthToken("t")); err != nil {
				t.Fatal(err)
			}
			if res := e.Do(http.MethodGet, "/billing/usage?AccountId="+later, e.Admin(), nil); res.StatusCode != http.StatusOK {
				t.Fatalf("account created after a miss: status %d", res.StatusCode)
			}
		})
	}
}

func TestDirectoryReparentingRefused(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			e := newDirectoryEnv(t, backend)
			created := models.NewDate(2024, 3, 1)
			a, b := e.addAccount("", "a", created), e.addAccount("", "b", created)
			child := e.addAccount(a, "c", created)
			// No code path changes a parent; the schema refuses it from anyone.
			driver := map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[backend]
			db, err := sql.Open(driver, e.url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			_, err = db.Exec(`UPDATE accounts SET parent_sid = '` + b + `' WHERE sid = '` + child + `'`)
			if err == nil || !strings.Contains(err.Error(), "parent") {
				t.Fatalf("re-parenting: %v, want refused", err)
			}
			if _, err := db.Exec(`UPDATE accounts SET parent_sid = NULL WHERE sid = '` + child + `'`); err == nil {
				t.Fatal("detaching a sub-account was allowed")
			}
			// Still under a: b's manager may not read it, a's may.
			if res := e.Do(http.MethodGet, "/billing/usage?AccountId="+child, e.Manager(b), nil); res.StatusCode != http.StatusForbidden {
				t.Fatalf("b's manager: %d", res.StatusCode)
			}
			if res := e.Do(http.MethodGet, "/billing/usage?AccountId="+child, e.Manager(a), nil); res.StatusCode != http.StatusOK {
				t.Fatalf("a's manager: %d", res.StatusCode)
			}
		})
	}
}

func TestDirectoryTokenRotationElsewhereWithinBound(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			e := newDirectoryEnv(t, backend)
			sid := e.addAccount("", "old-token", models.NewDate(2024, 3, 1))
			path := "/2010-04-01/Accounts/" + sid + "/Usage/Records.json"
			if code := e.basic(path, sid, "old-token"); code != http.StatusOK {
				t.Fatalf("old token before rotation: %d", code)
			}
			if err := e.Other.SetAuthToken(context.Background(), sid, models.HashAuthToken("new-token"), nil); err != nil {
				t.Fatal(err)
			}
			rotated := time.Now()
			within(t, rotated, rotationBound, "old token refused", func() bool { return e.basic(path, sid, "old-token") == http.StatusUnauthorized })
			within(t, rotated, rotationBound, "new token accepted", func() bool { return e.basic(path, sid, "new-token") == http.StatusOK })
			// And it stays that way.
			if code := e.basic(path, sid, "old-token"); code != http.StatusUnauthorized {
				t.Fatalf("old token after rotation: %d", code)
			}
		})
	}
}

func TestDirectoryLateEventMovesDefaultStart(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			e := newDirectoryEnv(t, backend)
			created := models.NewDate(2024, 3, 1)
			sid := e.addAccount("", "t", created)
			ingest(t, e.Store, sid, created+3)
			if got := e.defaultStart(sid); got != "2024-03-01" {
				t.Fatalf("default start %s, want the creation day", got)
			}
			// Ingested by this service: the very next request sees it.
			ingest(t, e.Store, sid, created-10)
			if got := e.defaultStart(sid); got != "2024-02-20" {
				t.Fatalf("after this service ingested a late handlertest.Event: default start %s, want 2024-02-20", got)
			}
			// Ingested by another process: SQLite sees it on the very next
			// request; Postgres as soon as the notification arrives.
			ingest(t, e.Other, sid, created-20)
			if backend == "sqlite" {
				if got := e.defaultStart(sid); got != "2024-02-10" {
					t.Fatalf("after another process ingested a late handlertest.Event: default start %s", got)
				}
			}
			within(t, time.Now(), rotationBound, "default start from another process's late handlertest.Event",
				func() bool { return e.defaultStart(sid) == "2024-02-10" })
		})
	}
}

// TestUsageRequestIsOneStatement counts what the service sends to the
// database for a usage request of each face once the directory holds the
// account: the usage read alone (on SQLite also the in-process read of the
// change log, which is what stands in for NOTIFY there).
func TestUsageRequestIsOneStatement(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			e := newDirectoryEnv(t, backend)
			created := models.NewDate(2024, 1, 1)
			parent := e.addAccount("", "parent-token", created)
			child := e.addAccount(parent, "child-token", created)
			ingest(t, e.Other, child, created+5)
			token := e.Manager(parent)
			bearer := func(path string) int {
				req, _ := http.NewRequest(http.MethodGet, e.Srv.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				return e.Send(req).StatusCode
			}
			requests := []struct {
				name  string
				reads int // usage statements: a range answer is one; a bucketed one without Category reads its totals first
				send  func() int
			}{
				{"ListUsageRecords default range", 1, func() int { return bearer("/billing/usage?AccountId=" + child) }},
				{"ListUsageRecords by category", 1, func() int {
					return bearer("/billing/usage?AccountId=" + child + "&Category=sms&StartDate=2024-01-01&EndDate=2024-03-01")
				}},
				{"Usage Records, Basic, with sub-accounts", 1, func() int {
					return e.basic("/2010-04-01/Accounts/"+parent+"/Usage/Records.json", parent, "parent-token")
				}},
				{"Usage Records, bearer, all time", 1, func() int { return bearer("/2010-04-01/Accounts/" + parent + "/Usage/Records/AllTime.json") }},
				{"Usage Records, Basic, monthly by category", 1, func() int {
					return e.basic("/2010-04-01/Accounts/"+parent+"/Usage/Records/Monthly.json?Category=sms", parent, "parent-token")
				}},
				{"Usage Records, Basic, monthly", 2, func() int {
					return e.basic("/2010-04-01/Accounts/"+parent+"/Usage/Records/Monthly.json", parent, "parent-token")
				}},
			}
			for _, r := range requests {
				name, send := r.name, r.send
				send() // warm: the directory has read the accounts on first use
				var (
					mu    sync.Mutex
					stmts []string
				)
				e.Store.TraceStatements(func(sql string) {
					mu.Lock()
					defer mu.Unlock()
					if !strings.Contains(sql, "directory_changes") {
						stmts = append(stmts, sql)
					}
				})
				code := send()
				e.Store.TraceStatements(nil)
				if code != http.StatusOK {
					t.Fatalf("%s: status %d", name, code)
				}
				usage := 0
				for _, s := range stmts {
					if strings.Contains(s, "usage_daily") || strings.Contains(s, "usage_monthly") {
						usage++
					}
				}
				if len(stmts) != r.reads || usage != r.reads {
					t.Errorf("%s: %d statements, want %d usage reads alone: %q", name, len(stmts), r.reads, stmts)
				}
			}
		})
	}
}
