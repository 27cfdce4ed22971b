package servicestack

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/evovoice/billing/handlers/internal/usage"
	"github.com/evovoice/billing/jsv"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
	"github.com/shopspring/decimal"
)

// ListUsageRecords is the operation's request DTO as clients send it, in
// the query string with names in any letter case. Category is our extension
// to Evo Voice's operation.
type ListUsageRecords struct {
	AccountID string `json:"accountId,omitempty" openapi:"sid"`
	StartDate string `json:"startDate,omitempty" openapi:"date"`
	EndDate   string `json:"endDate,omitempty" openapi:"date"`
	Category  string `json:"category,omitempty" openapi:"category"`
}

// listUsageRecordsOp registers ListUsageRecords.
func (f *Face) listUsageRecordsOp() Operation {
	return newOperation(Operation{
		Name:    "ListUsageRecords",
		Method:  http.MethodGet,
		Path:    "/billing/usage",
		Roles:   []string{auth.RoleSystemAdministrator, auth.RoleManager},
		Summary: "Usage records of one account over a range of days: one record per category, in catalog order (or one category with Category).",
		Example: exampleListUsageRecords,
	}, nil, f.listUsageRecords)
}

// usageFilter is a ListUsageRecords request, checked.
type usageFilter struct {
	StartDate *models.Date
	EndDate   *models.Date
	Category  *models.Category
}

// accountOf binds the account a request names: AccountId, or the token's
// one account. Without an account no access is at stake, so every other
// bad parameter is reported with it.
func accountOf(r ListUsageRecords, p *auth.Principal, today models.Date) (string, error) {
	var errs models.ValidationError
	sid := usage.ParseAccount(&errs, "AccountId", r.AccountID)
	if sid == "" && len(errs.Errors) == 0 {
		if len(p.AccountIDs) == 1 {
			sid = p.AccountIDs[0]
		} else {
			errs.Add("AccountId", models.CodeRequired, "AccountId is required: your token does not name exactly one account")
		}
	}
	if len(errs.Errors) == 0 {
		return sid, nil
	}
	var rest *models.ValidationError
	if _, err := checkListUsageRecords(r, today); errors.As(err, &rest) {
		errs.Errors = append(errs.Errors, rest.Errors...)
	}
	return "", errs.Err()
}

// checkListUsageRecords parses and checks every parameter but the account,
// reporting all bad ones.
func checkListUsageRecords(r ListUsageRecords, today models.Date) (usageFilter, error) {
	var errs models.ValidationError
	f := usageFilter{
		StartDate: usage.ParseDate(&errs, "StartDate", r.StartDate, today),
		EndDate:   usage.ParseDate(&errs, "EndDate", r.EndDate, today),
		Category:  usage.ParseCategory(&errs, "Category", r.Category),
	}
	usage.CheckOrder(&errs, f.StartDate, f.EndDate)
	return f, errs.Err()
}

// UsageRecord is a record as ServiceStack clients read it: camelCase, fields
// in the declared order, usage a string, count an integer (absent for
// totalprice), price an exact decimal number.
type UsageRecord struct {
	AccountSid  string      `json:"accountSid" openapi:"sid"`
	Category    string      `json:"category" openapi:"category"`
	Count       *int64      `json:"count,omitempty"`
	CountUnit   string      `json:"countUnit"`
	Description string      `json:"description"`
	EndDate     string      `json:"endDate" openapi:"day"`
	Price       jsonDecimal `json:"price"`
	PriceUnit   string      `json:"priceUnit"`
	StartDate   string      `json:"startDate" openapi:"day"`
	Usage       string      `json:"usage"`
	UsageUnit   string      `json:"usageUnit"`
	URI         string      `json:"uri"`
}

// UsageRecords is ListUsageRecords' answer. It writes its own JSV, field by
// field, without reflection: it is the service's hottest answer.
type UsageRecords []UsageRecord

// AppendJSV writes [{accountSid:…,…},…] in the declared field order.
func (rs UsageRecords) AppendJSV(b []byte) []byte {
	b = append(b, '[')
	for i := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = rs[i].AppendJSV(b)
	}
	return append(b, ']')
}

