package restcomm_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
	twilio "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// toTestServer is the Twilio client's transport: what the client sends to
// https://api.twilio.com goes to the test server instead. It keeps the
// request URIs, so that tests see exactly what the client asked for.
type toTestServer struct {
	target *url.URL
	next   http.RoundTripper // checks every answer against /openapi.json
	mu     sync.Mutex
	uris   []string
}

func (tr *toTestServer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" || r.URL.Host != "api.twilio.com" {
		return nil, fmt.Errorf("the client addressed %s://%s, not https://api.twilio.com", r.URL.Scheme, r.URL.Host)
	}
	tr.mu.Lock()
	tr.uris = append(tr.uris, r.URL.RequestURI())
	tr.mu.Unlock()
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.Host = tr.target.Scheme, tr.target.Host, ""
	return tr.next.RoundTrip(out)
}

// requests returns the URIs sent since the last call, and forgets them.
func (tr *toTestServer) requests() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := tr.uris
	tr.uris = nil
	return out
}

// twilioClient is the official Twilio client with an account's credentials,
// talking to the test server.
func twilioClient(f *handlertest.Family, t *testing.T, account, token string) (*twilio.RestClient, *toTestServer) {
	t.Helper()
	// Edge and region settings would rename the host the client addresses.
	t.Setenv("TWILIO_EDGE", "")
	t.Setenv("TWILIO_REGION", "")
	target, err := url.Parse(f.Srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tr := &toTestServer{target: target, next: f.Contract.Validating(t, http.DefaultTransport)}
	c := &client.Client{
		Credentials: client.NewCredentials(account, token),
		HTTPClient: &http.Client{
			Transport:     tr,
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(account)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}), tr
}

// listRecords lists a subresource ("" for the list root) with twilio-go's
// List function for it, following next_page_uri to the end.
func listRecords(rc *twilio.RestClient, sub string, p api.ListUsageRecordParams) ([]api.ApiV2010UsageRecord, error) {
	switch sub {
	case "":
		return rc.Api.ListUsageRecord(&p)
	case "AllTime":
		q := api.ListUsageRecordAllTimeParams(p)
		return sameRecords(rc.Api.ListUsageRecordAllTime(&q))
	case "Today":
		q := api.ListUsageRecordTodayParams(p)
		return sameRecords(rc.Api.ListUsageRecordToday(&q))
	case "Yesterday":
		q := api.ListUsageRecordYesterdayParams(p)
		return sameRecords(rc.Api.ListUsageRecordYesterday(&q))
	case "ThisMonth":
		q := api.ListUsageRecordThisMonthParams(p)
		return sameRecords(rc.Api.ListUsageRecordThisMonth(&q))
	case "LastMonth":
		q := api.ListUsageRecordLastMonthParams(p)
		return sameRecords(rc.Api.ListUsageRecordLastMonth(&q))
	case "Daily":
		q := api.ListUsageRecordDailyParams(p)
		return sameRecords(rc.Api.ListUsageRecordDaily(&q))
	case "Monthly":
		q := api.ListUsageRecordMonthlyParams(p)
		return sameRecords(rc.Api.ListUsageRecordMonthly(&q))
	case "Yearly":
		q := api.ListUsageRecordYearlyParams(p)
		return sameRecords(rc.Api.ListUsageRecordYearly(&q))
	}
	return nil, fmt.Errorf("no subresource %q", sub)
}

// sameRecords turns any subresource's record type (they all have the same
// fields) into the list root's, as twilio-go itself decoded them.
func sameRecords[T any](recs []T, err error) ([]api.ApiV2010UsageRecord, error) {
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return nil, err
	}
	var out []api.ApiV2010UsageRecord
	return out, json.Unmarshal(b, &out)
}

// want is an expected record; count "-" means null (totalprice).
type want struct {
	category, start, end, count, usage, price string
}

