package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

func TestListAccounts(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := newEnv(t, store)
		day := models.NewDate(2024, 1, 2)
		acme := e.account("Acme Voice", "", day)
		support := e.account("acme Support", acme, day)
		night := e.account("Support Night_Shift", support, day.AddDays(1))
		beta := e.account("Beta 100% Corp", "", day)

		list := func(query, token string) handlers.ListAccountsResponse {
			t.Helper()
			r := e.get("/accounts"+query, token)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("GET /accounts%s: %d %s", query, r.StatusCode, r.body)
			}
			var out handlers.ListAccountsResponse
			r.json(t, &out)
			if out.Items == nil {
				t.Fatalf("items is null: %s", r.body)
			}
			return out
		}
		ids := func(res handlers.ListAccountsResponse) string {
			s := make([]string, len(res.Items))
			for i, a := range res.Items {
				s[i] = a.ID
			}
			return strings.Join(s, ",")
		}
		join := func(sids ...string) string { return strings.Join(sids, ",") }

		// Sorted by name whatever its letter case: "acme Support" < "Acme Voice".
		t.Run("an administrator sees every account, by name in any case", func(t *testing.T) {
			res := list("", e.admin())
			if ids(res) != join(support, acme, beta, night) || res.TotalCount != 4 || res.TotalPages != 1 {
				t.Fatalf("got %s (%d, %d pages)", ids(res), res.TotalCount, res.TotalPages)
			}
			n := res.Items[3]
			want := handlers.AccountInfo{ID: night, Name: "Support Night_Shift", ParentAccountID: support, AncestorIDs: []string{acme, support},
				Currency: "usd", DateCreated: "2024-01-03T00:00:00Z"}
			if n.ID != want.ID || n.Name != want.Name || n.ParentAccountID != want.ParentAccountID || join(n.AncestorIDs...) != join(want.AncestorIDs...) ||
				n.Currency != want.Currency || n.DateCreated != want.DateCreated {
				t.Errorf("got %+v, want %+v", n, want)
			}
			r := e.get("/accounts", e.admin())
			if !strings.Contains(string(r.body), `"ancestorIds":[]`) || strings.Contains(string(r.body), `"parentAccountId":""`) {
				t.Errorf("a top-level account must have ancestorIds [] and no parentAccountId: %s", r.body)
			}
		})

		t.Run("a manager sees its accounts and their sub-accounts", func(t *testing.T) {
			if got := ids(list("", e.manager(acme))); got != join(support, acme, night) {
				t.Errorf("manager of the parent: %s", got)
			}
			if got := ids(list("", e.manager(acme, support))); got != join(support, acme, night) {
				t.Errorf("manager of a parent and its child: %s", got)
			}
			if got := ids(list("", e.manager())); got != "" {
				t.Errorf("manager of nothing: %s", got)
			}
		})

		t.Run("a sub-account's manager is not told the parent", func(t *testing.T) {
			res := list("", e.manager(support))
			if ids(res) != join(support, night) {
				t.Fatalf("got %s", ids(res))
			}
			s, n := res.Items[0], res.Items[1]
			if s.ParentAccountID != "" || len(s.AncestorIDs) != 0 {
				t.Errorf("its own account names the parent: %+v", s)
			}
			if n.ParentAccountID != support || join(n.AncestorIDs...) != support {
				t.Errorf("the sub-sub-account: %+v", n)
			}
			if got := ids(list("?SpecificIds="+acme, e.manager(support))); got != "" {
				t.Errorf("asking for the parent by id gives %s", got)
			}
		})

		t.Run("NameFilter", func(t *testing.T) {
			for q, want := range map[string]string{
				"SUPPORT":        join(support, night),
				"night_":         night,
				"nightXshift":    "",
				"100%":           beta,
				"%":              beta,
				beta[20:]:        beta,
				"  acme voice  ": acme,
			} {
				if got := ids(list("?NameFilter="+urlEscape(q), e.admin())); got != want {
					t.Errorf("NameFilter %q: %s, want %s", q, got, want)
				}
			}
			if got := ids(list("?namefilter=support", e.manager(support))); got != join(support, night) {
				t.Errorf("scoped filter: %s", got)
			}
		})

		t.Run("paging", func(t *testing.T) {
			p0 := list("?CountPerPage=3", e.admin())
			p1 := list("?CountPerPage=3&Page=1", e.admin())
			if ids(p0) != join(support, acme, beta) || ids(p1) != night || p0.TotalCount != 4 || p0.TotalPages != 2 || p1.TotalPages != 2 {
				t.Errorf("pages: %s (%d, %d) | %s", ids(p0), p0.TotalCount, p0.TotalPages, ids(p1))
			}
			past := list("?CountPerPage=3&Page=7", e.admin())
			if len(past.Items) != 0 || past.TotalCount != 4 {
				t.Errorf("past the end: %+v", past)
			}
			all := list("?CountPerPage=1&All=true", e.admin())
			if len(all.Items) != 4 || all.TotalPages != 1 {
				t.Errorf("All: %d items, %d pages", len(all.Items), all.TotalPages)
			}
			none := list("?NameFilter=zzz", e.admin())
			if none.TotalCount != 0 || none.TotalPages != 0 {
				t.Errorf("no match: %+v", none)
			}
		})

		t.Run("SpecificIds", func(t *testing.T) {
			if got := ids(list("?SpecificIds="+beta+","+strings.ToUpper(acme[:2])+acme[2:], e.admin())); got != join(acme, beta) {
				t.Errorf("got %s", got)
			}
		})

		t.Run("bad parameters are all reported", func(t *testing.T) {
			eb := e.get("/accounts?Page=-1&CountPerPage=1001&All=maybe&SpecificIds=nope", e.admin()).expectError(t, 400, "Invalid")
			fields := map[string]bool{}
			for _, f := range eb.ResponseStatus.Errors {
				fields[f.FieldName] = true
			}
			for _, f := range []string{"Page", "CountPerPage", "All", "SpecificIds"} {
				if !fields[f] {
					t.Errorf("%s not reported: %+v", f, eb.ResponseStatus.Errors)
				}
			}
			e.get("/accounts?CountPerPage=0", e.admin()).expectError(t, 400, "Invalid")
		})

		t.Run("who may ask", func(t *testing.T) {
			e.get("/accounts", "").expectError(t, 401, "Unauthorized")
			e.get("/accounts", e.token([]string{"Viewer"}, acme)).expectError(t, 403, "Forbidden")
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/accounts", nil)
			tok, err := e.signer.Sign("user-2", "", []string{auth.RoleManager}, []string{support}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			req.AddCookie(&http.Cookie{Name: "ss-tok", Value: tok})
			if r := e.send(req); r.StatusCode != http.StatusOK || !strings.Contains(string(r.body), support) {
				t.Errorf("by cookie: %d %s", r.StatusCode, r.body)
			}
		})
	})
}

func urlEscape(s string) string {
	return strings.NewReplacer("%", "%25", " ", "%20").Replace(s)
}
