package handlers

import (
	"net/http"
	"net/url"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
	"github.com/shopspring/decimal"
)

// ListUsageRecords is the operation's request, bound case-insensitively from
// the query string. Category is our extension to Evo Voice's operation.
type ListUsageRecords struct {
	AccountID string
	StartDate *models.Date
	EndDate   *models.Date
	Category  *models.Category
}

// bindListUsageRecords reads and checks every parameter, reporting all bad ones.
func bindListUsageRecords(q url.Values, today models.Date) (ListUsageRecords, error) {
	var errs models.ValidationError
	p := newParams(q, &errs)
	r := ListUsageRecords{
		AccountID: p.account("AccountId"),
		StartDate: p.date("StartDate", today),
		EndDate:   p.date("EndDate", today),
		Category:  p.category("Category"),
	}
	checkOrder(&errs, r.StartDate, r.EndDate)
	return r, errs.Err()
}

// UsageRecord is a record as ServiceStack clients read it: camelCase, fields
// in the declared order, usage a string, count an integer (absent for
// totalprice), price an exact decimal number.
type UsageRecord struct {
	AccountSid  string      `json:"accountSid"`
	Category    string      `json:"category"`
	Count       *int64      `json:"count,omitempty"`
	CountUnit   string      `json:"countUnit"`
	Description string      `json:"description"`
	EndDate     string      `json:"endDate"`
	Price       jsonDecimal `json:"price"`
	PriceUnit   string      `json:"priceUnit"`
	StartDate   string      `json:"startDate"`
	Usage       string      `json:"usage"`
	UsageUnit   string      `json:"usageUnit"`
	URI         string      `json:"uri"`
}

// jsonDecimal writes a decimal as a JSON number, digit for digit.
type jsonDecimal struct{ decimal.Decimal }

func (d jsonDecimal) MarshalJSON() ([]byte, error) { return []byte(decimalText(d.Decimal)), nil }

// decimalText writes a decimal keeping its scale (1.50 stays 1.50), never in
// exponent form.
func decimalText(d decimal.Decimal) string {
	if d.Exponent() < 0 {
		return d.StringFixed(-d.Exponent())
	}
	return d.String()
}

func (a *API) listUsageRecords(c echo.Context) error {
	req, err := bindListUsageRecords(c.QueryParams(), a.today())
	if err != nil {
		return err
	}
	p := auth.PrincipalOf(c)
	if req.AccountID == "" {
		if len(p.AccountIDs) != 1 {
			return badRequest("AccountId", models.CodeRequired, "AccountId is required: your token does not name exactly one account")
		}
		req.AccountID = p.AccountIDs[0]
	}
	ctx := c.Request().Context()
	// One statement for the account, its lineage and its first usage day.
	ov, err := a.store.AccountOverview(ctx, req.AccountID)
	if err := a.scope.Decide(p, req.AccountID, ov.Lineage, err); err != nil {
		return err
	}
	ans, err := a.runUsageQuery(ctx, usageQuery{account: ov.Account, firstUsage: ov.FirstUsage, firstUsageKnown: true,
		start: req.StartDate, end: req.EndDate, category: req.Category})
	if err != nil {
		return err
	}
	out := make([]UsageRecord, len(ans.records))
	for i, r := range ans.records {
		out[i] = newUsageRecord(r)
	}
	return writeJSON(c, http.StatusOK, out)
}

func newUsageRecord(r models.UsageRecord) UsageRecord {
	return UsageRecord{
		AccountSid:  r.AccountSid,
		Category:    r.Category,
		Count:       r.Count,
		CountUnit:   r.CountUnit,
		Description: r.Description,
		EndDate:     r.EndDate.String(),
		Price:       jsonDecimal{r.Price},
		PriceUnit:   r.PriceUnit,
		StartDate:   r.StartDate.String(),
		Usage:       decimalText(r.Usage),
		UsageUnit:   r.UsageUnit,
		URI:         listUsageURI(r),
	}
}

// listUsageURI is the request that returns exactly this record, with its
// parameters in url.Values.Encode's order, built directly: it runs for
// every record of every answer.
func listUsageURI(r models.UsageRecord) string {
	return "/billing/usage?AccountId=" + url.QueryEscape(r.AccountSid) + "&Category=" + url.QueryEscape(r.Category) +
		"&EndDate=" + r.EndDate.String() + "&StartDate=" + r.StartDate.String()
}
