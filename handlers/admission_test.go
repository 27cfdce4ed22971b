package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// gatedStore is the real store, except that the first usage query to reach
// it waits there until the test lets it go: a heavy query held in flight.
type gatedStore struct {
	*repo.Store
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	freed   sync.Once
}

func (g *gatedStore) letGo() { g.freed.Do(func() { close(g.release) }) }

func (g *gatedStore) UsageTotals(ctx context.Context, q models.UsageQuery) (models.Totals, error) {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.entered)
		<-g.release
	}
	return g.Store.UsageTotals(ctx, q)
}

// TestHeavyQueriesAreBounded: with room for one usage query, a second one
// while the first is in flight is answered 503 with Retry-After in its
// face's own shape (ServiceStack ErrorResponse, Twilio error JSON, XML and
// CSV), and is answered normally once the first is done, or when it comes
// while the first finishes within the wait.
func TestHeavyQueriesAreBounded(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		start := func(t *testing.T, wait time.Duration) (*gatedStore, *httptest.Server) {
			g := &gatedStore{Store: store, entered: make(chan struct{}), release: make(chan struct{})}
			verifier, err := auth.NewVerifier(auth.JWTConfig{Algorithm: "HS256", Secret: handlertest.Secret, Now: func() time.Time { return handlertest.Now }})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(handlers.New(handlers.Config{
				Store: g, Verifier: verifier, Now: func() time.Time { return handlertest.Now },
				Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
				QueryBudget: 1, QueryWait: wait,
			}))
			t.Cleanup(srv.Close)
			// Runs first: a failed test lets its held query go, so that
			// closing the server does not wait for it.
			t.Cleanup(func() { g.letGo() })
			return g, srv
		}
		client := &http.Client{Timeout: 5 * time.Second} // before the bound, the second query waited at the gate
		fetch := func(srv *httptest.Server, path string) (handlertest.Response, error) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			if err != nil {
				return handlertest.Response{}, err
			}
			if !strings.Contains(path, "/Accounts/") {
				req.Header.Set("Authorization", "Bearer "+f.Admin())
			} else {
				req.SetBasicAuth(f.Parent, f.Tokens[f.Parent])
			}
			res, err := client.Do(req)
			if err != nil {
				return handlertest.Response{}, err
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			return handlertest.Response{Response: res, Body: b}, err
		}
		get := func(t *testing.T, srv *httptest.Server, path string) handlertest.Response {
			t.Helper()
			r, err := fetch(srv, path)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		// inBackground sends a request from another goroutine; its answer
		// (or error) arrives on the channel.
		type answer struct {
			handlertest.Response
			err error
		}
		inBackground := func(srv *httptest.Server, path string) chan answer {
			out := make(chan answer, 1)
			go func() {
				r, err := fetch(srv, path)
				out <- answer{r, err}
			}()
			return out
		}
		widest := "?StartDate=0001-01-01&EndDate=9999-12-31&PageSize=1000"
		heavy := handlertest.RecordsPath("/2010-04-01", f.Parent, "Daily.json") + widest

		t.Run("busy answers in each face's shape", func(t *testing.T) {
			g, srv := start(t, time.Millisecond)
			first := inBackground(srv, heavy)
			<-g.entered
			for _, c := range []struct {
				path string
				want func(t *testing.T, r handlertest.Response)
			}{
				{handlertest.RecordsPath("/2010-04-01", f.Parent, "Daily.json") + widest, func(t *testing.T, r handlertest.Response) { handlertest.TwilioError(r, t, 503, 20503) }},
				{handlertest.RecordsPath("/2012-04-24", f.Parent, "Monthly.xml") + widest, func(t *testing.T, r handlertest.Response) {
					wantBody(t, r, "<RestcommResponse><RestException><Code>20503</Code>")
				}},
				{handlertest.RecordsPath("/restcomm/2012-04-24", f.Parent, "Yearly.csv") + widest, func(t *testing.T, r handlertest.Response) {
					wantBody(t, r, "code,message,more_info,status\n20503,")
				}},
				{handlertest.RecordsPath("/2010-04-01", f.Parent, "Today.json"), func(t *testing.T, r handlertest.Response) { handlertest.TwilioError(r, t, 503, 20503) }},
				{"/billing/usage?AccountId=" + f.Parent + "&StartDate=0001-01-01&EndDate=9999-12-31", func(t *testing.T, r handlertest.Response) {
					r.ExpectError(t, 503, "ServiceUnavailable")
				}},
				{"/billing/usage.xml?AccountId=" + f.Parent, func(t *testing.T, r handlertest.Response) {
					wantBody(t, r, "<ErrorCode>ServiceUnavailable</ErrorCode><Message>The service is answering as many usage queries")
				}},
			} {
				r := get(t, srv, c.path)
				c.want(t, r)
				if r.StatusCode != 503 || r.Header.Get("Retry-After") != "1" {
					t.Errorf("%s: %d, Retry-After %q", c.path, r.StatusCode, r.Header.Get("Retry-After"))
				}
			}
			// Work that is not a usage query is not held up.
			if r := get(t, srv, "/accounts?NameFilter=Parent"); r.StatusCode != 200 {
				t.Errorf("ListAccounts: %d %s", r.StatusCode, r.Body)
			}
			g.letGo()
			if r := <-first; r.err != nil || r.StatusCode != 200 {
				t.Fatalf("the first query: %v %s", r.err, r.Body)
			}
			var page struct {
				Records []json.RawMessage `json:"usage_records"`
			}
			r := get(t, srv, heavy)
			r.JSON(t, &page)
			if r.StatusCode != 200 || len(page.Records) != 1000 {
				t.Errorf("after the first: %d, %d records", r.StatusCode, len(page.Records))
			}
			if r := get(t, srv, "/billing/usage?AccountId="+f.Parent); r.StatusCode != 200 {
				t.Errorf("ListUsageRecords after the first: %d %s", r.StatusCode, r.Body)
			}
		})
		t.Run("a query waits for room", func(t *testing.T) {
			g, srv := start(t, 5*time.Second)
			first := inBackground(srv, heavy)
			<-g.entered
			second := inBackground(srv, "/billing/usage?AccountId="+f.Parent)
			time.Sleep(50 * time.Millisecond) // let it queue; if it has not, it simply gets in
			g.letGo()
			for _, r := range []answer{<-first, <-second} {
				if r.err != nil || r.StatusCode != 200 {
					t.Errorf("%v %s", r.err, r.Body)
				}
			}
		})
	})
}

func wantBody(t *testing.T, r handlertest.Response, part string) {
	t.Helper()
	if !strings.Contains(string(r.Body), part) {
		t.Errorf("%d %s lacks %q", r.StatusCode, r.Body, part)
	}
	handlertest.NoInternals(t, r.Body)
}
