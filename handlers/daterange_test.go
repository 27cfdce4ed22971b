package handlers_test

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

var prefixes = []string{"/2010-04-01", "/2012-04-24", "/restcomm/2012-04-24"}

var bucketed = []string{"", "AllTime", "Daily", "Monthly", "Yearly"}

// pageToken builds a PageToken the way the service writes them, for any
// category index and day, supported or not.
func pageToken(category byte, day models.Date) string {
	var b [5]byte
	b[0] = category
	binary.BigEndian.PutUint32(b[1:], uint32(int32(day)))
	return "PA" + base64.RawURLEncoding.EncodeToString(b[:])
}

// TestDatesOutsideTheSupportedRange: every date parameter of both faces
// refuses a day outside 0001-01-01..9999-12-31, written or relative.
func TestDatesOutsideTheSupportedRange(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		bad := []string{
			"StartDate=0000-12-25", // the input
			"StartDate=0000-01-01&EndDate=2024-03-01",
			"EndDate=0000-12-31",
			"StartDate=0000-12-31&EndDate=0000-12-31",
			"StartDate=-738960days", // 0000-12-31 from 2024-03-15
			"StartDate=-9999999days",
			"EndDate=%2B2913100days", // 10000-01-01
			"EndDate=%2B9999999days",
		}
		t.Run("Restcomm and Twilio", func(t *testing.T) {
			for _, prefix := range prefixes {
				for _, sub := range bucketed {
					for _, suffix := range []string{".json", ".xml", ".csv", ""} {
						for _, q := range bad {
							path := handlertest.RecordsPath(prefix, f.Parent, sub)
							if sub == "" {
								path += suffix
							} else {
								path += suffix
							}
							r := f.BasicGet(path+"?"+q, f.Parent, "application/json")
							if r.StatusCode != http.StatusBadRequest || !strings.Contains(string(r.Body), "0001-01-01 to 9999-12-31") {
								t.Errorf("%s?%s: %d %s", path, q, r.StatusCode, r.Body)
							}
						}
					}
				}
			}
		})
		t.Run("Twilio error JSON", func(t *testing.T) {
			r := f.BasicGet(handlertest.RecordsPath("/2010-04-01", f.Parent, "Daily.json")+"?StartDate=0000-12-25", f.Parent, "")
			e := handlertest.TwilioError(r, t, 400, 20001)
			if !strings.Contains(e.Message, "StartDate") {
				t.Errorf("%+v", e)
			}
		})
		t.Run("PageToken", func(t *testing.T) {
			for _, prefix := range prefixes {
				for _, sub := range bucketed {
					for _, day := range []models.Date{models.MinDate - 1, models.MaxDate + 1, models.MinDate - 400} {
						path := handlertest.RecordsPath(prefix, f.Parent, sub) + ".json?PageToken=" + pageToken(0, day)
						handlertest.TwilioError(f.BasicGet(path, f.Parent, ""), t, 400, 21481)
					}
					for _, day := range []models.Date{models.MinDate, models.MaxDate} {
						path := handlertest.RecordsPath(prefix, f.Parent, sub) + ".json?PageToken=" + pageToken(0, day)
						f.BasicGet(path, f.Parent, "").WantStatus(t, 200)
					}
				}
			}
		})
		t.Run("Page", func(t *testing.T) {
			path := handlertest.RecordsPath("/2010-04-01", f.Parent, "Daily.json") + "?Page=1000000001&PageToken=" + pageToken(0, models.MinDate)
			handlertest.TwilioError(f.BasicGet(path, f.Parent, ""), t, 400, 20001)
		})
		t.Run("RecordUsageEvents", func(t *testing.T) {
			ev := handlertest.Event{"id": "edge-1", "accountSid": f.Parent, "category": "calls", "count": 1, "usage": "1", "price": "0.01", "currency": "usd"}
			for _, at := range []string{"0001-01-01T00:30:00+01:00", "0000-12-31T23:59:59Z", "9999-12-31T23:30:00-01:00"} {
				ev["occurredAt"] = at
				eb := f.PostEvents(ev).ExpectError(t, 400, models.CodeInvalid)
				if eb.ResponseStatus.Errors[0].FieldName != "events[0].occurredAt" {
					t.Errorf("%s: %+v", at, eb)
				}
			}
			ev["occurredAt"] = "0001-01-01T00:30:00Z"
			f.Ingest(ev)
		})
		t.Run("ServiceStack", func(t *testing.T) {
			tok := f.Admin()
			for _, route := range []string{"/billing/usage", "/billing/usage.xml", "/api/ListUsageRecords", "/jsv/reply/ListUsageRecords"} {
				for _, q := range bad {
					r := f.Get(route+"?AccountId="+f.Parent+"&"+q, tok)
					if r.StatusCode != http.StatusBadRequest || !strings.Contains(string(r.Body), "0001-01-01 to 9999-12-31") {
						t.Errorf("%s?%s: %d %s", route, q, r.StatusCode, r.Body)
					}
				}
			}
			eb := f.Get("/billing/usage?AccountId="+f.Parent+"&StartDate=0000-12-25&EndDate=0000-12-31", tok).ExpectError(t, 400, models.CodeInvalid)
			if len(eb.ResponseStatus.Errors) != 2 {
				t.Errorf("want both dates listed: %+v", eb)
			}
		})
	})
}

