package restcomm_test

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// The exact wire of the Restcomm / Twilio face, read with plain HTTP and the
// standard library's decoders.

func TestUsageRecordsExactJSON(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)

		t.Run("Today, one category", func(t *testing.T) {
			r := f.BasicGet(handlertest.RecordsPath("/2010-04-01", f.Parent, "Today.json")+"?Category=calls", f.Parent, "")
			r.WantStatus(t, 200)
			want := strings.NewReplacer("{P}", handlertest.RecordsPath("/2010-04-01", f.Parent, ""), "{sid}", f.Parent).Replace(
				`{"end":0,"first_page_uri":"{P}/Today.json?Category=calls&PageSize=50&Page=0","next_page_uri":null,"page":0,"page_size":50,` +
					`"previous_page_uri":null,"start":0,"uri":"{P}/Today.json?Category=calls&PageSize=50&Page=0","usage_records":[` +
					`{"account_sid":"{sid}","api_version":"2010-04-01","as_of":"2024-03-15T12:00:00+00:00","category":"calls","count":"6",` +
					`"count_unit":"calls","description":"All voice calls, inbound and outbound","end_date":"2024-03-15","price":"0.202",` +
					`"price_unit":"usd","start_date":"2024-03-15","subresource_uris":{` +
					`"all_time":"{P}/AllTime.json?Category=calls&StartDate=2024-03-15&EndDate=2024-03-15",` +
					`"today":"{P}/Today.json?Category=calls","yesterday":"{P}/Yesterday.json?Category=calls",` +
					`"this_month":"{P}/ThisMonth.json?Category=calls","last_month":"{P}/LastMonth.json?Category=calls",` +
					`"daily":"{P}/Daily.json?Category=calls&StartDate=2024-03-15&EndDate=2024-03-15",` +
					`"monthly":"{P}/Monthly.json?Category=calls&StartDate=2024-03-15&EndDate=2024-03-15",` +
					`"yearly":"{P}/Yearly.json?Category=calls&StartDate=2024-03-15&EndDate=2024-03-15"},` +
					`"uri":"{P}/AllTime.json?Category=calls&StartDate=2024-03-15&EndDate=2024-03-15","usage":"19","usage_unit":"minutes"}]}`)
			if string(r.Body) != want {
				t.Errorf("body\n%s\nwant\n%s", r.Body, want)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})

		t.Run("Restcomm prefix, totalprice, paged, one account", func(t *testing.T) {
			path := handlertest.RecordsPath("/restcomm/2012-04-24", f.Parent, "Monthly.json") + "?Category=totalprice&StartDate=2024-02-10&IncludeSubaccounts=false&PageSize=1"
			r := f.BasicGet(path, f.Parent, "")
			r.WantStatus(t, 200)
			want := strings.NewReplacer("{R}", handlertest.RecordsPath("/restcomm/2012-04-24", f.Parent, ""), "{sid}", f.Parent).Replace(
				`{"end":0,"first_page_uri":"{R}/Monthly.json?Category=totalprice&StartDate=2024-02-10&EndDate=2024-03-15&IncludeSubaccounts=false&PageSize=1&Page=0",` +
					`"next_page_uri":"{R}/Monthly.json?Category=totalprice&StartDate=2024-02-10&EndDate=2024-03-15&IncludeSubaccounts=false&PageSize=1&Page=1&PageToken=PAGQAATTM",` +
					`"page":0,"page_size":1,"previous_page_uri":null,"start":0,` +
					`"uri":"{R}/Monthly.json?Category=totalprice&StartDate=2024-02-10&EndDate=2024-03-15&IncludeSubaccounts=false&PageSize=1&Page=0","usage_records":[` +
					`{"account_sid":"{sid}","api_version":"2012-04-24","as_of":"2024-03-15T12:00:00+00:00","category":"totalprice","count":null,` +
					`"count_unit":"","description":"Total price of all usage","end_date":"2024-02-29","price":"0.0395","price_unit":"usd",` +
					`"start_date":"2024-02-10","subresource_uris":{` +
					`"all_time":"{R}/AllTime.json?Category=totalprice&StartDate=2024-02-10&EndDate=2024-02-29&IncludeSubaccounts=false",` +
					`"today":"{R}/Today.json?Category=totalprice&IncludeSubaccounts=false",` +
					`"yesterday":"{R}/Yesterday.json?Category=totalprice&IncludeSubaccounts=false",` +
					`"this_month":"{R}/ThisMonth.json?Category=totalprice&IncludeSubaccounts=false",` +
					`"last_month":"{R}/LastMonth.json?Category=totalprice&IncludeSubaccounts=false",` +
					`"daily":"{R}/Daily.json?Category=totalprice&StartDate=2024-02-10&EndDate=2024-02-29&IncludeSubaccounts=false",` +
					`"monthly":"{R}/Monthly.json?Category=totalprice&StartDate=2024-02-10&EndDate=2024-02-29&IncludeSubaccounts=false",` +
					`"yearly":"{R}/Yearly.json?Category=totalprice&StartDate=2024-02-10&EndDate=2024-02-29&IncludeSubaccounts=false"},` +
					`"uri":"{R}/Monthly.json?Category=totalprice&StartDate=2024-02-10&EndDate=2024-02-29&IncludeSubaccounts=false",` +
					`"usage":"0.0395","usage_unit":"usd"}]}`)
			if string(r.Body) != want {
				t.Errorf("body\n%s\nwant\n%s", r.Body, want)
			}

			// The next page, from next_page_uri alone, is the last.
			var page struct {
				NextPageURI  *string          `json:"next_page_uri"`
				PrevPageURI  *string          `json:"previous_page_uri"`
				UsageRecords []map[string]any `json:"usage_records"`
			}
			r.JSON(t, &page)
			next := f.BasicGet(*page.NextPageURI, f.Parent, "")
			next.WantStatus(t, 200)
			page.NextPageURI = nil
			next.JSON(t, &page)
			if page.NextPageURI != nil || page.PrevPageURI == nil || len(page.UsageRecords) != 1 ||
				page.UsageRecords[0]["start_date"] != "2024-03-01" || page.UsageRecords[0]["price"] != "0.08" {
				t.Errorf("second page: %s", next.Body)
			}
		})

		t.Run("types and keys", func(t *testing.T) {
			r := f.BasicGet(handlertest.RecordsPath("/2010-04-01", f.Parent, "")+".json", f.Parent, "")
			r.WantStatus(t, 200)
			var env map[string]any
			r.JSON(t, &env)
			keys := func(m map[string]any) []string {
				var out []string
				for k := range m {
					out = append(out, k)
				}
				slices.Sort(out)
				return out
			}
			if got := keys(env); !slices.Equal(got, []string{"end", "first_page_uri", "next_page_uri", "page", "page_size", "previous_page_uri", "start", "uri", "usage_records"}) {
				t.Errorf("envelope keys %v", got)
			}
			for _, k := range []string{"end", "page", "page_size", "start"} {
				if _, ok := env[k].(float64); !ok {
					t.Errorf("%s is %T, want a number", k, env[k])
				}
			}
			recs := env["usage_records"].([]any)
			if len(recs) != 26 {
				t.Fatalf("%d records", len(recs))
			}
			for _, x := range recs {
				rec := x.(map[string]any)
				if got := keys(rec); !slices.Equal(got, []string{"account_sid", "api_version", "as_of", "category", "count", "count_unit", "description", "end_date", "price", "price_unit", "start_date", "subresource_uris", "uri", "usage", "usage_unit"}) {
					t.Fatalf("record keys %v", got)
				}
				for _, k := range []string{"usage", "price"} {
					if s, ok := rec[k].(string); !ok || s == "" {
						t.Errorf("%s %s is %T %v, want a non-empty string", rec["category"], k, rec[k], rec[k])
					}
				}
				if _, ok := rec["count"].(string); !ok && !(rec["category"] == "totalprice" && rec["count"] == nil) {
					t.Errorf("%s count is %T", rec["category"], rec["count"])
				}
			}
		})
	})
}

