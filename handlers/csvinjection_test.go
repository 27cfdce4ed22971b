package handlers_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"slices"
	"testing"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// TestCSVInjection: text cells a spreadsheet would run as formulas are
// written with a leading quote, quoted; numbers, negative ones included,
// stay numbers, on both faces.
func TestCSVInjection(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		admin := e.Admin()
		day := models.NewDate(2024, 1, 1)
		defused := map[string]string{
			"=HYPERLINK(\"http://x\",\"y\")": `"'=HYPERLINK(""http://x"",""y"")"`,
			"+1+cmd":                         `"'+1+cmd"`,
			"-2+3":                           `"'-2+3"`,
			"@SUM(A1)":                       `"'@SUM(A1)"`,
			"-":                              `"'-"`,
			"-1.5.2":                         `"'-1.5.2"`,
		}
		kept := []string{"-1.5", "+3", "Acme = Voice", "1-800 Flowers"}
		var sid string
		for name := range defused {
			sid = e.Account(name, "", day)
		}
		for _, name := range kept {
			e.Account(name, "", day)
		}
		r := e.Get("/accounts.csv?CountPerPage=1000", admin)
		if r.StatusCode != 200 {
			t.Fatalf("GET /accounts.csv: %d %s", r.StatusCode, r.Body)
		}
		for name, want := range defused {
			if !bytes.Contains(r.Body, []byte(","+want+",")) {
				t.Errorf("account %q: want the cell %s in\n%s", name, want, r.Body)
			}
		}
		rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatalf("the CSV does not parse: %v\n%s", err, r.Body)
		}
		col := slices.Index(rows[0], "Name")
		var names []string
		for _, row := range rows[1:] {
			names = append(names, row[col])
		}
		for _, name := range kept {
			if !slices.Contains(names, name) {
				t.Errorf("name %q was changed: %q", name, names)
			}
		}

		// A credit: a negative price stays a number in both faces' CSV.
		e.Ingest(handlertest.Event{"id": "credit-1", "accountSid": sid, "category": "sms", "occurredAt": "2024-02-10T08:00:00Z", "count": 1, "usage": "1", "price": "-1.5"})
		cell := func(path, column string) string {
			t.Helper()
			r := e.Get(path, admin)
			rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
			if r.StatusCode != http.StatusOK || err != nil || len(rows) < 2 {
				t.Fatalf("GET %s: %d %v %s", path, r.StatusCode, err, r.Body)
			}
			i := slices.Index(rows[0], column)
			if i < 0 {
				t.Fatalf("GET %s: no column %s: %s", path, column, r.Body)
			}
			return rows[1][i]
		}
		if got := cell("/billing/usage.csv?AccountId="+sid+"&Category=sms&StartDate=2024-02-01&EndDate=2024-02-29", "Price"); got != "-1.5" {
			t.Errorf("ServiceStack CSV price %q, want -1.5", got)
		}
		if got := cell("/2010-04-01/Accounts/"+sid+"/Usage/Records.csv?Category=sms&StartDate=2024-02-01&EndDate=2024-02-29", "price"); got != "-1.5" {
			t.Errorf("Restcomm CSV price %q, want -1.5", got)
		}
		// Error rows are text too.
		r = e.Get("/billing/usage.csv?AccountId="+sid+"&StartDate=%3Dcmd", admin)
		if r.StatusCode != 400 || bytes.Contains(r.Body, []byte("\n=")) || bytes.Contains(r.Body, []byte(",=")) {
			t.Errorf("error CSV: %d %s", r.StatusCode, r.Body)
		}
	})
}
