package servicestack_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

func TestListUsageRecordsWireShape(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		acct := e.Account("Acme", "", models.NewDate(2024, 1, 1))
		e.Ingest(
			handlertest.Event{"id": "a", "accountSid": acct, "category": "calls-outbound", "occurredAt": "2024-02-01T10:00:00Z", "count": 2, "usage": "7.5", "price": "0.10"},
			handlertest.Event{"id": "b", "accountSid": acct, "category": "calls-outbound", "occurredAt": "2024-02-02T10:00:00Z", "usage": 3, "price": 0.2},
		)
		r := e.Get("/billing/usage?AccountId="+acct+"&Category=calls-outbound", e.Admin())
		if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		want := `[{"accountSid":"` + acct + `","category":"calls-outbound","count":3,"countUnit":"calls","description":"Outbound voice calls","endDate":"2024-03-15","price":0.3,"priceUnit":"usd","startDate":"2024-01-01","usage":"10.5","usageUnit":"minutes","uri":"/billing/usage?AccountId=` + acct + `&Category=calls-outbound&EndDate=2024-03-15&StartDate=2024-01-01"}]`
		if string(r.Body) != want {
			t.Errorf("body\n got %s\nwant %s", r.Body, want)
		}

		// totalprice has no count and the currency as its usage unit.
		r = e.Get("/billing/usage?accountid="+acct+"&category=totalprice", e.Admin())
		var tp []map[string]json.RawMessage
		r.JSON(t, &tp)
		if len(tp) != 1 || tp[0]["count"] != nil || string(tp[0]["usage"]) != `"0.3"` || string(tp[0]["usageUnit"]) != `"usd"` || string(tp[0]["countUnit"]) != `""` {
			t.Errorf("totalprice = %s", r.Body)
		}

		// The record's uri answers exactly that record.
		recs := e.Records("/billing/usage?AccountId="+acct, e.Admin())
		for _, rec := range recs[:3] {
			again := e.Records(rec.URI, e.Admin())
			if len(again) != 1 || again[0].Category != rec.Category || again[0].Usage != rec.Usage || !again[0].Price.Equal(rec.Price.Decimal) {
				t.Errorf("uri %s gives %+v, want %+v", rec.URI, again, rec)
			}
		}
	})
}