func checkRecord(t *testing.T, got api.ApiV2010UsageRecord, account string, w want) {
	t.Helper()
	wantPrice, err := strconv.ParseFloat(w.price, 32)
	if err != nil {
		t.Fatal(err)
	}
	count := str(got.Count)
	if w.count == "-" {
		w.count = "<nil>"
	}
	if str(got.Category) != w.category || str(got.StartDate) != w.start || str(got.EndDate) != w.end ||
		count != w.count || str(got.Usage) != w.usage || got.Price == nil || *got.Price != float32(wantPrice) {
		price := "<nil>"
		if got.Price != nil {
			price = fmt.Sprint(*got.Price)
		}
		t.Errorf("got %s %s..%s count %s usage %s price %s; want %+v",
			str(got.Category), str(got.StartDate), str(got.EndDate), count, str(got.Usage), price, w)
	}
	if str(got.AccountSid) != account || str(got.ApiVersion) != "2010-04-01" || str(got.PriceUnit) != "usd" ||
		str(got.AsOf) != "2024-03-15T12:00:00+00:00" || !strings.HasPrefix(str(got.Uri), "/2010-04-01/Accounts/"+account+"/Usage/Records") {
		t.Errorf("record header: account %s, api_version %s, price_unit %s, as_of %s, uri %s",
			str(got.AccountSid), str(got.ApiVersion), str(got.PriceUnit), str(got.AsOf), str(got.Uri))
	}
	if got.SubresourceUris == nil || len(*got.SubresourceUris) != 8 {
		t.Errorf("subresource_uris = %v", got.SubresourceUris)
	}
}

// checkSome checks the records named by category (bucketless answers).
func checkSome(t *testing.T, got []api.ApiV2010UsageRecord, account string, n int, wants ...want) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d records, want %d", len(got), n)
	}
	for _, w := range wants {
		found := false
		for _, r := range got {
			if r.Category != nil && *r.Category == w.category {
				checkRecord(t, r, account, w)
				found = true
			}
		}
		if !found {
			t.Errorf("no %s record", w.category)
		}
	}
}

// checkAll checks every record, in order.
func checkAll(t *testing.T, got []api.ApiV2010UsageRecord, account string, wants ...want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("%d records, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		checkRecord(t, got[i], account, w)
	}
}

func wantTwilioError(t *testing.T, err error, status, code int) {
	t.Helper()
	var te *client.TwilioRestError
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T), want a TwilioRestError", err, err)
	}
	if te.Status != status || te.Code != code {
		t.Fatalf("status %d code %d (%s), want %d %d", te.Status, te.Code, te.Message, status, code)
	}
	if te.Message == "" || te.MoreInfo != fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code) {
		t.Errorf("message %q, more_info %q", te.Message, te.MoreInfo)
	}
}

func ptr[T any](v T) *T { return &v }

