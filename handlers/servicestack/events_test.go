package servicestack_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

func TestIngestionIdempotencyAndConflicts(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		acct := e.Account("Acme", "", models.NewDate(2024, 1, 1))
		other := e.Account("Other", "", models.NewDate(2024, 1, 1))
		ev := func(id string, price string) handlertest.Event {
			return handlertest.Event{"id": id, "accountSid": acct, "category": "calls-outbound", "occurredAt": "2024-02-01T10:00:00.123456Z", "usage": "2", "price": price}
		}
		if res := e.Ingest(ev("a", "0.02"), ev("b", "0.02")); res.Accepted != 2 || res.Duplicates != 0 {
			t.Fatalf("first batch: %+v", res)
		}
		// The same batch again changes nothing and says so.
		if res := e.Ingest(ev("a", "0.02"), ev("b", "0.02")); res.Accepted != 0 || res.Duplicates != 2 || !slices.Equal(res.DuplicateIndexes, []int{0, 1}) {
			t.Fatalf("resent batch: %+v", res)
		}
		// A repeat inside one batch with the same content is a duplicate too.
		if res := e.Ingest(ev("c", "0.02"), ev("a", "0.02"), ev("c", "0.02")); res.Accepted != 1 || !slices.Equal(res.DuplicateIndexes, []int{1, 2}) {
			t.Fatalf("batch with repeats: %+v", res)
		}
		// The same id on another account is another handlertest.Event.
		evOther := ev("a", "0.02")
		evOther["accountSid"] = other
		if res := e.Ingest(evOther); res.Accepted != 1 {
			t.Fatalf("same id, other account: %+v", res)
		}
		// The same id with other content is a conflict, and the whole batch is refused.
		eb := e.PostEvents(ev("d", "0.02"), ev("b", "0.03")).ExpectError(t, 409, models.CodeConflict)
		if len(eb.ResponseStatus.Errors) != 1 || eb.ResponseStatus.Errors[0].FieldName != "events[1].id" {
			t.Errorf("conflict errors: %+v", eb.ResponseStatus.Errors)
		}
		// A repeat inside one batch with other content is refused as invalid.
		eb = e.PostEvents(ev("e", "0.02"), ev("e", "0.05")).ExpectError(t, 400, models.CodeConflict)
		if eb.ResponseStatus.Errors[0].FieldName != "events[1].id" {
			t.Errorf("in-batch conflict: %+v", eb.ResponseStatus.Errors)
		}
		recs := e.Records("/billing/usage?AccountId="+acct+"&Category=calls-outbound", e.Admin())
		if *recs[0].Count != 3 || recs[0].Usage != "6" || recs[0].Price.String() != "0.06" {
			t.Errorf("after all that: %+v (want 3 events a, b, c)", recs[0])
		}
		if bad, err := store.CheckRollups(context.Background(), 10); err != nil || len(bad) > 0 {
			t.Errorf("rollups disagree with the ledger: %v %v", bad, err)
		}
	})
}

