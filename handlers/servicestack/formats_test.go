package servicestack_test

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/handlers/servicestack"
	"github.com/evovoice/billing/jsv"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// formatsEnv is a server with one account that has some usage.
type formatsEnv struct {
	*handlertest.Env
	Parent, Child, Other string
	query                string // ListUsageRecords' query for the child over February 2024
}

func newFormatsEnv(t *testing.T, store *repo.Store) formatsEnv {
	e := handlertest.New(t, store)
	day := models.NewDate(2024, 1, 1)
	f := formatsEnv{Env: e, Parent: e.Account("Parent", "", day)}
	f.Child = e.Account("Child", f.Parent, day)
	f.Other = e.Account("Other", "", day)
	e.Ingest(
		handlertest.Event{"id": "c1", "accountSid": f.Child, "category": "calls-outbound", "occurredAt": "2024-02-01T10:00:00Z", "usage": "12.5", "price": "0.50"},
		handlertest.Event{"id": "c2", "accountSid": f.Child, "category": "calls-inbound-tollfree", "occurredAt": "2024-02-02T10:00:00Z", "count": 2, "usage": "7", "price": "0.25"},
		handlertest.Event{"id": "s1", "accountSid": f.Child, "category": "sms-outbound-longcode", "occurredAt": "2024-02-03T10:00:00Z", "count": 3, "price": "-0.0225"},
	)
	f.query = "AccountId=" + f.Child + "&StartDate=2024-02-01&EndDate=2024-02-29"
	return f
}

