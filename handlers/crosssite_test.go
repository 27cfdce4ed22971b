package handlers_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/handlers/servicestack"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// TestCrossSiteWrites: a page on another origin must not make a signed-in
// browser change anything with its ss-tok cookie, on any route or verb.
func TestCrossSiteWrites(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
		for _, proxied := range []bool{false, true} {
			t.Run(fmt.Sprintf("trusted proxy %v", proxied), func(t *testing.T) {
				e, _ := handlertest.NewSignIn(t, store, func(c *handlers.Config) {
					if proxied {
						c.TrustedProxies = []*net.IPNet{loopback}
					}
				})
				crossSiteWrites(t, e, proxied)
			})
		}
	})
}

func crossSiteWrites(t *testing.T, e *handlertest.Env, proxied bool) {
	sid := e.Account("Target", "", models.NewDate(2024, 1, 1))
	admin := e.Admin()
	own := e.Srv.URL // http://127.0.0.1:port
	host := strings.TrimPrefix(own, "http://")
	var refusedIDs []string
	n := 0
	eventForm := func() (string, url.Values) {
		n++
		id := fmt.Sprintf("xsite-%v-%d", proxied, n)
		ev := "{id:" + id + ",accountSid:" + sid + ",category:sms,occurredAt:\"2024-02-10T08:00:00Z\",count:1,price:0.01}"
		return id, url.Values{"events": {"[" + ev + "]"}}
	}
	send := func(method, path string, form url.Values, cookie, bearer string, headers ...string) handlertest.Response {
		t.Helper()
		req, _ := http.NewRequest(method, e.Srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: cookie})
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		return e.Send(req)
	}

	foreign := [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Sec-Fetch-Site", "cross-site", "Origin", own}, // Fetch Metadata decides first
		{"Sec-Fetch-Site", "unheard-of"},
		{"Origin", "http://evil.example"},
		{"Origin", "http://sibling.127.0.0.1.nip.io"},
		{"Origin", "null"},
		{"Origin", "https://" + host}, // our host, other scheme
		{"Origin", own + "1"},         // other port
		{"Origin", "http://evil.example", "X-Forwarded-Host", "evil.example.invalid"}, // forged host, untrusted unless proxied
	}
	if !proxied {
		foreign = append(foreign, []string{"Origin", "http://evil.example", "X-Forwarded-Host", "evil.example"})
	}
	for _, path := range []string{"/billing/usage/events", "/billing/usage/events.json", "/json/reply/RecordUsageEvents", "/api/RecordUsageEvents", "/csv/oneway/recordusageevents"} {
		for _, h := range foreign {
			id, form := eventForm()
			r := send(http.MethodPost, path, form, admin, "", h...)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with the cookie and %v: %d %s", path, h, r.StatusCode, r.Body)
				continue
			}
			if !strings.HasPrefix(path, "/csv/") {
				r.ExpectError(t, 403, "Forbidden")
			}
			refusedIDs = append(refusedIDs, id)
		}
	}
	// Every other verb and route too, matched or not.
	for _, method := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodPost} {
		for _, path := range []string{"/billing/usage/events", "/billing/usage", "/accounts", "/2010-04-01/Accounts/" + sid + "/Usage/Records.json", "/no/such/route"} {
			send(method, path, url.Values{}, admin, "", "Sec-Fetch-Site", "cross-site").ExpectError(t, 403, "Forbidden")
		}
	}
	// Sign-in and logout, with or without Fetch Metadata, cookie or not.
	for _, h := range foreign {
		handlertest.SignIn(e, "alice", handlertest.Password, h...).ExpectError(t, 403, "Forbidden")
		send(http.MethodPost, "/auth/logout", nil, "", "", h...).ExpectError(t, 403, "Forbidden")
	}

	// Our own pages, user-started requests and non-browser clients pass.
	same := [][]string{
		{"Sec-Fetch-Site", "same-origin"},
		{"Sec-Fetch-Site", "same-origin", "Origin", "http://evil.example"}, // Fetch Metadata decides first
		{"Sec-Fetch-Site", "none"},
		{"Origin", own},
		{"Origin", strings.ToUpper(own)},
		{}, // neither header: not a browser
	}
	if proxied {
		same = append(same,
			[]string{"Origin", "https://billing.example", "X-Forwarded-Host", "billing.example", "X-Forwarded-Proto", "https"},
			[]string{"Origin", "https://billing.example", "X-Forwarded-Host", "billing.example:443", "X-Forwarded-Proto", "https"})
	} else {
		same = append(same, []string{"Origin", "https://" + host, "X-Forwarded-Proto", "https"})
	}
	for _, h := range same {
		_, form := eventForm()
		if r := send(http.MethodPost, "/billing/usage/events", form, admin, "", h...); r.StatusCode != http.StatusOK {
			t.Errorf("POST with the cookie and %v: %d %s", h, r.StatusCode, r.Body)
		}
		if r := send(http.MethodPost, "/auth/logout", nil, "", "", h...); r.StatusCode != http.StatusOK {
			t.Errorf("logout with %v: %d %s", h, r.StatusCode, r.Body)
		}
	}
	// An Authorization header is no ambient credential: not affected.
	for _, h := range foreign {
		_, form := eventForm()
		if r := send(http.MethodPost, "/billing/usage/events", form, "", admin, h...); r.StatusCode != http.StatusOK {
			t.Errorf("POST with a bearer header and %v: %d %s", h, r.StatusCode, r.Body)
		}
	}

	// Nothing refused was stored: every refused id is new now.
	var evs []map[string]any
	for _, id := range refusedIDs {
		evs = append(evs, map[string]any{"id": id, "accountSid": sid, "category": "sms", "occurredAt": "2024-02-10T08:00:00Z", "count": 1, "price": "0.01"})
	}
	body, _ := json.Marshal(map[string]any{"events": evs})
	var got servicestack.RecordUsageEventsResponse
	e.Do(http.MethodPost, "/billing/usage/events", admin, body).JSON(t, &got)
	if got.Accepted != len(refusedIDs) || got.Duplicates != 0 {
		t.Errorf("after %d refused posts: %+v", len(refusedIDs), got)
	}
}
