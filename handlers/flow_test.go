package handlers_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// TestAccessIsDecidedBeforeTheRest: both faces bind the account, decide
// access, then check the other parameters. A caller without access who
// sends a bad StartDate hears 403, as for a good one, on both faces; a
// caller with access hears 400 naming the parameter.
func TestAccessIsDecidedBeforeTheRest(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		day := models.NewDate(2024, 1, 1)
		mine, theirs := e.Account("Mine", "", day), e.Account("Theirs", "", day)
		outsider, insider := e.Manager(mine), e.Manager(theirs)
		for _, path := range []string{
			"/billing/usage?AccountId=" + theirs + "&StartDate=notadate",
			"/2010-04-01/Accounts/" + theirs + "/Usage/Records.json?StartDate=notadate",
		} {
			if r := e.Get(path, outsider); r.StatusCode != http.StatusForbidden {
				t.Errorf("outsider %s: %d %s, want 403", path, r.StatusCode, r.Body)
			}
			r := e.Get(path, insider)
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(string(r.Body), "StartDate") {
				t.Errorf("insider %s: %d %s, want 400 naming StartDate", path, r.StatusCode, r.Body)
			}
		}
		// An unknown account: 403 for a Manager too, never a validator's 400.
		unknown := models.NewAccountSid()
		if r := e.Get("/billing/usage?AccountId="+unknown+"&EndDate=x", outsider); r.StatusCode != http.StatusForbidden {
			t.Errorf("unknown account: %d %s, want 403", r.StatusCode, r.Body)
		}
	})
}

// TestRestcommAnswersVaryByAccept: the Restcomm face answers in the format
// Accept asks for, so caches must key on it, for answers and errors alike.
func TestRestcommAnswersVaryByAccept(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store)
		sid := e.Account("Acme", "", models.NewDate(2024, 1, 1))
		for _, path := range []string{
			"/2010-04-01/Accounts/" + sid + "/Usage/Records",
			"/2012-04-24/Accounts/" + sid + "/Usage/Records/Daily?PageSize=2",
			"/restcomm/2012-04-24/Accounts/" + sid + "/Usage/Records?StartDate=bad",
			"/2010-04-01/Accounts/" + sid + "/Usage/Nothing",
		} {
			for _, accept := range []string{"", "application/json"} {
				req, err := http.NewRequest(http.MethodGet, e.Srv.URL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+e.Admin())
				if accept != "" {
					req.Header.Set("Accept", accept)
				}
				r := e.Send(req)
				if !slices.Contains(r.Header.Values("Vary"), "Accept") {
					t.Errorf("%s (Accept %q): %d, Vary = %q, want Accept", path, accept, r.StatusCode, r.Header.Values("Vary"))
				}
			}
		}
	})
}