// getWith sends a GET with extra headers.
func getWith(e *handlertest.Env, path, token string, headers ...string) handlertest.Response {
	e.T.Helper()
	req, err := http.NewRequest(http.MethodGet, e.Srv.URL+path, nil)
	if err != nil {
		e.T.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return e.Send(req)
}

// checkFraming asserts what every non-streamed answer carries.
func checkFraming(t *testing.T, r handlertest.Response) {
	t.Helper()
	if got := r.Header.Get("Content-Length"); got != strconv.Itoa(len(r.Body)) {
		t.Errorf("Content-Length %q for a body of %d bytes", got, len(r.Body))
	}
	if !slices.Contains(r.Header.Values("Vary"), "Accept") {
		t.Errorf("Vary = %q, want Accept", r.Header.Values("Vary"))
	}
}

// sameRecord compares two records field by field, prices by their text.
func sameRecord(t *testing.T, format string, got, want servicestack.UsageRecord) {
	t.Helper()
	if (got.Count == nil) != (want.Count == nil) || (got.Count != nil && *got.Count != *want.Count) {
		t.Errorf("%s %s: count %v, JSON says %v", format, want.Category, got.Count, want.Count)
	}
	if got.Price.String() != want.Price.String() || got.Price.Exponent() != want.Price.Exponent() {
		t.Errorf("%s %s: price %s, JSON says %s", format, want.Category, got.Price, want.Price)
	}
	got.Count, want.Count = nil, nil
	got.Price = want.Price
	if got != want {
		t.Errorf("%s record differs from JSON:\n got  %+v\n want %+v", format, got, want)
	}
}

func TestEveryFormatAnswersTheSameData(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newFormatsEnv(t, store)
		tok := f.Admin()
		jsonAnswer := f.Records("/billing/usage?"+f.query, tok)
		if len(jsonAnswer) != 26 {
			t.Fatalf("%d records", len(jsonAnswer))
		}
		byCat := handlertest.ByCategory(jsonAnswer)
		if c := byCat["calls"]; *c.Count != 3 || c.Price.String() != "0.75" || c.Usage != "19.5" {
			t.Fatalf("calls record %+v", c)
		}

		t.Run("JSV", func(t *testing.T) {
			r := f.Get("/billing/usage.jsv?"+f.query, tok)
			if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/jsv; charset=utf-8" {
				t.Fatalf("%d %q: %s", r.StatusCode, r.Header.Get("Content-Type"), r.Body)
			}
			checkFraming(t, r)
			var got []servicestack.UsageRecord
			if err := jsv.Unmarshal(r.Body, &got); err != nil {
				t.Fatalf("%v: %s", err, r.Body)
			}
			if len(got) != len(jsonAnswer) {
				t.Fatalf("%d records, JSON has %d", len(got), len(jsonAnswer))
			}
			for i := range got {
				sameRecord(t, "JSV", got[i], jsonAnswer[i])
			}
			// The wire text itself: compact, quoted only where needed, count
			// left out for totalprice.
			calls := byCat["calls"]
			want := "[{accountSid:" + f.Child + ",category:calls,count:3,countUnit:calls,description:\"All voice calls, inbound and outbound\",endDate:2024-02-29,price:0.75,priceUnit:usd,startDate:2024-02-01,usage:19.5,usageUnit:minutes,uri:" + calls.URI + "},"
			if !strings.HasPrefix(string(r.Body), want) {
				t.Errorf("JSV starts\n %.400s\nwant\n %s", r.Body, want)
			}
			if !strings.Contains(string(r.Body), "{accountSid:"+f.Child+",category:totalprice,countUnit:\"\",") {
				t.Errorf("totalprice record: %s", r.Body)
			}
		})

		t.Run("XML", func(t *testing.T) {
			r := f.Get("/billing/usage.xml?"+f.query, tok)
			if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/xml; charset=utf-8" {
				t.Fatalf("%d %q: %s", r.StatusCode, r.Header.Get("Content-Type"), r.Body)
			}
			checkFraming(t, r)
			head := `<?xml version="1.0" encoding="utf-8"?><ArrayOfUsageRecord xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Dashboard"><UsageRecord><AccountSid>`
			if !bytes.HasPrefix(r.Body, []byte(head)) {
				t.Fatalf("XML starts %.300s", r.Body)
			}
			var doc struct {
				XMLName xml.Name `xml:"http://schemas.datacontract.org/2004/07/Voice.Api.Dashboard ArrayOfUsageRecord"`
				Records []struct {
					AccountSid, Category string
					Count                struct {
						Nil   string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr"`
						Value string `xml:",chardata"`
					}
					CountUnit, Description, EndDate, Price, PriceUnit, StartDate, Uri, Usage, UsageUnit string
				} `xml:"UsageRecord"`
			}
			if err := xml.Unmarshal(r.Body, &doc); err != nil {
				t.Fatalf("encoding/xml: %v", err)
			}
			if len(doc.Records) != len(jsonAnswer) {
				t.Fatalf("%d records, JSON has %d", len(doc.Records), len(jsonAnswer))
			}
			for i, x := range doc.Records {
				var count *int64
				if x.Count.Nil != "true" {
					n, err := strconv.ParseInt(x.Count.Value, 10, 64)
					if err != nil {
						t.Fatalf("Count %q", x.Count.Value)
					}
					count = &n
				}
				got := servicestack.UsageRecord{AccountSid: x.AccountSid, Category: x.Category, Count: count, CountUnit: x.CountUnit,
					Description: x.Description, EndDate: x.EndDate, PriceUnit: x.PriceUnit, StartDate: x.StartDate,
					Usage: x.Usage, UsageUnit: x.UsageUnit, URI: x.Uri}
				if err := got.Price.UnmarshalText([]byte(x.Price)); err != nil {
					t.Fatal(err)
				}
				sameRecord(t, "XML", got, jsonAnswer[i])
			}
			// Children in ordinal order of their names (Uri before Usage).
			if names := firstRecordElements(t, r.Body); !slices.Equal(names, []string{"AccountSid", "Category", "Count", "CountUnit", "Description", "EndDate", "Price", "PriceUnit", "StartDate", "Uri", "Usage", "UsageUnit"}) {
				t.Errorf("element order %v", names)
			}
			if !bytes.Contains(r.Body, []byte(`<Category>totalprice</Category><Count i:nil="true" /><CountUnit></CountUnit>`)) {
				t.Errorf("totalprice count is not i:nil: %s", r.Body)
			}
		})

		t.Run("CSV", func(t *testing.T) {
			r := f.Get("/billing/usage.csv?"+f.query, tok)
			if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
				t.Fatalf("%d %q: %s", r.StatusCode, r.Header.Get("Content-Type"), r.Body)
			}
			checkFraming(t, r)
			if !bytes.Contains(r.Body, []byte("\r\n")) {
				t.Error("rows do not end with CRLF")
			}
			rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
			if err != nil {
				t.Fatalf("encoding/csv: %v", err)
			}
			header := []string{"AccountSid", "Category", "Count", "CountUnit", "Description", "EndDate", "Price", "PriceUnit", "StartDate", "Usage", "UsageUnit", "Uri"}
			if !slices.Equal(rows[0], header) {
				t.Fatalf("header %v", rows[0])
			}
			if len(rows)-1 != len(jsonAnswer) {
				t.Fatalf("%d rows, JSON has %d records", len(rows)-1, len(jsonAnswer))
			}
			for i, row := range rows[1:] {
				var count *int64
				if row[2] != "" {
					n, err := strconv.ParseInt(row[2], 10, 64)
					if err != nil {
						t.Fatalf("Count %q", row[2])
					}
					count = &n
				}
				got := servicestack.UsageRecord{AccountSid: row[0], Category: row[1], Count: count, CountUnit: row[3], Description: row[4],
					EndDate: row[5], PriceUnit: row[7], StartDate: row[8], Usage: row[9], UsageUnit: row[10], URI: row[11]}
				if err := got.Price.UnmarshalText([]byte(row[6])); err != nil {
					t.Fatal(err)
				}
				sameRecord(t, "CSV", got, jsonAnswer[i])
			}
		})
	})
}

