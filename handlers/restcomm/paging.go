package restcomm

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

	"github.com/evovoice/billing/handlers/internal/usage"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

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
	p := usage.NewParams(q, &errs)
	r := usageRecordsRequest{category: p.Category("Category"), includeSubaccounts: true, pageSize: defaultPageSize}
	if !fixedWindow {
		r.start, r.end = p.Date("StartDate", today), p.Date("EndDate", today)
		usage.CheckOrder(&errs, r.start, r.end)
	}
	if s := p.Get("IncludeSubaccounts"); s != "" {
		switch strings.ToLower(s) {
		case "true":
		case "false":
			r.includeSubaccounts = false
		default:
			errs.Add("IncludeSubaccounts", models.CodeInvalid, fmt.Sprintf("IncludeSubaccounts %q must be true or false", s))
		}
	}
	if s := p.Get("PageSize"); s != "" {
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
	if s := p.Get("Page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxRecordsPage {
			errs.Add("Page", models.CodeInvalid, fmt.Sprintf("Page %q must be a whole number from 0 to %d", s, maxRecordsPage))
		}
		r.page = min(max(n, 0), maxRecordsPage)
	}
	if s := p.Get("PageToken"); s != "" {
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

// readUsagePage reads the page a request asks for (by PageToken, else by
// Page) and links it to the first, next and previous pages.
func readUsagePage(ctx context.Context, v version, sub subresource, u usageURIs, req usageRecordsRequest, plan *usage.Plan, asOf string) (usagePage, error) {
	total := plan.Len()
	from := min(req.page, total/req.pageSize+1) * req.pageSize // clamped, so that it cannot overflow
	if req.after != nil {
		from = plan.CountThrough(req.after.category, req.after.start)
	}
	from = min(from, total)
	to := min(from+req.pageSize, total)
	records, err := plan.Records(ctx, from, to)
	if err != nil {
		return usagePage{}, err
	}

	list := func(page int, after *recordKey) string {
		return u.list(sub, req.category, plan.Period, req.pageSize, page, after)
	}
	after := func(i int) *recordKey {
		category, start := plan.Key(i)
		return &recordKey{category: category, start: start}
	}
	pg := usagePage{
		version:      v,
		asOf:         asOf,
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
		pg.records[i] = newTwilioRecord(r, v, pg.asOf, u, sub)
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
