package restcomm

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

// The wire formats of the Restcomm / Twilio face: Twilio's JSON envelope,
// Twilio's XML (PascalCase elements under TwilioResponse or
// RestcommResponse), and CSV. They are the face's own, independent of the
// ServiceStack face's encoders.

// format is one of the face's wire formats.
type format int

const (
	formatXML format = iota // Twilio's and Restcomm's default
	formatJSON
	formatCSV
)

var contentTypes = [...]string{formatXML: reply.XML, formatJSON: reply.JSON, formatCSV: reply.CSV}

// writeUsagePage answers with a page, encoded into a pooled buffer.
func writeUsagePage(c echo.Context, f format, pg usagePage) error {
	return reply.Encoded(c, http.StatusOK, contentTypes[f], func(dst []byte) ([]byte, error) { return appendUsagePage(dst, f, pg) })
}

// writeTwilioErrorBody answers with an error in the request's format.
func writeTwilioErrorBody(c echo.Context, v version, f format, e twilioErrorBody) error {
	var body []byte
	var err error
	switch f {
	case formatJSON:
		body, err = reply.AppendJSON(nil, e)
	case formatCSV:
		body, err = appendTwilioCSV(nil, [][]string{
			{"code", "message", "more_info", "status"},
			{strconv.Itoa(e.Code), e.Message, e.MoreInfo, strconv.Itoa(e.Status)},
		})
	default:
		body, err = appendTwilioXML(nil, twilioXML{XMLName: xml.Name{Local: v.xmlRoot}, Exception: &e})
	}
	if err != nil {
		return err
	}
	return reply.Body(c, e.Status, contentTypes[f], body)
}

// requestFormat reads the format from the path's suffix, else from an Accept
// header that asks for JSON, else XML (Twilio's and Restcomm's default).
func requestFormat(r *http.Request) format {
	switch suffixOf(r) {
	case ".json":
		return formatJSON
	case ".xml":
		return formatXML
	case ".csv":
		return formatCSV
	}
	if strings.Contains(strings.ToLower(r.Header.Get(echo.HeaderAccept)), "json") {
		return formatJSON
	}
	return formatXML
}

// twilioRecord is a usage record on the wire. JSON: snake_case keys; count,
// usage and price are strings; count is null for totalprice. XML: PascalCase
// elements, Count empty for totalprice.
type twilioRecord struct {
	AccountSid      string          `json:"account_sid" xml:"AccountSid"`
	APIVersion      string          `json:"api_version" xml:"ApiVersion"`
	AsOf            string          `json:"as_of" xml:"AsOf"`
	Category        string          `json:"category" xml:"Category"`
	Count           nullString      `json:"count" xml:"Count"`
	CountUnit       string          `json:"count_unit" xml:"CountUnit"`
	Description     string          `json:"description" xml:"Description"`
	EndDate         string          `json:"end_date" xml:"EndDate"`
	Price           string          `json:"price" xml:"Price"`
	PriceUnit       string          `json:"price_unit" xml:"PriceUnit"`
	StartDate       string          `json:"start_date" xml:"StartDate"`
	SubresourceURIs subresourceURIs `json:"subresource_uris" xml:"SubresourceUris"`
	URI             string          `json:"uri" xml:"Uri"`
	Usage           string          `json:"usage" xml:"Usage"`
	UsageUnit       string          `json:"usage_unit" xml:"UsageUnit"`
}

// textLen is the length of the record's text before escaping.
func (r *twilioRecord) textLen() int {
	u := &r.SubresourceURIs
	return len(r.AccountSid) + len(r.APIVersion) + len(r.AsOf) + len(r.Category) + len(r.Count.s) + len(r.CountUnit) +
		len(r.Description) + len(r.EndDate) + len(r.Price) + len(r.PriceUnit) + len(r.StartDate) + len(r.URI) +
		len(r.Usage) + len(r.UsageUnit) + len(u.AllTime) + len(u.Today) + len(u.Yesterday) + len(u.ThisMonth) +
		len(u.LastMonth) + len(u.Daily) + len(u.Monthly) + len(u.Yearly)
}

