package servicestack_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/handlers/servicestack"
	"github.com/evovoice/billing/jsv"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
	"github.com/shopspring/decimal"
)

// overviewEnv is a platform of a few accounts around the February 2024
// month edge and its leap day:
//
//	Acme (usd, no usage of its own)
//	├─ Support (usd)  Jan 31: 10 min $1.00; Feb 1: 12 min $1.20; Feb 29: 3 min $0.30; Mar 1: 5 min $0.50
//	├─ Sales (usd)    Feb 10: 20 min $2.50
//	└─ Europe (eur)   Jan 5: 8 min €0.80; Feb 5: 4 min €0.40
//	   └─ Europe Sub (eur) Feb 6: 1 min €0.10
//	Other (usd)       Feb 7: 100 min $9.00
type overviewEnv struct {
	*handlertest.Env
	acme, support, sales, europe, europeSub, other string
}

func newOverviewEnv(t *testing.T, store *repo.Store) overviewEnv {
	e := handlertest.New(t, store)
	day := models.NewDate(2023, 12, 1)
	o := overviewEnv{Env: e, acme: e.Account("Acme", "", day)}
	o.support = e.Account("Support", o.acme, day)
	o.sales = e.Account("Sales", o.acme, day)
	o.europe = o.euroAccount("Europe", o.acme)
	o.europeSub = o.euroAccount("Europe Sub", o.europe)
	o.other = e.Account("Other", "", day)
	call := func(id, sid, at, usage, price string) handlertest.Event {
		return handlertest.Event{"id": id, "accountSid": sid, "category": "calls-outbound", "occurredAt": at + "T10:00:00Z", "usage": usage, "price": price}
	}
	e.Ingest(
		call("s1", o.support, "2024-01-31", "10", "1.00"),
		call("s2", o.support, "2024-02-01", "12", "1.20"),
		call("s3", o.support, "2024-02-29", "3", "0.30"),
		call("s4", o.support, "2024-03-01", "5", "0.50"),
		call("a1", o.sales, "2024-02-10", "20", "2.50"),
		call("e1", o.europe, "2024-01-05", "8", "0.80"),
		call("e2", o.europe, "2024-02-05", "4", "0.40"),
		call("e3", o.europeSub, "2024-02-06", "1", "0.10"),
		call("o1", o.other, "2024-02-07", "100", "9.00"),
	)
	return o
}

func (o overviewEnv) euroAccount(name, parent string) string {
	o.T.Helper()
	a := models.Account{Sid: models.NewAccountSid(), Name: name, ParentSid: parent, Currency: "eur", CreatedAt: models.NewDate(2023, 12, 1).Time()}
	if err := o.Store.CreateAccount(context.Background(), a, models.HashAuthToken("x")); err != nil {
		o.T.Fatal(err)
	}
	return a.Sid
}

// overview fetches ListAccountUsage and fails the test on anything but 200.
func (o overviewEnv) overview(query, token string) servicestack.ListAccountUsageResponse {
	o.T.Helper()
	r := o.Get("/billing/usage/accounts?"+query, token)
	if r.StatusCode != http.StatusOK {
		o.T.Fatalf("GET %s: %d %s", query, r.StatusCode, r.Body)
	}
	var out servicestack.ListAccountUsageResponse
	r.JSON(o.T, &out)
	return out
}

// row is an item's figures as one line: id count usage price | previous | change.
func row(it servicestack.AccountUsageItem) string {
	n := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	ch := "null"
	if it.Change != nil {
		ch = it.Change.String()
	}
	return fmt.Sprintf("%s %s %s %s | %s %s %s | %s", it.Name, n(it.Count), it.Usage, it.Price.String(),
		n(it.PreviousCount), it.PreviousUsage, it.PreviousPrice.String(), ch)
}

func rows(items []servicestack.AccountUsageItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = row(it)
	}
	return out
}

func totalsText(ts []servicestack.AccountUsageTotal) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		ch := "null"
		if t.Change != nil {
			ch = t.Change.String()
		}
		out[i] = fmt.Sprintf("%s %s %s | %s %s | %s", t.Currency, t.Usage, t.Price.String(), t.PreviousUsage, t.PreviousPrice.String(), ch)
	}
	return out
}

func expectRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

const february = "StartDate=2024-02-01&EndDate=2024-02-29&Category=calls"

