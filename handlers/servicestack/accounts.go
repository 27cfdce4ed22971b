package servicestack

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/usage"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

// ServiceStack list paging: Page counts from 0.
const (
	defaultCountPerPage = 100
	maxCountPerPage     = 1000
	maxPage             = 1_000_000
)

// ListAccounts is Evo Voice's operation of that name with ServiceStack's list
// paging, bound case-insensitively from the query string. SpecificIds is
// ServiceStack's ListRequest field too: the dashboard names its breadcrumbs'
// accounts with it.
type ListAccounts struct {
	NameFilter   string   `json:"nameFilter,omitempty"`
	Page         int      `json:"page,omitempty"`
	CountPerPage int      `json:"countPerPage,omitempty"`
	All          bool     `json:"all,omitempty"`
	SpecificIds  []string `json:"specificIds,omitempty" openapi:"sid"`
}

// listAccountsOp registers ListAccounts.
func (f *Face) listAccountsOp() Operation {
	return newOperation(Operation{
		Name:    "ListAccounts",
		Method:  http.MethodGet,
		Path:    "/accounts",
		Roles:   []string{auth.RoleSystemAdministrator, auth.RoleManager},
		Summary: "The accounts the caller may read, sorted by name, with ServiceStack list paging; a Manager sees its accounts and their sub-accounts.",
		Example: exampleListAccounts,
	}, func(in *Input) (ListAccounts, error) { return bindListAccounts(in.values) }, f.listAccounts)
}

// AccountInfo is one account as ListAccounts returns it.
type AccountInfo struct {
	ID              string   `json:"id" openapi:"sid"`
	Name            string   `json:"name"`
	ParentAccountID string   `json:"parentAccountId,omitempty" openapi:"sid"`
	AncestorIDs     []string `json:"ancestorIds" openapi:"sid"` // top-level account first; only those the caller may see
	Currency        string   `json:"currency"`
	DateCreated     string   `json:"dateCreated"`
}

// ListAccountsResponse is ServiceStack's ListResponse.
type ListAccountsResponse struct {
	Items      []AccountInfo `json:"items"`
	TotalCount int           `json:"totalCount"`
	TotalPages int           `json:"totalPages"`
}

// bindListAccounts reads and checks every parameter, reporting all bad ones.
func bindListAccounts(q url.Values) (ListAccounts, error) {
	var errs models.ValidationError
	p := usage.NewParams(q, &errs)
	r := ListAccounts{
		NameFilter:   strings.TrimSpace(p.Get("NameFilter")),
		Page:         wholeNumber(p, &errs, "Page", 0),
		CountPerPage: wholeNumber(p, &errs, "CountPerPage", defaultCountPerPage),
		All:          flag(p, &errs, "All"),
		SpecificIds:  specificIDs(&errs, p.Get("SpecificIds")),
	}
	if r.CountPerPage < 1 || r.CountPerPage > maxCountPerPage {
		errs.Add("CountPerPage", models.CodeInvalid, fmt.Sprintf("CountPerPage must be from 1 to %d (or use All=true)", maxCountPerPage))
	}
	if r.Page > maxPage {
		errs.Add("Page", models.CodeInvalid, fmt.Sprintf("Page must be at most %d", maxPage))
	}
	if len(r.NameFilter) > 200 {
		errs.Add("NameFilter", models.CodeInvalid, "NameFilter is longer than 200 characters")
	}
	return r, errs.Err()
}

// specificIDs reads ServiceStack's SpecificIds, a list of account SIDs: a,b
// as ServiceStack's query strings write a list, or [a,b] as JSV; nil when
// absent.
func specificIDs(errs *models.ValidationError, s string) []string {
	if s == "" {
		return nil
	}
	if inner, ok := strings.CutPrefix(s, "["); ok {
		s = strings.TrimSuffix(inner, "]")
	}
	ids := []string{}
	for _, part := range strings.Split(s, ",") {
		sid, ok := models.NormalizeAccountSid(strings.TrimSpace(part))
		if !ok {
			errs.Add("SpecificIds", models.CodeInvalid, fmt.Sprintf("SpecificIds: %q is not an account SID (AC followed by 32 hex digits)", part))
			continue
		}
		ids = append(ids, sid)
	}
	if len(ids) > maxCountPerPage {
		errs.Add("SpecificIds", models.CodeInvalid, fmt.Sprintf("SpecificIds names more than %d accounts", maxCountPerPage))
	}
	return ids
}

func wholeNumber(p usage.Params, errs *models.ValidationError, name string, def int) int {
	s := p.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		errs.Add(name, models.CodeInvalid, fmt.Sprintf("%s %q is not a whole number of at least 0", name, s))
		return def
	}
	return n
}

func flag(p usage.Params, errs *models.ValidationError, name string) bool {
	s := p.Get(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		errs.Add(name, models.CodeInvalid, fmt.Sprintf("%s %q is not true or false", name, s))
	}
	return b
}

// listAccounts answers ListAccounts: the accounts the caller may see.
func (f *Face) listAccounts(c echo.Context, req ListAccounts) (ListAccountsResponse, error) {
	p := auth.PrincipalOf(c)
	filter := models.AccountFilter{Every: p.ReadsEveryAccount(), Roots: p.AccountIDs, NameFilter: req.NameFilter, IDs: req.SpecificIds}
	if !req.All {
		filter.Limit, filter.Offset = req.CountPerPage, req.Page*req.CountPerPage
	}
	ctx, _ := f.store.ReadReplica(c.Request().Context())
	page, err := f.store.ListAccounts(ctx, filter)
	if err != nil {
		return ListAccountsResponse{}, err
	}
	res := ListAccountsResponse{Items: make([]AccountInfo, len(page.Accounts)), TotalCount: page.Total}
	perPage := req.CountPerPage
	if req.All {
		perPage = max(1, page.Total)
	}
	res.TotalPages = (page.Total + perPage - 1) / perPage
	for i, acc := range page.Accounts {
		res.Items[i] = accountInfo(acc, p)
	}
	return res, nil
}

// accountInfo describes an account, naming only ancestors the caller may see:
// a Manager of a sub-account is not told its parent.
func accountInfo(acc models.ListedAccount, p *auth.Principal) AccountInfo {
	ancestors := acc.AncestorIDs
	if !p.ReadsEveryAccount() {
		i := slices.IndexFunc(ancestors, func(sid string) bool { return slices.Contains(p.AccountIDs, sid) })
		if i < 0 {
			i = len(ancestors)
		}
		ancestors = ancestors[i:]
	}
	info := AccountInfo{
		ID:          acc.Sid,
		Name:        acc.Name,
		AncestorIDs: slices.Clone(ancestors),
		Currency:    acc.Currency,
		DateCreated: acc.CreatedAt.UTC().Format(time.RFC3339),
	}
	if len(ancestors) > 0 {
		info.ParentAccountID = ancestors[len(ancestors)-1]
	}
	return info
}

// exampleListAccounts is the /metadata sample.
func exampleListAccounts() (any, any) {
	parent, support := "AC0000000000000000000000000000d001", "AC0000000000000000000000000000d002"
	return ListAccounts{NameFilter: "acme", CountPerPage: 50}, ListAccountsResponse{
		Items: []AccountInfo{
			{ID: support, Name: "Acme Support", ParentAccountID: parent, AncestorIDs: []string{parent}, Currency: "usd", DateCreated: "2024-01-04T00:00:00Z"},
			{ID: parent, Name: "Acme Voice", AncestorIDs: []string{}, Currency: "usd", DateCreated: "2024-01-01T00:00:00Z"},
		},
		TotalCount: 2, TotalPages: 1,
	}
}
