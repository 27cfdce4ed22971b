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
		f := newFamily(t, store)
		start := func(t *testing.T, wait time.Duration) (*gatedStore, *httptest.Server) {
			g := &gatedStore{Store: store, entered: make(chan struct{}), release: make(chan struct{})}
			verifier, err := auth.NewVerifier(auth.JWTConfig{Algorithm: "HS256", Secret: testSecret, Now: func() time.Time { return frozenNow }})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(handlers.New(handlers.Config{
				Store: g, Verifier: verifier, Now: func() time.Time { return frozenNow },
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
		fetch := func(srv *httptest.Server, path string) (response, error) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			if err != nil {
				return response{}, err
			}
			if !strings.Contains(path, "/Accounts/") {
				req.Header.Set("Authorization", "Bearer "+f.admin())
			} else {
				req.SetBasicAuth(f.parent, f.tokens[f.parent])
			}
			res, err := client.Do(req)
			if err != nil {
				return response{}, err
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			return response{res, b}, err
		}
		get := func(t *testing.T, srv *httptest.Server, path string) response {
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
			response
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
		heavy := recordsPath("/2010-04-01", f.parent, "Daily.json") + widest

		t.Run("busy answers in each face's shape", func(t *testing.T) {
			g, srv := start(t, time.Millisecond)
			first := inBackground(srv, heavy)
			<-g.entered
			for _, c := range []struct {
				path string
				want func(t *testing.T, r response)
			}{
				{recordsPath("/2010-04-01", f.parent, "Daily.json") + widest, func(t *testing.T, r response) { r.twilioError(t, 503, 20503) }},
				{recordsPath("/2012-04-24", f.parent, "Monthly.xml") + widest, func(t *testing.T, r response) {
					wantBody(t, r, "<RestcommResponse><RestException><Code>20503</Code>")
				}},
				{recordsPath("/restcomm/2012-04-24", f.parent, "Yearly.csv") + widest, func(t *testing.T, r response) {
					wantBody(t, r, "code,message,more_info,status\n20503,")
				}},
				{recordsPath("/2010-04-01", f.parent, "Today.json"), func(t *testing.T, r response) { r.twilioError(t, 503, 20503) }},
				{"/billing/usage?AccountId=" + f.parent + "&StartDate=0001-01-01&EndDate=9999-12-31", func(t *testing.T, r response) {
					r.expectError(t, 503, "ServiceUnavailable")
				}},
				{"/billing/usage.xml?AccountId=" + f.parent, func(t *testing.T, r response) {
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
				t.Errorf("ListAccounts: %d %s", r.StatusCode, r.body)
			}
			g.letGo()
			if r := <-first; r.err != nil || r.StatusCode != 200 {
				t.Fatalf("the first query: %v %s", r.err, r.body)
			}
			var page struct {
				Records []json.RawMessage `json:"usage_records"`
			}
			r := get(t, srv, heavy)
			r.json(t, &page)
			if r.StatusCode != 200 || len(page.Records) != 1000 {
				t.Errorf("after the first: %d, %d records", r.StatusCode, len(page.Records))
			}
			if r := get(t, srv, "/billing/usage?AccountId="+f.parent); r.StatusCode != 200 {
				t.Errorf("ListUsageRecords after the first: %d %s", r.StatusCode, r.body)
			}
		})
		t.Run("a query waits for room", func(t *testing.T) {
			g, srv := start(t, 5*time.Second)
			first := inBackground(srv, heavy)
			<-g.entered
			second := inBackground(srv, "/billing/usage?AccountId="+f.parent)
			time.Sleep(50 * time.Millisecond) // let it queue; if it has not, it simply gets in
			g.letGo()
			for _, r := range []answer{<-first, <-second} {
				if r.err != nil || r.StatusCode != 200 {
					t.Errorf("%v %s", r.err, r.body)
				}
			}
		})
	})
}

func wantBody(t *testing.T, r response, part string) {
	t.Helper()
	if !strings.Contains(string(r.body), part) {
		t.Errorf("%d %s lacks %q", r.StatusCode, r.body, part)
	}
	noInternals(t, r.body)
}