// subresourceURIs are the record's category and dates asked of every view.
type subresourceURIs struct {
	AllTime   string `json:"all_time" xml:"AllTime"`
	Today     string `json:"today" xml:"Today"`
	Yesterday string `json:"yesterday" xml:"Yesterday"`
	ThisMonth string `json:"this_month" xml:"ThisMonth"`
	LastMonth string `json:"last_month" xml:"LastMonth"`
	Daily     string `json:"daily" xml:"Daily"`
	Monthly   string `json:"monthly" xml:"Monthly"`
	Yearly    string `json:"yearly" xml:"Yearly"`
}

// nullString is a string that may be JSON null; XML writes null as empty.
type nullString struct {
	s     string
	valid bool
}

func (n nullString) MarshalJSON() ([]byte, error) {
	if !n.valid {
		return []byte("null"), nil
	}
	return json.Marshal(n.s)
}

func (n nullString) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(n.s, start)
}

func newTwilioRecord(r models.UsageRecord, v version, asOf string, u usageURIs, s subresource) twilioRecord {
	rec := twilioRecord{
		AccountSid:  r.AccountSid,
		APIVersion:  v.apiVersion,
		AsOf:        asOf,
		Category:    r.Category,
		CountUnit:   r.CountUnit,
		Description: r.Description,
		EndDate:     r.EndDate.String(),
		Price:       reply.DecimalText(r.Price),
		PriceUnit:   r.PriceUnit,
		StartDate:   r.StartDate.String(),
		Usage:       reply.DecimalText(r.Usage),
		UsageUnit:   r.UsageUnit,
	}
	if r.Count != nil {
		rec.Count = nullString{s: strconv.FormatInt(*r.Count, 10), valid: true}
	}
	rec.URI, rec.SubresourceURIs = u.recordURIs(s, r)
	return rec
}

// field is the URI of the view with this subresource_uris key.
func (s *subresourceURIs) field(key string) *string {
	switch key {
	case "all_time":
		return &s.AllTime
	case "today":
		return &s.Today
	case "yesterday":
		return &s.Yesterday
	case "this_month":
		return &s.ThisMonth
	case "last_month":
		return &s.LastMonth
	case "daily":
		return &s.Daily
	case "monthly":
		return &s.Monthly
	}
	return &s.Yearly
}

// usagePage is one page of a usage records list.
type usagePage struct {
	version         version
	asOf            string
	page, pageSize  int
	start, end      int
	uri             string
	firstPageURI    string
	nextPageURI     *string // nil on the last page
	previousPageURI *string // nil on the first page
	records         []twilioRecord
}

// twilioPaging is the paging part of Twilio's list envelope, the same for
// every list resource (usage records, usage triggers); the list follows it.
type twilioPaging struct {
	End             int     `json:"end"`
	FirstPageURI    string  `json:"first_page_uri"`
	NextPageURI     *string `json:"next_page_uri"`
	Page            int     `json:"page"`
	PageSize        int     `json:"page_size"`
	PreviousPageURI *string `json:"previous_page_uri"`
	Start           int     `json:"start"`
	URI             string  `json:"uri"`
}

// twilioPagingXML is the same as the attributes of an XML list; a missing
// next or previous page is an empty attribute.
type twilioPagingXML struct {
	Page            int    `xml:"page,attr"`
	PageSize        int    `xml:"pagesize,attr"`
	Start           int    `xml:"start,attr"`
	End             int    `xml:"end,attr"`
	URI             string `xml:"uri,attr"`
	FirstPageURI    string `xml:"firstpageuri,attr"`
	PreviousPageURI string `xml:"previouspageuri,attr"`
	NextPageURI     string `xml:"nextpageuri,attr"`
}

func (p twilioPaging) xml() twilioPagingXML {
	x := twilioPagingXML{Page: p.Page, PageSize: p.PageSize, Start: p.Start, End: p.End, URI: p.URI, FirstPageURI: p.FirstPageURI}
	if p.PreviousPageURI != nil {
		x.PreviousPageURI = *p.PreviousPageURI
	}
	if p.NextPageURI != nil {
		x.NextPageURI = *p.NextPageURI
	}
	return x
}

