package servicestack

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/evovoice/billing/handlers/internal/usage"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
	"github.com/shopspring/decimal"
)

// ListAccountUsage is the accounts overview's request DTO: the accounts the
// caller may read, with one category's figures over a range and the previous
// period, ranked and paged. Bound case-insensitively from the query string.
// SpecificIds is ServiceStack's ListRequest field: only those accounts (the
// dashboard draws its trend charts with it, one request a month for a page).
type ListAccountUsage struct {
	StartDate          string   `json:"startDate,omitempty"`
	EndDate            string   `json:"endDate,omitempty"`
	ParentID           string   `json:"parentId,omitempty"`
	Category           string   `json:"category,omitempty"`
	IncludeSubaccounts bool     `json:"includeSubaccounts,omitempty"`
	NameFilter         string   `json:"nameFilter,omitempty"`
	OrderBy            string   `json:"orderBy,omitempty"`
	Page               int      `json:"page,omitempty"`
	CountPerPage       int      `json:"countPerPage,omitempty"`
	SpecificIds        []string `json:"specificIds,omitempty"`

	query models.AccountUsageQuery // the checked request
}

// AccountUsageItem is one account of the overview, its figures written as
// ListUsageRecords writes them: usage a string, count an integer (absent for
// totalprice), price and change exact decimal numbers. Change is the percent
// change of usage, null when the previous usage is zero.
type AccountUsageItem struct {
	AccountID       string       `json:"accountId"`
	Name            string       `json:"name"`
	ParentAccountID string       `json:"parentAccountId,omitempty"`
	Currency        string       `json:"currency"`
	Count           *int64       `json:"count,omitempty"`
	Usage           string       `json:"usage"`
	Price           jsonDecimal  `json:"price"`
	PreviousCount   *int64       `json:"previousCount,omitempty"`
	PreviousUsage   string       `json:"previousUsage"`
	PreviousPrice   jsonDecimal  `json:"previousPrice"`
	Change          *jsonDecimal `json:"change"`
}

// AccountUsageTotal is the sum of every matching account of one currency.
type AccountUsageTotal struct {
	Currency      string       `json:"currency"`
	Count         *int64       `json:"count,omitempty"`
	Usage         string       `json:"usage"`
	Price         jsonDecimal  `json:"price"`
	PreviousCount *int64       `json:"previousCount,omitempty"`
	PreviousUsage string       `json:"previousUsage"`
	PreviousPrice jsonDecimal  `json:"previousPrice"`
	Change        *jsonDecimal `json:"change"`
}

// ListAccountUsageResponse is the answer: a page of accounts, the totals per
// currency of all matching accounts, how many match, and the two periods
// compared (the start defaults as ListUsageRecords').
type ListAccountUsageResponse struct {
	Items             []AccountUsageItem  `json:"items"`
	Totals            []AccountUsageTotal `json:"totals"`
	TotalCount        int                 `json:"totalCount"`
	StartDate         string              `json:"startDate"`
	EndDate           string              `json:"endDate"`
	PreviousStartDate string              `json:"previousStartDate"`
	PreviousEndDate   string              `json:"previousEndDate"`
}

// listAccountUsageOp registers ListAccountUsage.
func (f *Face) listAccountUsageOp() Operation {
	return newOperation(Operation{
		Name:    "ListAccountUsage",
		Method:  http.MethodGet,
		Path:    "/billing/usage/accounts",
		Roles:   []string{auth.RoleSystemAdministrator, auth.RoleManager},
		Summary: "The accounts overview: the accounts the caller may read with one category's count, usage and price over a range and the previous period, ranked and paged, with totals per currency.",
		Example: exampleListAccountUsage,
	}, f.bindListAccountUsage, f.listAccountUsage)
}

