package handlers

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// The Restcomm / Twilio face: /Accounts/{AccountSid}/Usage/Records under
// Twilio's API version, Restcomm's, and Restcomm's context path. Every face
// speaks Twilio's wire conventions; they differ in prefix, api_version and
// XML root.
type face struct {
	prefix     string
	apiVersion string
	xmlRoot    string
}

var faces = []face{
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
	maxPageSize     = 1000
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

// usageRecordsRoutes mounts the face under each prefix. Everything under a
// prefix, unknown paths included, authenticates first and answers errors in
// Twilio's shape.
func (a *API) usageRecordsRoutes(e *echo.Echo) {
	basic := auth.NewBasic(a.store, models.ErrNotFound)
	for _, f := range faces {
		g := e.Group(f.prefix,
			a.twilioErrors(f),
			middleware.Recover(), // a panic becomes an error the line above renders
			a.guardReady,
			auth.RequireBasicOrBearer(basic, a.verifier, auth.RoleSystemAdministrator, auth.RoleManager),
		)
		h := a.listTwilioUsageRecords(f)
		g.Any("/Accounts/:AccountSid/Usage/:records", h)
		g.Any("/Accounts/:AccountSid/Usage/Records/:subresource", h)
		a.usageTriggersRoutes(g, f)
	}
}

// usageRecordsRequest is the bound query string of a usage records request.
type usageRecordsRequest struct {
	category           *models.Category
	start, end         *models.Date // nil for fixed windows, which ignore them
	includeSubaccounts bool
	pageSize           int
	page               int
	after              *recordKey // from PageToken: the page starts after this record
}

// bindUsageRecords reads and checks every parameter (names in any letter
// case), reporting all bad ones.
func bindUsageRecords(q url.Values, today models.Date, fixedWindow bool) (usageRecordsRequest, error) {
	var errs models.ValidationError
	p := newParams(q, &errs)
	r := usageRecordsRequest{category: p.category("Category"), includeSubaccounts: true, pageSize: defaultPageSize}
	if !fixedWindow {
		r.start, r.end = p.date("StartDate", today), p.date("EndDate", today)
		checkOrder(&errs, r.start, r.end)
	}
	if s := p.get("IncludeSubaccounts"); s != "" {
		switch strings.ToLower(s) {
		case "true":
		case "false":
			r.includeSubaccounts = false
		default:
			errs.Add("IncludeSubaccounts", models.CodeInvalid, fmt.Sprintf("IncludeSubaccounts %q must be true or false", s))
		}
	}
	if s := p.get("PageSize"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err == nil && n > maxPageSize, errors.Is(err, strconv.ErrRange) && s[0] != '-':
			errs.Add("PageSize", codePageSizeTooLarge, fmt.Sprintf("PageSize %s is too large: the maximum page size is %d", s, maxPageSize))
		case err != nil || n < 1:
			errs.Add("PageSize", models.CodeInvalid, fmt.Sprintf("PageSize %q must be a whole number from 1 to %d", s, maxPageSize))
		default:
			r.pageSize = n
		}
	}
	if s := p.get("Page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxRecordsPage {
			errs.Add("Page", models.CodeInvalid, fmt.Sprintf("Page %q must be a whole number from 0 to %d", s, maxRecordsPage))
		}
		r.page = min(max(n, 0), maxRecordsPage)
	}
	if s := p.get("PageToken"); s != "" {
		k, ok := parsePageToken(s)
		if !ok {
			errs.Add("PageToken", codeInvalidPageToken, fmt.Sprintf("PageToken %q is not valid: follow next_page_uri or previous_page_uri of an earlier answer", s))
		} else {
			r.after = &k
		}
	}
	return r, errs.Err()
}

// recordKey orders records: by category in catalog order, then by period.
type recordKey struct {
	category int // catalog index
	start    models.Date
}

// A page token says "the records after this key". It is PA and the unpadded
// base64url of the category index (one byte) and the period's first day (four
// bytes): opaque, and free of '.' followed by digits, which twilio-go deletes
// from query strings.
const pageTokenPrefix = "PA"

var pageTokenEncoding = base64.RawURLEncoding.Strict()

func (k recordKey) token() string {
	var b [5]byte
	b[0] = byte(k.category)
	binary.BigEndian.PutUint32(b[1:], uint32(int32(k.start)))
	return pageTokenPrefix + pageTokenEncoding.EncodeToString(b[:])
}

func parsePageToken(s string) (recordKey, bool) {
	raw, ok := strings.CutPrefix(s, pageTokenPrefix)
	if !ok {
		return recordKey{}, false
	}
	b, err := pageTokenEncoding.DecodeString(raw)
	if err != nil || len(b) != 5 {
		return recordKey{}, false
	}
	k := recordKey{category: int(b[0]), start: models.Date(int32(binary.BigEndian.Uint32(b[1:])))}
	if k.category >= len(models.Categories()) || !k.start.Supported() {
		return recordKey{}, false
	}
	return k, true
}