func TestListUsageRecordsCatalogAndHierarchy(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		acct := e.Account("Acme", "", models.NewDate(2024, 1, 1))
		sub := e.Account("Acme Sub", acct, models.NewDate(2024, 1, 1))
		at := "2024-02-10T12:00:00Z"
		e.Ingest(
			handlertest.Event{"id": "1", "accountSid": acct, "category": "calls-inbound-local", "occurredAt": at, "count": 2, "usage": 5, "price": "0.05"},
			handlertest.Event{"id": "2", "accountSid": acct, "category": "calls-inbound-tollfree", "occurredAt": at, "count": 1, "usage": 4, "price": "0.08"},
			handlertest.Event{"id": "3", "accountSid": acct, "category": "calls-outbound", "occurredAt": at, "count": 3, "usage": 9, "price": "0.117"},
			handlertest.Event{"id": "4", "accountSid": acct, "category": "calls-sip", "occurredAt": at, "usage": 2, "price": "0.008"},
			handlertest.Event{"id": "5", "accountSid": acct, "category": "calls", "occurredAt": at, "usage": 1, "price": "0.01"}, // filed under the parent itself
			handlertest.Event{"id": "6", "accountSid": acct, "category": "sms-outbound-longcode", "occurredAt": at, "count": 10, "price": "0.079"},
			handlertest.Event{"id": "7", "accountSid": acct, "category": "sms-inbound-shortcode", "occurredAt": at, "count": 4, "price": "0.03"},
			handlertest.Event{"id": "8", "accountSid": acct, "category": "phonenumbers-local", "occurredAt": at, "count": 2, "price": "2.30"},
			handlertest.Event{"id": "9", "accountSid": acct, "category": "recordings", "occurredAt": at, "usage": "3.25"},
			handlertest.Event{"id": "10", "accountSid": acct, "category": "calleridlookups", "occurredAt": at, "price": "-0.5"}, // a credit
			handlertest.Event{"id": "11", "accountSid": sub, "category": "calls-outbound", "occurredAt": at, "count": 100, "usage": 100, "price": 100},
		)
		recs := e.Records("/billing/usage?AccountId="+acct, e.Admin())
		if len(recs) != 26 {
			t.Fatalf("%d records, want 26", len(recs))
		}
		for i, name := range models.CategoryNames() {
			if recs[i].Category != name {
				t.Fatalf("record %d is %s, want %s (catalog order)", i, recs[i].Category, name)
			}
		}
		m := handlertest.ByCategory(recs)
		check := func(cat string, count int64, usage, price string) {
			t.Helper()
			r := m[cat]
			if r.Count == nil || *r.Count != count || r.Usage != usage || r.Price.String() != price {
				t.Errorf("%s: count %v usage %s price %s; want %d %s %s", cat, deref(r.Count), r.Usage, r.Price, count, usage, price)
			}
		}
		check("calls", 8, "21", "0.265") // handlertest.Event 4 and 5 count 1 by default
		check("calls-inbound", 3, "9", "0.13")
		check("calls-inbound-local", 2, "5", "0.05")
		check("calls-outbound", 3, "9", "0.117") // the sub-account's calls are not included
		check("calls-client", 0, "0", "0")
		check("sms", 14, "14", "0.109")
		check("sms-inbound", 4, "4", "0.03")
		check("sms-outbound", 10, "10", "0.079")
		check("phonenumbers", 2, "2", "2.3")
		check("recordings", 1, "3.25", "0")
		check("calleridlookups", 1, "1", "-0.5")
		check("shortcodes", 0, "0", "0")
		if tp := m["totalprice"]; tp.Count != nil || tp.Usage != "2.174" || tp.Price.String() != "2.174" {
			t.Errorf("totalprice = %+v", tp)
		}
		for _, r := range recs {
			c, _ := models.LookupCategory(r.Category)
			if r.Description != c.Description || r.PriceUnit != "usd" || r.AccountSid != acct {
				t.Errorf("%s: %+v", r.Category, r)
			}
		}
	})
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestListUsageRecordsDates(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store) // today is 2024-03-15
		acct := e.Account("Acme", "", models.NewDate(2023, 12, 1))
		e.Ingest(
			handlertest.Event{"id": "eve-leap", "accountSid": acct, "category": "sms-outbound-longcode", "occurredAt": "2024-02-29T23:59:59Z", "count": 1},
			handlertest.Event{"id": "mar-1", "accountSid": acct, "category": "sms-outbound-longcode", "occurredAt": "2024-03-01T00:00:00Z", "count": 10},
			handlertest.Event{"id": "offset", "accountSid": acct, "category": "sms-outbound-longcode", "occurredAt": "2024-03-01T01:00:00+02:00", "count": 100}, // 2024-02-29 23:00 UTC
			handlertest.Event{"id": "jan-31", "accountSid": acct, "category": "sms-outbound-longcode", "occurredAt": "2024-01-31T12:00:00Z", "count": 1000},
			handlertest.Event{"id": "feb-14", "accountSid": acct, "category": "sms-outbound-longcode", "occurredAt": "2024-02-14T00:00:00Z", "count": 10000},
			handlertest.Event{"id": "future", "accountSid": acct, "category": "sms-outbound-longcode", "occurredAt": "2024-04-14T00:00:00Z", "count": 100000},
		)
		count := func(query string) int64 {
			t.Helper()
			recs := e.Records("/billing/usage?AccountId="+acct+"&Category=sms&"+query, e.Admin())
			if len(recs) != 1 {
				t.Fatalf("%s: %d records", query, len(recs))
			}
			return *recs[0].Count
		}
		cases := []struct {
			query string
			want  int64
		}{
			{"StartDate=2024-02-29&EndDate=2024-02-29", 101},
			{"StartDate=2024-03-01&EndDate=2024-03-01", 10},
			{"StartDate=2024-02-01&EndDate=2024-02-29", 10101}, // a whole leap month
			{"StartDate=2024-01-31&EndDate=2024-01-31", 1000},  // a month's last day
			{"StartDate=2024-01-01&EndDate=2024-03-31", 11111}, // whole months from the monthly rollup
			{"StartDate=2024-01-31&EndDate=2024-03-01", 11111}, // partial months at both ends
			{"StartDate=2023-12-01", 11111},                    // EndDate defaults to today
			{"", 11111},                                        // both default
			{"StartDate=-30days", 10111},                       // 2024-02-14 .. today
			{"StartDate=-15days&EndDate=-15days", 101},         // 2024-02-29
			{"StartDate=-14days&EndDate=0days", 10},            // 2024-03-01 .. today
			{"StartDate=-1day&EndDate=%2B30days", 100000},      // 2024-03-14 .. 2024-04-14
			{"EndDate=%2B30days", 111111},                      // future usage counts when asked for
			{"StartDate=2023-01-01&EndDate=2023-06-30", 0},     // before the account existed
			{"startdate=2024-02-29&ENDDATE=2024-03-01&accountId=" + acct, 111},
		}
		for _, c := range cases {
			if got := count(c.query); got != c.want {
				t.Errorf("%s: count %d, want %d", c.query, got, c.want)
			}
		}

		// Defaults: StartDate is the creation day, or the first usage day if earlier.
		recs := e.Records("/billing/usage?AccountId="+acct+"&Category=sms", e.Admin())
		if recs[0].StartDate != "2023-12-01" || recs[0].EndDate != "2024-03-15" {
			t.Errorf("default range %s..%s", recs[0].StartDate, recs[0].EndDate)
		}
		e.Ingest(handlertest.Event{"id": "early", "accountSid": acct, "category": "sms", "occurredAt": "2023-11-20T00:00:00Z"})
		recs = e.Records("/billing/usage?AccountId="+acct+"&Category=sms", e.Admin())
		if recs[0].StartDate != "2023-11-20" || *recs[0].Count != 11112 {
			t.Errorf("with earlier usage: start %s count %d", recs[0].StartDate, *recs[0].Count)
		}
		recs = e.Records("/billing/usage?AccountId="+acct+"&Category=sms&EndDate=2023-01-01", e.Admin())
		if recs[0].StartDate != "2023-01-01" || recs[0].EndDate != "2023-01-01" {
			t.Errorf("EndDate before the account: %s..%s", recs[0].StartDate, recs[0].EndDate)
		}
	})
}