// xmlPage is a list as encoding/xml reads it.
type xmlPage struct {
	XMLName xml.Name
	Records struct {
		Page     int    `xml:"page,attr"`
		PageSize int    `xml:"pagesize,attr"`
		Start    int    `xml:"start,attr"`
		End      int    `xml:"end,attr"`
		URI      string `xml:"uri,attr"`
		First    string `xml:"firstpageuri,attr"`
		Next     string `xml:"nextpageuri,attr"`
		Previous string `xml:"previouspageuri,attr"`
		Records  []struct {
			AccountSid, ApiVersion, AsOf, Category, Count, CountUnit, Description, EndDate string
			Price, PriceUnit, StartDate, Uri, Usage, UsageUnit                             string
			SubresourceUris                                                                struct {
				AllTime, Today, Yesterday, ThisMonth, LastMonth, Daily, Monthly, Yearly string
			}
		} `xml:"UsageRecord"`
	} `xml:"UsageRecords"`
	Exception *struct {
		Code, Status      int
		Message, MoreInfo string
	} `xml:"RestException"`
}

// wellFormed reads every token of an XML document strictly.
func wellFormed(t *testing.T, body []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, body)
		}
	}
}

func readXMLPage(r handlertest.Response, t *testing.T) xmlPage {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/xml; charset=utf-8" {
		t.Fatalf("Content-Type %q: %s", ct, r.Body)
	}
	if !bytes.HasPrefix(r.Body, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("no XML declaration: %.60s", r.Body)
	}
	wellFormed(t, r.Body)
	var p xmlPage
	if err := xml.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsageRecordsXML(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)

		t.Run("exact", func(t *testing.T) {
			r := f.BasicGet(handlertest.RecordsPath("/2012-04-24", f.Parent, "Yesterday")+"?Category=calls", f.Parent, "")
			r.WantStatus(t, 200)
			want := strings.NewReplacer("{R}", handlertest.RecordsPath("/2012-04-24", f.Parent, ""), "{sid}", f.Parent).Replace(
				`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
					`<RestcommResponse><UsageRecords page="0" pagesize="50" start="0" end="0" uri="{R}/Yesterday?Category=calls&amp;PageSize=50&amp;Page=0" ` +
					`firstpageuri="{R}/Yesterday?Category=calls&amp;PageSize=50&amp;Page=0" previouspageuri="" nextpageuri="">` +
					`<UsageRecord><AccountSid>{sid}</AccountSid><ApiVersion>2012-04-24</ApiVersion><AsOf>2024-03-15T12:00:00+00:00</AsOf>` +
					`<Category>calls</Category><Count>1</Count><CountUnit>calls</CountUnit><Description>All voice calls, inbound and outbound</Description>` +
					`<EndDate>2024-03-14</EndDate><Price>0.039</Price><PriceUnit>usd</PriceUnit><StartDate>2024-03-14</StartDate><SubresourceUris>` +
					`<AllTime>{R}/AllTime?Category=calls&amp;StartDate=2024-03-14&amp;EndDate=2024-03-14</AllTime>` +
					`<Today>{R}/Today?Category=calls</Today><Yesterday>{R}/Yesterday?Category=calls</Yesterday>` +
					`<ThisMonth>{R}/ThisMonth?Category=calls</ThisMonth><LastMonth>{R}/LastMonth?Category=calls</LastMonth>` +
					`<Daily>{R}/Daily?Category=calls&amp;StartDate=2024-03-14&amp;EndDate=2024-03-14</Daily>` +
					`<Monthly>{R}/Monthly?Category=calls&amp;StartDate=2024-03-14&amp;EndDate=2024-03-14</Monthly>` +
					`<Yearly>{R}/Yearly?Category=calls&amp;StartDate=2024-03-14&amp;EndDate=2024-03-14</Yearly></SubresourceUris>` +
					`<Uri>{R}/AllTime?Category=calls&amp;StartDate=2024-03-14&amp;EndDate=2024-03-14</Uri><Usage>3</Usage><UsageUnit>minutes</UsageUnit>` +
					`</UsageRecord></UsageRecords></RestcommResponse>`)
			if string(r.Body) != want {
				t.Errorf("body\n%s\nwant\n%s", r.Body, want)
			}
		})

		for _, c := range []struct{ prefix, root, version string }{
			{"/2010-04-01", "TwilioResponse", "2010-04-01"},
			{"/2012-04-24", "RestcommResponse", "2012-04-24"},
			{"/restcomm/2012-04-24", "RestcommResponse", "2012-04-24"},
		} {
			t.Run(c.root+" on "+c.prefix, func(t *testing.T) {
				r := f.BasicGet(handlertest.RecordsPath(c.prefix, f.Parent, "AllTime")+"?PageSize=10&Page=2", f.Parent, "")
				r.WantStatus(t, 200)
				p := readXMLPage(r, t)
				list := p.Records
				if p.XMLName.Local != c.root || list.Page != 2 || list.PageSize != 10 || list.Start != 20 || list.End != 25 || len(list.Records) != 6 {
					t.Fatalf("%s page %d size %d %d..%d, %d records", p.XMLName.Local, list.Page, list.PageSize, list.Start, list.End, len(list.Records))
				}
				if list.Next != "" || !strings.HasPrefix(list.Previous, handlertest.RecordsPath(c.prefix, f.Parent, "AllTime?")) || !strings.Contains(list.Previous, "Page=1&PageToken=") {
					t.Errorf("next %q, previous %q", list.Next, list.Previous)
				}
				last := list.Records[5]
				if last.Category != "totalprice" || last.Count != "" || last.CountUnit != "" || last.Usage != "1.4506" || last.Price != "1.4506" ||
					last.UsageUnit != "usd" || last.ApiVersion != c.version || last.AccountSid != f.Parent {
					t.Errorf("totalprice: %+v", last)
				}
				if !strings.HasPrefix(last.SubresourceUris.Daily, handlertest.RecordsPath(c.prefix, f.Parent, "Daily?Category=totalprice&StartDate=2023-01-10&EndDate=2024-03-15")) {
					t.Errorf("daily uri %q", last.SubresourceUris.Daily)
				}
			})
		}

		t.Run("errors", func(t *testing.T) {
			r := f.BasicGet(handlertest.RecordsPath("/2010-04-01", f.Parent, "Weekly"), f.Parent, "")
			r.WantStatus(t, 404)
			p := readXMLPage(r, t)
			if p.XMLName.Local != "TwilioResponse" || p.Exception == nil || p.Exception.Code != 20404 || p.Exception.Status != 404 ||
				p.Exception.MoreInfo != "https://www.twilio.com/docs/errors/20404" {
				t.Errorf("%s", r.Body)
			}
			r = f.BasicGet(handlertest.RecordsPath("/restcomm/2012-04-24", f.Parent, "")+"?Category=faxes", f.Parent, "text/xml")
			r.WantStatus(t, 400)
			if p := readXMLPage(r, t); p.XMLName.Local != "RestcommResponse" || p.Exception == nil || p.Exception.Code != 20001 || !strings.Contains(p.Exception.Message, "Category") {
				t.Errorf("%s", r.Body)
			}
		})
	})
}

func TestUsageRecordsCSV(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		header := "account_sid,api_version,as_of,category,count,count_unit,description,end_date,price,price_unit,start_date,uri,usage,usage_unit\n"

		r := f.BasicGet(handlertest.RecordsPath("/2010-04-01", f.Parent, "Daily.csv")+"?Category=calls&StartDate=2024-03-14", f.Parent, "application/json")
		r.WantStatus(t, 200)
		want := strings.NewReplacer("{P}", handlertest.RecordsPath("/2010-04-01", f.Parent, ""), "{sid}", f.Parent).Replace(header +
			`{sid},2010-04-01,2024-03-15T12:00:00+00:00,calls,1,calls,"All voice calls, inbound and outbound",2024-03-14,0.039,usd,2024-03-14,{P}/Daily.csv?Category=calls&StartDate=2024-03-14&EndDate=2024-03-14,3,minutes` + "\n" +
			`{sid},2010-04-01,2024-03-15T12:00:00+00:00,calls,6,calls,"All voice calls, inbound and outbound",2024-03-15,0.202,usd,2024-03-15,{P}/Daily.csv?Category=calls&StartDate=2024-03-15&EndDate=2024-03-15,19,minutes` + "\n")
		if string(r.Body) != want || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Errorf("%s\nbody\n%s\nwant\n%s", r.Header.Get("Content-Type"), r.Body, want)
		}

		r = f.BasicGet(handlertest.RecordsPath("/2012-04-24", f.Parent, "")+".csv", f.Parent, "")
		r.WantStatus(t, 200)
		rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 27 || strings.Join(rows[0], ",")+"\n" != header {
			t.Fatalf("%d rows, header %v", len(rows), rows[0])
		}
		total := rows[26]
		if total[3] != "totalprice" || total[4] != "" || total[8] != "1.4506" || total[12] != "1.4506" || total[13] != "usd" || total[1] != "2012-04-24" {
			t.Errorf("totalprice row %v", total)
		}

		r = f.BasicGet(handlertest.RecordsPath("/2010-04-01", f.Parent, "Weekly.csv"), f.Parent, "")
		r.WantStatus(t, 404)
		rows, err = csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil || len(rows) != 2 || strings.Join(rows[0], ",") != "code,message,more_info,status" || rows[1][0] != "20404" || rows[1][3] != "404" {
			t.Errorf("CSV error %q: %v", r.Body, err)
		}
	})
}

func TestUsageRecordsRoutes(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		base := handlertest.RecordsPath("/2010-04-01", f.Parent, "")

		t.Run("formats", func(t *testing.T) {
			for _, c := range []struct{ path, accept, contentType string }{
				{base, "", "application/xml; charset=utf-8"},
				{base, "*/*", "application/xml; charset=utf-8"},
				{base, "application/json", "application/json; charset=utf-8"},
				{base + ".json", "application/xml", "application/json; charset=utf-8"},
				{base + ".xml", "application/json", "application/xml; charset=utf-8"},
				{base + ".csv", "", "text/csv; charset=utf-8"},
				{base + "/Today.JSON", "", "application/json; charset=utf-8"},
			} {
				r := f.BasicGet(c.path, f.Parent, c.accept)
				r.WantStatus(t, 200)
				if ct := r.Header.Get("Content-Type"); ct != c.contentType {
					t.Errorf("%s with Accept %q: %s", c.path, c.accept, ct)
				}
			}
		})
		t.Run("subresources in any letter case", func(t *testing.T) {
			for _, sub := range []string{"daily", "DAILY", "lastMonth", "alltime", "thismonth", "Yearly"} {
				r := f.BasicGet(base+"/"+sub+".json?PageSize=1", f.Parent, "")
				r.WantStatus(t, 200)
				var page struct{ URI string }
				r.JSON(t, &page)
				if !strings.HasPrefix(page.URI, base+"/") || strings.Contains(page.URI, "/"+sub+".json") && sub != "Yearly" {
					t.Errorf("%s: uri %s is not canonical", sub, page.URI)
				}
			}
		})
		t.Run("what is not a resource is a 404", func(t *testing.T) {
			for _, p := range []string{
				base + "/Weekly.json", base + "/Daily/More.json", base + "/Daily.txt", base + ".txt", base + "/.json",
				"/2010-04-01/Accounts/" + f.Parent + "/Usage/records.json", "/2010-04-01/Accounts/" + f.Parent + "/Calls.json",
				"/2010-04-01/Accounts/not-a-sid/Usage/Records.json", "/2010-04-01/Nothing.json",
			} {
				handlertest.TwilioError(f.BasicGet(p, f.Parent, "application/json"), t, 404, 20404)
			}
		})
		t.Run("only GET", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, f.Srv.URL+base+".json", strings.NewReader("Category=calls"))
			req.SetBasicAuth(f.Parent, f.Tokens[f.Parent])
			r := f.Send(req)
			handlertest.TwilioError(r, t, 405, 20004)
			if r.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", r.Header.Get("Allow"))
			}
		})
		t.Run("the SID in any letter case", func(t *testing.T) {
			r := f.BasicGet(handlertest.RecordsPath("/2010-04-01", "AC"+strings.ToUpper(f.Parent[2:]), "Today.json"), f.Parent, "")
			r.WantStatus(t, 200)
			if !strings.Contains(string(r.Body), `"uri":"`+base+`/Today.json?`) {
				t.Errorf("%s", r.Body)
			}
		})
		t.Run("fixed windows ignore StartDate and EndDate", func(t *testing.T) {
			a := f.BasicGet(base+"/Today.json", f.Parent, "")
			b := f.BasicGet(base+"/Today.json?StartDate=garbage&EndDate=2000-01-01", f.Parent, "")
			b.WantStatus(t, 200)
			if !bytes.Equal(a.Body, b.Body) {
				t.Errorf("dates changed Today:\n%s\n%s", a.Body, b.Body)
			}
		})
		t.Run("parameter names in any letter case", func(t *testing.T) {
			r := f.BasicGet(base+"/Daily.json?category=calls&startdate=2024-03-14&PAGESIZE=1", f.Parent, "")
			r.WantStatus(t, 200)
			var page struct {
				PageSize int    `json:"page_size"`
				Next     string `json:"next_page_uri"`
			}
			r.JSON(t, &page)
			if page.PageSize != 1 || !strings.Contains(page.Next, "Category=calls&StartDate=2024-03-14&EndDate=2024-03-15&PageSize=1&Page=1&PageToken=") {
				t.Errorf("%s", r.Body)
			}
		})
	})
}

