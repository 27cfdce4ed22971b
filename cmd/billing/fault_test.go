package main

import (
	"bufio"
	"context"
	"encoding/json"
	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/cmd/billing/internal/bench"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// The fault tests run the real `billing serve` in this process against a
// private PostgreSQL server that they stop, crash and start again; the
// shared server is never touched.

const faultSecret = "fault-test-secret-fault-test-secret!"

// requestTimeout is the service's deadline per request in these tests: no
// request may take longer than this, plus scheduling slack.
const requestTimeout = 4 * time.Second

type service struct {
	url   string
	admin string
}

// startService runs `billing serve` on a free loopback port and waits until
// it answers /healthz (not /readyz: the database may be down on purpose).
func startService(t *testing.T, dbURL string) service {
	t.Helper()
	t.Setenv("BILLING_JWT_SECRET", faultSecret)
	t.Setenv("BILLING_LOG_LEVEL", "error")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--db", dbURL, "--request-timeout", requestTimeout.String()}, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	s := service{url: "http://" + addr}
	waitFor(t, 10*time.Second, "the service to listen", func() bool { return status(s.url+"/healthz", "") == http.StatusOK })
	signer, err := auth.NewSigner(auth.JWTConfig{Algorithm: "HS256", Secret: []byte(faultSecret)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.admin, err = signer.Sign("fault-test", "", []string{auth.RoleSystemAdministrator}, nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	return s
}

var quick = &http.Client{Timeout: requestTimeout + 2*time.Second}

// status GETs a URL and returns the status, or 0 when no answer came.
func status(u, token string) int {
	code, _ := get(u, token)
	return code
}

func get(u, token string) (int, []byte) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := quick.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

// waitFor polls cond every 50 ms and returns how long it took to hold.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// openMigrated connects to the private server and migrates.
func openMigrated(t *testing.T, url string) *repo.Store {
	t.Helper()
	store, err := repo.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return store
}

func TestServiceStartsWithoutDatabase(t *testing.T) {
	pg := repotest.NewPrivatePostgres(t) // created, not started
	svc := startService(t, pg.URL())
	sid := "AC00000000000000000000000000000f01"

	code, body := get(svc.url+"/readyz", "")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database down: %d %s", code, body)
	}
	code, body = get(svc.url+"/billing/usage?AccountId="+sid, svc.admin)
	var eb struct {
		ResponseStatus struct{ ErrorCode, Message string } `json:"responseStatus"`
	}
	if err := json.Unmarshal(body, &eb); code != http.StatusServiceUnavailable || err != nil || eb.ResponseStatus.ErrorCode != "ServiceUnavailable" || eb.ResponseStatus.Message == "" {
		t.Fatalf("API with the database down: %d %s", code, body)
	}

	pg.Start()
	took := waitFor(t, 15*time.Second, "readiness after the database started", func() bool { return status(svc.url+"/readyz", "") == http.StatusOK })
	t.Logf("ready %s after the database started", took.Round(time.Millisecond))

	// The service migrated the database by itself: an account made directly
	// in it is served.
	store := openMigrated(t, pg.URL())
	if err := store.CreateAccount(context.Background(), models.Account{Sid: sid, Name: "late", Currency: "usd", CreatedAt: time.Now()}, "h"); err != nil {
		t.Fatal(err)
	}
	if code, body := get(svc.url+"/billing/usage?AccountId="+sid, svc.admin); code != http.StatusOK {
		t.Fatalf("after recovery: %d %s", code, body)
	}
}

func TestPostgresRestartDuringReadLoad(t *testing.T) {
	pg := repotest.NewPrivatePostgres(t)
	pg.Start()
	d := synth.Dataset{Seed: 11, Accounts: 30, Days: 100, End: models.DateOf(time.Now())}
	if _, err := bench.Seed(context.Background(), openMigrated(t, pg.URL()), d); err != nil {
		t.Fatal(err)
	}
	svc := startService(t, pg.URL())
	waitFor(t, 15*time.Second, "readiness", func() bool { return status(svc.url+"/readyz", "") == http.StatusOK })

	mix, err := bench.ParseMix("alltime,lastmonth,category90", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := bench.QueryConfig{BaseURL: svc.url, Token: svc.admin, Concurrency: 6, Duration: 7 * time.Second,
		Mix: mix, Accounts: d.AccountList(), Today: d.End, Seed: 1, Timeout: 3 * requestTimeout}
	type result struct {
		rep bench.QueryReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := bench.RunQuery(context.Background(), cfg, nil)
		done <- result{rep, err}
	}()

	time.Sleep(2 * time.Second)
	pg.Stop("fast")
	time.Sleep(1500 * time.Millisecond)
	pg.Start()
	back := waitFor(t, 10*time.Second, "answers after the restart", func() bool {
		return status(svc.url+"/billing/usage?AccountId="+d.AccountList()[0].Sid, svc.admin) == http.StatusOK
	})
	t.Logf("serving again %s after the database accepted connections", back.Round(time.Millisecond))
	if back > 5*time.Second {
		t.Errorf("took %s to serve again, want a few seconds", back)
	}

	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("during the restart: %d requests, %d errors %v, max %.0f ms", r.rep.All.Requests, r.rep.All.Errors, r.rep.All.ByError, r.rep.All.Latency.Max)
	if r.rep.All.Errors == 0 {
		t.Error("no request failed: the restart did not happen during the load")
	}
	for kind := range r.rep.All.ByError {
		if kind != "503" {
			t.Errorf("requests failed with %s (%d of them); only 503 is acceptable while the database is down", kind, r.rep.All.ByError[kind])
		}
	}
	if max := time.Duration(r.rep.All.Latency.Max * float64(time.Millisecond)); max > requestTimeout+time.Second {
		t.Errorf("a request took %s, beyond the %s deadline", max, requestTimeout)
	}

	// Every pooled connection has recovered: a fresh load sees no error.
	cfg.Duration = time.Second
	after, err := bench.RunQuery(context.Background(), cfg, nil)
	if err != nil || after.All.Errors != 0 || after.All.Requests == 0 {
		t.Fatalf("after the restart: %v %+v", err, after.All)
	}
}

func TestPostgresCrashDuringIngestion(t *testing.T) {
	pg := repotest.NewPrivatePostgres(t)
	pg.Start()
	d := synth.Dataset{Seed: 12, Accounts: 60, Days: 30, End: models.DateOf(time.Now())}
	store := openMigrated(t, pg.URL())
	if _, err := bench.Seed(context.Background(), store, d); err != nil {
		t.Fatal(err)
	}
	svc := startService(t, pg.URL())
	waitFor(t, 15*time.Second, "readiness", func() bool { return status(svc.url+"/readyz", "") == http.StatusOK })

	cfg := bench.IngestConfig{BaseURL: svc.url, Token: svc.admin, Accounts: d.AccountList(), Events: 40_000, Batch: 500,
		Senders: 4, Duplicates: 0.05, RunID: "crash", Today: d.End, Days: 5, Seed: 3, Retry: true, Timeout: 3 * requestTimeout}
	type result struct {
		rep bench.IngestReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := bench.RunIngest(context.Background(), cfg, nil, false, nil)
		done <- result{rep, err}
	}()

	// Crash the server once about a fifth of the events are in.
	waitFor(t, 60*time.Second, "ingestion to get going", func() bool { return ingested(svc.url) >= cfg.Events/5 })
	pg.Stop("immediate")
	time.Sleep(time.Second)
	pg.Start()

	r := <-done
	if r.err != nil {
		t.Fatalf("ingestion: %v", r.err)
	}
	t.Logf("ingestion through the crash: %d events posted, %d retries, batch latency max %.0f ms", r.rep.Sent, r.rep.Retries, r.rep.Latency.Latency.Max)
	if r.rep.Retries == 0 {
		t.Error("no batch was retried: the crash did not happen during ingestion")
	}
	if max := time.Duration(r.rep.Latency.Latency.Max * float64(time.Millisecond)); max > requestTimeout+time.Second {
		t.Errorf("a batch took %s, beyond the %s deadline", max, requestTimeout)
	}
	// Nothing lost, nothing counted twice: the ledger holds each event once
	// with the sums sent, and every rollup equals a recount of the ledger.
	check, err := bench.Verify(context.Background(), store, "crash-", cfg.Events, r.rep.Expected)
	if err != nil {
		t.Fatal(err)
	}
	if !check.OK() {
		t.Fatalf("after the crash: %+v", check)
	}
}

// ingested reads billing_ingested_events_total from /metrics.
func ingested(base string) int {
	res, err := quick.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "billing_ingested_events_total "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int(f)
		}
	}
	return 0
}

func TestPprofListensOnLoopbackOnly(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:6060", "example.com:6060"} {
		if _, _, err := servePprof(addr, log); err == nil {
			t.Errorf("--pprof %s was accepted", addr)
		}
	}
	url, stop, err := servePprof("127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if code, body := get(url, ""); code != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("GET %s: %d", url, code)
	}
}