// str shows an optional string.
func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestTwilioClientSubresources(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		rc, tr := twilioClient(f, t, f.Parent, f.Tokens[f.Parent])
		today, created := "2024-03-15", "2023-01-10"
		zero := func(c, s, e string) want { return want{c, s, e, "0", "0", "0"} }

		t.Run("list root and AllTime: every category since the account was created", func(t *testing.T) {
			for _, sub := range []string{"", "AllTime"} {
				recs, err := listRecords(rc, sub, api.ListUsageRecordParams{})
				if err != nil {
					t.Fatal(err)
				}
				checkSome(t, recs, f.Parent, 26,
					want{"calls", created, today, "8", "26", "0.207"},
					want{"sms", created, today, "9", "9", "0.0711"},
					want{"phonenumbers", created, today, "1", "1", "1.15"},
					want{"calleridlookups", created, today, "1", "1", "0.01"},
					want{"recordings", created, today, "2", "5", "0.0125"},
					zero("shortcodes", created, today),
					want{"totalprice", created, today, "-", "1.4506", "1.4506"},
				)
				if *recs[0].Category != "calls" || *recs[25].Category != "totalprice" {
					t.Errorf("not in catalog order: %s … %s", *recs[0].Category, *recs[25].Category)
				}
			}
		})
		t.Run("Today", func(t *testing.T) {
			recs, err := listRecords(rc, "Today", api.ListUsageRecordParams{})
			if err != nil {
				t.Fatal(err)
			}
			checkSome(t, recs, f.Parent, 26,
				want{"calls", today, today, "6", "19", "0.202"},
				want{"calls-inbound-local", today, today, "3", "10", "0.085"},
				want{"calls-outbound", today, today, "3", "9", "0.117"},
				zero("sms", today, today),
			)
		})
		t.Run("Yesterday", func(t *testing.T) {
			recs, err := listRecords(rc, "Yesterday", api.ListUsageRecordParams{})
			if err != nil {
				t.Fatal(err)
			}
			checkSome(t, recs, f.Parent, 26, want{"calls", "2024-03-14", "2024-03-14", "1", "3", "0.039"})
		})
		t.Run("ThisMonth, whatever the dates say", func(t *testing.T) {
			recs, err := listRecords(rc, "ThisMonth", api.ListUsageRecordParams{StartDate: ptr("2020-01-01"), EndDate: ptr("2020-01-31")})
			if err != nil {
				t.Fatal(err)
			}
			checkSome(t, recs, f.Parent, 26,
				want{"calls", "2024-03-01", "2024-03-31", "7", "22", "0.191"},
				want{"recordings", "2024-03-01", "2024-03-31", "2", "5", "0.0125"},
				want{"totalprice", "2024-03-01", "2024-03-31", "-", "0.2035", "0.2035"},
			)
		})
		t.Run("LastMonth, a category in Restcomm's enum spelling", func(t *testing.T) {
			recs, err := listRecords(rc, "LastMonth", api.ListUsageRecordParams{Category: ptr("SMS_OUTBOUND_LONGCODE")})
			if err != nil {
				t.Fatal(err)
			}
			checkAll(t, recs, f.Parent, want{"sms-outbound-longcode", "2024-02-01", "2024-02-29", "5", "5", "0.0395"})
		})
		t.Run("Daily", func(t *testing.T) {
			recs, err := listRecords(rc, "Daily", api.ListUsageRecordParams{Category: ptr("calls"), StartDate: ptr("2024-03-13"), EndDate: ptr("2024-03-15")})
			if err != nil {
				t.Fatal(err)
			}
			checkAll(t, recs, f.Parent,
				zero("calls", "2024-03-13", "2024-03-13"),
				want{"calls", "2024-03-14", "2024-03-14", "1", "3", "0.039"},
				want{"calls", today, today, "6", "19", "0.202"},
			)
		})
		t.Run("Monthly clips its first and last months", func(t *testing.T) {
			recs, err := listRecords(rc, "Monthly", api.ListUsageRecordParams{Category: ptr("sms"), StartDate: ptr("2024-01-15")})
			if err != nil {
				t.Fatal(err)
			}
			checkAll(t, recs, f.Parent,
				zero("sms", "2024-01-15", "2024-01-31"),
				want{"sms", "2024-02-01", "2024-02-29", "9", "9", "0.0711"},
				zero("sms", "2024-03-01", today),
			)
		})
		t.Run("Yearly totalprice: count is null", func(t *testing.T) {
			recs, err := listRecords(rc, "Yearly", api.ListUsageRecordParams{Category: ptr("totalprice"), StartDate: ptr("2023-06-15")})
			if err != nil {
				t.Fatal(err)
			}
			checkAll(t, recs, f.Parent,
				want{"totalprice", "2023-06-15", "2023-12-31", "-", "0.026", "0.026"},
				want{"totalprice", "2024-01-01", today, "-", "1.4246", "1.4246"},
			)
		})
		t.Run("relative dates against the frozen clock", func(t *testing.T) {
			tr.requests()
			recs, err := listRecords(rc, "Daily", api.ListUsageRecordParams{Category: ptr("calls"), StartDate: ptr("-1days"), EndDate: ptr("0days")})
			if err != nil {
				t.Fatal(err)
			}
			checkAll(t, recs, f.Parent,
				want{"calls", "2024-03-14", "2024-03-14", "1", "3", "0.039"},
				want{"calls", today, today, "6", "19", "0.202"},
			)
			recs, err = listRecords(rc, "Monthly", api.ListUsageRecordParams{Category: ptr("calls"), StartDate: ptr("2024-03-01"), EndDate: ptr("+30days")})
			if err != nil {
				t.Fatal(err)
			}
			checkAll(t, recs, f.Parent,
				want{"calls", "2024-03-01", "2024-03-31", "7", "22", "0.191"},
				zero("calls", "2024-04-01", "2024-04-14"),
			)
			sent := tr.requests()
			if len(sent) != 2 || !strings.Contains(sent[0], "StartDate=-1days") || !strings.Contains(sent[1], "EndDate=%2B30days") {
				t.Errorf("the client sent %q", sent)
			}
		})
	})
}