// firstRecordElements lists the child element names of the first UsageRecord.
func firstRecordElements(t *testing.T, body []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	var names []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 3 {
				names = append(names, el.Name.Local)
			}
		case xml.EndElement:
			depth--
			if depth == 1 {
				return names
			}
		}
	}
}

func TestErrorsInEveryFormat(t *testing.T) {
	f := newFormatsEnv(t, repotest.Open(t, "sqlite"))
	bad := "/billing/usage%s?AccountId=" + f.Child + "&StartDate=2024-13-45&EndDate=yesterday"
	tok := f.Admin()

	t.Run("JSON", func(t *testing.T) {
		r := f.Get(fmt.Sprintf(bad, ".json"), tok)
		checkFraming(t, r)
		eb := r.ExpectError(t, 400, "Invalid")
		if len(eb.ResponseStatus.Errors) != 2 || eb.ResponseStatus.Errors[0].FieldName != "StartDate" || eb.ResponseStatus.Errors[1].FieldName != "EndDate" {
			t.Errorf("errors %+v", eb.ResponseStatus.Errors)
		}
	})
	t.Run("JSV", func(t *testing.T) {
		r := f.Get(fmt.Sprintf(bad, ".jsv"), tok)
		checkFraming(t, r)
		if r.StatusCode != 400 || r.Header.Get("Content-Type") != "text/jsv; charset=utf-8" {
			t.Fatalf("%d %q", r.StatusCode, r.Header.Get("Content-Type"))
		}
		if !strings.HasPrefix(string(r.Body), "{responseStatus:{errorCode:Invalid,message:") {
			t.Errorf("JSV error %s", r.Body)
		}
		var eb servicestack.ErrorResponse
		if err := jsv.Unmarshal(r.Body, &eb); err != nil {
			t.Fatalf("%v: %s", err, r.Body)
		}
		if eb.ResponseStatus.ErrorCode != "Invalid" || len(eb.ResponseStatus.Errors) != 2 || eb.ResponseStatus.Errors[1].FieldName != "EndDate" ||
			!strings.Contains(eb.ResponseStatus.Errors[1].Message, "YYYY-MM-DD") {
			t.Errorf("decoded %+v", eb)
		}
	})
	t.Run("XML", func(t *testing.T) {
		r := f.Get(fmt.Sprintf(bad, ".xml"), tok)
		checkFraming(t, r)
		var doc struct {
			XMLName        xml.Name `xml:"http://schemas.servicestack.net/types ErrorResponse"`
			ResponseStatus struct {
				ErrorCode, Message string
				StackTrace         struct {
					Nil string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr"`
				}
				Errors []struct{ ErrorCode, FieldName, Message string } `xml:"Errors>ResponseError"`
			}
		}
		if r.StatusCode != 400 {
			t.Fatalf("status %d", r.StatusCode)
		}
		if err := xml.Unmarshal(r.Body, &doc); err != nil {
			t.Fatalf("encoding/xml: %v: %s", err, r.Body)
		}
		rs := doc.ResponseStatus
		if rs.ErrorCode != "Invalid" || rs.StackTrace.Nil != "true" || len(rs.Errors) != 2 || rs.Errors[0].FieldName != "StartDate" {
			t.Errorf("decoded %+v", rs)
		}
	})
	t.Run("CSV", func(t *testing.T) {
		r := f.Get(fmt.Sprintf(bad, ".csv"), tok)
		checkFraming(t, r)
		rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil || r.StatusCode != 400 {
			t.Fatalf("%d %v: %s", r.StatusCode, err, r.Body)
		}
		if len(rows) != 4 || !slices.Equal(rows[0], []string{"ErrorCode", "FieldName", "Message"}) || rows[1][1] != "" || rows[2][1] != "StartDate" || rows[3][1] != "EndDate" {
			t.Errorf("rows %q", rows)
		}
	})
	t.Run("401 and 403 carry the body", func(t *testing.T) {
		r := getWith(f.Env, "/billing/usage?"+f.query, "", "Accept", "application/xml")
		if r.StatusCode != 401 || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") ||
			!bytes.Contains(r.Body, []byte("<ErrorCode>Unauthorized</ErrorCode>")) {
			t.Errorf("401: %d %q %s", r.StatusCode, r.Header.Get("WWW-Authenticate"), r.Body)
		}
		r = f.Get("/billing/usage.jsv?"+f.query, "expired.or.garbage")
		if r.StatusCode != 401 || !strings.HasPrefix(string(r.Body), "{responseStatus:{errorCode:TokenException,") {
			t.Errorf("token: %d %s", r.StatusCode, r.Body)
		}
		r = f.Get("/billing/usage.csv?AccountId="+f.Other, f.Manager(f.Parent))
		if r.StatusCode != 403 || !strings.HasPrefix(string(r.Body), "ErrorCode,FieldName,Message\r\nForbidden,,") {
			t.Errorf("403: %d %s", r.StatusCode, r.Body)
		}
	})
}

