package restcomm_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
	"github.com/evovoice/billing/triggers"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// newTriggerFamily is handlertest's family served with the usage trigger
// engine (on the frozen clock; its loops do not run, since these tests read
// and write triggers, not callbacks).
func newTriggerFamily(t *testing.T, store *repo.Store) *handlertest.Family {
	t.Helper()
	engine := triggers.New(triggers.Config{Store: store, AllowPrivate: true, Now: func() time.Time { return handlertest.Now }})
	return handlertest.NewFamilyWith(t, store, func(c *handlers.Config) { c.Triggers = engine })
}

func triggersPath(prefix, account string) string {
	return prefix + "/Accounts/" + account + "/Usage/Triggers"
}

func TestTwilioClientUsageTriggers(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newTriggerFamily(t, store)
		rc, tr := twilioClient(f, t, f.Parent, f.Tokens[f.Parent])

		created, err := rc.Api.CreateUsageTrigger((&api.CreateUsageTriggerParams{}).
			SetCallbackUrl("https://example.com/hook?a=1").SetTriggerValue("100").SetUsageCategory("calls").
			SetRecurring("daily").SetFriendlyName("Calls today"))
		if err != nil {
			t.Fatal(err)
		}
		sid := str(created.Sid)
		if len(sid) != 34 || !strings.HasPrefix(sid, "UT") {
			t.Fatalf("sid %q", sid)
		}
		// The watched value is what the usage record URI answers.
		today, err := rc.Api.ListUsageRecordToday(&api.ListUsageRecordTodayParams{Category: ptr("calls")})
		if err != nil || len(today) != 1 {
			t.Fatalf("today's calls: %v %v", today, err)
		}
		wantFields := map[string]string{
			"account_sid": f.Parent, "api_version": "2010-04-01", "callback_method": "POST", "callback_url": "https://example.com/hook?a=1",
			"current_value": str(today[0].Usage), "date_created": "Fri, 15 Mar 2024 12:00:00 +0000", "date_updated": "Fri, 15 Mar 2024 12:00:00 +0000",
			"friendly_name": "Calls today", "recurring": "daily", "trigger_by": "usage", "trigger_value": "100.000000",
			"uri":              "/2010-04-01/Accounts/" + f.Parent + "/Usage/Triggers/" + sid + ".json",
			"usage_category":   "calls",
			"usage_record_uri": "/2010-04-01/Accounts/" + f.Parent + "/Usage/Records/Today.json?Category=calls",
		}
		got := map[string]string{
			"account_sid": str(created.AccountSid), "api_version": str(created.ApiVersion), "callback_method": str(created.CallbackMethod),
			"callback_url": str(created.CallbackUrl), "current_value": str(created.CurrentValue), "date_created": str(created.DateCreated),
			"date_updated": str(created.DateUpdated), "friendly_name": str(created.FriendlyName), "recurring": str(created.Recurring),
			"trigger_by": str(created.TriggerBy), "trigger_value": str(created.TriggerValue), "uri": str(created.Uri),
			"usage_category": str(created.UsageCategory), "usage_record_uri": str(created.UsageRecordUri),
		}
		for k, w := range wantFields {
			if got[k] != w && !(k == "current_value" && handlertest.SameDecimal(got[k], w)) {
				t.Errorf("%s = %q, want %q", k, got[k], w)
			}
		}
		if created.DateFired != nil {
			t.Errorf("date_fired = %q before any firing", *created.DateFired)
		}

		// Four more, to filter and page.
		for _, p := range []*api.CreateUsageTriggerParams{
			(&api.CreateUsageTriggerParams{}).SetUsageCategory("sms").SetTriggerBy("count").SetRecurring("monthly").SetTriggerValue("+10"),
			(&api.CreateUsageTriggerParams{}).SetUsageCategory("totalprice").SetTriggerBy("price").SetTriggerValue("50.5"),
			(&api.CreateUsageTriggerParams{}).SetUsageCategory("calls").SetRecurring("yearly").SetTriggerValue("1000"),
			(&api.CreateUsageTriggerParams{}).SetUsageCategory("recordings").SetRecurring("alltime").SetTriggerValue("3").SetCallbackMethod("get"),
		} {
			if _, err := rc.Api.CreateUsageTrigger(p.SetCallbackUrl("http://example.com/h")); err != nil {
				t.Fatal(err)
			}
		}
		count := func(p *api.ListUsageTriggerParams) int {
			t.Helper()
			l, err := rc.Api.ListUsageTrigger(p)
			if err != nil {
				t.Fatal(err)
			}
			return len(l)
		}
		for name, c := range map[string]struct {
			p    *api.ListUsageTriggerParams
			want int
		}{
			"all":                {&api.ListUsageTriggerParams{}, 5},
			"Recurring=daily":    {(&api.ListUsageTriggerParams{}).SetRecurring("daily"), 1},
			"Recurring=monthly":  {(&api.ListUsageTriggerParams{}).SetRecurring("monthly"), 1},
			"TriggerBy=count":    {(&api.ListUsageTriggerParams{}).SetTriggerBy("count"), 1},
			"TriggerBy=usage":    {(&api.ListUsageTriggerParams{}).SetTriggerBy("usage"), 3},
			"UsageCategory=call": {(&api.ListUsageTriggerParams{}).SetUsageCategory("calls"), 2},
			"two filters":        {(&api.ListUsageTriggerParams{}).SetUsageCategory("calls").SetRecurring("yearly"), 1},
		} {
			if n := count(c.p); n != c.want {
				t.Errorf("%s: %d triggers, want %d", name, n, c.want)
			}
		}

		t.Run("paging follows next_page_uri with a page token", func(t *testing.T) {
			tr.requests()
			all, err := rc.Api.ListUsageTrigger((&api.ListUsageTriggerParams{}).SetPageSize(2))
			if err != nil {
				t.Fatal(err)
			}
			var sids []string
			for _, x := range all {
				sids = append(sids, str(x.Sid))
			}
			if len(sids) != 5 || !slices.IsSorted(sids) || slices.Compact(slices.Clone(sids)) == nil || len(slices.Compact(slices.Clone(sids))) != 5 {
				t.Errorf("paged SIDs %v", sids)
			}
			uris := tr.requests()
			if len(uris) != 3 || !strings.Contains(uris[1], "PageToken=PT") || !strings.Contains(uris[2], "Page=2") {
				t.Errorf("requests %v", uris)
			}
			// The envelope: exactly Twilio's keys, relative links.
			r := f.BasicGet(triggersPath("/2010-04-01", f.Parent)+".json?PageSize=2", f.Parent, "")
			r.WantStatus(t, http.StatusOK)
			var env map[string]json.RawMessage
			r.JSON(t, &env)
			var keys []string
			for k := range env {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if strings.Join(keys, ",") != "end,first_page_uri,next_page_uri,page,page_size,previous_page_uri,start,uri,usage_triggers" {
				t.Errorf("envelope keys %v", keys)
			}
			var next string
			json.Unmarshal(env["next_page_uri"], &next)
			if !strings.HasPrefix(next, "/2010-04-01/Accounts/"+f.Parent+"/Usage/Triggers.json?PageSize=2&Page=1&PageToken=PT") {
				t.Errorf("next_page_uri %q", next)
			}
			r = f.BasicGet(triggersPath("/2010-04-01", f.Parent)+".json?PageSize=2&Page=2", f.Parent, "")
			var last struct {
				Start, End int
				Next       *string           `json:"next_page_uri"`
				Triggers   []json.RawMessage `json:"usage_triggers"`
			}
			r.JSON(t, &last)
			if last.Start != 4 || last.End != 4 || last.Next != nil || len(last.Triggers) != 1 {
				t.Errorf("page 2: %s", r.Body)
			}
		})

		t.Run("fetch, update, delete", func(t *testing.T) {
			got, err := rc.Api.FetchUsageTrigger(sid, nil)
			if err != nil || str(got.FriendlyName) != "Calls today" {
				t.Fatalf("fetch: %v %v", got, err)
			}
			up, err := rc.Api.UpdateUsageTrigger(sid, (&api.UpdateUsageTriggerParams{}).
				SetFriendlyName("Renamed").SetCallbackMethod("GET").SetCallbackUrl("https://example.org/x"))
			if err != nil {
				t.Fatal(err)
			}
			if str(up.FriendlyName) != "Renamed" || str(up.CallbackMethod) != "GET" || str(up.CallbackUrl) != "https://example.org/x" {
				t.Errorf("updated: %+v", up)
			}
			// TriggerValue is not for updates: ignored, as Twilio does.
			r := f.Form(http.MethodPost, triggersPath("/2010-04-01", f.Parent)+"/"+sid+".json", f.Parent, url.Values{"TriggerValue": {"5"}})
			r.WantStatus(t, http.StatusOK)
			if !strings.Contains(string(r.Body), `"trigger_value":"100.000000"`) {
				t.Errorf("update with TriggerValue: %s", r.Body)
			}
			_, err = rc.Api.UpdateUsageTrigger(sid, (&api.UpdateUsageTriggerParams{}).SetCallbackMethod("PUT").SetCallbackUrl("mailto:x"))
			wantTwilioError(t, err, http.StatusBadRequest, 20001)
			if !strings.Contains(err.Error(), "CallbackMethod") || !strings.Contains(err.Error(), "CallbackUrl") {
				t.Errorf("update errors: %v", err)
			}
			if err := rc.Api.DeleteUsageTrigger(sid, nil); err != nil {
				t.Fatal(err)
			}
			_, err = rc.Api.FetchUsageTrigger(sid, nil)
			wantTwilioError(t, err, http.StatusNotFound, 20404)
			wantTwilioError(t, rc.Api.DeleteUsageTrigger(sid, nil), http.StatusNotFound, 20404)
			_, err = rc.Api.FetchUsageTrigger("UTnothex", nil)
			wantTwilioError(t, err, http.StatusNotFound, 20404)
		})

		t.Run("XML, the default without a suffix", func(t *testing.T) {
			for _, c := range []struct{ prefix, root, suffix string }{
				{"/2010-04-01", "TwilioResponse", ""},
				{"/2012-04-24", "RestcommResponse", ".xml"},
				{"/restcomm/2012-04-24", "RestcommResponse", ""},
			} {
				r := f.BasicGet(triggersPath(c.prefix, f.Parent)+c.suffix+"?PageSize=3", f.Parent, "")
				r.WantStatus(t, http.StatusOK)
				var doc struct {
					XMLName xml.Name
					List    struct {
						PageSize int    `xml:"pagesize,attr"`
						Next     string `xml:"nextpageuri,attr"`
						Triggers []struct {
							Sid, AccountSid, Uri, UsageRecordUri, Recurring, DateFired, TriggerValue string
						} `xml:"UsageTrigger"`
					} `xml:"UsageTriggers"`
				}
				if err := xml.Unmarshal(r.Body, &doc); err != nil {
					t.Fatalf("%s: %v: %s", c.prefix, err, r.Body)
				}
				if doc.XMLName.Local != c.root || doc.List.PageSize != 3 || len(doc.List.Triggers) != 3 ||
					!strings.HasPrefix(doc.List.Next, c.prefix+"/Accounts/") || !strings.HasPrefix(doc.List.Triggers[0].Uri, c.prefix+"/") ||
					doc.List.Triggers[0].AccountSid != f.Parent {
					t.Errorf("%s: %+v", c.prefix, doc)
				}
				one := doc.List.Triggers[0].Sid
				r = f.BasicGet(triggersPath(c.prefix, f.Parent)+"/"+one+c.suffix, f.Parent, "")
				var single struct {
					XMLName xml.Name
					Trigger struct{ Sid, ApiVersion string } `xml:"UsageTrigger"`
				}
				if err := xml.Unmarshal(r.Body, &single); err != nil || single.XMLName.Local != c.root || single.Trigger.Sid != one ||
					single.Trigger.ApiVersion != "2010-04-01" {
					t.Errorf("%s fetch: %v %s", c.prefix, err, r.Body)
				}
			}
			// Errors in XML too.
			r := f.BasicGet(triggersPath("/2012-04-24", f.Parent)+"/UT00000000000000000000000000000000", f.Parent, "")
			var e struct {
				XMLName xml.Name
				Code    int `xml:"RestException>Code"`
			}
			if err := xml.Unmarshal(r.Body, &e); err != nil || r.StatusCode != 404 || e.Code != 20404 || e.XMLName.Local != "RestcommResponse" {
				t.Errorf("XML error: %d %s", r.StatusCode, r.Body)
			}
		})
	})
}

func TestUsageTriggersRefuseBadInput(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newTriggerFamily(t, store)
		rc, _ := twilioClient(f, t, f.Parent, f.Tokens[f.Parent])
		path := triggersPath("/2010-04-01", f.Parent) + ".json"

		r := f.Form(http.MethodPost, path, f.Parent, url.Values{
			"CallbackUrl": {"ftp://example.com"}, "TriggerValue": {"-1"}, "UsageCategory": {"nope"}, "Recurring": {"weekly"},
			"TriggerBy": {"bytes"}, "CallbackMethod": {"PUT"}, "FriendlyName": {strings.Repeat("x", 65)},
		})
		var e struct {
			Code    int
			Message string
			Status  int
		}
		r.JSON(t, &e)
		for _, p := range []string{"CallbackUrl", "TriggerValue", "UsageCategory", "Recurring", "TriggerBy", "CallbackMethod", "FriendlyName"} {
			if !strings.Contains(e.Message, p) {
				t.Errorf("the message does not name %s: %s", p, e.Message)
			}
		}
		if e.Code != 20001 || e.Status != 400 {
			t.Errorf("error %+v", e)
		}
		// Missing parameters, and a value that is not text.
		r = f.Form(http.MethodPost, path, f.Parent, url.Values{"FriendlyName": {"a\x00b"}})
		r.JSON(t, &e)
		for _, p := range []string{"CallbackUrl", "TriggerValue", "UsageCategory", "FriendlyName"} {
			if r.StatusCode != 400 || !strings.Contains(e.Message, p) {
				t.Errorf("missing: %d, the message does not name %s: %s", r.StatusCode, p, e.Message)
			}
		}
		// Bad filters and paging, all at once.
		r = f.BasicGet(path+"?Recurring=weekly&TriggerBy=x&UsageCategory=nope&Page=-1&PageToken=zz", f.Parent, "")
		r.JSON(t, &e)
		for _, p := range []string{"Recurring", "TriggerBy", "UsageCategory", "Page", "PageToken"} {
			if r.StatusCode != 400 || !strings.Contains(e.Message, p) {
				t.Errorf("list: %d, the message does not name %s: %s", r.StatusCode, p, e.Message)
			}
		}
		_, err := rc.Api.ListUsageTrigger((&api.ListUsageTriggerParams{}).SetPageSize(1001))
		wantTwilioError(t, err, http.StatusBadRequest, 20007)
		_, err = rc.Api.CreateUsageTrigger((&api.CreateUsageTriggerParams{}).SetCallbackUrl("http://example.com").SetUsageCategory("calls").SetTriggerValue("0"))
		wantTwilioError(t, err, http.StatusBadRequest, 20001)
		// Nothing was stored.
		if l, err := rc.Api.ListUsageTrigger(nil); err != nil || len(l) != 0 {
			t.Errorf("after refusals: %d triggers, %v", len(l), err)
		}
		// Methods the resource does not have.
		r = f.Form(http.MethodPut, path, f.Parent, nil)
		if r.StatusCode != 405 || r.Header.Get("Allow") != "GET, HEAD, POST" {
			t.Errorf("PUT: %d %q", r.StatusCode, r.Header.Get("Allow"))
		}

		t.Run("at most 1,000 triggers an account", func(t *testing.T) {
			ctx := context.Background()
			for range models.MaxTriggersPerAccount {
				err := store.CreateTrigger(ctx, models.Trigger{Sid: models.NewTriggerSid(), AccountSid: f.Child, APIVersion: "2010-04-01",
					CallbackURL: "http://example.com", CallbackMethod: "POST", UsageCategory: "calls", TriggerBy: "usage",
					TriggerValue: 1_000_000, DateCreated: handlertest.Now, DateUpdated: handlertest.Now})
				if err != nil {
					t.Fatal(err)
				}
			}
			_, err := rc.Api.CreateUsageTrigger((&api.CreateUsageTriggerParams{}).SetPathAccountSid(f.Child).
				SetCallbackUrl("http://example.com").SetUsageCategory("calls").SetTriggerValue("1"))
			wantTwilioError(t, err, http.StatusBadRequest, 21622)
			l, err := rc.Api.ListUsageTrigger((&api.ListUsageTriggerParams{}).SetPathAccountSid(f.Child).SetPageSize(1000))
			if err != nil || len(l) != models.MaxTriggersPerAccount {
				t.Errorf("%d triggers listed, %v", len(l), err)
			}
		})
	})
}

func TestUsageTriggersScope(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newTriggerFamily(t, store)
		create := func(as, account string) handlertest.Response {
			return f.Form(http.MethodPost, triggersPath("/2010-04-01", account)+".json", as, url.Values{
				"CallbackUrl": {"http://example.com/h"}, "TriggerValue": {"5"}, "UsageCategory": {"calls"}})
		}
		// Parent credentials manage a sub-account's (and a grandchild's) triggers.
		r := create(f.Parent, f.Child)
		r.WantStatus(t, http.StatusCreated)
		var childTrigger struct{ Sid, AccountSid string }
		r.JSON(t, &childTrigger)
		create(f.Parent, f.Grandchild).WantStatus(t, http.StatusCreated)
		mine := create(f.Parent, f.Parent)
		mine.WantStatus(t, http.StatusCreated)
		var parentTrigger struct{ Sid string }
		mine.JSON(t, &parentTrigger)
		// The child sees it with its own credentials, and may delete it.
		rcChild, _ := twilioClient(f, t, f.Child, f.Tokens[f.Child])
		if l, err := rcChild.Api.ListUsageTrigger(nil); err != nil || len(l) != 1 || str(l[0].Sid) != childTrigger.Sid {
			t.Errorf("child's list: %v %v", l, err)
		}

		// A sibling's, a parent's and another account's: as Usage Records decides.
		for _, c := range []struct{ as, account string }{{f.Child2, f.Child}, {f.Child, f.Parent}, {f.Other, f.Parent}, {f.Other, f.Child}} {
			want := f.BasicGet(handlertest.RecordsPath("/2010-04-01", c.account, "")+".json", c.as, "").StatusCode
			if want != http.StatusForbidden {
				t.Fatalf("usage records answer %d", want)
			}
			for _, r := range []handlertest.Response{
				f.BasicGet(triggersPath("/2010-04-01", c.account)+".json", c.as, ""),
				create(c.as, c.account),
				f.BasicGet(triggersPath("/2010-04-01", c.account)+"/"+childTrigger.Sid+".json", c.as, ""),
				f.Form(http.MethodDelete, triggersPath("/2010-04-01", c.account)+"/"+childTrigger.Sid+".json", c.as, nil),
			} {
				if r.StatusCode != want || !strings.Contains(string(r.Body), `"code":20403`) {
					t.Errorf("%s on %s: %d %s, want %d", c.as, c.account, r.StatusCode, r.Body, want)
				}
			}
		}
		// A trigger of another account than the path's is not there.
		r = f.BasicGet(triggersPath("/2010-04-01", f.Parent)+"/"+childTrigger.Sid+".json", f.Parent, "")
		if r.StatusCode != 404 || !strings.Contains(string(r.Body), `"code":20404`) {
			t.Errorf("child's trigger under the parent: %d %s", r.StatusCode, r.Body)
		}
		r = f.Form(http.MethodDelete, triggersPath("/2010-04-01", f.Child)+"/"+parentTrigger.Sid+".json", f.Child, nil)
		if r.StatusCode != 404 {
			t.Errorf("delete the parent's trigger through the child's path: %d %s", r.StatusCode, r.Body)
		}
		// JWTs by scope: a Manager of the child, a SystemAdministrator.
		mgr := f.Manager(f.Child)
		if r := f.Get(triggersPath("/2010-04-01", f.Child)+".json", mgr); r.StatusCode != 200 {
			t.Errorf("manager of the child: %d", r.StatusCode)
		}
		if r := f.Get(triggersPath("/2010-04-01", f.Parent)+".json", mgr); r.StatusCode != 403 {
			t.Errorf("manager of the child on the parent: %d", r.StatusCode)
		}
		if r := f.Get(triggersPath("/2010-04-01", models.NewAccountSid())+".json", f.Admin()); r.StatusCode != 404 {
			t.Errorf("administrator on an unknown account: %d", r.StatusCode)
		}
		if r := f.Get(triggersPath("/2010-04-01", f.Child)+".json", ""); r.StatusCode != 401 {
			t.Errorf("no credentials: %d", r.StatusCode)
		}
		// Basic credentials a browser remembers do not let another site write.
		r = f.Form(http.MethodDelete, triggersPath("/2010-04-01", f.Child)+"/"+childTrigger.Sid+".json", f.Parent, nil, "Sec-Fetch-Site", "cross-site")
		if r.StatusCode != 403 {
			t.Errorf("cross-site delete with Basic: %d %s", r.StatusCode, r.Body)
		}
		r = f.Form(http.MethodDelete, triggersPath("/2010-04-01", f.Child)+"/"+childTrigger.Sid+".json", f.Parent, nil)
		if r.StatusCode != 204 || len(r.Body) != 0 {
			t.Errorf("delete: %d %q", r.StatusCode, r.Body)
		}
	})
}
