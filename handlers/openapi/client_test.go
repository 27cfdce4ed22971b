package openapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// nodeTestVar switches on the tests that run npm tools; .ci/run sets it
// after `npm ci` in testdata/openapi-tools, so a broken install fails CI.
const nodeTestVar = "BILLING_TEST_NODE"

// tools is the folder of the npm tools, installed.
func tools(t *testing.T) string {
	t.Helper()
	if os.Getenv(nodeTestVar) == "" {
		t.Skipf("%s is not set (run npm ci in handlers/openapi/testdata/openapi-tools, then set it)", nodeTestVar)
	}
	dir, err := filepath.Abs("testdata/openapi-tools")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "openapi-typescript")); err != nil {
		t.Fatalf("%s is set but the npm packages are not installed: run npm ci in %s", nodeTestVar, dir)
	}
	return dir
}

// run runs a command in dir and fails the test with its output.
func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_UPDATE_NOTIFIER=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// document saves the server's /openapi.json into dir.
func document(t *testing.T, base, dir string) string {
	t.Helper()
	res, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/openapi.json: %d %v", res.StatusCode, err)
	}
	path := filepath.Join(dir, "openapi.json")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenAPILint: the served document passes Redocly's recommended rules
// (errors fail; the recommended set's warnings are printed).
func TestOpenAPILint(t *testing.T) {
	dir := tools(t)
	store := repotest.Open(t, "sqlite")
	e := handlertest.New(t, store)
	doc := document(t, e.Srv.URL, t.TempDir())
	t.Log(run(t, dir, filepath.Join(dir, "node_modules", ".bin", "redocly"), "lint", doc, "--format=summary"))
}

// TestGeneratedClient: openapi-typescript generates types from the served
// document, tsc type-checks a client written against them (openapi-fetch),
// and the client calls the server: ListUsageRecords, and a Usage Records
// Daily page with Basic credentials.
func TestGeneratedClient(t *testing.T) {
	dir := tools(t)
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		work := t.TempDir()
		doc := document(t, f.Srv.URL, work)
		for _, name := range []string{"client.ts", "tsconfig.json"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(work, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(work, "package.json"), []byte(`{"type":"module"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(dir, "node_modules"), filepath.Join(work, "node_modules")); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "node_modules", ".bin")
		run(t, work, filepath.Join(bin, "openapi-typescript"), doc, "-o", "schema.d.ts")
		run(t, work, filepath.Join(bin, "tsc"), "-p", ".")
		cmd := exec.Command("node", "out/client.js")
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "BILLING_URL="+f.Srv.URL, "BILLING_ADMIN_TOKEN="+f.Admin(),
			"BILLING_ACCOUNT="+f.Parent, "BILLING_AUTH_TOKEN="+f.Tokens[f.Parent])
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		var got struct {
			Records []struct {
				Category, Usage string
				Price           json.Number
			} `json:"records"`
			Daily struct {
				PageSize int        `json:"page_size"`
				Next     *string    `json:"next"`
				Days     [][]string `json:"days"`
			} `json:"daily"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		// The parent's own March (ListUsageRecords counts no sub-accounts):
		// calls-outbound 7+3+0 minutes for 0.091+0.039-0.05.
		want := f.Records("/billing/usage?AccountId="+f.Parent+"&StartDate=2024-03-01&EndDate=2024-03-31", f.Admin())
		if len(got.Records) != len(want) || len(want) == 0 {
			t.Fatalf("%d records, want %d: %s", len(got.Records), len(want), out)
		}
		byCat := handlertest.ByCategory(want)
		for _, r := range got.Records {
			w := byCat[r.Category]
			if !handlertest.SameDecimal(r.Usage, w.Usage) || !handlertest.SameDecimal(r.Price.String(), w.Price.String()) {
				t.Errorf("%s: usage %s price %s, want %s %s", r.Category, r.Usage, r.Price, w.Usage, w.Price.String())
			}
		}
		if w := byCat["calls-outbound"]; !handlertest.SameDecimal(w.Usage, "10") || !handlertest.SameDecimal(w.Price.String(), "0.08") {
			t.Errorf("calls-outbound: %s %s", w.Usage, w.Price.String())
		}
		// Daily calls-outbound 10-15 March, sub-accounts included, two days a
		// page: the 10th (the parent's credit) and the 11th, and a next page.
		d := got.Daily
		if d.PageSize != 2 || len(d.Days) != 2 || d.Next == nil || d.Days[0][0] != "2024-03-10" || d.Days[1][0] != "2024-03-11" ||
			!handlertest.SameDecimal(d.Days[0][2], "-0.05") || !handlertest.SameDecimal(d.Days[1][2], "0") {
			t.Errorf("daily page: %+v", d)
		}
	})
}