// TestListAccountUsageFigures checks ranking, paging, totals per currency
// and the previous period at a month edge and at the leap day, against
// hand-computed figures and against repo's own answer.
func TestListAccountUsageFigures(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		o := newOverviewEnv(t, store)
		admin := o.Admin()

		// February against January: Jan 31 is the previous period, Feb 1 and Feb 29 the current.
		feb := o.overview(february, admin)
		expectRows(t, "February by -price", rows(feb.Items), []string{
			"Other 1 100 9 | 0 0 0 | null",
			"Sales 1 20 2.5 | 0 0 0 | null",
			"Support 2 15 1.5 | 1 10 1 | 50",
			"Europe 1 4 0.4 | 1 8 0.8 | -50",
			"Europe Sub 1 1 0.1 | 0 0 0 | null",
			"Acme 0 0 0 | 0 0 0 | null",
		})
		expectRows(t, "February totals", totalsText(feb.Totals), []string{"eur 5 0.5 | 8 0.8 | -37.5", "usd 135 13 | 10 1 | 1250"})
		if feb.TotalCount != 6 || feb.StartDate != "2024-02-01" || feb.EndDate != "2024-02-29" ||
			feb.PreviousStartDate != "2024-01-01" || feb.PreviousEndDate != "2024-01-31" {
			t.Errorf("February header %+v", feb)
		}
		if feb.Items[0].ParentAccountID != "" || feb.Items[2].ParentAccountID != o.acme || feb.Items[4].ParentAccountID != o.europe || feb.Items[3].Currency != "eur" {
			t.Errorf("parents or currencies %+v", feb.Items)
		}

		// The same figures as repo answers them, for every order and a page.
		for _, order := range []string{"-price", "price", "-usage", "-count", "name", "-change"} {
			query := february + "&OrderBy=" + order + "&Page=1&CountPerPage=2"
			got := o.overview(query, admin)
			q, err := models.CheckAccountUsage(models.AccountUsageInput{StartDate: "2024-02-01", EndDate: "2024-02-29", Category: "calls",
				OrderBy: order, Page: "1", CountPerPage: "2"}, models.DateOf(handlertest.Now))
			if err != nil {
				t.Fatal(err)
			}
			want, err := store.ListAccountUsage(context.Background(), models.Readable{Every: true}, q)
			if err != nil {
				t.Fatal(err)
			}
			if got.TotalCount != 6 || len(got.Items) != len(want.Items) {
				t.Fatalf("%s: %d items of %d, repo %d", order, len(got.Items), got.TotalCount, len(want.Items))
			}
			for i, w := range want.Items {
				g := got.Items[i]
				if g.AccountID != w.Sid || *g.Count != w.Count || g.Usage != w.Usage.String() || !g.Price.Equal(w.Price) ||
					*g.PreviousCount != w.PreviousCount || g.PreviousUsage != w.PreviousUsage.String() || !g.PreviousPrice.Equal(w.PreviousPrice) ||
					(g.Change == nil) != (w.Change == nil) || (g.Change != nil && !g.Change.Equal(*w.Change)) {
					t.Errorf("%s item %d: %s, repo %+v", order, i, row(g), w)
				}
			}
		}
		expectRows(t, "page 1 of 2 by name", rows(o.overview(february+"&OrderBy=name&Page=1&CountPerPage=2", admin).Items),
			[]string{"Europe Sub 1 1 0.1 | 0 0 0 | null", "Other 1 100 9 | 0 0 0 | null"})
		expectRows(t, "by -change", rows(o.overview(february+"&OrderBy=-change&CountPerPage=2", admin).Items),
			[]string{"Support 2 15 1.5 | 1 10 1 | 50", "Europe 1 4 0.4 | 1 8 0.8 | -50"})

		// March against the 29 days of February; totalprice has no count.
		mar := o.overview("StartDate=2024-03-01&EndDate=2024-03-31&NameFilter=supp", admin)
		expectRows(t, "March totalprice", rows(mar.Items), []string{"Support - 0.5 0.5 | - 1.5 1.5 | -66.67"})
		if mar.PreviousStartDate != "2024-02-01" || mar.PreviousEndDate != "2024-02-29" {
			t.Errorf("March's previous period %s..%s", mar.PreviousStartDate, mar.PreviousEndDate)
		}
		// 14 days against the 14 days before, which end on the leap day.
		days := o.overview("StartDate=2024-03-01&EndDate=2024-03-14&Category=calls&NameFilter=support", admin)
		expectRows(t, "14 days", rows(days.Items), []string{"Support 1 5 0.5 | 1 3 0.3 | 66.67"})
		if days.PreviousStartDate != "2024-02-16" || days.PreviousEndDate != "2024-02-29" {
			t.Errorf("14 days' previous period %s..%s", days.PreviousStartDate, days.PreviousEndDate)
		}

		// A parent's sub-accounts, with their subtrees: Europe carries Europe Sub.
		sub := o.overview(february+"&ParentId="+o.acme+"&IncludeSubaccounts=true", admin)
		expectRows(t, "Acme's sub-accounts with subtrees", rows(sub.Items), []string{
			"Sales 1 20 2.5 | 0 0 0 | null",
			"Support 2 15 1.5 | 1 10 1 | 50",
			"Europe 2 5 0.5 | 1 8 0.8 | -37.5",
		})

		// SpecificIds (the dashboard's trend): only those accounts, totalled.
		two := o.overview(february+"&SpecificIds="+o.support+","+o.europe, admin)
		expectRows(t, "SpecificIds", rows(two.Items), []string{"Support 2 15 1.5 | 1 10 1 | 50", "Europe 1 4 0.4 | 1 8 0.8 | -50"})
		expectRows(t, "SpecificIds totals", totalsText(two.Totals), []string{"eur 4 0.4 | 8 0.8 | -50", "usd 15 1.5 | 10 1 | 50"})
		if two.TotalCount != 2 {
			t.Errorf("SpecificIds totalCount %d", two.TotalCount)
		}

		// Every bad parameter at once.
		eb := o.Get("/billing/usage/accounts?StartDate=2024-13-01&Category=nope&OrderBy=cost&CountPerPage=1001&ParentId=x&SpecificIds=y", admin).ExpectError(t, 400, models.CodeInvalid)
		var fields []string
		for _, f := range eb.ResponseStatus.Errors {
			fields = append(fields, f.FieldName)
		}
		slices.Sort(fields)
		if !slices.Equal(fields, []string{"Category", "CountPerPage", "OrderBy", "ParentId", "SpecificIds", "StartDate"}) {
			t.Errorf("fields in error %v", fields)
		}
	})
}