func TestUsageRecordsPagingRaw(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		base := handlertest.RecordsPath("/restcomm/2012-04-24", f.Parent, "")
		type page struct {
			Start, End, Page int
			PageSize         int              `json:"page_size"`
			First            string           `json:"first_page_uri"`
			Next             *string          `json:"next_page_uri"`
			Previous         *string          `json:"previous_page_uri"`
			URI              string           `json:"uri"`
			Records          []map[string]any `json:"usage_records"`
		}
		get := func(t *testing.T, path string) page {
			t.Helper()
			r := f.BasicGet(path, f.Parent, "application/json")
			r.WantStatus(t, 200)
			var p page
			r.JSON(t, &p)
			if p.Records == nil {
				t.Fatalf("usage_records is not a list: %s", r.Body)
			}
			return p
		}

		t.Run("defaults", func(t *testing.T) {
			p := get(t, base)
			if p.PageSize != 50 || p.Page != 0 || p.Start != 0 || p.End != 25 || len(p.Records) != 26 || p.Next != nil || p.Previous != nil ||
				p.First != base+"?StartDate=2023-01-10&EndDate=2024-03-15&PageSize=50&Page=0" || p.URI != p.First {
				t.Errorf("%+v", p)
			}
		})
		t.Run("Page without a token counts PageSize records per page", func(t *testing.T) {
			p := get(t, base+"?PageSize=10&Page=1")
			if p.Start != 10 || p.End != 19 || len(p.Records) != 10 || p.Records[0]["category"] != "sms-inbound-longcode" {
				t.Errorf("%d..%d, first %v", p.Start, p.End, p.Records[0]["category"])
			}
			if p.Previous == nil || *p.Previous != p.First {
				t.Errorf("previous %v, first %s", p.Previous, p.First)
			}
			p = get(t, base+"?PageSize=10&Page=9")
			if len(p.Records) != 0 || p.Next != nil || p.Previous == nil || p.Start != 26 {
				t.Errorf("past the end: %+v", p)
			}
		})
		t.Run("forwards by next_page_uri, back by previous_page_uri", func(t *testing.T) {
			// 9 categories × 20 days; tokens never hold '.' and a digit, which
			// twilio-go would delete.
			var forward []page
			uri := base + "/Daily.json?StartDate=2024-02-25&EndDate=2024-03-15&PageSize=7"
			for i := 0; uri != ""; i++ {
				p := get(t, uri)
				if p.Page != i || p.Start != 7*i {
					t.Fatalf("page %d: page %d start %d", i, p.Page, p.Start)
				}
				forward = append(forward, p)
				uri = ""
				if p.Next != nil {
					uri = *p.Next
					if regexp.MustCompile(`\.\d`).MatchString(uri) || !strings.HasPrefix(uri, base+"/Daily.json?") {
						t.Fatalf("next_page_uri %s", uri)
					}
				}
			}
			if len(forward) != 26 {
				t.Fatalf("%d pages", len(forward))
			}
			for i := len(forward) - 1; i > 0; i-- {
				back := get(t, *forward[i].Previous)
				if back.Start != forward[i-1].Start || len(back.Records) != len(forward[i-1].Records) ||
					back.Records[0]["uri"] != forward[i-1].Records[0]["uri"] {
					t.Fatalf("back from page %d: start %d, want %d", i, back.Start, forward[i-1].Start)
				}
			}
		})
		t.Run("bad paging parameters", func(t *testing.T) {
			for _, c := range []struct {
				query string
				code  int
				says  []string
			}{
				{"PageSize=1001", 20007, []string{"PageSize", "1000"}},
				{"PageSize=99999999999999999999999", 20007, []string{"PageSize"}},
				{"PageSize=0", 20001, []string{"PageSize"}},
				{"PageSize=-5", 20001, []string{"PageSize"}},
				{"PageSize=ten", 20001, []string{"PageSize"}},
				{"Page=-1", 20001, []string{"Page"}},
				{"Page=one", 20001, []string{"Page"}},
				{"PageToken=PA", 21481, []string{"PageToken"}},
				{"PageToken=PA.5x", 21481, []string{"PageToken"}},
				{"IncludeSubaccounts=maybe", 20001, []string{"IncludeSubaccounts"}},
				{"Category=faxes&PageSize=5000", 20007, []string{"Category", "PageSize"}},
				{"PageSize=10&PageSize=20", 20001, []string{"PageSize"}},
			} {
				e := handlertest.TwilioError(f.BasicGet(base+".json?"+c.query, f.Parent, ""), t, 400, c.code)
				for _, s := range c.says {
					if !strings.Contains(e.Message, s) {
						t.Errorf("%s: %q does not name %s", c.query, e.Message, s)
					}
				}
			}
			if r := f.BasicGet(base+".json?PageSize=1000", f.Parent, ""); r.StatusCode != 200 {
				t.Errorf("PageSize=1000: %d", r.StatusCode)
			}
		})
	})
}

