package handlers_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// TestOpenAPIServed: /openapi.json needs no credentials, is OpenAPI 3.1,
// carries an ETag and answers 304 to it.
func TestOpenAPIServed(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		r := e.Get("/openapi.json", "")
		r.WantStatus(t, http.StatusOK)
		var doc struct {
			OpenAPI string                    `json:"openapi"`
			Paths   map[string]map[string]any `json:"paths"`
		}
		r.JSON(t, &doc)
		if doc.OpenAPI != "3.1.0" {
			t.Errorf("openapi %q", doc.OpenAPI)
		}
		for _, p := range []string{"/billing/usage", "/billing/usage.csv", "/api/ListUsageRecords.jsv", "/xml/reply/RecordUsageEvents",
			"/2010-04-01/Accounts/{AccountSid}/Usage/Records/Daily.json", "/restcomm/2012-04-24/Accounts/{AccountSid}/Usage/Records.xml",
			"/2010-04-01/Accounts/{AccountSid}/Usage/Triggers/{Sid}.json", "/auth/credentials"} {
			if doc.Paths[p] == nil {
				t.Errorf("no path %s", p)
			}
		}
		etag := r.Header.Get("ETag")
		req, _ := http.NewRequest(http.MethodGet, e.Srv.URL+"/openapi.json", nil)
		req.Header.Set("If-None-Match", etag)
		if again := e.Send(req); etag == "" || again.StatusCode != http.StatusNotModified || len(again.Body) != 0 {
			t.Errorf("If-None-Match %s: %d", etag, again.StatusCode)
		}
	})
}

// TestContractRejectsUndescribedAnswers: the check that wraps every test
// client fails answers the document does not describe.
func TestContractRejectsUndescribedAnswers(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		ct := func(v string) http.Header { return http.Header{"Content-Type": {v}} }
		records, _ := json.Marshal([]map[string]any{{"accountSid": "AC0000000000000000000000000000d002"}})
		twilioPage := []byte(`{"end":0,"first_page_uri":"x","next_page_uri":null,"page":0,"page_size":50,"previous_page_uri":null,"start":0,"uri":"x","usage_records":[{"count":1}]}`)
		for _, c := range []struct {
			name, path string
			status     int
			header     http.Header
			body       []byte
		}{
			{"a record missing fields", "/billing/usage", 200, ct("application/json; charset=utf-8"), records},
			{"a status never answered", "/billing/usage", http.StatusTeapot, ct("application/json; charset=utf-8"), []byte(`{}`)},
			{"XML on a .json route", "/billing/usage.json", 200, ct("application/xml; charset=utf-8"), []byte(`<x/>`)},
			{"a Twilio record with a numeric count", "/2010-04-01/Accounts/AC0000000000000000000000000000d002/Usage/Records/Daily.json", 200, ct("application/json; charset=utf-8"), twilioPage},
			{"a 200 where no operation is", "/billing/nothing", 200, ct("application/json; charset=utf-8"), []byte(`{}`)},
		} {
			req, _ := http.NewRequest(http.MethodGet, e.Srv.URL+c.path, nil)
			if err := e.Contract.Check(req, nil, c.status, c.header, c.body); err == nil {
				t.Errorf("%s: accepted", c.name)
			}
		}
		// A request the document does not describe, answered 2xx, fails too.
		bad, _ := http.NewRequest(http.MethodGet, e.Srv.URL+"/billing/usage.json?AccountId=AC0000000000000000000000000000d002&Category=nope", nil)
		if err := e.Contract.Check(bad, nil, 200, ct("application/json; charset=utf-8"), []byte(`[]`)); err == nil {
			t.Error("an undescribed Category answered 200: accepted")
		}
		// And a real answer passes.
		req, _ := http.NewRequest(http.MethodGet, e.Srv.URL+"/billing/usage.json", nil)
		if err := e.Contract.Check(req, nil, 200, ct("application/json; charset=utf-8"), []byte(`[]`)); err != nil {
			t.Errorf("an empty list: %v", err)
		}
	})
}