func TestNegotiation(t *testing.T) {
	f := newFormatsEnv(t, repotest.Open(t, "sqlite"))
	tok := f.Admin()
	q := "?" + f.query + "&Category=calls"
	const (
		jsonCT = "application/json; charset=utf-8"
		jsvCT  = "text/jsv; charset=utf-8"
		appJSV = "application/jsv; charset=utf-8"
		xmlCT  = "application/xml; charset=utf-8"
		csvCT  = "text/csv; charset=utf-8"
	)
	cases := []struct {
		name, path, accept string
		status             int
		ct                 string
	}{
		{"default", "/billing/usage" + q, "", 200, jsonCT},
		{"any", "/billing/usage" + q, "*/*", 200, jsonCT},
		{"accept xml", "/billing/usage" + q, "application/xml", 200, xmlCT},
		{"accept text/xml", "/billing/usage" + q, "text/xml", 200, xmlCT},
		{"accept text/jsv", "/billing/usage" + q, "text/jsv", 200, jsvCT},
		{"accept application/jsv", "/billing/usage" + q, "application/jsv", 200, appJSV},
		{"accept csv", "/billing/usage" + q, "text/csv", 200, csvCT},
		{"q-values", "/billing/usage" + q, "text/csv;q=0.5, application/xml", 200, xmlCT},
		{"q-values reversed", "/billing/usage" + q, "application/xml;q=0.9, text/csv", 200, csvCT},
		{"specific beats wildcard", "/billing/usage" + q, "*/*, text/csv", 200, csvCT},
		{"text wildcard", "/billing/usage" + q, "text/*", 200, jsvCT},
		{"excluded by q=0", "/billing/usage" + q, "application/json;q=0, */*;q=0.1", 200, xmlCT},
		{"browser", "/billing/usage" + q, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200, xmlCT},
		{"unsupported only", "/billing/usage" + q, "image/png, text/html", 406, jsonCT},
		{"format beats accept", "/billing/usage" + q + "&format=xml", "text/csv", 200, xmlCT},
		{"format any case", "/billing/usage" + q + "&FORMAT=JSV", "", 200, jsvCT},
		{"format with modifier", "/billing/usage" + q + "&format=csv.foo", "", 200, csvCT},
		{"format jsv, accept application/jsv", "/billing/usage" + q + "&format=jsv", "application/jsv", 200, appJSV},
		{"unknown format", "/billing/usage" + q + "&format=yaml", "", 400, jsonCT},
		{"suffix beats format and accept", "/billing/usage.csv" + q + "&format=xml", "application/json", 200, csvCT},
		{"suffix any case", "/Billing/Usage.JSV" + q, "", 200, jsvCT},
		{"unknown suffix", "/billing/usage.yaml" + q, "", 400, jsonCT},
		{"/api is JSON whatever Accept says", "/api/ListUsageRecords" + q, "application/xml", 200, jsonCT},
		{"/api with format", "/api/ListUsageRecords" + q + "&format=xml", "", 200, xmlCT},
		{"/api suffix beats format", "/api/listusagerecords.csv" + q + "&format=xml", "", 200, csvCT},
		{"/api unknown suffix", "/api/ListUsageRecords.yaml" + q, "", 400, jsonCT},
		{"/xml/reply ignores Accept", "/xml/reply/ListUsageRecords" + q, "application/json", 200, xmlCT},
		{"/jsv/reply, name in any case", "/jsv/reply/LISTUSAGERECORDS" + q, "", 200, jsvCT},
		{"/csv/reply", "/csv/reply/ListUsageRecords" + q, "", 200, csvCT},
		{"/json/oneway", "/json/oneway/ListUsageRecords" + q, "", 200, jsonCT},
		{"/json/reply with format", "/json/reply/ListUsageRecords" + q + "&format=jsv", "", 200, jsvCT},
		{"unknown operation", "/json/reply/NoSuchThing" + q, "", 404, jsonCT},
		{"error in negotiated format", "/billing/usage?AccountId=nope", "application/xml", 400, xmlCT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := getWith(f.Env, c.path, tok, "Accept", c.accept)
			if r.StatusCode != c.status || r.Header.Get("Content-Type") != c.ct {
				t.Fatalf("%d %q, want %d %q: %.300s", r.StatusCode, r.Header.Get("Content-Type"), c.status, c.ct, r.Body)
			}
			checkFraming(t, r)
			if c.status == 400 && strings.Contains(c.name, "unknown") && !strings.Contains(string(r.Body), "json, jsv, xml or csv") && !strings.Contains(string(r.Body), ".json, .jsv, .xml or .csv") {
				t.Errorf("the error does not list the formats: %s", r.Body)
			}
		})
	}
	t.Run("wrong method on a predefined route", func(t *testing.T) {
		r := f.Do(http.MethodPost, "/json/reply/ListUsageRecords"+q, tok, []byte("{}"))
		r.ExpectError(t, 405, "MethodNotAllowed")
		if r.Header.Get("Allow") != "GET" {
			t.Errorf("Allow = %q", r.Header.Get("Allow"))
		}
	})
}

