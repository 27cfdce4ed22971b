package servicestack_test

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/handlers/servicestack"
	"github.com/evovoice/billing/jsv"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

func TestListAccounts(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		day := models.NewDate(2024, 1, 2)
		acme := e.Account("Acme Voice", "", day)
		support := e.Account("acme Support", acme, day)
		night := e.Account("Support Night_Shift", support, day.AddDays(1))
		beta := e.Account("Beta 100% Corp", "", day)

		list := func(query, token string) servicestack.ListAccountsResponse {
			t.Helper()
			r := e.Get("/accounts"+query, token)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("GET /accounts%s: %d %s", query, r.StatusCode, r.Body)
			}
			var out servicestack.ListAccountsResponse
			r.JSON(t, &out)
			if out.Items == nil {
				t.Fatalf("items is null: %s", r.Body)
			}
			return out
		}
		ids := func(res servicestack.ListAccountsResponse) string {
			s := make([]string, len(res.Items))
			for i, a := range res.Items {
				s[i] = a.ID
			}
			return strings.Join(s, ",")
		}
		join := func(sids ...string) string { return strings.Join(sids, ",") }

		// Sorted by name whatever its letter case: "acme Support" < "Acme Voice".
		t.Run("an administrator sees every account, by name in any case", func(t *testing.T) {
			res := list("", e.Admin())
			if ids(res) != join(support, acme, beta, night) || res.TotalCount != 4 || res.TotalPages != 1 {
				t.Fatalf("got %s (%d, %d pages)", ids(res), res.TotalCount, res.TotalPages)
			}
			n := res.Items[3]
			want := servicestack.AccountInfo{ID: night, Name: "Support Night_Shift", ParentAccountID: support, AncestorIDs: []string{acme, support},
				Currency: "usd", DateCreated: "2024-01-03T00:00:00Z"}
			if n.ID != want.ID || n.Name != want.Name || n.ParentAccountID != want.ParentAccountID || join(n.AncestorIDs...) != join(want.AncestorIDs...) ||
				n.Currency != want.Currency || n.DateCreated != want.DateCreated {
				t.Errorf("got %+v, want %+v", n, want)
			}
			r := e.Get("/accounts", e.Admin())
			if !strings.Contains(string(r.Body), `"ancestorIds":[]`) || strings.Contains(string(r.Body), `"parentAccountId":""`) {
				t.Errorf("a top-level account must have ancestorIds [] and no parentAccountId: %s", r.Body)
			}
		})

		t.Run("a manager sees its accounts and their sub-accounts", func(t *testing.T) {
			if got := ids(list("", e.Manager(acme))); got != join(support, acme, night) {
				t.Errorf("manager of the parent: %s", got)
			}
			if got := ids(list("", e.Manager(acme, support))); got != join(support, acme, night) {
				t.Errorf("manager of a parent and its child: %s", got)
			}
			if got := ids(list("", e.Manager())); got != "" {
				t.Errorf("manager of nothing: %s", got)
			}
		})

		t.Run("a sub-account's manager is not told the parent", func(t *testing.T) {
			res := list("", e.Manager(support))
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
			if got := ids(list("?SpecificIds="+acme, e.Manager(support))); got != "" {
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
				if got := ids(list("?NameFilter="+urlEscape(q), e.Admin())); got != want {
					t.Errorf("NameFilter %q: %s, want %s", q, got, want)
				}
			}
			if got := ids(list("?namefilter=support", e.Manager(support))); got != join(support, night) {
				t.Errorf("scoped filter: %s", got)
			}
		})

		t.Run("paging", func(t *testing.T) {
			p0 := list("?CountPerPage=3", e.Admin())
			p1 := list("?CountPerPage=3&Page=1", e.Admin())
			if ids(p0) != join(support, acme, beta) || ids(p1) != night || p0.TotalCount != 4 || p0.TotalPages != 2 || p1.TotalPages != 2 {
				t.Errorf("pages: %s (%d, %d) | %s", ids(p0), p0.TotalCount, p0.TotalPages, ids(p1))
			}
			past := list("?CountPerPage=3&Page=7", e.Admin())
			if len(past.Items) != 0 || past.TotalCount != 4 {
				t.Errorf("past the end: %+v", past)
			}
			all := list("?CountPerPage=1&All=true", e.Admin())
			if len(all.Items) != 4 || all.TotalPages != 1 {
				t.Errorf("All: %d items, %d pages", len(all.Items), all.TotalPages)
			}
			none := list("?NameFilter=zzz", e.Admin())
			if none.TotalCount != 0 || none.TotalPages != 0 {
				t.Errorf("no match: %+v", none)
			}
		})

		t.Run("SpecificIds", func(t *testing.T) {
			if got := ids(list("?SpecificIds="+beta+","+strings.ToUpper(acme[:2])+acme[2:], e.Admin())); got != join(acme, beta) {
				t.Errorf("got %s", got)
			}
		})

		t.Run("bad parameters are all reported", func(t *testing.T) {
			eb := e.Get("/accounts?Page=-1&CountPerPage=1001&All=maybe&SpecificIds=nope", e.Admin()).ExpectError(t, 400, "Invalid")
			fields := map[string]bool{}
			for _, f := range eb.ResponseStatus.Errors {
				fields[f.FieldName] = true
			}
			for _, f := range []string{"Page", "CountPerPage", "All", "SpecificIds"} {
				if !fields[f] {
					t.Errorf("%s not reported: %+v", f, eb.ResponseStatus.Errors)
				}
			}
			e.Get("/accounts?CountPerPage=0", e.Admin()).ExpectError(t, 400, "Invalid")
		})

		t.Run("who may ask", func(t *testing.T) {
			e.Get("/accounts", "").ExpectError(t, 401, "Unauthorized")
			e.Get("/accounts", e.Token([]string{"Viewer"}, acme)).ExpectError(t, 403, "Forbidden")
			req, _ := http.NewRequest(http.MethodGet, e.Srv.URL+"/accounts", nil)
			tok, err := e.Signer.Sign("user-2", "", []string{auth.RoleManager}, []string{support}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			req.AddCookie(&http.Cookie{Name: "ss-tok", Value: tok})
			if r := e.Send(req); r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), support) {
				t.Errorf("by cookie: %d %s", r.StatusCode, r.Body)
			}
		})
	})
}

