package restcomm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo/repotest"
)

// BenchmarkUsageRecordsDaily reads a long Daily answer (one account, three
// years, 12 leaf categories with usage every day: 20 listed categories,
// 21,920 daily records) over HTTP: one page of 50 deep inside it, one page of
// 1000, and the whole answer walked by next_page_uri at 1000 a page.
//
//	go test ./handlers -run '^$' -bench UsageRecordsDaily -benchtime 20x
func BenchmarkUsageRecordsDaily(b *testing.B) {
	for _, backend := range repotest.Backends() {
		b.Run(backend, func(b *testing.B) {
			store := repotest.Open(b, backend)
			ctx := context.Background()
			first, today := models.NewDate(2021, 3, 16), models.DateOf(handlertest.Now)
			sid, token := models.NewAccountSid(), models.NewAuthToken()
			a := models.Account{Sid: sid, Name: "Bench", Currency: "usd", CreatedAt: first.Time()}
			if err := store.CreateAccount(ctx, a, models.HashAuthToken(token)); err != nil {
				b.Fatal(err)
			}
			var leaves []string
			for _, c := range models.Categories() {
				if len(models.Subtree(c.Name)) == 1 && len(leaves) < 12 {
					leaves = append(leaves, c.Name)
				}
			}
			var events []models.UsageEvent
			for d := first; d <= today; d++ {
				for i, c := range leaves {
					events = append(events, models.UsageEvent{ID: fmt.Sprintf("%s-%s", d, c), AccountSid: sid, Category: c,
						OccurredAt: d.Time().Add(time.Hour), Count: int64(i + 1), Usage: models.Micros(i+1) * 1_000_000, Price: 12_345})
				}
			}
			for len(events) > 0 {
				n := min(len(events), models.MaxBatchEvents)
				if _, err := store.RecordUsageEvents(ctx, events[:n]); err != nil {
					b.Fatal(err)
				}
				events = events[n:]
			}
			verifier, err := auth.NewVerifier(auth.JWTConfig{Algorithm: "HS256", Secret: handlertest.Secret})
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(handlers.New(handlers.Config{
				Store: store, Verifier: verifier, Now: func() time.Time { return handlertest.Now },
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			}))
			b.Cleanup(srv.Close)
			get := func(path string) *string {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
				req.SetBasicAuth(sid, token)
				req.Header.Set("Accept", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer res.Body.Close()
				var page struct {
					Next    *string          `json:"next_page_uri"`
					Records []map[string]any `json:"usage_records"`
				}
				if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&page) != nil || len(page.Records) == 0 {
					b.Fatalf("GET %s: %d", path, res.StatusCode)
				}
				return page.Next
			}
			daily := "/2010-04-01/Accounts/" + sid + "/Usage/Records/Daily"

			b.Run("one page of 50, deep", func(b *testing.B) {
				for b.Loop() {
					get(daily + "?PageSize=50&Page=200")
				}
			})
			b.Run("one page of 1000", func(b *testing.B) {
				for b.Loop() {
					get(daily + "?PageSize=1000&Page=10")
				}
			})
			b.Run("whole answer by next_page_uri", func(b *testing.B) {
				for b.Loop() {
					for next := get(daily + "?PageSize=1000"); next != nil; {
						next = get(*next)
					}
				}
			})
		})
	}
}