// linkPattern finds the URIs the Restcomm face writes in any format.
var linkPattern = regexp.MustCompile(`(?:/restcomm)?/20[0-9]{2}-[0-9]{2}-[0-9]{2}/Accounts/[^"<>,\s]+`)

// links are the face's URIs in an answer, with JSON's and XML's escapes undone.
func links(body []byte) []string {
	s := html.UnescapeString(strings.ReplaceAll(string(body), `\u0026`, "&"))
	return linkPattern.FindAllString(s, -1)
}

// TestEveryLinkIsAccepted follows every link written for ranges at the ends
// of the supported dates (the first and last supported days, and ranges
// across all of them), on every face, subresource and format, and wants
// each accepted: page links twice deep, record and subresource URIs once.
func TestEveryLinkIsAccepted(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		edge := f.AccountWithToken("Edges", f.Parent, models.NewDate(2023, 6, 1))
		f.Record(
			handlertest.Usage(edge, "calls-outbound", "0001-01-01T00:00:00Z", 1, "2", "0.5"),
			handlertest.Usage(edge, "sms-outbound-longcode", "0001-01-31T23:59:59Z", 1, "1", "0.25"),
			handlertest.Usage(edge, "calls-outbound", "9999-12-31T23:59:59.999999Z", 3, "4", "1.5"),
		)
		ranges := []string{
			"StartDate=0001-01-01&EndDate=0001-02-03",
			"StartDate=9999-11-28&EndDate=9999-12-31",
			"StartDate=0001-01-01&EndDate=9999-12-31",
			"StartDate=-738959days&EndDate=%2B2913099days", // the same, relative to 2024-03-15
			"StartDate=9999-12-31",                         // EndDate defaults to today: refused as backwards
		}
		for _, prefix := range prefixes {
			seen := map[string]bool{}
			var follow func(t *testing.T, uri string, depth int)
			follow = func(t *testing.T, uri string, depth int) {
				t.Helper()
				if seen[uri] {
					return
				}
				seen[uri] = true
				r := f.BasicGet(uri, edge, "")
				if r.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d %s", uri, r.StatusCode, r.Body)
				}
				if depth == 0 {
					return
				}
				for _, l := range links(r.Body) {
					if !strings.HasPrefix(l, prefix+"/Accounts/") {
						t.Fatalf("%s links to another face: %s", uri, l)
					}
					d := 0
					if strings.Contains(l, "PageSize=") { // a page of a list: its links too
						d = depth - 1
					}
					follow(t, l, d)
				}
			}
			for _, sub := range append(bucketed, "Today") {
				for _, suffix := range []string{".json", ".xml", ".csv"} {
					for _, q := range ranges {
						uri := handlertest.RecordsPath(prefix, edge, sub) + suffix + "?PageSize=2&" + q
						if strings.HasSuffix(q, "StartDate=9999-12-31") && sub != "Today" {
							f.BasicGet(uri, edge, "").WantStatus(t, 400)
							continue
						}
						follow(t, uri, 2)
						// The last page of the list and its links.
						if sub != "Today" {
							follow(t, uri+"&Page=999999999", 1)
						}
					}
				}
			}
			if len(seen) < 200 {
				t.Errorf("%s: only %d links followed", prefix, len(seen))
			}
		}
	})
}

// TestServiceStackRecordURIsAtTheEdges: every record's uri is accepted.
func TestServiceStackRecordURIsAtTheEdges(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		tok := f.Admin()
		for _, q := range []string{"StartDate=0001-01-01&EndDate=0001-01-01", "StartDate=9999-12-31&EndDate=9999-12-31", "StartDate=0001-01-01&EndDate=9999-12-31"} {
			recs := f.Records(fmt.Sprintf("/billing/usage?AccountId=%s&%s", f.Parent, q), tok)
			if len(recs) != 26 {
				t.Fatalf("%s: %d records", q, len(recs))
			}
			for _, r := range recs {
				got := f.Records(r.URI, tok)
				if len(got) != 1 || got[0].URI != r.URI || got[0].StartDate != r.StartDate || got[0].EndDate != r.EndDate || got[0].Usage != r.Usage {
					t.Errorf("%s: %+v", r.URI, got)
				}
			}
		}
	})
}