func TestUsageRecordsAuth(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		path := func(sid string) string { return handlertest.RecordsPath("/2010-04-01", sid, "Today.json") }
		bearer := func(roles []string, accounts ...string) string { return f.Token(roles, accounts...) }
		admin := bearer([]string{auth.RoleSystemAdministrator})
		manager := bearer([]string{auth.RoleManager}, f.Parent)
		expired, err := f.Signer.Sign("u", "", []string{auth.RoleSystemAdministrator}, nil, -time.Hour)
		if err != nil {
			t.Fatal(err)
		}

		send := func(sid, user, password, token string) handlertest.Response {
			req, _ := http.NewRequest(http.MethodGet, f.Srv.URL+path(sid), nil)
			if user != "" {
				req.SetBasicAuth(user, password)
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			return f.Send(req)
		}
		for _, c := range []struct {
			name                 string
			sid, user, pass, tok string
			status, code         int
		}{
			{"no credentials", f.Parent, "", "", "", 401, 20003},
			{"wrong token", f.Parent, f.Parent, f.Tokens[f.Child], "", 401, 20003},
			{"not a SID", f.Parent, "admin", f.Tokens[f.Parent], "", 401, 20003},
			{"empty token", f.Parent, f.Parent, "", "", 401, 20003},
			{"own account", f.Parent, f.Parent, f.Tokens[f.Parent], "", 200, 0},
			{"own sub-sub-account", f.Grandchild, f.Parent, f.Tokens[f.Parent], "", 200, 0},
			{"parent of own account", f.Child, f.Grandchild, f.Tokens[f.Grandchild], "", 403, 20403},
			{"sibling", f.Child2, f.Child, f.Tokens[f.Child], "", 403, 20403},
			{"unknown account", "AC" + strings.Repeat("f", 32), f.Parent, f.Tokens[f.Parent], "", 403, 20403},
			{"admin token reads anyone", f.Other, "", "", admin, 200, 0},
			{"admin token, unknown account", "AC" + strings.Repeat("f", 32), "", "", admin, 404, 20404},
			{"manager token, sub-account", f.Grandchild, "", "", manager, 200, 0},
			{"manager token, other account", f.Other, "", "", manager, 403, 20403},
			{"manager of a child, its parent", f.Parent, "", "", bearer([]string{auth.RoleManager}, f.Child), 403, 20403},
			{"token without a role", f.Parent, "", "", bearer([]string{"Viewer"}, f.Parent), 403, 20403},
			{"expired token", f.Parent, "", "", expired, 401, 20003},
			{"garbage token", f.Parent, "", "", "not.a.jwt", 401, 20003},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := send(c.sid, c.user, c.pass, c.tok)
				if c.status == 200 {
					r.WantStatus(t, 200)
					return
				}
				handlertest.TwilioError(r, t, c.status, c.code)
				if c.status == 401 && r.Header.Get("WWW-Authenticate") != `Basic realm="billing"` {
					t.Errorf("WWW-Authenticate %q", r.Header.Values("WWW-Authenticate"))
				}
			})
		}
		t.Run("an expired dashboard cookie is challenged for Bearer only", func(t *testing.T) {
			// A Basic challenge would make a browser prompt for a password.
			req, _ := http.NewRequest(http.MethodGet, f.Srv.URL+path(f.Parent), nil)
			req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: expired})
			r := f.Send(req)
			handlertest.TwilioError(r, t, 401, 20003)
			if got := r.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != `Bearer realm="billing"` {
				t.Errorf("WWW-Authenticate %q", got)
			}
			req.Header.Set("Authorization", "Bearer "+expired)
			if got := f.Send(req).Header.Values("WWW-Authenticate"); len(got) != 2 || got[0] != `Basic realm="billing"` {
				t.Errorf("with an Authorization header: WWW-Authenticate %q", got)
			}
		})
		t.Run("a dashboard cookie reads like a bearer token", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.Srv.URL+path(f.Grandchild), nil)
			req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: manager})
			f.Send(req).WantStatus(t, 200)
		})
		t.Run("unknown paths authenticate first", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.Srv.URL+"/2012-04-24/Accounts/"+f.Parent+"/Calls.json", nil)
			handlertest.TwilioError(f.Send(req), t, 401, 20003)
		})
		t.Run("a bad Authorization header in XML", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.Srv.URL+handlertest.RecordsPath("/2012-04-24", f.Parent, ""), nil)
			req.Header.Set("Authorization", "Basic !!!")
			r := f.Send(req)
			r.WantStatus(t, 401)
			if p := readXMLPage(r, t); p.XMLName.Local != "RestcommResponse" || p.Exception == nil || p.Exception.Code != 20003 {
				t.Errorf("%s", r.Body)
			}
		})
	})
}