// twilioListJSON is Twilio's list envelope of usage records.
type twilioListJSON struct {
	twilioPaging
	UsageRecords []twilioRecord `json:"usage_records"`
}

// twilioXML is the XML root: TwilioResponse or RestcommResponse, holding a
// list or an exception.
type twilioXML struct {
	XMLName   xml.Name
	Records   *twilioListXML   `xml:"UsageRecords,omitempty"`
	Exception *twilioErrorBody `xml:"RestException,omitempty"`
}

// twilioListXML carries the paging information as attributes, as Twilio's
// XML lists do.
type twilioListXML struct {
	twilioPagingXML
	Records []twilioRecord `xml:"UsageRecord"`
}

// twilioErrorBody is Twilio's error, in JSON and (as RestException) in XML.
type twilioErrorBody struct {
	Code     int    `json:"code" xml:"Code"`
	Message  string `json:"message" xml:"Message"`
	MoreInfo string `json:"more_info" xml:"MoreInfo"`
	Status   int    `json:"status" xml:"Status"`
}

// csvRecordHeader names the CSV columns: the JSON keys, less subresource_uris.
var csvRecordHeader = []string{"account_sid", "api_version", "as_of", "category", "count", "count_unit", "description", "end_date", "price", "price_unit", "start_date", "uri", "usage", "usage_unit"}

// appendUsagePage writes a page in one of the face's formats.
func appendUsagePage(dst []byte, f format, pg usagePage) ([]byte, error) {
	// Grow once: a page of 650 records is a megabyte, and growing to it by
	// doubling cost more than writing it.
	size := 1024 + len(pg.uri)*4
	for i := range pg.records {
		size += pg.records[i].textLen() + 600 // names and punctuation, which XML writes twice
	}
	dst = slices.Grow(dst, size)
	paging := twilioPaging{End: pg.end, FirstPageURI: pg.firstPageURI, NextPageURI: pg.nextPageURI, Page: pg.page, PageSize: pg.pageSize,
		PreviousPageURI: pg.previousPageURI, Start: pg.start, URI: pg.uri}
	switch f {
	case formatJSON:
		list := twilioListJSON{twilioPaging: paging, UsageRecords: pg.records}
		return list.appendJSON(dst), nil
	case formatCSV:
		rows := [][]string{csvRecordHeader}
		for _, r := range pg.records {
			rows = append(rows, []string{r.AccountSid, r.APIVersion, r.AsOf, r.Category, r.Count.s, r.CountUnit, r.Description,
				r.EndDate, r.Price, r.PriceUnit, r.StartDate, r.URI, r.Usage, r.UsageUnit})
		}
		return appendTwilioCSV(dst, rows)
	}
	list := &twilioListXML{twilioPagingXML: paging.xml(), Records: pg.records}
	return appendTwilioPageXML(dst, pg.version.xmlRoot, list), nil
}

func appendTwilioXML(dst []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(append(dst, xml.Header...))
	if err := xml.NewEncoder(buf).Encode(v); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}

// appendTwilioCSV writes rows as encoding/csv does (LF line ends; quotes
// around a field with a comma, quote, line break or leading space), with
// formulas neutralised as in ServiceStack's CSV (defuseFormula).
func appendTwilioCSV(dst []byte, rows [][]string) ([]byte, error) {
	for _, row := range rows {
		for i, field := range row {
			if i > 0 {
				dst = append(dst, ',')
			}
			field, defused := reply.DefuseFormula(field)
			if defused || field == `\.` || strings.ContainsAny(field, ",\"\r\n") || leadingSpace(field) {
				dst = reply.AppendQuoted(dst, field)
			} else {
				dst = append(dst, field...)
			}
		}
		dst = append(dst, '\n')
	}
	return dst, nil
}

func leadingSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && unicode.IsSpace(r)
}