// bindListAccountUsage reads every parameter and checks them all at once.
func (f *Face) bindListAccountUsage(in *Input) (ListAccountUsage, error) {
	var errs models.ValidationError
	p := usage.NewParams(in.values, &errs)
	raw := models.AccountUsageInput{
		StartDate: p.Get("StartDate"), EndDate: p.Get("EndDate"), ParentID: p.Get("ParentId"),
		Category: p.Get("Category"), IncludeSubaccounts: p.Get("IncludeSubaccounts"),
		NameFilter: p.Get("NameFilter"), OrderBy: p.Get("OrderBy"),
		Page: p.Get("Page"), CountPerPage: p.Get("CountPerPage"),
	}
	ids := specificIDs(&errs, p.Get("SpecificIds"))
	q, err := models.CheckAccountUsage(raw, f.usage.Today())
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		errs.Errors = append(errs.Errors, ve.Errors...)
	}
	r := ListAccountUsage{StartDate: raw.StartDate, EndDate: raw.EndDate, ParentID: q.ParentID, Category: q.Category.Name,
		IncludeSubaccounts: q.IncludeSubaccounts, NameFilter: q.NameFilter, OrderBy: string(q.OrderBy),
		Page: q.Page, CountPerPage: q.CountPerPage, SpecificIds: ids, query: q}
	return r, errs.Err()
}

func (f *Face) listAccountUsage(c echo.Context, r ListAccountUsage) (ListAccountUsageResponse, error) {
	p := auth.PrincipalOf(c)
	readable := models.Readable{Every: p.ReadsEveryAccount(), Roots: p.AccountIDs}
	ctx, _ := f.store.ReadReplica(c.Request().Context())
	// The statement holds every matching account's figures (~200 bytes
	// each) whatever the page, so it weighs as a full page.
	release, err := f.usage.Admit(ctx, models.MaxAccountUsagePerPage)
	if err != nil {
		return ListAccountUsageResponse{}, err
	}
	defer release()
	q := r.query
	if r.SpecificIds != nil {
		// Every row, narrowed and paged below: the statement reads them all anyway.
		q.Page, q.CountPerPage = 0, maxPage*models.MaxAccountUsagePerPage
	}
	// ParentId out of scope is models.ErrOutOfScope (403), unknown to an
	// administrator models.ErrNotFound (404): problem.Of answers both.
	page, err := f.store.ListAccountUsage(ctx, readable, q)
	if err != nil {
		return ListAccountUsageResponse{}, err
	}
	if r.SpecificIds != nil {
		page = narrowAccountUsage(page, r.SpecificIds, r.query)
	}
	return accountUsageResponse(page, r.query.Category, p), nil
}

// narrowAccountUsage keeps the rows of the named accounts, totals them per
// currency and cuts the asked page.
func narrowAccountUsage(page models.AccountUsagePage, ids []string, q models.AccountUsageQuery) models.AccountUsagePage {
	items := slices.DeleteFunc(page.Items, func(it models.AccountUsage) bool { return !slices.Contains(ids, it.Sid) })
	page.TotalCount = len(items)
	page.Totals = []models.CurrencyTotals{}
	for _, it := range items {
		i := slices.IndexFunc(page.Totals, func(t models.CurrencyTotals) bool { return t.Currency == it.Currency })
		if i < 0 {
			page.Totals = append(page.Totals, models.CurrencyTotals{Currency: it.Currency})
			i = len(page.Totals) - 1
		}
		t := &page.Totals[i]
		t.Count += it.Count
		t.PreviousCount += it.PreviousCount
		t.Usage, t.PreviousUsage = t.Usage.Add(it.Usage), t.PreviousUsage.Add(it.PreviousUsage)
		t.Price, t.PreviousPrice = t.Price.Add(it.Price), t.PreviousPrice.Add(it.PreviousPrice)
	}
	slices.SortFunc(page.Totals, func(a, b models.CurrencyTotals) int { return strings.Compare(a.Currency, b.Currency) })
	for i := range page.Totals {
		t := &page.Totals[i]
		// Sums of micro-unit amounts are micro-unit amounts: MicrosOf cannot fail here.
		cur, _ := models.MicrosOf(t.Usage)
		prev, _ := models.MicrosOf(t.PreviousUsage)
		t.Change = models.PercentChange(cur, prev)
	}
	from := min(q.Page*q.CountPerPage, len(items))
	page.Items = items[from:min(from+q.CountPerPage, len(items))]
	return page
}