func urlEscape(s string) string {
	return strings.NewReplacer("%", "%25", " ", "%20").Replace(s)
}

// ListAccounts is a registered operation: every format, route and
// negotiation rule of the registry applies to it, and CSV lists its items.
func TestListAccountsFormats(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		day := models.NewDate(2024, 1, 2)
		acme := e.Account("Acme, Voice", "", day)
		support := e.Account(`The "Support" team`, acme, day.AddDays(1))
		tok := e.Manager(acme)

		r := e.Get("/accounts", tok)
		var want servicestack.ListAccountsResponse
		r.JSON(t, &want)
		if len(want.Items) != 2 || want.Items[0].ID != acme || want.Items[1].ID != support {
			t.Fatalf("JSON answer %s", r.Body)
		}
		checkFraming(t, r)

		t.Run("CSV lists the items", func(t *testing.T) {
			for _, path := range []string{"/accounts.csv", "/accounts?format=csv", "/Accounts.CSV", "/api/ListAccounts.csv", "/csv/reply/listaccounts"} {
				r := e.Get(path, tok)
				if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
					t.Fatalf("%s: %d %q %s", path, r.StatusCode, r.Header.Get("Content-Type"), r.Body)
				}
				checkFraming(t, r)
				rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
				if err != nil {
					t.Fatalf("%s: encoding/csv: %v", path, err)
				}
				wantRows := [][]string{
					{"Id", "Name", "ParentAccountId", "AncestorIds", "Currency", "DateCreated"},
					{acme, "Acme, Voice", "", "[]", "usd", "2024-01-02T00:00:00Z"},
					{support, `The "Support" team`, acme, "[" + acme + "]", "usd", "2024-01-03T00:00:00Z"},
				}
				if fmt.Sprint(rows) != fmt.Sprint(wantRows) {
					t.Errorf("%s: rows\n%q\nwant\n%q", path, rows, wantRows)
				}
			}
		})

		t.Run("JSV reads back as the JSON answer", func(t *testing.T) {
			r := e.Get("/accounts.jsv", tok)
			if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/jsv; charset=utf-8" {
				t.Fatalf("%d %q %s", r.StatusCode, r.Header.Get("Content-Type"), r.Body)
			}
			var got servicestack.ListAccountsResponse
			if err := jsv.Unmarshal(r.Body, &got); err != nil {
				t.Fatalf("%v: %s", err, r.Body)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
				t.Errorf("JSV %+v\nJSON %+v", got, want)
			}
			if !strings.HasPrefix(string(r.Body), `{items:[{id:`+acme+`,name:"Acme, Voice",ancestorIds:[],currency:usd,`) {
				t.Errorf("JSV text %s", r.Body)
			}
		})

		t.Run("XML reads back as the JSON answer", func(t *testing.T) {
			r := getWith(e, "/accounts", tok, "Accept", "application/xml")
			if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/xml; charset=utf-8" {
				t.Fatalf("%d %q %s", r.StatusCode, r.Header.Get("Content-Type"), r.Body)
			}
			var doc struct {
				XMLName xml.Name `xml:"http://schemas.datacontract.org/2004/07/Voice.Api.Dashboard ListAccountsResponse"`
				Items   []struct {
					Id, Name, ParentAccountId, Currency, DateCreated string
					AncestorIds                                      []string `xml:"AncestorIds>string"`
				} `xml:"Items>AccountInfo"`
				TotalCount, TotalPages int
			}
			if err := xml.Unmarshal(r.Body, &doc); err != nil {
				t.Fatalf("encoding/xml: %v\n%s", err, r.Body)
			}
			if len(doc.Items) != 2 || doc.TotalCount != 2 || doc.TotalPages != 1 {
				t.Fatalf("XML %+v", doc)
			}
			for i, x := range doc.Items {
				w := want.Items[i]
				if x.Id != w.ID || x.Name != w.Name || x.ParentAccountId != w.ParentAccountID || x.Currency != w.Currency ||
					x.DateCreated != w.DateCreated || strings.Join(x.AncestorIds, ",") != strings.Join(w.AncestorIDs, ",") {
					t.Errorf("XML item %d %+v, JSON %+v", i, x, w)
				}
			}
		})

		t.Run("predefined routes and parameters in any case", func(t *testing.T) {
			for _, path := range []string{"/api/ListAccounts?namefilter=support", "/json/reply/ListAccounts?NAMEFILTER=support", "/accounts.json?nameFilter=support"} {
				r := e.Get(path, tok)
				var got servicestack.ListAccountsResponse
				r.JSON(t, &got)
				if r.StatusCode != 200 || len(got.Items) != 1 || got.Items[0].ID != support {
					t.Errorf("%s: %d %s", path, r.StatusCode, r.Body)
				}
			}
			// SpecificIds as a plain list or as JSV.
			for _, ids := range []string{acme + "," + support, "[" + acme + "," + support + "]"} {
				var got servicestack.ListAccountsResponse
				e.Get("/accounts?SpecificIds="+ids, tok).JSON(t, &got)
				if got.TotalCount != 2 {
					t.Errorf("SpecificIds=%s: %+v", ids, got)
				}
			}
			e.Do(http.MethodPost, "/api/ListAccounts", tok, []byte("{}")).ExpectError(t, 405, "MethodNotAllowed")
		})

		t.Run("errors in the negotiated format", func(t *testing.T) {
			r := e.Get("/accounts.csv?Page=-1&All=maybe", tok)
			rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
			if r.StatusCode != 400 || err != nil || len(rows) != 4 || rows[0][0] != "ErrorCode" || rows[2][1] != "Page" || rows[3][1] != "All" {
				t.Errorf("CSV error: %d %v %q", r.StatusCode, err, rows)
			}
			if r := e.Get("/accounts.xml", ""); r.StatusCode != 401 || !bytes.Contains(r.Body, []byte("<ErrorCode>Unauthorized</ErrorCode>")) {
				t.Errorf("XML 401: %d %s", r.StatusCode, r.Body)
			}
			e.Get("/accounts.yaml", tok).ExpectError(t, 400, "Invalid")
		})

		t.Run("metadata and TypeScript", func(t *testing.T) {
			page := string(e.Get("/metadata?op=ListAccounts", "").Body)
			for _, want := range []string{"/accounts[.json|.jsv|.xml|.csv]", "/api/ListAccounts", "<td>NameFilter</td>", "<td>SpecificIds</td>",
				"GET /accounts.csv?NameFilter=acme&amp;CountPerPage=50", "Id,Name,ParentAccountId,AncestorIds,Currency,DateCreated"} {
				if !strings.Contains(page, want) {
					t.Errorf("/metadata?op=ListAccounts lacks %q", want)
				}
			}
			ts := string(e.Get("/types/typescript", "").Body)
			for _, want := range []string{"export class AccountInfo\n{", "    public parentAccountId?: string;", "    public ancestorIds: string[];",
				"export class ListAccountsResponse\n{", "    public items: AccountInfo[];",
				"// @Route(\"/accounts\", \"GET\")", "export class ListAccounts implements IReturn<ListAccountsResponse>, IGet",
				"    public nameFilter?: string;", "    public specificIds?: string[];", "public createResponse() { return new ListAccountsResponse(); }"} {
				if !strings.Contains(ts, want) {
					t.Errorf("/types/typescript lacks %q", want)
				}
			}
		})
	})
}
