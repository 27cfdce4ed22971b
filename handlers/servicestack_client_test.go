package handlers_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// nodeTestVar switches on the test with the official @servicestack/client.
// .ci/run sets it after `npm ci` in its folder, so a broken install fails CI.
const nodeTestVar = "BILLING_TEST_NODE"

// TestServiceStackClient runs handlers/testdata/servicestack-client with
// Node: JsonServiceClient and the DTOs from /types/typescript, as a
// SystemAdministrator and as a Manager, on /api and /json/reply, for
// ListUsageRecords, RecordUsageEvents, ListAccounts and ListAccountUsage.
func TestServiceStackClient(t *testing.T) {
	if os.Getenv(nodeTestVar) == "" {
		t.Skipf("%s is not set (run npm ci in handlers/testdata/servicestack-client, then set it)", nodeTestVar)
	}
	dir, err := filepath.Abs("testdata/servicestack-client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@servicestack", "client")); err != nil {
		t.Fatalf("%s is set but the npm packages are not installed: run npm ci in %s", nodeTestVar, dir)
	}
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := newEnv(t, store)
		day := models.NewDate(2024, 1, 1)
		parent := e.account("Parent", "", day)
		child := e.account("Child", parent, day)
		other := e.account("Other", "", day)
		e.ingest(
			event{"id": "c1", "accountSid": child, "category": "calls-outbound", "occurredAt": "2024-02-01T10:00:00Z", "usage": "12.5", "price": "0.50"},
			event{"id": "c2", "accountSid": child, "category": "calls-inbound-tollfree", "occurredAt": "2024-02-02T10:00:00Z", "count": 2, "usage": "7", "price": "0.25"},
			event{"id": "s1", "accountSid": child, "category": "sms-outbound-longcode", "occurredAt": "2024-02-03T10:00:00Z", "count": 3, "price": "0.0225"},
		)
		rangeJSON := `{"startDate":"2024-02-01","endDate":"2024-02-29"}`
		r := e.get("/billing/usage?AccountId="+child+"&StartDate=2024-02-01&EndDate=2024-02-29", e.admin())
		if r.StatusCode != 200 {
			t.Fatalf("expected answer: %d %s", r.StatusCode, r.body)
		}
		if !json.Valid(r.body) {
			t.Fatalf("expected answer is not JSON: %s", r.body)
		}

		overview := e.get("/billing/usage/accounts?Category=calls&OrderBy=name&StartDate=2024-02-01&EndDate=2024-02-29", e.manager(parent))
		if overview.StatusCode != 200 {
			t.Fatalf("expected overview: %d %s", overview.StatusCode, overview.body)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "node", "--test", "client.test.mjs")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"BILLING_URL="+e.srv.URL,
			"BILLING_ADMIN_TOKEN="+e.admin(),
			"BILLING_MANAGER_TOKEN="+e.manager(parent),
			"BILLING_ACCOUNT="+child,
			"BILLING_PARENT_ACCOUNT="+parent,
			"BILLING_FORBIDDEN_ACCOUNT="+other,
			"BILLING_RANGE="+rangeJSON,
			"BILLING_EXPECTED="+string(r.body),
			"BILLING_EXPECTED_OVERVIEW="+string(overview.body),
		)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node --test failed: %v\n%s", err, out)
		}
		t.Logf("node --test:\n%s", out)
	})
}