func TestCaseInsensitiveBinding(t *testing.T) {
	f := newFormatsEnv(t, repotest.Open(t, "sqlite"))
	tok := f.Admin()
	want := f.Records("/billing/usage?AccountId="+f.Child+"&StartDate=2024-02-01&EndDate=2024-02-29&Category=sms", tok)
	if len(want) != 1 || *want[0].Count != 3 {
		t.Fatalf("%+v", want)
	}
	for _, q := range []string{
		"accountId=" + f.Child + "&startDate=2024-02-01&endDate=2024-02-29&category=sms",
		"ACCOUNTID=" + f.Child + "&STARTDATE=2024-02-01&ENDDATE=2024-02-29&CATEGORY=sms",
		"accountid=" + f.Child + "&StartDate=2024-02-01&enddate=2024-02-29&Category=sms&unknown=ignored",
	} {
		for _, path := range []string{"/billing/usage?", "/api/ListUsageRecords?", "/json/reply/listusagerecords?"} {
			got := f.Records(path+q, tok)
			if len(got) != 1 {
				t.Fatalf("%s%s: %+v", path, q, got)
			}
			sameRecord(t, path+q, got[0], want[0])
		}
	}
	f.Get("/billing/usage?accountId="+f.Child+"&AccountId="+f.Other, tok).ExpectError(t, 400, "Invalid")
}

