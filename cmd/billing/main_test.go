package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

const testSecret = "cli-test-secret-cli-test-secret-0123456789"

// billing runs the binary's entry point in-process and returns its output.
func billing(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out)
	return out.String(), err
}

func TestHelpListsEveryEnvironmentVariable(t *testing.T) {
	out, err := billing(t, "help")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"BILLING_ADDR", "BILLING_DATABASE_URL", "BILLING_JWT_SECRET", "BILLING_JWT_PUBLIC_KEY", "BILLING_DATA_DIR", "serve", "migrate", "account", "ingest", "token"} {
		if !strings.Contains(out, v) {
			t.Errorf("help does not mention %s", v)
		}
	}
	if _, err := billing(t, "frobnicate"); err == nil {
		t.Error("an unknown command should fail")
	}
	if _, err := billing(t, "serve", "--no-such-flag"); err == nil || !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("a bad flag: %v", err)
	}
}

func TestSubcommands(t *testing.T) {
	if out, err := billing(t, "bench", "help"); err != nil || !strings.Contains(out, "seed|query|ingest") {
		t.Errorf("bench help: %q, %v", out, err)
	}
	if _, err := billing(t, "account"); err == nil || err.Error() != "account: say add or rotate-token" {
		t.Errorf("account without a verb: %v", err)
	}
	if _, err := billing(t, "user", "frob"); err == nil || err.Error() != `user: unknown subcommand "frob" (add, set-password)` {
		t.Errorf("an unknown verb: %v", err)
	}
	if _, err := billing(t, "bench", "seed", "--help"); err != nil {
		t.Errorf("--help after a verb prints its flags and succeeds: %v", err)
	}
}

