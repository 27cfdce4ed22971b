package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo/repotest"
)

// TestReadReplicas runs `billing serve` on a private primary with a
// streaming replica of it (pg_basebackup -R): usage reads are served by the
// replica, as the replica's own table statistics show; with the replica
// stopped they go on on the primary with no request failing; delayed beyond
// BILLING_REPLICA_MAX_LAG it is skipped, and used again once it catches up.
func TestReadReplicas(t *testing.T) {
	primary := repotest.NewPrivatePostgres(t)
	primary.Start()
	primary.Exec("CREATE DATABASE billing")
	replica := primary.NewReplica()
	replica.Start()
	store := openMigrated(t, primary.DatabaseURL("billing"))
	ctx := context.Background()
	sid, token := models.NewAccountSid(), models.NewAuthToken()
	if err := store.CreateAccount(ctx, models.Account{Sid: sid, Name: "Replica Co", Currency: "usd", CreatedAt: time.Now().UTC()}, models.HashAuthToken(token)); err != nil {
		t.Fatal(err)
	}
	ingest := func(id string) {
		t.Helper()
		if _, err := store.RecordUsageEvents(ctx, []models.UsageEvent{{ID: id, AccountSid: sid, Category: "calls-outbound",
			OccurredAt: time.Now().UTC().Truncate(time.Microsecond), Count: 1, Usage: 1_000_000}}); err != nil {
			t.Fatal(err)
		}
	}
	ingest("e1")

	const maxLag = time.Second
	t.Setenv("BILLING_DATABASE_REPLICA_URLS", replica.DatabaseURL("billing"))
	t.Setenv("BILLING_REPLICA_MAX_LAG", maxLag.String())
	t.Setenv("BILLING_TRIGGER_INTERVAL", "1h")
	svc := startService(t, primary.DatabaseURL("billing"))
	replicaUp := func(want float64) func() bool {
		return func() bool { return metric(svc.url, "billing_replica_up") == want }
	}
	waitFor(t, 30*time.Second, "the replica to be used", replicaUp(1))

	read := func() error {
		code, body := get(svc.url+"/billing/usage?AccountId="+sid, svc.admin)
		if code != http.StatusOK {
			return fmt.Errorf("read: %d %s", code, body)
		}
		return nil
	}
	// The replica's scans of the service's tables: its health checks touch
	// none, so only reads it served move them.
	replicaDB, err := sql.Open("pgx", replica.DatabaseURL("billing"))
	if err != nil {
		t.Fatal(err)
	}
	defer replicaDB.Close()
	scans := func() int64 {
		var n int64
		if err := replicaDB.QueryRow("SELECT COALESCE(SUM(seq_scan + COALESCE(idx_scan, 0)), 0) FROM pg_stat_user_tables").Scan(&n); err != nil {
			return -1
		}
		return n
	}

	t.Run("reads go to the replica", func(t *testing.T) {
		before, served := scans(), metric(svc.url, "billing_replica_reads_total")
		for range 20 {
			if err := read(); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 15*time.Second, "the replica's statistics to show the reads", func() bool { return scans() >= before+20 })
		if got := metric(svc.url, "billing_replica_reads_total") - served; got < 20 {
			t.Errorf("billing_replica_reads_total rose by %v, want at least 20", got)
		}
	})

	t.Run("a stopped replica leaves the reads to the primary", func(t *testing.T) {
		var failed, done atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := read(); err != nil {
						failed.Add(1)
						t.Error(err)
					}
					done.Add(1)
				}
			})
		}
		time.Sleep(300 * time.Millisecond)
		replica.Stop("immediate")
		skipped := waitFor(t, 10*time.Second, "the replica to be skipped", replicaUp(0))
		time.Sleep(time.Second) // reads on the primary alone
		close(stop)
		wg.Wait()
		t.Logf("replica stopped: skipped after %s; %d reads meanwhile, %d failed, %v retried on the primary",
			skipped.Round(time.Millisecond), done.Load(), failed.Load(), metric(svc.url, "billing_replica_fallbacks_total"))
		replica.Start()
		back := waitFor(t, 30*time.Second, "the restarted replica to be used again", replicaUp(1))
		t.Logf("replica restarted: in use again after %s", back.Round(time.Millisecond))
	})

	t.Run("a delayed replica is skipped until it catches up", func(t *testing.T) {
		replica.Exec("ALTER SYSTEM SET recovery_min_apply_delay = '4s'", "SELECT pg_reload_conf()")
		defer replica.Exec("ALTER SYSTEM RESET recovery_min_apply_delay", "SELECT pg_reload_conf()")
		time.Sleep(time.Second) // the setting is read by the startup process
		ingest("e2")
		waitFor(t, 10*time.Second, "the lagging replica to be skipped", replicaUp(0))
		if lag := metric(svc.url, "billing_replica_lag_seconds"); lag <= maxLag.Seconds() {
			t.Errorf("skipped with a lag of %vs", lag)
		}
		before := metric(svc.url, "billing_replica_reads_total")
		for range 5 {
			if err := read(); err != nil {
				t.Fatal(err)
			}
		}
		if served := metric(svc.url, "billing_replica_reads_total"); served != before && metric(svc.url, "billing_replica_up") == 0 {
			t.Errorf("the skipped replica served %v reads", served-before)
		}
		waitFor(t, 15*time.Second, "the replica to catch up and be used again", replicaUp(1))
		before = metric(svc.url, "billing_replica_reads_total")
		if err := read(); err != nil {
			t.Fatal(err)
		}
		if metric(svc.url, "billing_replica_reads_total") == before {
			t.Error("the caught-up replica serves no reads")
		}
	})

	t.Run("as_of is when the data read is current to", func(t *testing.T) {
		// A second instance tolerates 30 s of lag: it keeps reading the
		// delayed replica, whose answer predates the write and says so; the
		// first instance skips it and answers from the primary, as of now.
		t.Setenv("BILLING_REPLICA_MAX_LAG", "30s")
		tolerant := startService(t, primary.DatabaseURL("billing"))
		waitFor(t, 30*time.Second, "the tolerant instance to use the replica", func() bool { return metric(tolerant.url, "billing_replica_up") == 1 })
		replica.Exec("ALTER SYSTEM SET recovery_min_apply_delay = '4s'", "SELECT pg_reload_conf()")
		defer replica.Exec("ALTER SYSTEM RESET recovery_min_apply_delay", "SELECT pg_reload_conf()")
		time.Sleep(time.Second)
		wrote := time.Now().UTC()
		ingest("e3")
		waitFor(t, 10*time.Second, "the strict instance to skip the replica", replicaUp(0))
		onReplica, onPrimary := twilioCalls(t, tolerant.url, sid, token), twilioCalls(t, svc.url, sid, token)
		if onReplica.count != onPrimary.count-1 {
			t.Errorf("calls: %d on the delayed replica, %d on the primary; want the replica one behind", onReplica.count, onPrimary.count)
		}
		if !onReplica.asOf.Before(wrote) {
			t.Errorf("the delayed replica's as_of %s is not before the write at %s", onReplica.asOf, wrote)
		}
		if onPrimary.asOf.Before(wrote.Truncate(time.Second)) {
			t.Errorf("the primary's as_of %s is before the write at %s", onPrimary.asOf, wrote)
		}
		waitFor(t, 15*time.Second, "the replica to catch up", replicaUp(1))
	})

	t.Run("an idle primary does not make the replica look stale", func(t *testing.T) {
		time.Sleep(3 * maxLag)
		if up := metric(svc.url, "billing_replica_up"); up != 1 {
			t.Fatalf("replica up %v after %s without writes (lag %vs)", up, 3*maxLag, metric(svc.url, "billing_replica_lag_seconds"))
		}
	})
}