func TestJSONP(t *testing.T) {
	f := newFormatsEnv(t, repotest.Open(t, "sqlite"))
	tok := f.Manager(f.Parent)
	q := "?" + f.query + "&Category=calls"
	json := f.Get("/billing/usage"+q, tok)

	r := f.Get("/billing/usage"+q+"&callback=app.onUsage", tok)
	checkFraming(t, r)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		string(r.Body) != "/**/app.onUsage("+string(json.Body)+");" {
		t.Fatalf("%d %q %s", r.StatusCode, r.Header.Get("Content-Type"), r.Body)
	}
	// An error after the request was admitted is wrapped too.
	r = f.Get("/billing/usage?AccountId="+f.Other+"&callback=cb", tok)
	if r.StatusCode != 403 || !strings.HasPrefix(string(r.Body), `/**/cb({"responseStatus":{"errorCode":"Forbidden"`) {
		t.Errorf("%d %s", r.StatusCode, r.Body)
	}
	for name, path := range map[string]string{
		"not an identifier": "/billing/usage" + q + "&callback=" + url.QueryEscape("alert(1)//"),
		"leading digit":     "/billing/usage" + q + "&callback=1cb",
		"not JSON":          "/billing/usage.xml" + q + "&callback=cb",
	} {
		t.Run(name, func(t *testing.T) {
			r := f.Get(path, tok)
			eb := r.ExpectError(t, 400, "Invalid")
			if r.Header.Get("Content-Type") != "application/json; charset=utf-8" || eb.ResponseStatus.Errors[0].FieldName != "callback" {
				t.Errorf("%q %s", r.Header.Get("Content-Type"), r.Body)
			}
		})
	}
	t.Run("cookie authentication", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, f.Srv.URL+"/billing/usage"+q+"&callback=cb", nil)
		req.AddCookie(&http.Cookie{Name: "ss-tok", Value: tok})
		r := f.Send(req)
		r.ExpectError(t, 400, "Invalid")
		if !strings.Contains(string(r.Body), "Authorization") {
			t.Errorf("%s", r.Body)
		}
	})
}