func TestListUsageRecordsBadInput(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		acct := e.Account("Acme", "", models.NewDate(2024, 1, 1))
		base := "/billing/usage?AccountId=" + acct + "&"
		cases := []struct {
			query  string
			fields []string
		}{
			{"StartDate=2024-03-02&EndDate=2024-03-01", []string{"StartDate"}},
			{"StartDate=2023-02-29", []string{"StartDate"}},
			{"EndDate=2024-13-01", []string{"EndDate"}},
			{"StartDate=yesterday&EndDate=-30weeks", []string{"StartDate", "EndDate"}},
			{"StartDate=2024-1-1", []string{"StartDate"}},
			{"Category=calls-mobile", []string{"Category"}},
			{"StartDate=x&EndDate=y&Category=z", []string{"StartDate", "EndDate", "Category"}},
			{"StartDate=2024-01-01&startdate=2024-02-01", []string{"StartDate"}},
		}
		for _, c := range cases {
			r := e.Get(base+c.query, e.Admin())
			eb := r.ExpectError(t, 400, models.CodeInvalid)
			var got []string
			for _, f := range eb.ResponseStatus.Errors {
				got = append(got, f.FieldName)
				if !strings.Contains(f.Message, f.FieldName) {
					t.Errorf("%s: message %q does not name %s", c.query, f.Message, f.FieldName)
				}
			}
			if strings.Join(got, ",") != strings.Join(c.fields, ",") {
				t.Errorf("%s: fields %v, want %v", c.query, got, c.fields)
			}
		}
		eb := e.Get("/billing/usage?AccountId=nope", e.Admin()).ExpectError(t, 400, models.CodeInvalid)
		if eb.ResponseStatus.Errors[0].FieldName != "AccountId" {
			t.Errorf("bad AccountId: %+v", eb)
		}
		if !regexp.MustCompile(`accepted forms|-30days`).MatchString(e.Get(base+"StartDate=x", e.Admin()).String()) {
			t.Error("a bad date's message should show the accepted forms")
		}
	})
}

// TestRecordURIsAreEscaped checks that odd but valid input cannot break a uri.
func TestRecordURIsAreEscaped(t *testing.T) {
	e := handlertest.New(t, repotest.Open(t, "sqlite"))
	acct := e.Account("Acme", "", models.NewDate(2024, 1, 1))
	recs := e.Records("/billing/usage?AccountId="+acct+"&Category=SMS_OUTBOUND", e.Admin())
	u, err := url.Parse(recs[0].URI)
	if err != nil || u.Query().Get("Category") != "sms-outbound" {
		t.Errorf("uri %q", recs[0].URI)
	}
}
