// Package restcomm is the Restcomm / Twilio face:
// /Accounts/{AccountSid}/Usage/Records under Twilio's API version,
// Restcomm's, and Restcomm's context path, with Twilio's envelope, paging,
// encoders and errors. Every version speaks Twilio's wire conventions; they
// differ in prefix, api_version and XML root.
//
// Where things go: routes and the request flow here; paging, page tokens
// and URIs in paging.go; the envelope and encoders in encode.go and
// jsonwrite.go; errors in errors.go; /Usage/Triggers in triggers.go and
// triggers_encode.go. A new resource under /Usage is one more route in
// Mount and a file of its own.
package restcomm

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/evovoice/billing/handlers/internal/usage"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// version is one of the prefixes the face answers under.
type version struct {
	prefix     string
	apiVersion string
	xmlRoot    string
}

var versions = []version{
	{prefix: "/2010-04-01", apiVersion: "2010-04-01", xmlRoot: "TwilioResponse"},
	{prefix: "/2012-04-24", apiVersion: "2012-04-24", xmlRoot: "RestcommResponse"},
	{prefix: "/restcomm/2012-04-24", apiVersion: "2012-04-24", xmlRoot: "RestcommResponse"},
}

// Paging limits, as Twilio documents them, and a largest page number of
// our own: above the records of the widest answer (3,652,059 days × 26
// categories = 95 M, at one a page), and small enough that the Page+1 of
// next_page_uri never overflows into a number we refuse.
const (
	defaultPageSize = 50
	maxPageSize     = usage.MaxPageRecords
	maxRecordsPage  = 1_000_000_000
)

// subresource is one view of the usage records: the list root, a bucketed
// view, or a fixed window.
type subresource struct {
	name        string // in paths; "" for the list root
	key         string // in subresource_uris
	granularity models.Granularity
	window      func(today models.Date) models.DateRange // fixed windows only
}

var (
	rootRecords    = subresource{granularity: models.GranularityAll}
	allTimeRecords = subresource{name: "AllTime", key: "all_time", granularity: models.GranularityAll}
	subresources   = []subresource{
		allTimeRecords,
		{name: "Today", key: "today", window: func(d models.Date) models.DateRange { return models.DateRange{Start: d, End: d} }},
		{name: "Yesterday", key: "yesterday", window: func(d models.Date) models.DateRange { return models.DateRange{Start: d - 1, End: d - 1} }},
		{name: "ThisMonth", key: "this_month", window: func(d models.Date) models.DateRange {
			return models.DateRange{Start: d.MonthStart(), End: d.MonthEnd()}
		}},
		{name: "LastMonth", key: "last_month", window: func(d models.Date) models.DateRange {
			last := d.MonthStart() - 1
			return models.DateRange{Start: last.MonthStart(), End: last}
		}},
		{name: "Daily", key: "daily", granularity: models.GranularityDay},
		{name: "Monthly", key: "monthly", granularity: models.GranularityMonth},
		{name: "Yearly", key: "yearly", granularity: models.GranularityYear},
	}
)

func findSubresource(name string) (subresource, bool) {
	for _, s := range subresources {
		if strings.EqualFold(s.name, name) {
			return s, true
		}
	}
	return subresource{}, false
}

// Store is what the face reads itself; usage goes through usage.Service.
type Store interface {
	auth.AuthTokens
	// Unavailable tells whether an error means the database is unreachable.
	Unavailable(err error) bool
}

// Config wires the face to its collaborators.
type Config struct {
	Store    Store
	Usage    *usage.Service
	Verifier *auth.Verifier
	Logger   *slog.Logger
	// Triggers serves /Usage/Triggers; without it the resource is absent.
	Triggers TriggerEngine
}

// Face serves the Restcomm / Twilio routes.
type Face struct {
	store    Store
	usage    *usage.Service
	verifier *auth.Verifier
	log      *slog.Logger
	triggers TriggerEngine
}

// New builds the face.
func New(cfg Config) *Face {
	return &Face{store: cfg.Store, usage: cfg.Usage, verifier: cfg.Verifier, log: cfg.Logger, triggers: cfg.Triggers}
}

// Mount adds the face under each prefix. Everything under a prefix, unknown
// paths included, authenticates first and answers errors in Twilio's shape;
// needsDB (the server's readiness check) runs after the error middleware, so
// that a 503 before the database is ready is Twilio's too.
func (f *Face) Mount(e *echo.Echo, needsDB echo.MiddlewareFunc) {
	basic := auth.NewBasic(f.store, models.ErrNotFound)
	for _, v := range versions {
		g := e.Group(v.prefix,
			f.errors(v),
			middleware.Recover(), // a panic becomes an error the line above renders
			needsDB,
			auth.RequireBasicOrBearer(basic, f.verifier, auth.RoleSystemAdministrator, auth.RoleManager),
		)
		h := f.listUsageRecords(v)
		g.Any("/Accounts/:AccountSid/Usage/:records", h)
		g.Any("/Accounts/:AccountSid/Usage/Records/:subresource", h)
		f.usageTriggersRoutes(g, v)
	}
}

// listUsageRecords answers /Usage/Records[/{Subresource}][.json|.xml|.csv]:
// bind the path, authorize, then bind and check the query string.
func (f *Face) listUsageRecords(v version) echo.HandlerFunc {
	return func(c echo.Context) error {
		if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
			c.Response().Header().Set(echo.HeaderAllow, "GET, HEAD")
			return &problem.Problem{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: "Method not allowed: usage records are read with GET"}
		}
		sub, ok := subresourceOf(c)
		if !ok {
			return resourceNotFound(c)
		}
		sid, ok := models.NormalizeAccountSid(c.Param("AccountSid"))
		if !ok {
			return resourceNotFound(c)
		}
		ctx, currentTo := f.usage.ReadReplica(c.Request().Context())
		ov, err := f.usage.Authorize(ctx, auth.PrincipalOf(c), sid)
		if err != nil {
			return err
		}
		today := f.usage.Today()
		req, err := bindUsageRecords(c.QueryParams(), today, sub.window != nil)
		if err != nil {
			return err
		}
		records := len(models.Categories()) // a range or fixed window: one record per category
		if sub.granularity != models.GranularityAll {
			records = req.pageSize
		}
		release, err := f.usage.Admit(ctx, min(records, req.pageSize))
		if err != nil {
			return err
		}
		defer release()
		q := usage.Query{Account: ov, IncludeSubaccounts: req.includeSubaccounts,
			Start: req.start, End: req.end, Category: req.category, Granularity: sub.granularity}
		if sub.window != nil {
			w := sub.window(today)
			q.Start, q.End = &w.Start, &w.End
		}
		plan, err := f.usage.Plan(ctx, q)
		if err != nil {
			return err
		}
		u := usageURIs{
			base:               v.prefix + "/Accounts/" + sid + "/Usage/Records",
			suffix:             suffixOf(c.Request()),
			includeSubaccounts: req.includeSubaccounts,
		}
		pg, err := readUsagePage(ctx, v, sub, u, req, plan, asOf(currentTo))
		if err != nil {
			return err
		}
		return writeUsagePage(c, requestFormat(c.Request()), pg)
	}
}

// asOf is the envelope's as_of: when the data read is current to (a
// replica's last replayed transaction, or now on the primary), to the second.
func asOf(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }
