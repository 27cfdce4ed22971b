package bench_test

import (
	"context"
	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/cmd/billing/internal/bench"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// serve runs the real service over the store on a loopback port and returns
// its URL and a SystemAdministrator token.
func serve(t *testing.T, store *repo.Store) (string, string) {
	t.Helper()
	cfg := auth.JWTConfig{Algorithm: "HS256", Secret: []byte("bench-test-secret-bench-test-secret!")}
	verifier, err := auth.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auth.NewSigner(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handlers.New(handlers.Config{Store: store, Verifier: verifier, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	token, err := signer.Sign("bench", "", []string{auth.RoleSystemAdministrator}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, token
}

// recent is a small dataset ending today, so that relative ranges hit data.
func recent() synth.Dataset {
	return synth.Dataset{Seed: 3, Accounts: 25, Days: 120, End: models.DateOf(time.Now())}
}

func TestQueryLoad(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		ctx := context.Background()
		d := recent()
		if _, err := bench.Seed(ctx, store, d); err != nil {
			t.Fatal(err)
		}
		url, token := serve(t, store)
		// Every preset (both faces, every format) and a custom template.
		mix, err := bench.ParseMix(bench.DefaultMix, []string{"quarter:1:/billing/usage?AccountId={account}&StartDate={month-3}&EndDate={today}"})
		if err != nil {
			t.Fatal(err)
		}
		cfg := bench.QueryConfig{BaseURL: url, Token: token, Concurrency: 4, Duration: 700 * time.Millisecond,
			Mix: mix, Accounts: d.AccountList(), Today: d.End, Seed: 1, MetricsURL: url + "/metrics"}
		// A run draws its requests at random, and a loaded machine serves
		// only a few dozen in 700 ms: run again (another seed) until every
		// request of the mix was drawn, at most 10 times.
		var rep bench.QueryReport
		drawn := map[string]bool{}
		for round := 0; round < 10 && len(drawn) < len(mix); round++ {
			cfg.Seed = uint64(round + 1)
			var err error
			if rep, err = bench.RunQuery(ctx, cfg, nil); err != nil {
				t.Fatal(err)
			}
			if rep.All.Requests == 0 || rep.All.Errors != 0 {
				t.Fatalf("http load: %+v", rep)
			}
			for name, st := range rep.ByRequest {
				if st.Requests > 0 {
					drawn[name] = true
				}
			}
		}
		if len(drawn) != len(bench.Presets)+1 || !drawn["quarter"] || !drawn["monthly2y"] {
			t.Fatalf("http load drew %v of %d requests: %+v", drawn, len(bench.Presets)+1, rep)
		}
		if l := rep.All.Latency; !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
			t.Fatalf("latency percentiles out of order: %+v", l)
		}
		if rep.ServerRSSMaxBytes <= 0 {
			t.Fatal("the server's RSS was not sampled from /metrics")
		}

		// The baselines read straight from the store, through its own code.
		sqlMix, _ := bench.ParseMix(bench.DefaultMix, nil)
		for _, answerOnly := range []bool{false, true} {
			c := cfg
			c.Store, c.AnswerOnly, c.Mix = store, answerOnly, sqlMix
			rep, err := bench.RunQuery(ctx, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.All.Requests == 0 || rep.All.Errors != 0 || len(rep.ByRequest) != len(bench.Presets) {
				t.Fatalf("sql load (answer only: %t): %+v", answerOnly, rep)
			}
		}
		c := cfg
		c.Store = store
		if _, err := bench.RunQuery(ctx, c, nil); err == nil || !strings.Contains(err.Error(), "quarter has no SQL equivalent") {
			t.Fatalf("a custom template in the SQL baseline: %v", err)
		}
	})
}

func TestQueryLoadRefusesAMissingRoute(t *testing.T) {
	store := repotest.Open(t, "sqlite")
	d := recent()
	if _, err := bench.Seed(context.Background(), store, d); err != nil {
		t.Fatal(err)
	}
	url, token := serve(t, store)
	mix, _ := bench.ParseMix("alltime,nosuchroute:1", nil)
	if mix != nil {
		t.Fatal("an unknown preset was accepted")
	}
	mix, _ = bench.ParseMix("alltime", []string{"missing:1:/no/such/route/{account}"})
	_, err := bench.RunQuery(context.Background(), bench.QueryConfig{BaseURL: url, Token: token, Concurrency: 2, Duration: time.Second,
		Mix: mix, Accounts: d.AccountList(), Today: d.End}, nil)
	if err == nil || !strings.Contains(err.Error(), "missing failed before the run (404)") {
		t.Fatalf("got %v, want the probe to stop the run", err)
	}
}

func TestParseMix(t *testing.T) {
	for _, bad := range []string{"", "alltime:x", "alltime:-1", "alltime,alltime", "nope"} {
		if _, err := bench.ParseMix(bad, nil); err == nil {
			t.Errorf("mix %q was accepted", bad)
		}
	}
	for _, bad := range []string{"x:1", "x:0:/p", "x:1:/p?a={nope}", "alltime:1:/p"} {
		if _, err := bench.ParseMix("lastmonth", []string{bad}); err == nil {
			t.Errorf("template %q was accepted", bad)
		}
	}
	mix, err := bench.ParseMix(bench.DefaultMix, nil)
	if err != nil || len(mix) != len(bench.Presets) {
		t.Fatalf("default mix: %v, %d requests", err, len(mix))
	}
	mix, err = bench.ParseMix("alltime:0,lastmonth:5", nil)
	if err != nil || len(mix) != 1 || mix[0].Name != "lastmonth" || mix[0].Weight != 5 {
		t.Fatalf("weights: %+v %v", mix, err)
	}
}

func TestIngestLoad(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		ctx := context.Background()
		d := recent()
		if _, err := bench.Seed(ctx, store, d); err != nil {
			t.Fatal(err)
		}
		url, token := serve(t, store)
		cfg := bench.IngestConfig{BaseURL: url, Token: token, Accounts: d.AccountList(), Events: 2500, Batch: 400, Senders: 3,
			Duplicates: 0.1, RunID: "test-run", Today: d.End, Days: 40, Seed: 5}
		copyBaseline := store.Dialect() == repo.Postgres
		rep, err := bench.RunIngest(ctx, cfg, store, copyBaseline, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Accepted != 2500 || rep.ExpectedDuplicates == 0 || rep.Duplicates != rep.ExpectedDuplicates || rep.Sent != 2500+rep.ExpectedDuplicates {
			t.Fatalf("report: %+v", rep)
		}
		if !rep.Check.OK() || rep.Check.LedgerEvents != 2500 {
			t.Fatalf("check: %+v", rep.Check)
		}
		if copyBaseline && (rep.Copy == nil || rep.Copy.EventsPerSec <= 0) {
			t.Fatalf("copy baseline: %+v", rep.Copy)
		}
		// A second run with the same id prefix sends nothing new: the check
		// still holds, and the service reports every event as a duplicate.
		cfg.Duplicates = 0
		again, err := bench.RunIngest(ctx, cfg, store, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if again.Accepted != 0 || again.Duplicates != 2500 || !again.Check.OK() {
			t.Fatalf("second run: %+v, check %+v", again, again.Check)
		}
	})
}