// AppendJSV writes one record; a null count (totalprice) is left out.
func (r *UsageRecord) AppendJSV(b []byte) []byte {
	b = append(b, "{accountSid:"...)
	b = jsv.AppendString(b, r.AccountSid)
	b = append(b, ",category:"...)
	b = jsv.AppendString(b, r.Category)
	if r.Count != nil {
		b = append(b, ",count:"...)
		b = jsv.AppendInt(b, *r.Count)
	}
	b = append(b, ",countUnit:"...)
	b = jsv.AppendString(b, r.CountUnit)
	b = append(b, ",description:"...)
	b = jsv.AppendString(b, r.Description)
	b = append(b, ",endDate:"...)
	b = jsv.AppendString(b, r.EndDate)
	b = append(b, ",price:"...)
	b = jsv.AppendDecimal(b, r.Price.Decimal)
	b = append(b, ",priceUnit:"...)
	b = jsv.AppendString(b, r.PriceUnit)
	b = append(b, ",startDate:"...)
	b = jsv.AppendString(b, r.StartDate)
	b = append(b, ",usage:"...)
	b = jsv.AppendString(b, r.Usage)
	b = append(b, ",usageUnit:"...)
	b = jsv.AppendString(b, r.UsageUnit)
	b = append(b, ",uri:"...)
	b = jsv.AppendString(b, r.URI)
	return append(b, '}')
}

// jsonDecimal is a decimal on the wire: a number digit for digit, keeping
// its scale (1.50 stays 1.50), never in exponent form, in every format.
type jsonDecimal struct{ decimal.Decimal }

func (d jsonDecimal) MarshalJSON() ([]byte, error) { return jsv.AppendDecimal(nil, d.Decimal), nil }
func (d jsonDecimal) MarshalText() ([]byte, error) { return jsv.AppendDecimal(nil, d.Decimal), nil }
func (d jsonDecimal) AppendJSV(b []byte) []byte    { return jsv.AppendDecimal(b, d.Decimal) }

// listUsageRecords binds the account, authorizes, then checks the rest of
// the request, in the Restcomm face's order.
func (f *Face) listUsageRecords(c echo.Context, r ListUsageRecords) (UsageRecords, error) {
	p, today := auth.PrincipalOf(c), f.usage.Today()
	sid, err := accountOf(r, p, today)
	if err != nil {
		return nil, err
	}
	ctx, _ := f.usage.ReadReplica(c.Request().Context())
	ov, err := f.usage.Authorize(ctx, p, sid)
	if err != nil {
		return nil, err
	}
	req, err := checkListUsageRecords(r, today)
	if err != nil {
		return nil, err
	}
	release, err := f.usage.Admit(ctx, len(models.Categories()))
	if err != nil {
		return nil, err
	}
	defer release()
	plan, err := f.usage.Plan(ctx, usage.Query{Account: ov, Start: req.StartDate, End: req.EndDate, Category: req.Category})
	if err != nil {
		return nil, err
	}
	records, err := plan.Records(ctx, 0, plan.Len())
	if err != nil {
		return nil, err
	}
	out := make(UsageRecords, len(records))
	for i, r := range records {
		out[i] = newUsageRecord(r)
	}
	return out, nil
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
		Usage:       reply.DecimalText(r.Usage),
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

// exampleListUsageRecords is the /metadata sample.
func exampleListUsageRecords() (any, any) {
	count := int64(45725)
	rec := UsageRecord{
		AccountSid: "AC0000000000000000000000000000d002", Category: "calls", Count: &count, CountUnit: "calls",
		Description: "All voice calls, inbound and outbound", EndDate: "2024-01-31",
		Price: jsonDecimal{decimal.RequireFromString("2763.209")}, PriceUnit: "usd", StartDate: "2024-01-01",
		Usage: "215204", UsageUnit: "minutes",
	}
	rec.URI = listUsageURI(models.UsageRecord{AccountSid: rec.AccountSid, Category: rec.Category,
		StartDate: models.NewDate(2024, 1, 1), EndDate: models.NewDate(2024, 1, 31)})
	return ListUsageRecords{AccountID: rec.AccountSid, StartDate: "2024-01-01", EndDate: "2024-01-31", Category: "calls"}, UsageRecords{rec}
}
