package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// bytesEnv posts raw ingestion bodies to a real server over a real database.
type bytesEnv struct {
	*handlertest.Env
	sid string
}

func newBytesEnv(t *testing.T, store *repo.Store) bytesEnv {
	e := handlertest.New(t, store)
	return bytesEnv{e, e.Account("Bytes", "", models.NewDate(2024, 1, 1))}
}

// post sends body with a content type to path as an administrator.
func (b bytesEnv) post(path, contentType, body string) handlertest.Response {
	b.T.Helper()
	req, err := http.NewRequest(http.MethodPost, b.Srv.URL+path, strings.NewReader(body))
	if err != nil {
		b.T.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.Admin())
	req.Header.Set("Content-Type", contentType)
	return b.Send(req)
}

// jsonEvent is a valid JSON handlertest.Event whose properties can be overridden with
// raw JSON text (key → value as sent, quotes included); extra is appended.
func (b bytesEnv) jsonEvent(set map[string]string, extra string) string {
	props := [][2]string{{"id", `"e-1"`}, {"accountSid", `"` + b.sid + `"`}, {"category", `"calls"`},
		{"occurredAt", `"2024-02-10T08:00:00Z"`}, {"count", "1"}, {"usage", `"3"`}, {"price", `"0.039"`}, {"currency", `"usd"`}}
	var sb strings.Builder
	sb.WriteByte('{')
	for i, p := range props {
		if v, ok := set[p[0]]; ok {
			p[1] = v
		}
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"` + p[0] + `":` + p[1])
	}
	return sb.String() + extra + "}"
}

// jsvEvent is the JSV twin of jsonEvent: values as sent, unquoted.
func (b bytesEnv) jsvEvent(set map[string]string, extra string) string {
	props := [][2]string{{"id", "e-1"}, {"accountSid", b.sid}, {"category", "calls"},
		{"occurredAt", `"2024-02-10T08:00:00Z"`}, {"count", "1"}, {"usage", "3"}, {"price", "0.039"}, {"currency", "usd"}}
	var sb strings.Builder
	sb.WriteByte('{')
	for i, p := range props {
		if v, ok := set[p[0]]; ok {
			p[1] = v
		}
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(p[0] + ":" + p[1])
	}
	return sb.String() + extra + "}"
}

// refused checks a 400 whose errors name exactly field.
func refused(t *testing.T, what string, r handlertest.Response, field string) {
	t.Helper()
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("%s: status %d, want 400: %s", what, r.StatusCode, r.Body)
		return
	}
	eb := r.ExpectError(t, http.StatusBadRequest, models.CodeInvalid)
	for _, f := range eb.ResponseStatus.Errors {
		if f.FieldName == field {
			return
		}
	}
	t.Errorf("%s: no error names %s: %s", what, field, r.Body)
}

// ingestRoutes are every route that binds RecordUsageEvents.
var ingestRoutes = []string{"/billing/usage/events", "/json/reply/RecordUsageEvents", "/api/RecordUsageEvents"}

// The exact inputs of issue 10: Go's decoder turned each into U+FFFD, so
// c-\ud800 and c-\udbff became one id and the second handlertest.Event was dropped.
var badJSONText = map[string]string{
	"lone high surrogate":           `"c-\ud800"`,
	"other lone high surrogate":     `"c-\udbff"`,
	"unpaired low surrogate":        `"c-\udc00"`,
	"high then non-low":             `"c-\ud800\u0041"`,
	"raw 0xfe":                      "\"c-\xfe\"",
	"truncated UTF-8":               "\"c-\xe2\x82\"",
	"overlong UTF-8":                "\"c-\xc0\xaf\"",
	"escaped NUL":                   `"c-\u0000"`,
	"raw surrogate encoded UTF-8":   "\"c-\xed\xa0\x80\"",
	"NUL after valid pair":          `"c-\ud83d\ude00\u0000"`,
	"invalid bytes after an escape": "\"c-\\n\xff\"",
}

func TestEventTextMustBeItsBytes(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		b := newBytesEnv(t, store)
		for _, prop := range []string{"id", "accountSid", "category", "occurredAt", "currency", "usage", "price"} {
			for name, raw := range badJSONText {
				for _, route := range ingestRoutes {
					body := `{"events":[` + b.jsonEvent(nil, "") + "," + b.jsonEvent(map[string]string{"id": `"e-2"`, prop: raw}, "") + `]}`
					refused(t, prop+" "+name+" "+route, b.post(route, "application/json", body), "events[1]."+prop)
				}
			}
		}
		// The same bytes in JSV and in a form's events field: JSV has no
		// escapes, so only raw bytes can be wrong.
		for name, raw := range map[string]string{"raw 0xfe": "c-\xfe", "raw NUL": "c-\x00", "truncated": "c-\xe2\x82", "surrogate as UTF-8": "c-\xed\xa0\x80"} {
			for _, prop := range []string{"id", "category", "currency"} {
				ev := b.jsvEvent(map[string]string{prop: raw}, "")
				for _, route := range ingestRoutes {
					refused(t, "JSV "+prop+" "+name+" "+route, b.post(route, "text/jsv", "{events:["+ev+"]}"), "events[0]."+prop)
					refused(t, "form "+prop+" "+name+" "+route, b.post(route, "application/x-www-form-urlencoded", "events="+url.QueryEscape("["+ev+"]")), "events[0]."+prop)
				}
			}
		}
		// Neighbours that are valid text: a surrogate pair, U+FFFD itself,
		// control characters other than NUL. Each is its own id.
		good := []string{`"c-\ud83d\ude00"`, "\"c-\U0001F600x\"", `"c-\ufffd"`, "\"c-\uFFFD\uFFFD\"", `"c-\u0001"`, `"c-\t"`}
		var events []string
		for _, id := range good {
			events = append(events, b.jsonEvent(map[string]string{"id": id}, ""))
		}
		r := b.post("/billing/usage/events", "application/json", `{"events":[`+strings.Join(events, ",")+`]}`)
		if r.StatusCode != 200 || !strings.Contains(string(r.Body), `"accepted":6`) {
			t.Fatalf("valid neighbours: %d %s", r.StatusCode, r.Body)
		}
	})
}

func TestDuplicatePropertiesAreRefused(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		b := newBytesEnv(t, store)
		for name, c := range map[string]struct{ prop, jsonExtra, jsvExtra string }{
			"price twice":      {"price", `,"price":"0"`, ",price:0"},
			"Price and price":  {"price", `,"Price":"5"`, ",Price:5"},
			"ID and id":        {"id", `,"ID":"e-2"`, ",ID:e-2"},
			"ACCOUNTSID":       {"accountSid", `,"ACCOUNTSID":"` + b.sid + `"`, ",ACCOUNTSID:" + b.sid},
			"usage as null":    {"usage", `,"usage":null`, ",usage:"},
			"currency twice":   {"currency", `,"Currency":"eur"`, ",Currency:eur"},
			"occurredAt twice": {"occurredAt", `,"occurredat":"2024-02-11T08:00:00Z"`, `,occurredat:"2024-02-11T08:00:00Z"`},
		} {
			for _, route := range ingestRoutes {
				refused(t, "JSON "+name, b.post(route, "application/json", `{"events":[`+b.jsonEvent(nil, c.jsonExtra)+`]}`), "events[0]."+c.prop)
				jsv := "[" + b.jsvEvent(nil, c.jsvExtra) + "]"
				refused(t, "JSV "+name, b.post(route, "text/jsv", "{events:"+jsv+"}"), "events[0]."+c.prop)
				refused(t, "form "+name, b.post(route, "application/x-www-form-urlencoded", "events="+url.QueryEscape(jsv)), "events[0]."+c.prop)
			}
		}
		// Other Unicode folds are not the property: "ſ" is not "s".
		refused(t, "long s", b.post("/billing/usage/events", "application/json", `{"events":[`+b.jsonEvent(nil, `,"uſage":"9"`)+`]}`), "events[0].uſage")
		// One spelling in any letter case is still accepted.
		r := b.post("/billing/usage/events", "application/json", `{"events":[{"ID":"k-1","AccountSid":"`+b.sid+`","CATEGORY":"calls","occurredat":"2024-02-10T08:00:00Z","Price":"1"}]}`)
		if r.StatusCode != 200 {
			t.Fatalf("letter case: %d %s", r.StatusCode, r.Body)
		}
	})
}

func TestOverLongNumbersAreRefusedUnparsed(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		b := newBytesEnv(t, store)
		huge := strings.Repeat("9", 3_000_000) // took 13 s of a core before the limit
		for _, prop := range []string{"usage", "price", "count"} {
			for name, v := range map[string]string{
				"3 million digits": huge, "41 characters": "1" + strings.Repeat("0", 40), "41 with decimals": "0." + strings.Repeat("1", 39),
				"huge exponent": "1e999999999", "tiny exponent": "1e-999999999",
			} {
				refused(t, prop+" JSON number "+name, b.post("/billing/usage/events", "application/json", `{"events":[`+b.jsonEvent(map[string]string{prop: v}, "")+`]}`), "events[0]."+prop)
				refused(t, prop+" JSON string "+name, b.post("/billing/usage/events", "application/json", `{"events":[`+b.jsonEvent(map[string]string{prop: `"` + v + `"`}, "")+`]}`), "events[0]."+prop)
				refused(t, prop+" JSV "+name, b.post("/json/reply/RecordUsageEvents", "text/jsv", "{events:["+b.jsvEvent(map[string]string{prop: v}, "")+"]}"), "events[0]."+prop)
			}
		}
		// 40 characters is still read (and judged on its value).
		r := b.post("/billing/usage/events", "application/json", `{"events":[`+b.jsonEvent(map[string]string{"usage": `"0.` + strings.Repeat("0", 37) + `1"`}, "")+`]}`)
		if eb := r.ExpectError(t, 400, models.CodeInvalid); !strings.Contains(eb.ResponseStatus.Message, "decimal") && !strings.Contains(eb.ResponseStatus.Message, "usage") {
			t.Errorf("40 characters: %s", r.Body)
		}
		// Numeric parameters of both faces.
		for _, path := range []string{"/accounts?CountPerPage=" + huge[:100000], "/accounts?Page=" + huge[:100000]} {
			if r := b.Get(path, b.Admin()); r.StatusCode != 400 {
				t.Errorf("%.40s: %d %s", path, r.StatusCode, r.Body)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, b.Srv.URL+"/2010-04-01/Accounts/"+b.sid+"/Usage/Records.json?PageSize="+huge[:100000], nil)
		req.SetBasicAuth(b.sid, "x")
		if r := b.Send(req); r.StatusCode != 400 {
			t.Errorf("Restcomm PageSize: %d %s", r.StatusCode, r.Body)
		}
	})
}

// Postgres refuses NUL and invalid UTF-8 in text with a 500 (SQLSTATE
// 22021) while SQLite stores them: both now refuse them before either sees
// them, in every parameter of both faces.
func TestNULAndInvalidUTF8InParameters(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		b := newBytesEnv(t, store)
		for _, v := range []string{"%00", "a%00b", "%FE", "%ED%A0%80"} {
			for path, field := range map[string]string{
				"/accounts?NameFilter=" + v:                             "NameFilter",
				"/accounts?SpecificIds=" + v:                            "SpecificIds",
				"/json/reply/ListAccounts?nameFilter=" + v:              "NameFilter",
				"/billing/usage?AccountId=" + b.sid + "&Category=" + v:  "Category",
				"/billing/usage?AccountId=" + b.sid + "&StartDate=" + v: "StartDate",
				"/billing/usage?AccountId=" + v:                         "AccountId",
			} {
				refused(t, path, b.Get(path, b.Admin()), field)
			}
			for _, q := range []string{"Category=", "StartDate=", "PageToken=", "IncludeSubaccounts=", "Page="} {
				req, _ := http.NewRequest(http.MethodGet, b.Srv.URL+"/2010-04-01/Accounts/"+b.sid+"/Usage/Records.json?"+q+v, nil)
				req.SetBasicAuth(b.sid, "x")
				if r := b.Send(req); r.StatusCode != 400 {
					t.Errorf("Restcomm %s%s: %d %s", q, v, r.StatusCode, r.Body)
				}
			}
		}
		// Sign-in names never reach the database unless they are plain: a
		// form's name is refused as text, a JSON one fails as a name.
		si, _ := handlertest.NewSignIn(t, store, nil)
		for _, name := range []string{"alice%00", "%00", "al%FEice"} {
			req, _ := http.NewRequest(http.MethodPost, si.Srv.URL+"/auth/credentials", strings.NewReader("UserName="+name+"&Password=whatever-long"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if r := si.Send(req); r.StatusCode != http.StatusBadRequest {
				t.Errorf("sign-in form %s: %d %s", name, r.StatusCode, r.Body)
			}
		}
		if r := handlertest.SignIn(si, "alice\x00", "whatever-long"); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("sign-in JSON NUL: %d %s", r.StatusCode, r.Body)
		}
		// A raw NUL outside any handlertest.Event's text still never costs a 500.
		for _, body := range []string{"{events:[\x00]}", "{\x00events:[]}", "{events:[{\x00id:x}]}"} {
			if r := b.post("/billing/usage/events", "text/jsv", body); r.StatusCode != 400 {
				t.Errorf("JSV %q: %d %s", body, r.StatusCode, r.Body)
			}
		}
	})
}
