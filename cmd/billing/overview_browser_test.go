package main

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"
)

// overviewAnswer is ListAccountUsage's answer as the test reads it.
type overviewAnswer struct {
	Items []struct {
		AccountID string           `json:"accountId"`
		Name      string           `json:"name"`
		Price     decimal.Decimal  `json:"price"`
		Change    *decimal.Decimal `json:"change"`
	} `json:"items"`
	Totals []struct {
		Currency string          `json:"currency"`
		Price    decimal.Decimal `json:"price"`
	} `json:"totals"`
	TotalCount int `json:"totalCount"`
}

func (s *demoServer) overview(t *testing.T, token string, q url.Values) overviewAnswer {
	t.Helper()
	res := s.get(t, token, "/billing/usage/accounts?"+q.Encode())
	var out overviewAnswer
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		t.Fatalf("ListAccountUsage %s: %d %v", q.Encode(), res.StatusCode, err)
	}
	return out
}

// waitOverview waits until the overview has drawn its table and every trend.
func (p *page) waitOverview() {
	p.t.Helper()
	p.waitFor(`!document.getElementById('overview').hidden && document.getElementById('dashboard').getAttribute('aria-busy') === 'false' &&
		document.querySelectorAll('#overview-table tbody tr[data-account]').length > 0 &&
		Array.from(document.querySelectorAll('#overview-table tbody td[data-field=trend]')).every(c => c.querySelector('svg.trend'))`)
}

type overviewRow struct {
	Account string `json:"account"`
	Price   string `json:"price"`
	Change  string `json:"change"`
	Points  int    `json:"points"`
	Label   string `json:"label"`
	Text    string `json:"text"`
}

func (p *page) overviewRows(table string) []overviewRow {
	p.t.Helper()
	return evalJS[[]overviewRow](p, `Array.from(document.querySelectorAll('#`+table+` tbody tr[data-account]')).map(r => ({
		account: r.dataset.account,
		price: r.querySelector('[data-field=price]').dataset.value,
		change: r.querySelector('[data-field=change]').dataset.value,
		points: r.querySelectorAll('svg.trend circle.point').length,
		label: (r.querySelector('svg.trend') || {getAttribute: () => ''}).getAttribute('aria-label'),
		text: r.querySelector('[data-field=change]').innerText,
	}))`)
}

// checkOverview compares the table with the API's answer for the same view.
func (p *page) checkOverview(token string, q url.Values) overviewAnswer {
	p.t.Helper()
	want := p.srv.overview(p.t, token, q)
	rows := p.overviewRows("overview-table")
	if len(rows) != len(want.Items) {
		p.t.Fatalf("the page lists %d accounts, the API %d", len(rows), len(want.Items))
	}
	for i, w := range want.Items {
		r := rows[i]
		change := ""
		if w.Change != nil {
			change = w.Change.String()
		}
		if r.Account != w.AccountID || !sameDecimal(r.Price, w.Price) || (change == "") != (r.Change == "") || (change != "" && !sameDecimal(r.Change, *w.Change)) {
			p.t.Errorf("row %d: %+v; API %s price %s change %s", i, r, w.AccountID, w.Price, change)
		}
		// The trend: a point a month, with a text alternative naming each.
		if r.Points != 12 || strings.Count(r.Label, ", ") < 12 {
			p.t.Errorf("%s: trend of %d points, label %q", w.Name, r.Points, r.Label)
		}
		// The change is said in words, not by colour alone.
		if w.Change != nil && w.Change.Sign() != 0 && !strings.Contains(r.Text, map[bool]string{true: "▲", false: "▼"}[w.Change.Sign() > 0]) {
			p.t.Errorf("%s: change shown as %q for %s", w.Name, r.Text, change)
		}
	}
	totals := evalJS[[]string](p, `Array.from(document.querySelectorAll('#overview-table tfoot tr')).map(r => r.dataset.currency + '=' + r.querySelector('[data-field=price]').dataset.value)`)
	var wantTotals []string
	for _, t := range want.Totals {
		wantTotals = append(wantTotals, t.Currency+"="+t.Price.String())
	}
	if !slices.Equal(totals, wantTotals) {
		p.t.Errorf("totals %v, API %v", totals, wantTotals)
	}
	return want
}