func TestAccountsAndIngestion(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			db := repotest.NewDatabase(t, backend)
			if _, err := billing(t, "migrate", "--db", db); err != nil {
				t.Fatal(err)
			}
			out, err := billing(t, "account", "add", "--db", db, "--name", "Acme", "--currency", "EUR")
			if err != nil {
				t.Fatal(err)
			}
			vals := parseEnv(out)
			parent, token := vals["ACCOUNT_SID"], vals["AUTH_TOKEN"]
			if _, ok := models.NormalizeAccountSid(parent); !ok || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(token) {
				t.Fatalf("account add printed %q", out)
			}
			sub := "AC" + strings.Repeat("ab", 16)
			if _, err := billing(t, "account", "add", "--db", db, "--name", "Sub", "--sid", strings.ToUpper(sub[2:3])+sub[3:], "--parent", parent); err == nil {
				t.Error("a malformed --sid should fail")
			}
			if _, err := billing(t, "account", "add", "--db", db, "--name", "Sub", "--sid", sub, "--parent", parent); err != nil {
				t.Fatal(err)
			}
			if _, err := billing(t, "account", "add", "--db", db, "--name", "Again", "--sid", sub); err == nil {
				t.Error("a taken SID should fail")
			}
			if _, err := billing(t, "account", "add", "--db", db, "--name", "Orphan", "--parent", models.NewAccountSid()); err == nil {
				t.Error("an unknown parent should fail")
			}

			store, err := repo.Open(db)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			ctx := context.Background()
			hash, err := store.AuthTokenHash(ctx, parent)
			if err != nil || !models.AuthTokenMatches(token, hash) || hash == token {
				t.Fatalf("stored hash %q does not match the printed token", hash)
			}
			if a, err := store.Account(ctx, sub); err != nil || a.Currency != "eur" || a.ParentSid != parent {
				t.Errorf("sub-account %+v, %v (should inherit the parent's currency)", a, err)
			}
			out, err = billing(t, "account", "rotate-token", "--db", db, parent)
			if err != nil {
				t.Fatal(err)
			}
			newHash, _ := store.AuthTokenHash(ctx, parent)
			if models.AuthTokenMatches(token, newHash) || !models.AuthTokenMatches(parseEnv(out)["AUTH_TOKEN"], newHash) {
				t.Error("rotate-token did not replace the token")
			}

			// Ingestion: a bad file stores nothing and names its lines.
			dir := t.TempDir()
			good := `{"id":"e1","accountSid":"` + parent + `","category":"calls-outbound","occurredAt":"2024-02-01T10:00:00Z","usage":"2.5","price":"0.05"}
{"id":"e2","accountSid":"` + sub + `","category":"sms-outbound-longcode","occurredAt":"2024-02-01T23:59:59Z","count":3,"price":"0.03","currency":"eur"}

{"id":"e3","accountSid":"` + parent + `","category":"calls-outbound","occurredAt":"2024-02-02T00:00:00Z","usage":1}
`
			bad := good + `{"id":"e4","accountSid":"` + parent + `","category":"fax","occurredAt":"2024-02-02T00:00:00Z"}
not json
{"id":"c-\ud800","accountSid":"` + parent + `","category":"calls","occurredAt":"2024-02-02T00:00:00Z","Price":"5","price":"0"}
`
			write := func(name, body string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			_, err = billing(t, "ingest", "--db", db, write("bad.ndjson", bad))
			if err == nil || !strings.Contains(err.Error(), "line 5: category") || !strings.Contains(err.Error(), "line 6: not a valid usage event") ||
				!strings.Contains(err.Error(), `line 7: id must not hold a \u escape`) || !strings.Contains(err.Error(), `line 7: price is given more than once`) {
				t.Fatalf("bad file: %v", err)
			}
			if bad, _ := store.CheckRollups(ctx, 1); len(bad) != 0 {
				t.Fatal("a refused file left rollups")
			}
			out, err = billing(t, "ingest", "--db", db, write("good.ndjson", good))
			if err != nil || !strings.Contains(out, "accepted 3, duplicates 0") {
				t.Fatalf("good file: %q %v", out, err)
			}
			out, err = billing(t, "ingest", "--db", db, write("good.ndjson", good))
			if err != nil || !strings.Contains(out, "accepted 0, duplicates 3") {
				t.Fatalf("good file again: %q %v", out, err)
			}
			conflict := strings.Replace(good, `"price":"0.05"`, `"price":"0.06"`, 1)
			if _, err := billing(t, "ingest", "--db", db, write("conflict.ndjson", conflict)); err == nil || !strings.Contains(err.Error(), "line 1") {
				t.Fatalf("conflicting file: %v", err)
			}
			totals, err := store.UsageTotals(ctx, models.UsageQuery{Accounts: []string{parent, sub}, Range: models.DateRange{Start: models.NewDate(2024, 2, 1), End: models.NewDate(2024, 2, 29)}})
			if err != nil {
				t.Fatal(err)
			}
			if c := totals["calls-outbound"]; c.Count != 2 || c.Usage.String() != "3.5" || c.Price.String() != "0.05" {
				t.Errorf("calls-outbound = %+v", c)
			}
			if s := totals["sms-outbound-longcode"]; s.Count != 3 || s.Price.String() != "0.03" {
				t.Errorf("sms = %+v", s)
			}
		})
	}
}