type twilioAnswer struct {
	count int
	asOf  time.Time
}

// twilioCalls reads the account's all-time calls record on the Restcomm face.
func twilioCalls(t *testing.T, base, sid, token string) twilioAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/2010-04-01/Accounts/"+sid+"/Usage/Records.json?Category=calls", nil)
	req.SetBasicAuth(sid, token)
	res, err := quick.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var page struct {
		Records []struct {
			AsOf  string `json:"as_of"`
			Count string `json:"count"`
		} `json:"usage_records"`
	}
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil || res.StatusCode != http.StatusOK || len(page.Records) != 1 {
		t.Fatalf("usage records: %d %v %+v", res.StatusCode, err, page)
	}
	n, _ := strconv.Atoi(page.Records[0].Count)
	asOf, err := time.Parse("2006-01-02T15:04:05-07:00", page.Records[0].AsOf)
	if err != nil {
		t.Fatalf("as_of %q: %v", page.Records[0].AsOf, err)
	}
	return twilioAnswer{count: n, asOf: asOf}
}

// metric reads one unlabelled-or-single-series value from /metrics; -1 when
// it is absent.
func metric(base, name string) float64 {
	_, body := get(base+"/metrics", "")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? (\S+)$`).FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[2]), 64)
	if err != nil {
		return -1
	}
	return v
}