func TestIngestionBodies(t *testing.T) {
	f := newFormatsEnv(t, repotest.Open(t, "sqlite"))
	admin := f.Admin()
	post := func(path, contentType, body string) handlertest.Response {
		req, _ := http.NewRequest(http.MethodPost, f.Srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return f.Send(req)
	}
	jsvEvent := func(id string) string {
		return "{id:" + id + ",accountSid:" + f.Child + ",category:sms-inbound-longcode,occurredAt:\"2024-02-10T08:00:00Z\",count:2,price:0.02}"
	}
	accepted := func(r handlertest.Response, n int) {
		t.Helper()
		var out servicestack.RecordUsageEventsResponse
		r.JSON(t, &out)
		if r.StatusCode != 200 || out.Accepted != n {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	}
	accepted(post("/billing/usage/events", "text/jsv", "{events:["+jsvEvent("j1")+","+jsvEvent("j2")+"]}"), 2)
	accepted(post("/json/reply/RecordUsageEvents", "application/jsv", "{Events:["+jsvEvent("j3")+"]}"), 1)
	accepted(post("/api/RecordUsageEvents", "application/x-www-form-urlencoded", "events="+url.QueryEscape("["+jsvEvent("f1")+"]")), 1)

	// The answer comes in the negotiated format too.
	r := post("/billing/usage/events.jsv", "application/json", `{"events":[`+`{"id":"j1","accountSid":"`+f.Child+`","category":"sms-inbound-longcode","occurredAt":"2024-02-10T08:00:00Z","count":2,"price":"0.02"}]}`)
	if r.StatusCode != 200 || string(r.Body) != "{accepted:0,duplicates:1,duplicateIndexes:[0]}" {
		t.Errorf("duplicate as JSV: %d %s", r.StatusCode, r.Body)
	}

	got := f.Records("/billing/usage?"+f.query+"&Category=sms-inbound", admin)
	if len(got) != 1 || *got[0].Count != 8 || got[0].Price.String() != "0.08" {
		t.Errorf("sms-inbound after ingestion %+v", got)
	}

	post("/billing/usage/events", "text/jsv", "{events:[],extra:1}").ExpectError(t, 400, "Invalid")
	post("/billing/usage/events", "text/jsv", "{events:[{id:x,accountSid:"+f.Child+",category:calls,occurredAt:\"2024-02-10T08:00:00Z\",prise:1}]}").ExpectError(t, 400, "Invalid")
	post("/billing/usage/events", "text/jsv", "{events:[").ExpectError(t, 400, "Invalid")
	post("/billing/usage/events", "application/xml", "<events/>").ExpectError(t, 415, "UnsupportedMediaType")
}

func TestMetadataAndTypeScript(t *testing.T) {
	f := newFormatsEnv(t, repotest.Open(t, "sqlite"))
	r := f.Get("/metadata", "")
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	page := string(r.Body)
	for _, want := range []string{
		"ListUsageRecords", "RecordUsageEvents", "/billing/usage[.json|.jsv|.xml|.csv]", "/api/ListUsageRecords",
		"/{json|jsv|xml|csv}/reply/ListUsageRecords", "SystemAdministrator or Manager", "<td>AccountId</td>", "<td>StartDate</td>",
		"GET /billing/usage.jsv?AccountId=", "Content-Type: text/jsv; charset=utf-8", "[{accountSid:AC",
		"&lt;?xml version=&#34;1.0&#34; encoding=&#34;utf-8&#34;?&gt;&lt;ArrayOfUsageRecord",
		"AccountSid,Category,Count,CountUnit", "Content-Type: text/jsv\nContent-Length:", "{events:[{id:cdr-1001,accountSid:AC",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/metadata lacks %q", want)
		}
	}
	if r := f.Get("/metadata?op=listusagerecords", ""); r.StatusCode != 200 || strings.Contains(string(r.Body), "RecordUsageEvents") {
		t.Errorf("?op= filter: %d", r.StatusCode)
	}
	if r.Header.Get("Content-Security-Policy") == "" {
		t.Error("no Content-Security-Policy")
	}

	r = f.Get("/types/typescript", "")
	ts := string(r.Body)
	for _, want := range []string{
		"export interface IReturn<T>", "export class UsageRecord\n{", "    public count?: number;", "    public price: number;",
		"// @Route(\"/billing/usage\", \"GET\")", "export class ListUsageRecords implements IReturn<UsageRecord[]>, IGet",
		"    public accountId?: string;", "public createResponse() { return new Array<UsageRecord>(); }",
		"public getTypeName() { return 'ListUsageRecords'; }", "public getMethod() { return 'GET'; }",
		"export class RecordUsageEvents implements IReturn<RecordUsageEventsResponse>, IPost",
		"export class ResponseStatus", "BaseUrl: " + f.Srv.URL,
	} {
		if !strings.Contains(ts, want) {
			t.Errorf("/types/typescript lacks %q", want)
		}
	}
}