func TestTwilioClientAccounts(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		parent, _ := twilioClient(f, t, f.Parent, f.Tokens[f.Parent])
		child, _ := twilioClient(f, t, f.Child, f.Tokens[f.Child])
		grandchild, _ := twilioClient(f, t, f.Grandchild, f.Tokens[f.Grandchild])
		today := "2024-03-15"
		calls := func(t *testing.T, rc *twilio.RestClient, account string, include *bool) (api.ApiV2010UsageRecord, error) {
			t.Helper()
			recs, err := listRecords(rc, "Today", api.ListUsageRecordParams{PathAccountSid: &account, Category: ptr("calls"), IncludeSubaccounts: include})
			if err != nil {
				return api.ApiV2010UsageRecord{}, err
			}
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			return recs[0], nil
		}

		t.Run("IncludeSubaccounts", func(t *testing.T) {
			for _, c := range []struct {
				include *bool
				want    want
			}{
				{nil, want{"calls", today, today, "6", "19", "0.202"}},
				{ptr(true), want{"calls", today, today, "6", "19", "0.202"}},
				{ptr(false), want{"calls", today, today, "2", "7", "0.091"}},
			} {
				rec, err := calls(t, parent, f.Parent, c.include)
				if err != nil {
					t.Fatal(err)
				}
				checkRecord(t, rec, f.Parent, c.want)
			}
		})
		t.Run("parent credentials read a sub-account and its sub-accounts", func(t *testing.T) {
			rec, err := calls(t, parent, f.Child, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkRecord(t, rec, f.Child, want{"calls", today, today, "3", "10", "0.085"})
			for include, n := range map[bool]string{true: "2", false: "0"} {
				recs, err := listRecords(parent, "ThisMonth", api.ListUsageRecordParams{PathAccountSid: &f.Child, Category: ptr("recordings"), IncludeSubaccounts: &include})
				if err != nil {
					t.Fatal(err)
				}
				if *recs[0].Count != n {
					t.Errorf("IncludeSubaccounts=%v: %s recordings, want %s", include, *recs[0].Count, n)
				}
			}
			if _, err := calls(t, parent, f.Grandchild, nil); err != nil {
				t.Errorf("grandchild: %v", err)
			}
		})
		t.Run("a sub-account is refused its parent, its sibling and strangers", func(t *testing.T) {
			for _, c := range []struct {
				name    string
				rc      *twilio.RestClient
				account string
			}{
				{"child reads parent", child, f.Parent},
				{"grandchild reads child", grandchild, f.Child},
				{"child reads its sibling", child, f.Child2},
				{"parent reads an unrelated account", parent, f.Other},
				{"parent reads an account that does not exist", parent, "AC" + strings.Repeat("0", 32)},
			} {
				t.Run(c.name, func(t *testing.T) {
					_, err := calls(t, c.rc, c.account, nil)
					wantTwilioError(t, err, 403, 20403)
				})
			}
		})
		t.Run("wrong credentials", func(t *testing.T) {
			for _, creds := range [][2]string{
				{f.Parent, f.Tokens[f.Child]},
				{f.Parent, "0123456789abcdef0123456789abcdef"},
				{"AC" + strings.Repeat("0", 32), f.Tokens[f.Parent]},
			} {
				rc, _ := twilioClient(f, t, creds[0], creds[1])
				_, err := listRecords(rc, "", api.ListUsageRecordParams{})
				wantTwilioError(t, err, 401, 20003)
			}
		})
	})
}