// appendTwilioPageXML writes a page as encoding/xml writes twilioXML (checked
// byte for byte by the tests), without reflection: XML is what Restcomm
// clients get by default.
func appendTwilioPageXML(dst []byte, root string, l *twilioListXML) []byte {
	dst = append(dst, xml.Header...)
	dst = append(append(append(dst, '<'), root...), `><UsageRecords page="`...)
	dst = strconv.AppendInt(dst, int64(l.Page), 10)
	dst = append(dst, `" pagesize="`...)
	dst = strconv.AppendInt(dst, int64(l.PageSize), 10)
	dst = append(dst, `" start="`...)
	dst = strconv.AppendInt(dst, int64(l.Start), 10)
	dst = append(dst, `" end="`...)
	dst = strconv.AppendInt(dst, int64(l.End), 10)
	dst = append(dst, `" uri="`...)
	dst = appendXMLEscaped(dst, l.URI)
	dst = append(dst, `" firstpageuri="`...)
	dst = appendXMLEscaped(dst, l.FirstPageURI)
	dst = append(dst, `" previouspageuri="`...)
	dst = appendXMLEscaped(dst, l.PreviousPageURI)
	dst = append(dst, `" nextpageuri="`...)
	dst = appendXMLEscaped(dst, l.NextPageURI)
	dst = append(dst, `">`...)
	for i := range l.Records {
		r := &l.Records[i]
		dst = append(dst, "<UsageRecord>"...)
		dst = appendTwilioElement(dst, "AccountSid", r.AccountSid)
		dst = appendTwilioElement(dst, "ApiVersion", r.APIVersion)
		dst = appendTwilioElement(dst, "AsOf", r.AsOf)
		dst = appendTwilioElement(dst, "Category", r.Category)
		dst = appendTwilioElement(dst, "Count", r.Count.s)
		dst = appendTwilioElement(dst, "CountUnit", r.CountUnit)
		dst = appendTwilioElement(dst, "Description", r.Description)
		dst = appendTwilioElement(dst, "EndDate", r.EndDate)
		dst = appendTwilioElement(dst, "Price", r.Price)
		dst = appendTwilioElement(dst, "PriceUnit", r.PriceUnit)
		dst = appendTwilioElement(dst, "StartDate", r.StartDate)
		u := &r.SubresourceURIs
		dst = append(dst, "<SubresourceUris>"...)
		dst = appendTwilioElement(dst, "AllTime", u.AllTime)
		dst = appendTwilioElement(dst, "Today", u.Today)
		dst = appendTwilioElement(dst, "Yesterday", u.Yesterday)
		dst = appendTwilioElement(dst, "ThisMonth", u.ThisMonth)
		dst = appendTwilioElement(dst, "LastMonth", u.LastMonth)
		dst = appendTwilioElement(dst, "Daily", u.Daily)
		dst = appendTwilioElement(dst, "Monthly", u.Monthly)
		dst = appendTwilioElement(dst, "Yearly", u.Yearly)
		dst = append(dst, "</SubresourceUris>"...)
		dst = appendTwilioElement(dst, "Uri", r.URI)
		dst = appendTwilioElement(dst, "Usage", r.Usage)
		dst = appendTwilioElement(dst, "UsageUnit", r.UsageUnit)
		dst = append(dst, "</UsageRecord>"...)
	}
	dst = append(dst, "</UsageRecords></"...)
	return append(append(dst, root...), '>')
}

func appendTwilioElement(dst []byte, name, text string) []byte {
	dst = append(append(append(dst, '<'), name...), '>')
	dst = appendXMLEscaped(dst, text)
	dst = append(append(append(dst, '<', '/'), name...), '>')
	return dst
}

// appendXMLEscaped escapes text exactly as encoding/xml does (the Twilio
// face's XML was encoding/xml's; the ServiceStack face follows .NET instead,
// see appendXMLText): the five markup characters, tab, newline and carriage
// return as references, and U+FFFD for what XML cannot carry.
func appendXMLEscaped(dst []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\'' && c != '&' && c != '<' && c != '>' {
			i++
			continue
		}
		r, width := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch r {
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			if !xmlChar(r) || r == utf8.RuneError && width == 1 {
				esc = "\uFFFD"
			}
		}
		if esc != "" {
			dst = append(append(dst, s[last:i]...), esc...)
			last = i + width
		}
		i += width
	}
	return append(dst, s[last:]...)
}

// xmlChar reports whether XML 1.0 can carry r.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