// listTwilioUsageRecords answers /Usage/Records[/{Subresource}][.json|.xml|.csv].
func (a *API) listTwilioUsageRecords(f face) echo.HandlerFunc {
	return func(c echo.Context) error {
		if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
			c.Response().Header().Set(echo.HeaderAllow, "GET, HEAD")
			return &twilioError{Status: http.StatusMethodNotAllowed, Code: 20004, Message: "Method not allowed: usage records are read with GET"}
		}
		sub, ok := subresourceOf(c)
		if !ok {
			return resourceNotFound(c)
		}
		sid, ok := models.NormalizeAccountSid(c.Param("AccountSid"))
		if !ok {
			return resourceNotFound(c)
		}
		// as_of is when the data read is current to: a replica's last
		// replayed transaction, or now on the primary.
		ctx, asOf := a.store.ReadReplica(c.Request().Context())
		if asOf.IsZero() {
			asOf = a.now()
		}
		// One statement for the account, its lineage and its first usage day.
		ov, err := a.store.AccountOverview(ctx, sid)
		if err := a.scope.Decide(auth.PrincipalOf(c), sid, ov.Lineage, err); err != nil {
			return err
		}
		today := a.today()
		req, err := bindUsageRecords(c.QueryParams(), today, sub.window != nil)
		if err != nil {
			return err
		}
		records := len(models.Categories()) // a range or fixed window: one record per category
		if sub.granularity != models.GranularityAll {
			records = req.pageSize
		}
		release, err := a.queries.acquire(ctx, queryBaseWeight+min(records, req.pageSize))
		if err != nil {
			return err
		}
		defer release()
		q := usageQuery{account: ov.Account, firstUsage: ov.FirstUsage, firstUsageKnown: true,
			includeSubaccounts: req.includeSubaccounts, start: req.start, end: req.end, category: req.category, granularity: sub.granularity}
		if sub.window != nil {
			w := sub.window(today)
			q.start, q.end = &w.Start, &w.End
		}
		plan, err := a.planUsageQuery(ctx, q)
		if err != nil {
			return err
		}

		u := usageURIs{
			base:               f.prefix + "/Accounts/" + sid + "/Usage/Records",
			suffix:             suffixOf(c.Request()),
			includeSubaccounts: req.includeSubaccounts,
		}
		pg, err := a.readUsagePage(ctx, f, sub, u, req, plan, asOf)
		if err != nil {
			return err
		}
		return writeUsagePage(c, requestFormat(c.Request()), pg)
	}
}

// readUsagePage reads the page a request asks for (by PageToken, else by
// Page) and links it to the first, next and previous pages.
func (a *API) readUsagePage(ctx context.Context, f face, sub subresource, u usageURIs, req usageRecordsRequest, plan *usagePlan, asOf time.Time) (usagePage, error) {
	total := plan.len()
	from := min(req.page, total/req.pageSize+1) * req.pageSize // clamped, so that it cannot overflow
	if req.after != nil {
		from = plan.countThrough(req.after.category, req.after.start)
	}
	from = min(from, total)
	to := min(from+req.pageSize, total)
	records, err := plan.records(ctx, from, to)
	if err != nil {
		return usagePage{}, err
	}

	list := func(page int, after *recordKey) string {
		return u.list(sub, req.category, plan.period, req.pageSize, page, after)
	}
	after := func(i int) *recordKey {
		category, start := plan.key(i)
		return &recordKey{category: category, start: start}
	}
	pg := usagePage{
		face:         f,
		asOf:         asOf.UTC().Format("2006-01-02T15:04:05+00:00"),
		page:         req.page,
		pageSize:     req.pageSize,
		start:        from,
		end:          max(from, from+len(records)-1),
		uri:          list(req.page, req.after),
		firstPageURI: list(0, nil),
	}
	if to < total {
		next := list(min(req.page+1, maxRecordsPage), after(to-1)) // with a token, Page is a label
		pg.nextPageURI = &next
	}
	if from > 0 {
		prev := list(0, nil)
		if from > req.pageSize {
			prev = list(max(req.page-1, 0), after(from-req.pageSize-1))
		}
		pg.previousPageURI = &prev
	}
	pg.records = make([]twilioRecord, len(records))
	for i, r := range records {
		pg.records[i] = newTwilioRecord(r, f, pg.asOf, u, sub)
	}
	return pg, nil
}