// TestListAccountUsageScope: a Manager sees its subtree only, never a
// sibling's figures or the parent's totals, and a ParentId outside it is 403.
func TestListAccountUsageScope(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		o := newOverviewEnv(t, store)
		acme := o.Manager(o.acme)
		got := o.overview(february, acme)
		expectRows(t, "Acme's manager", rows(got.Items), []string{
			"Sales 1 20 2.5 | 0 0 0 | null",
			"Support 2 15 1.5 | 1 10 1 | 50",
			"Europe 1 4 0.4 | 1 8 0.8 | -50",
			"Europe Sub 1 1 0.1 | 0 0 0 | null",
			"Acme 0 0 0 | 0 0 0 | null",
		})
		expectRows(t, "Acme's manager's totals", totalsText(got.Totals), []string{"eur 5 0.5 | 8 0.8 | -37.5", "usd 35 4 | 10 1 | 250"})

		support := o.Manager(o.support)
		got = o.overview(february, support)
		expectRows(t, "Support's manager", rows(got.Items), []string{"Support 2 15 1.5 | 1 10 1 | 50"})
		expectRows(t, "Support's manager's totals", totalsText(got.Totals), []string{"usd 15 1.5 | 10 1 | 50"})
		if got.Items[0].ParentAccountID != "" {
			t.Errorf("a Manager of Support is told its parent %s", got.Items[0].ParentAccountID)
		}
		if got := o.overview(february+"&IncludeSubaccounts=true", support); got.TotalCount != 1 || got.Items[0].Usage != "15" {
			t.Errorf("Support's manager with subtrees: %+v", got)
		}
		if got := o.overview(february+"&ParentId="+o.europe, acme); got.TotalCount != 1 || got.Items[0].AccountID != o.europeSub {
			t.Errorf("Europe's sub-accounts for Acme's manager: %+v", got)
		}

		unknown := models.NewAccountSid()
		for _, c := range []struct{ token, parent string }{{support, o.acme}, {support, o.sales}, {acme, o.other}, {acme, unknown}} {
			o.Get("/billing/usage/accounts?ParentId="+c.parent, c.token).ExpectError(t, 403, "Forbidden")
		}
		o.Get("/billing/usage/accounts?ParentId="+unknown, o.Admin()).ExpectError(t, 404, "NotFound")
		o.Get("/billing/usage/accounts", "").ExpectError(t, 401, "Unauthorized")
		// A SID outside the scope named in SpecificIds is simply not listed.
		if got := o.overview(february+"&SpecificIds="+o.other+","+o.support, support); got.TotalCount != 1 || got.Items[0].AccountID != o.support {
			t.Errorf("SpecificIds outside the scope: %+v", got)
		}
	})
}

// TestListAccountUsageFormats: every route and format carries the same answer.
func TestListAccountUsageFormats(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		o := newOverviewEnv(t, store)
		tok := o.Manager(o.europe)
		query := february + "&OrderBy=name"

		r := o.Get("/billing/usage/accounts?"+query, tok)
		checkFraming(t, r)
		wantJSON := `{"items":[` +
			`{"accountId":"` + o.europe + `","name":"Europe","currency":"eur","count":1,"usage":"4","price":0.4,"previousCount":1,"previousUsage":"8","previousPrice":0.8,"change":-50.00},` +
			`{"accountId":"` + o.europeSub + `","name":"Europe Sub","parentAccountId":"` + o.europe + `","currency":"eur","count":1,"usage":"1","price":0.1,"previousCount":0,"previousUsage":"0","previousPrice":0,"change":null}],` +
			`"totals":[{"currency":"eur","count":2,"usage":"5","price":0.5,"previousCount":1,"previousUsage":"8","previousPrice":0.8,"change":-37.50}],` +
			`"totalCount":2,"startDate":"2024-02-01","endDate":"2024-02-29","previousStartDate":"2024-01-01","previousEndDate":"2024-01-31"}`
		// A change keeps its two decimal places (models.ChangeScale); a null
		// one is left out of JSV, as ServiceStack leaves out nulls.
		if string(r.Body) != wantJSON {
			t.Errorf("JSON\n %s\nwant\n %s", r.Body, wantJSON)
		}
		var want servicestack.ListAccountUsageResponse
		r.JSON(t, &want)

		for _, path := range []string{"/billing/usage/accounts.json?", "/api/ListAccountUsage?", "/api/listaccountusage.json?", "/json/reply/ListAccountUsage?",
			"/Billing/Usage/Accounts?format=json&", "/billing/usage/accounts?orderby=name&"} {
			if got := o.Get(path+query, tok); string(got.Body) != wantJSON {
				t.Errorf("%s: %d %s", path, got.StatusCode, got.Body)
			}
		}

		t.Run("JSV", func(t *testing.T) {
			for _, path := range []string{"/billing/usage/accounts.jsv?", "/jsv/reply/ListAccountUsage?", "/api/ListAccountUsage.jsv?", "/billing/usage/accounts?format=jsv&"} {
				r := o.Get(path+query, tok)
				if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/jsv; charset=utf-8" {
					t.Fatalf("%s: %d %q %s", path, r.StatusCode, r.Header.Get("Content-Type"), r.Body)
				}
				var got servicestack.ListAccountUsageResponse
				if err := jsv.Unmarshal(r.Body, &got); err != nil {
					t.Fatalf("%v: %s", err, r.Body)
				}
				if fmt.Sprint(rows(got.Items), totalsText(got.Totals), got.TotalCount, got.PreviousEndDate) !=
					fmt.Sprint(rows(want.Items), totalsText(want.Totals), want.TotalCount, want.PreviousEndDate) {
					t.Errorf("%s: JSV %+v\nJSON %+v", path, got, want)
				}
				if !strings.HasPrefix(string(r.Body), "{items:[{accountId:"+o.europe+",name:Europe,currency:eur,count:1,usage:4,price:0.4,previousCount:1,previousUsage:8,previousPrice:0.8,change:-50.00},") {
					t.Errorf("JSV text %s", r.Body)
				}
			}
		})

		t.Run("XML", func(t *testing.T) {
			r := getWith(o.Env, "/billing/usage/accounts?"+query, tok, "Accept", "application/xml")
			if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/xml; charset=utf-8" {
				t.Fatalf("%d %q %s", r.StatusCode, r.Header.Get("Content-Type"), r.Body)
			}
			type nullable struct {
				Nil   string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr"`
				Value string `xml:",chardata"`
			}
			var doc struct {
				XMLName xml.Name `xml:"http://schemas.datacontract.org/2004/07/Voice.Api.Dashboard ListAccountUsageResponse"`
				Items   []struct {
					AccountId, Name, ParentAccountId, Currency, Count, Usage, Price, PreviousCount, PreviousUsage, PreviousPrice string
					Change                                                                                                       nullable
				} `xml:"Items>AccountUsageItem"`
				Totals []struct {
					Currency, Usage, Price string
					Change                 nullable
				} `xml:"Totals>AccountUsageTotal"`
				TotalCount int
			}
			if err := xml.Unmarshal(r.Body, &doc); err != nil {
				t.Fatalf("encoding/xml: %v\n%s", err, r.Body)
			}
			if len(doc.Items) != 2 || doc.TotalCount != 2 || len(doc.Totals) != 1 {
				t.Fatalf("XML %+v", doc)
			}
			for i, x := range doc.Items {
				w := want.Items[i]
				change := "null"
				if x.Change.Nil != "true" {
					change = decimal.RequireFromString(x.Change.Value).String()
				}
				got := fmt.Sprintf("%s %s %s %s | %s %s %s | %s", x.Name, x.Count, x.Usage, x.Price, x.PreviousCount, x.PreviousUsage, x.PreviousPrice, change)
				if got != row(w) || x.AccountId != w.AccountID || x.ParentAccountId != w.ParentAccountID || x.Currency != w.Currency {
					t.Errorf("XML item %d %q, JSON %q", i, got, row(w))
				}
			}
			if tt := doc.Totals[0]; tt.Currency != "eur" || tt.Usage != "5" || tt.Price != "0.5" || tt.Change.Value != "-37.50" {
				t.Errorf("XML totals %+v", tt)
			}
		})

		t.Run("CSV", func(t *testing.T) {
			for _, path := range []string{"/billing/usage/accounts.csv?", "/csv/reply/ListAccountUsage?", "/api/ListAccountUsage.csv?"} {
				r := o.Get(path+query, tok)
				if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
					t.Fatalf("%s: %d %q %s", path, r.StatusCode, r.Header.Get("Content-Type"), r.Body)
				}
				got, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
				if err != nil {
					t.Fatalf("encoding/csv: %v", err)
				}
				wantRows := [][]string{
					{"AccountId", "Name", "ParentAccountId", "Currency", "Count", "Usage", "Price", "PreviousCount", "PreviousUsage", "PreviousPrice", "Change"},
					{o.europe, "Europe", "", "eur", "1", "4", "0.4", "1", "8", "0.8", "-50.00"},
					{o.europeSub, "Europe Sub", o.europe, "eur", "1", "1", "0.1", "0", "0", "0", ""},
				}
				if fmt.Sprint(got) != fmt.Sprint(wantRows) {
					t.Errorf("%s: rows\n%q\nwant\n%q", path, got, wantRows)
				}
			}
		})

		t.Run("metadata and TypeScript", func(t *testing.T) {
			page := string(o.Get("/metadata?op=ListAccountUsage", "").Body)
			for _, want := range []string{"/billing/usage/accounts[.json|.jsv|.xml|.csv]", "/api/ListAccountUsage", "<td>ParentId</td>", "<td>IncludeSubaccounts</td>", "<td>OrderBy</td>",
				"AccountId,Name,ParentAccountId,Currency,Count,Usage,Price,PreviousCount,PreviousUsage,PreviousPrice,Change"} {
				if !strings.Contains(page, want) {
					t.Errorf("/metadata?op=ListAccountUsage lacks %q", want)
				}
			}
			if index := string(o.Get("/metadata", "").Body); !strings.Contains(index, "ListAccountUsage") {
				t.Error("/metadata does not list ListAccountUsage")
			}
			ts := string(o.Get("/types/typescript", "").Body)
			for _, want := range []string{"export class AccountUsageItem\n{", "    public usage: string;", "    public price: number;", "    public count?: number;",
				"export class ListAccountUsageResponse\n{", "    public items: AccountUsageItem[];", "    public totals: AccountUsageTotal[];",
				"// @Route(\"/billing/usage/accounts\", \"GET\")", "export class ListAccountUsage implements IReturn<ListAccountUsageResponse>, IGet",
				"    public parentId?: string;", "    public includeSubaccounts?: boolean;", "    public countPerPage?: number;",
				"public createResponse() { return new ListAccountUsageResponse(); }"} {
				if !strings.Contains(ts, want) {
					t.Errorf("/types/typescript lacks %q", want)
				}
			}
		})
	})
}