// accountUsageResponse writes a page for the wire. A Manager is not told the
// parent of an account it manages (as ListAccounts does not).
func accountUsageResponse(page models.AccountUsagePage, c models.Category, p *auth.Principal) ListAccountUsageResponse {
	counted := c.Name != models.TotalPrice
	count := func(n int64) *int64 {
		if !counted {
			return nil
		}
		return &n
	}
	change := func(d *decimal.Decimal) *jsonDecimal {
		if d == nil {
			return nil
		}
		return &jsonDecimal{*d}
	}
	out := ListAccountUsageResponse{
		Items: make([]AccountUsageItem, len(page.Items)), Totals: make([]AccountUsageTotal, len(page.Totals)),
		TotalCount: page.TotalCount,
		StartDate:  page.Range.Start.String(), EndDate: page.Range.End.String(),
		PreviousStartDate: page.PreviousRange.Start.String(), PreviousEndDate: page.PreviousRange.End.String(),
	}
	for i, it := range page.Items {
		parent := it.ParentSid
		if !p.ReadsEveryAccount() && slices.Contains(p.AccountIDs, it.Sid) && !slices.Contains(p.AccountIDs, parent) {
			parent = ""
		}
		out.Items[i] = AccountUsageItem{
			AccountID: it.Sid, Name: it.Name, ParentAccountID: parent, Currency: it.Currency,
			Count: count(it.Count), Usage: reply.DecimalText(it.Usage), Price: jsonDecimal{it.Price},
			PreviousCount: count(it.PreviousCount), PreviousUsage: reply.DecimalText(it.PreviousUsage), PreviousPrice: jsonDecimal{it.PreviousPrice},
			Change: change(it.Change),
		}
	}
	for i, t := range page.Totals {
		out.Totals[i] = AccountUsageTotal{
			Currency: t.Currency, Count: count(t.Count), Usage: reply.DecimalText(t.Usage), Price: jsonDecimal{t.Price},
			PreviousCount: count(t.PreviousCount), PreviousUsage: reply.DecimalText(t.PreviousUsage), PreviousPrice: jsonDecimal{t.PreviousPrice},
			Change: change(t.Change),
		}
	}
	return out
}

// exampleListAccountUsage is the /metadata sample.
func exampleListAccountUsage() (any, any) {
	dec := func(s string) jsonDecimal { return jsonDecimal{decimal.RequireFromString(s)} }
	n := func(v int64) *int64 { return &v }
	ch := dec("12.50")
	return ListAccountUsage{StartDate: "2024-02-01", EndDate: "2024-02-29", Category: "calls", OrderBy: "-price", CountPerPage: 50},
		ListAccountUsageResponse{
			Items: []AccountUsageItem{{
				AccountID: "AC0000000000000000000000000000d002", Name: "Acme Support", ParentAccountID: "AC0000000000000000000000000000d001",
				Currency: "usd", Count: n(450), Usage: "2250", Price: dec("29.25"),
				PreviousCount: n(400), PreviousUsage: "2000", PreviousPrice: dec("26.00"), Change: &ch,
			}},
			Totals: []AccountUsageTotal{{Currency: "usd", Count: n(450), Usage: "2250", Price: dec("29.25"),
				PreviousCount: n(400), PreviousUsage: "2000", PreviousPrice: dec("26.00"), Change: &ch}},
			TotalCount: 1, StartDate: "2024-02-01", EndDate: "2024-02-29", PreviousStartDate: "2024-01-01", PreviousEndDate: "2024-01-31",
		}
}