func TestTwilioClientPaging(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		rc, tr := twilioClient(f, t, f.Parent, f.Tokens[f.Parent])

		// 9 categories have usage between 2024-02-25 and 2024-03-15 (20 days):
		// 180 daily records, which pages of 7 split in every possible way.
		params := api.ListUsageRecordParams{StartDate: ptr("2024-02-25"), EndDate: ptr("2024-03-15")}
		whole := params
		whole.PageSize = ptr(1000)
		all, err := listRecords(rc, "Daily", whole)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 180 || len(tr.requests()) != 1 {
			t.Fatalf("%d records", len(all))
		}

		paged := params
		paged.PageSize = ptr(7)
		got, err := listRecords(rc, "Daily", paged)
		if err != nil {
			t.Fatal(err)
		}
		sent := tr.requests()
		if len(sent) != 26 {
			t.Fatalf("%d requests, want 26 pages", len(sent))
		}
		for i, uri := range sent[1:] {
			// Follow-up requests carry nothing but what next_page_uri said.
			for _, p := range []string{"/2010-04-01/Accounts/" + f.Parent + "/Usage/Records/Daily.json?", "StartDate=2024-02-25", "EndDate=2024-03-15", "PageSize=7", fmt.Sprintf("Page=%d&", i+1), "PageToken=PA"} {
				if !strings.Contains(uri, p) {
					t.Errorf("page %d: %s lacks %s", i+1, uri, p)
				}
			}
		}
		if len(got) != len(all) {
			t.Fatalf("paged: %d records, unpaged %d", len(got), len(all))
		}
		for i := range all {
			a, b := all[i], got[i]
			if str(a.Category) != str(b.Category) || str(a.StartDate) != str(b.StartDate) || str(a.Count) != str(b.Count) || str(a.Usage) != str(b.Usage) || *a.Price != *b.Price {
				t.Fatalf("record %d: paged %s %s, unpaged %s %s", i, *b.Category, *b.StartDate, *a.Category, *a.StartDate)
			}
		}

		t.Run("filters ride along in next_page_uri", func(t *testing.T) {
			p := api.ListUsageRecordParams{Category: ptr("calls"), StartDate: ptr("2024-03-01"), IncludeSubaccounts: ptr(false), PageSize: ptr(4)}
			recs, err := listRecords(rc, "Daily", p)
			if err != nil {
				t.Fatal(err)
			}
			sent := tr.requests()
			if len(recs) != 15 || len(sent) != 4 {
				t.Fatalf("%d records in %d requests", len(recs), len(sent))
			}
			if !strings.Contains(sent[3], "Category=calls") || !strings.Contains(sent[3], "IncludeSubaccounts=false") {
				t.Errorf("last page: %s", sent[3])
			}
			if *recs[14].Count != "2" || *recs[13].Count != "1" || *recs[9].Price != -0.05 {
				t.Errorf("the parent's own calls: %s, %s, %v", *recs[13].Count, *recs[14].Count, *recs[9].Price)
			}
		})
		t.Run("Limit stops early", func(t *testing.T) {
			p := params
			p.PageSize, p.Limit = ptr(7), ptr(10)
			recs, err := listRecords(rc, "Daily", p)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 10 || len(tr.requests()) != 2 {
				t.Errorf("%d records", len(recs))
			}
		})
		t.Run("one page by token", func(t *testing.T) {
			q := api.ListUsageRecordDailyParams(paged)
			first, err := rc.Api.PageUsageRecordDaily(&q, "", "")
			if err != nil {
				t.Fatal(err)
			}
			next, err := url.Parse(*first.NextPageUri)
			if err != nil {
				t.Fatal(err)
			}
			second, err := rc.Api.PageUsageRecordDaily(&q, next.Query().Get("PageToken"), "1")
			if err != nil {
				t.Fatal(err)
			}
			if second.Page != 1 || second.Start != 7 || second.End != 13 || len(second.UsageRecords) != 7 || *second.UsageRecords[0].StartDate != *all[7].StartDate {
				t.Errorf("second page: page %d start %d end %d, %d records", second.Page, second.Start, second.End, len(second.UsageRecords))
			}
			if second.PreviousPageUri == nil || first.PreviousPageUri != nil {
				t.Errorf("previous_page_uri: first %v, second %v", first.PreviousPageUri, second.PreviousPageUri)
			}
		})
	})
}

func TestTwilioClientErrors(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		rc, _ := twilioClient(f, t, f.Parent, f.Tokens[f.Parent])
		for _, c := range []struct {
			name   string
			sub    string
			params api.ListUsageRecordParams
			status int
			code   int
			says   string
		}{
			{"unknown category", "", api.ListUsageRecordParams{Category: ptr("faxes")}, 400, 20001, "Category"},
			{"bad StartDate", "Daily", api.ListUsageRecordParams{StartDate: ptr("2024-02-30")}, 400, 20001, "StartDate"},
			{"bad EndDate", "Monthly", api.ListUsageRecordParams{EndDate: ptr("-30weeks")}, 400, 20001, "EndDate"},
			{"StartDate after EndDate", "AllTime", api.ListUsageRecordParams{StartDate: ptr("2024-03-10"), EndDate: ptr("2024-03-01")}, 400, 20001, "StartDate"},
			{"StartDate after today", "Yearly", api.ListUsageRecordParams{StartDate: ptr("+1days")}, 400, 20001, "StartDate"},
			{"PageSize too large", "Daily", api.ListUsageRecordParams{PageSize: ptr(1001)}, 400, 20007, "PageSize"},
			{"PageSize zero", "Daily", api.ListUsageRecordParams{PageSize: ptr(0)}, 400, 20001, "PageSize"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := listRecords(rc, c.sub, c.params)
				wantTwilioError(t, err, c.status, c.code)
				if !strings.Contains(err.Error(), c.says) {
					t.Errorf("the message does not name %s: %v", c.says, err)
				}
			})
		}
		t.Run("bad PageToken", func(t *testing.T) {
			for _, token := range []string{"nonsense", "PA", "PA!!!!!!!", "PB" + strings.Repeat("A", 7), "PA_____w8"} {
				_, err := rc.Api.PageUsageRecordDaily(&api.ListUsageRecordDailyParams{}, token, "")
				wantTwilioError(t, err, 400, 21481)
			}
		})
	})
}