// testOverview: the first screen of a user of several accounts ranks them
// with the API's figures, sorts, searches, pages, drills down and back, and
// fits a phone; a Manager sees its subtree only.
func testOverview(t *testing.T, browser context.Context, srv *demoServer, backend string) {
	first, last := lastMonth(time.Now())
	view := func(extra ...string) url.Values {
		q := url.Values{"StartDate": {first}, "EndDate": {last}, "Category": {"totalprice"}, "OrderBy": {"-price"}, "Page": {"0"}, "CountPerPage": {"25"}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return q
	}

	p := newPage(t, browser, srv)
	p.signIn("admin", srv.passwords["admin"])
	admin := srv.signIn(t, "admin", srv.passwords["admin"])
	p.waitOverview()
	if strings.Contains(p.location(), "account=") {
		t.Errorf("the admin's first screen is %s, not the overview", p.location())
	}
	p.choose("#period", "last-month")
	p.waitFor(`location.search.includes("period=last-month")`)
	p.waitOverview()
	all := p.checkOverview(admin, view())
	if all.TotalCount != 9 || len(all.Totals) != 2 {
		t.Errorf("the admin sees %d accounts in %d currencies, want 9 in 2", all.TotalCount, len(all.Totals))
	}
	if got := p.attr(`#overview-table th[data-field=price]`, "aria-sort"); got != "descending" {
		t.Errorf("price column aria-sort %q", got)
	}
	p.screenshot(filepath.Join(artifactDir, "overview-"+backend+".png"))

	// Sorting by name, then searching; the URL keeps both.
	p.click(`#overview-table th[data-field=name] button`)
	p.waitFor(`location.search.includes("order=name") && document.querySelector('#overview-table th[data-field=name]').getAttribute('aria-sort') === 'ascending'`)
	p.waitOverview()
	p.checkOverview(admin, view("OrderBy", "name"))
	if got := p.attr(`#overview-table th[data-field=price]`, "aria-sort"); got != "none" {
		t.Errorf("price column aria-sort %q after sorting by name", got)
	}
	p.do(chromedp.SendKeys(chromedp.ID("overview-search"), "europe"))
	p.waitFor(`location.search.includes("q=europe") && document.querySelectorAll('#overview-table tbody tr[data-account]').length === 2`)
	p.waitOverview()
	p.checkOverview(admin, view("OrderBy", "name", "NameFilter", "europe"))
	if href := p.attr("#ov-dl-csv", "href"); !strings.Contains(href, "/billing/usage/accounts.csv?") || !strings.Contains(href, "NameFilter=europe") {
		t.Errorf("CSV download %q", href)
	}

	// Drill-down (Enter on the row's link) and back.
	p.do(chromedp.Focus(chromedp.CSS(`#overview-table tr[data-account="` + demoEurope + `"] a`)))
	p.do(chromedp.KeyEvent("\r"))
	p.waitFor(`location.search.includes("account=` + demoEurope + `")`)
	p.waitReady()
	p.waitFor(`!document.getElementById('subaccounts').hidden && document.querySelectorAll('#sub-table svg.trend').length === 1`)
	if subs := p.overviewRows("sub-table"); len(subs) != 1 || subs[0].Account != demoEuropeBerlin || subs[0].Points != 12 {
		t.Errorf("Acme Europe's sub-accounts: %+v", subs)
	}
	p.do(chromedp.NavigateBack())
	p.waitFor(`!location.search.includes("account=") && location.search.includes("q=europe") && location.search.includes("order=name")`)
	p.waitOverview()

	// One page of 25 holds the demo: the pager says so and offers no next page.
	if got := p.text("#overview-page"); got != "Page 1 of 1" || !evalJS[bool](p, `document.getElementById('overview-next').disabled`) {
		t.Errorf("pager says %q", got)
	}

	// A phone: the table fits, scrolling inside its box if need be.
	p.navigate(srv.url + "/?period=last-month")
	p.waitOverview()
	p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	if width := evalJS[int](p, `document.documentElement.scrollWidth`); width > 390 {
		t.Errorf("the overview is %d pixels wide on a phone's 390", width)
	}
	p.screenshot(filepath.Join(artifactDir, "overview-phone-"+backend+".png"))
	p.do(chromedp.EmulateReset())

	// The manager of Acme Voice: its subtree, never Globex or its figures.
	m := newPage(t, browser, srv)
	m.signIn("manager", srv.passwords["manager"])
	manager := srv.signIn(t, "manager", srv.passwords["manager"])
	m.waitOverview()
	m.choose("#period", "last-month")
	m.waitFor(`location.search.includes("period=last-month")`)
	m.waitOverview()
	mine := m.checkOverview(manager, view())
	if mine.TotalCount != 8 {
		t.Errorf("the manager sees %d accounts, want Acme Voice and its 7 sub-accounts", mine.TotalCount)
	}
	for _, r := range m.overviewRows("overview-table") {
		if r.Account == demoGlobex {
			t.Error("the manager of Acme Voice sees Globex Telecom")
		}
	}
	m.screenshot(filepath.Join(artifactDir, "overview-manager-"+backend+".png"))
}