// subresourceOf reads which view a path names: Records, or Records/{Sub} with
// the subresource in any letter case; either with an optional format suffix.
func subresourceOf(c echo.Context) (subresource, bool) {
	if s := c.Param("subresource"); s != "" {
		name, ok := stripSuffix(s)
		if !ok {
			return subresource{}, false
		}
		return findSubresource(name)
	}
	name, ok := stripSuffix(c.Param("records"))
	return rootRecords, ok && name == "Records"
}

// stripSuffix removes a .json, .xml or .csv suffix; other suffixes, and
// anything holding a slash, name no resource.
func stripSuffix(segment string) (string, bool) {
	if strings.Contains(segment, "/") {
		return "", false
	}
	ext := path.Ext(segment)
	switch strings.ToLower(ext) {
	case "", ".json", ".xml", ".csv":
		return strings.TrimSuffix(segment, ext), true
	}
	return "", false
}

// suffixOf is the format suffix the request used, which every URI in the
// answer repeats.
func suffixOf(r *http.Request) string {
	switch ext := strings.ToLower(path.Ext(r.URL.Path)); ext {
	case ".json", ".xml", ".csv":
		return ext
	}
	return ""
}

// usageURIs builds the URIs of an answer: the prefix the request came in on,
// its format suffix, and every filter, so that a URI alone asks again.
type usageURIs struct {
	base               string // {prefix}/Accounts/{sid}/Usage/Records
	suffix             string
	includeSubaccounts bool
}

func (u usageURIs) path(s subresource) string {
	if s.name == "" {
		return u.base + u.suffix
	}
	return u.base + "/" + s.name + u.suffix
}

// query writes parameters in Twilio's order: filters, then paging.
// IncludeSubaccounts appears only when false, its non-default value; fixed
// windows carry no dates, since they ignore them.
func (u usageURIs) query(s subresource, category string, period models.DateRange) []string {
	var q []string
	if category != "" {
		q = append(q, "Category="+url.QueryEscape(category))
	}
	if s.window == nil {
		q = append(q, "StartDate="+period.Start.String(), "EndDate="+period.End.String())
	}
	if !u.includeSubaccounts {
		q = append(q, "IncludeSubaccounts=false")
	}
	return q
}

// list is the URI of one page of a list.
func (u usageURIs) list(s subresource, c *models.Category, period models.DateRange, pageSize, page int, after *recordKey) string {
	category := ""
	if c != nil {
		category = c.Name
	}
	q := u.query(s, category, period)
	q = append(q, "PageSize="+strconv.Itoa(pageSize), "Page="+strconv.Itoa(page))
	if after != nil {
		q = append(q, "PageToken="+after.token())
	}
	return u.path(s) + "?" + strings.Join(q, "&")
}

// recordURIs are a record's own URI (the one that returns exactly that
// record: its view with its category and dates; a fixed window's record
// points at AllTime with its dates, since the window moves with the
// calendar) and its subresource_uris. A record carries nine URIs, so they
// are written into one buffer and cut from one string.
func (u usageURIs) recordURIs(s subresource, r models.UsageRecord) (self string, subs subresourceURIs) {
	if s.window != nil {
		s = allTimeRecords
	}
	category, start, end := url.QueryEscape(r.Category), r.StartDate.String(), r.EndDate.String()
	var b strings.Builder
	b.Grow((1 + len(subresources)) * (len(u.base) + len(u.suffix) + len(category) + 75))
	var endsArray [16]int
	u.writeView(&b, s, category, start, end)
	ends := append(endsArray[:0], b.Len())
	for _, v := range subresources {
		u.writeView(&b, v, category, start, end)
		ends = append(ends, b.Len())
	}
	all := b.String()
	self = all[:ends[0]]
	for i, v := range subresources {
		*subs.field(v.key) = all[ends[i]:ends[i+1]]
	}
	return self, subs
}

// writeView writes the URI that asks one view about a category (already
// query-escaped) over a period: what query writes.
func (u usageURIs) writeView(b *strings.Builder, s subresource, category, start, end string) {
	b.WriteString(u.base)
	if s.name != "" {
		b.WriteByte('/')
		b.WriteString(s.name)
	}
	b.WriteString(u.suffix)
	sep := byte('?')
	if category != "" {
		sep = writeParam(b, sep, "Category=", category)
	}
	if s.window == nil {
		sep = writeParam(b, sep, "StartDate=", start)
		sep = writeParam(b, sep, "EndDate=", end)
	}
	if !u.includeSubaccounts {
		sep = writeParam(b, sep, "IncludeSubaccounts=", "false")
	}
	if sep == '?' {
		b.WriteByte('?') // as before: a view with no parameters still ends in "?"
	}
}

func writeParam(b *strings.Builder, sep byte, name, value string) byte {
	b.WriteByte(sep)
	b.WriteString(name)
	b.WriteString(value)
	return '&'
}