func parseEnv(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestTokenCommand(t *testing.T) {
	t.Setenv("BILLING_JWT_SECRET", testSecret)
	t.Setenv("BILLING_JWT_ISSUER", "billing-cli")
	acct := models.NewAccountSid()
	out, err := billing(t, "token", "--sub", "alice", "--roles", "Manager, Auditor", "--accounts", acct, "--ttl", "2h")
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.JWTConfig{Algorithm: "HS256", Secret: []byte(testSecret), Issuer: "billing-cli"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || len(c.Roles) != 2 || c.Roles[1] != "Auditor" || len(c.AccountIDs) != 1 || c.AccountIDs[0] != acct {
		t.Errorf("claims %+v", c)
	}
	if d := c.ExpiresAt.Sub(time.Now()); d < 119*time.Minute || d > 121*time.Minute {
		t.Errorf("expires in %s", d)
	}
	if _, err := billing(t, "token", "--roles", "Manager"); err == nil {
		t.Error("--sub is required")
	}
	if _, err := billing(t, "token", "--sub", "x", "--accounts", "ACnope"); err == nil {
		t.Error("a bad account SID should fail")
	}
	t.Setenv("BILLING_JWT_SECRET", "")
	if _, err := billing(t, "token", "--sub", "x", "--data-dir", t.TempDir()); err == nil {
		t.Error("without a secret, token should fail")
	}
}

// syncBuffer lets a test read what a running server prints.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeDemo is the README's first command: it seeds demo data, prints a
// URL and tokens that work, and shuts down cleanly when told to.
func TestServeDemo(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			dataDir := t.TempDir()
			t.Setenv("BILLING_JWT_SECRET", "")
			t.Setenv("BILLING_LOG_LEVEL", "error")
			args := []string{"serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir", dataDir}
			if backend == "postgres" {
				args = append(args, "--db", repotest.NewDatabase(t, backend))
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &syncBuffer{}
			done := make(chan error, 1)
			go func() { done <- run(ctx, args, out) }()

			var text string
			deadline := time.Now().Add(2 * time.Minute)
			for !strings.Contains(text, "Try:") {
				select {
				case err := <-done:
					t.Fatalf("serve stopped: %v\n%s", err, out)
				case <-time.After(50 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("no URL printed:\n%s", out)
				}
				text = out.String()
			}
			base := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(text)
			manager := fieldAfter(text, "Manager of Acme Voice:")
			admin := fieldAfter(text, "SystemAdministrator:")
			if info, err := os.Stat(filepath.Join(dataDir, "jwt-secret")); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("generated secret: %v %v", info, err)
			}

			get := func(path, token string) (int, []byte) {
				req, _ := http.NewRequest(http.MethodGet, base+path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, b
			}
			var recs []struct {
				Category  string
				Count     *int64
				Price     json.Number
				StartDate string
			}
			status, body := get("/billing/usage?AccountId="+demoSupport, manager)
			if status != 200 {
				t.Fatalf("manager reads a sub-account: %d %s", status, body)
			}
			if err := json.Unmarshal(body, &recs); err != nil || len(recs) != 26 {
				t.Fatalf("records: %v %s", err, body)
			}
			m := map[string]int64{}
			for _, r := range recs {
				if r.Count != nil {
					m[r.Category] = *r.Count
				}
			}
			for _, c := range []string{"calls", "calls-inbound", "sms", "phonenumbers", "recordings"} {
				if m[c] == 0 {
					t.Errorf("demo data has no %s usage", c)
				}
			}
			if m["calls"] < m["calls-inbound"]+m["calls-outbound"] {
				t.Errorf("calls %d < inbound %d + outbound %d", m["calls"], m["calls-inbound"], m["calls-outbound"])
			}
			if start, _ := models.ParseDate(recs[0].StartDate); models.DateOf(time.Now())-start < 390 {
				t.Errorf("demo history starts %s, want about 13 months back", recs[0].StartDate)
			}
			if status, _ := get("/billing/usage?AccountId="+demoMarketing, admin); status != 200 {
				t.Errorf("admin: %d", status)
			}
			if status, _ := get("/billing/usage?AccountId="+models.NewAccountSid(), manager); status != 403 {
				t.Errorf("manager, other account: %d", status)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("shutdown: %v", err)
				}
			case <-time.After(40 * time.Second):
				t.Fatal("serve did not shut down")
			}
			// A second start finds the data and does not add it again.
			ctx2, cancel2 := context.WithCancel(context.Background())
			out2 := &syncBuffer{}
			go func() { done <- run(ctx2, args, out2) }()
			for !strings.Contains(out2.String(), "Try:") && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			cancel2()
			if err := <-done; err != nil || !strings.Contains(out2.String(), "no demo data was added") {
				t.Errorf("second start: %v\n%s", err, out2)
			}
		})
	}
}

// fieldAfter finds the value on the line that starts with label.
func fieldAfter(text, label string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), label); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
