package servicestack_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// nodeTestVar switches on the test with the official @servicestack/client.
// .ci/run sets it after `npm ci` in its folder, so a broken install fails CI.
const nodeTestVar = "BILLING_TEST_NODE"

// TestServiceStackClient runs handlers/servicestack/testdata/servicestack-client with
// Node: JsonServiceClient and the DTOs from /types/typescript, as a
// SystemAdministrator and as a Manager, on /api and /json/reply, for
// ListUsageRecords, RecordUsageEvents, ListAccounts and ListAccountUsage.
func TestServiceStackClient(t *testing.T) {
	if os.Getenv(nodeTestVar) == "" {
		t.Skipf("%s is not set (run npm ci in handlers/servicestack/testdata/servicestack-client, then set it)", nodeTestVar)
	}
	dir, err := filepath.Abs("testdata/servicestack-client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@servicestack", "client")); err != nil {
		t.Fatalf("%s is set but the npm packages are not installed: run npm ci in %s", nodeTestVar, dir)
	}
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		day := models.NewDate(2024, 1, 1)
		parent := e.Account("Parent", "", day)
		child := e.Account("Child", parent, day)
		other := e.Account("Other", "", day)
		e.Ingest(
			handlertest.Event{"id": "c1", "accountSid": child, "category": "calls-outbound", "occurredAt": "2024-02-01T10:00:00Z", "usage": "12.5", "price": "0.50"},
			handlertest.Event{"id": "c2", "accountSid": child, "category": "calls-inbound-tollfree", "occurredAt": "2024-02-02T10:00:00Z", "count": 2, "usage": "7", "price": "0.25"},
			handlertest.Event{"id": "s1", "accountSid": child, "category": "sms-outbound-longcode", "occurredAt": "2024-02-03T10:00:00Z", "count": 3, "price": "0.0225"},
		)
		rangeJSON := `{"startDate":"2024-02-01","endDate":"2024-02-29"}`
		r := e.Get("/billing/usage?AccountId="+child+"&StartDate=2024-02-01&EndDate=2024-02-29", e.Admin())
		if r.StatusCode != 200 {
			t.Fatalf("expected answer: %d %s", r.StatusCode, r.Body)
		}
		if !json.Valid(r.Body) {
			t.Fatalf("expected answer is not JSON: %s", r.Body)
		}

		overview := e.Get("/billing/usage/accounts?Category=calls&OrderBy=name&StartDate=2024-02-01&EndDate=2024-02-29", e.Manager(parent))
		if overview.StatusCode != 200 {
			t.Fatalf("expected overview: %d %s", overview.StatusCode, overview.Body)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "node", "--test", "client.test.mjs")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"BILLING_URL="+e.Srv.URL,
			"BILLING_ADMIN_TOKEN="+e.Admin(),
			"BILLING_MANAGER_TOKEN="+e.Manager(parent),
			"BILLING_ACCOUNT="+child,
			"BILLING_PARENT_ACCOUNT="+parent,
			"BILLING_FORBIDDEN_ACCOUNT="+other,
			"BILLING_RANGE="+rangeJSON,
			"BILLING_EXPECTED="+string(r.Body),
			"BILLING_EXPECTED_OVERVIEW="+string(overview.Body),
		)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node --test failed: %v\n%s", err, out)
		}
		t.Logf("node --test:\n%s", out)
	})
}