func TestIngestionRejectsBadBatchesWhole(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		acct := e.Account("Acme", "", models.NewDate(2024, 1, 1))
		eur := models.NewAccountSid()
		if err := store.CreateAccount(context.Background(), models.Account{Sid: eur, Name: "Euro", Currency: "eur", CreatedAt: handlertest.Now}, "h"); err != nil {
			t.Fatal(err)
		}
		ok := handlertest.Event{"id": "fine", "accountSid": acct, "category": "sms", "occurredAt": "2024-02-01T00:00:00Z"}
		bad := []handlertest.Event{
			{"accountSid": acct, "category": "sms", "occurredAt": "2024-02-01T00:00:00Z"},                               // 1: no id
			{"id": "x2", "accountSid": models.NewAccountSid(), "category": "sms", "occurredAt": "2024-02-01T00:00:00Z"}, // 2: unknown account
			{"id": "x3", "accountSid": acct, "category": "fax", "occurredAt": "2024-02-01T00:00:00Z"},                   // 3: unknown category
			{"id": "x4", "accountSid": acct, "category": "totalprice", "occurredAt": "2024-02-01T00:00:00Z"},            // 4: computed category
			{"id": "x5", "accountSid": acct, "category": "sms", "occurredAt": "yesterday"},                              // 5: bad time
			{"id": "x6", "accountSid": acct, "category": "sms", "occurredAt": "2024-02-01T00:00:00Z", "count": -1},      // 6: negative count
			{"id": "x7", "accountSid": acct, "category": "sms", "occurredAt": "2024-02-01T00:00:00Z", "count": 1.5},     // 7: fractional count
			{"id": "x8", "accountSid": acct, "category": "sms", "occurredAt": "2024-02-01T00:00:00Z", "usage": "-2"},    // 8: negative usage
			{"id": "x9", "accountSid": acct, "category": "sms", "occurredAt": "2024-02-01T00:00:00Z", "price": "1.0000001"},
			{"id": "x10", "accountSid": acct, "category": "sms", "occurredAt": "2024-02-01T00:00:00Z", "price": "ten"},
			{"id": "x11", "accountSid": eur, "category": "sms", "occurredAt": "2024-02-01T00:00:00Z", "currency": "USD"}, // wrong currency
			{"id": "x12", "accountSid": acct, "category": "sms", "occurredAt": "2024-02-01T00:00:00Z", "prices": "1"},    // misspelt field
			{"id": "x13", "accountSid": acct, "category": "sms", "occurredAt": "2024-02-01T00:00:00Z", "usage": 1e30},
		}
		batch := append([]handlertest.Event{ok}, bad...)
		r := e.PostEvents(batch...)
		if r.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		var eb handlertest.ErrorBody
		r.JSON(t, &eb)
		// Field-shape problems are reported first, all of them; the account and
		// currency checks need them fixed first, as ingestion checks shape
		// before it looks at the store.
		seen := map[int]bool{}
		for _, f := range eb.ResponseStatus.Errors {
			var i int
			fmt.Sscanf(f.FieldName, "events[%d]", &i)
			seen[i] = true
			if !strings.HasPrefix(f.Message, fmt.Sprintf("events[%d]", i)) {
				t.Errorf("message %q does not name its handlertest.Event", f.Message)
			}
		}
		for _, i := range []int{1, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13} {
			if !seen[i] {
				t.Errorf("handlertest.Event %d not reported: %s", i, r.Body)
			}
		}
		if seen[0] {
			t.Errorf("the valid handlertest.Event was reported: %s", r.Body)
		}
		// The store-level checks: unknown account and wrong currency, together.
		eb = e.PostEvents(ok, bad[1], bad[10]).ExpectError(t, 400, models.CodeNotFound)
		if len(eb.ResponseStatus.Errors) != 2 || eb.ResponseStatus.Errors[1].FieldName != "events[2].currency" {
			t.Errorf("store checks: %+v", eb.ResponseStatus.Errors)
		}
		// Nothing of the refused batches was stored.
		recs := e.Records("/billing/usage?AccountId="+acct+"&Category=sms", e.Admin())
		if *recs[0].Count != 0 {
			t.Errorf("a refused batch left %d events", *recs[0].Count)
		}
	})
}

func TestIngestionBodyErrors(t *testing.T) {
	e := handlertest.New(t, repotest.Open(t, "sqlite"))
	acct := e.Account("Acme", "", models.NewDate(2024, 1, 1))
	post := func(body string) handlertest.Response {
		return e.Do(http.MethodPost, "/billing/usage/events", e.Admin(), []byte(body))
	}
	post(`not json`).ExpectError(t, 400, models.CodeInvalid)
	post(`{"events":[], "extra":1}`).ExpectError(t, 400, models.CodeInvalid)
	post(`{"events":[]}`).ExpectError(t, 400, models.CodeRequired)
	post(`{"events":[42, "x"]}`).ExpectError(t, 400, models.CodeInvalid)

	many := make([]string, models.MaxBatchEvents+1)
	for i := range many {
		many[i] = fmt.Sprintf(`{"id":"e%d","accountSid":"%s","category":"sms","occurredAt":"2024-02-01T00:00:00Z"}`, i, acct)
	}
	eb := post(`{"events":[`+strings.Join(many, ",")+`]}`).ExpectError(t, 400, models.CodeInvalid)
	if !strings.Contains(eb.ResponseStatus.Message, "10000") {
		t.Errorf("batch limit message: %s", eb.ResponseStatus.Message)
	}
	// Exactly the limit is fine.
	if r := post(`{"events":[` + strings.Join(many[:models.MaxBatchEvents], ",") + `]}`); r.StatusCode != 200 {
		t.Errorf("a full batch: %d %s", r.StatusCode, r.Body)
	}
}
