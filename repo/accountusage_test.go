package repo_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// overviewFixture is a forest of accounts with a random history, and the
// events it holds: the ledger the expected figures are recounted from.
//
//	top1 (usd) ─ a (usd) ─ a1 (usd)
//	           │         └ a2 (eur)   another currency under a dollar parent
//	           └ b (usd)              no usage at all
//	top2 (usd) ─ c (usd)              the same events as top1: ties
//	euro (eur)
type overviewFixture struct {
	sids     map[string]string // short name -> SID
	accounts map[string]models.Account
	events   []models.UsageEvent
}

var overviewLeaves = []string{"calls-outbound", "calls-inbound-local", "calls-sip", "sms-outbound-longcode", "sms-inbound-shortcode", "recordings"}

func newOverviewFixture(t *testing.T, store *repo.Store) *overviewFixture {
	t.Helper()
	ctx := context.Background()
	f := &overviewFixture{sids: map[string]string{}, accounts: map[string]models.Account{}}
	for i, a := range []struct{ name, display, parent, currency string }{
		{"top1", "Acme Voice", "", "usd"},
		{"a", "acme support", "top1", "usd"},
		{"a1", "Support EMEA 100%", "a", "usd"},
		{"a2", "Support Paris", "a", "eur"},
		{"b", "Billing Idle", "top1", "usd"},
		{"top2", "Zeta Telecom", "", "usd"},
		{"c", "zeta_sales", "top2", "usd"},
		{"euro", "Euro Calls GmbH", "", "eur"},
	} {
		// SIDs in a known order, so that SID tie-breaks are not by luck.
		sid := fmt.Sprintf("AC%032x", 0xa0+i*7%8)
		acc := models.Account{Sid: sid, Name: a.display, ParentSid: f.sids[a.parent], Currency: a.currency, CreatedAt: time.Date(2023, 12, 15, 0, 0, 0, 0, time.UTC)}
		if err := store.CreateAccount(ctx, acc, "hash"); err != nil {
			t.Fatal(err)
		}
		f.sids[a.name], f.accounts[sid] = sid, acc
	}
	rng := rand.New(rand.NewPCG(13, 2024))
	first, last := models.NewDate(2023, 12, 20), models.NewDate(2025, 3, 10)
	for _, name := range []string{"top1", "a", "a1", "a2", "c", "euro"} {
		for d := first; d <= last; d++ {
			if rng.IntN(3) == 0 {
				continue
			}
			cat := overviewLeaves[rng.IntN(len(overviewLeaves))]
			e := models.UsageEvent{ID: fmt.Sprintf("%s-%s", name, d), AccountSid: f.sids[name], Category: cat,
				OccurredAt: d.Time().Add(time.Duration(rng.IntN(86400)) * time.Second),
				Count:      int64(1 + rng.IntN(5)), Usage: models.Micros(rng.IntN(5_000_000)), Price: models.Micros(rng.IntN(90_000))}
			f.events = append(f.events, e)
			if name == "top1" {
				// top2 bills exactly what top1 does: equal figures in every order.
				e.ID, e.AccountSid = "twin-"+e.ID, f.sids["top2"]
				f.events = append(f.events, e)
			}
		}
	}
	// Usage before the account was created (imported history): the default
	// StartDate reaches back to it.
	f.events = append(f.events, models.UsageEvent{ID: "imported", AccountSid: f.sids["euro"], Category: "calls-sip",
		OccurredAt: time.Date(2023, 11, 2, 12, 0, 0, 0, time.UTC), Count: 1, Usage: 60_000_000, Price: 4_000})
	for start := 0; start < len(f.events); start += models.MaxBatchEvents {
		if _, err := store.RecordUsageEvents(ctx, f.events[start:min(start+models.MaxBatchEvents, len(f.events))]); err != nil {
			t.Fatal(err)
		}
	}
	if bad, err := store.CheckRollups(ctx, 10); err != nil || len(bad) > 0 {
		t.Fatalf("rollups differ from the ledger: %v %v", bad, err)
	}
	return f
}

// recount sums the ledger's events of the accounts, the category and the range.
func (f *overviewFixture) recount(sids []string, c models.Category, r models.DateRange) models.Sums {
	var s models.Sums
	for _, e := range f.events {
		if slices.Contains(sids, e.AccountSid) && slices.Contains(models.Subtree(c.Name), e.Category) && r.Contains(models.DateOf(e.OccurredAt)) {
			s.Add(models.Sums{Count: e.Count, Usage: e.Usage, Price: e.Price})
		}
	}
	if c.Name == models.TotalPrice {
		return models.Sums{Usage: s.Price, Price: s.Price}
	}
	return s
}

// subtree is the account and its sub-accounts of the same currency.
func (f *overviewFixture) subtree(sid string) []string {
	out := []string{sid}
	for _, a := range f.accounts {
		if a.ParentSid == sid && a.Currency == f.accounts[sid].Currency {
			out = append(out, f.subtree(a.Sid)...)
		}
	}
	return out
}

// expected is what the overview must answer for rows of the given accounts
// (members: the accounts each row sums), recounted and ordered independently.
func (f *overviewFixture) expected(rows map[string][]string, c models.Category, r models.DateRange, order models.AccountUsageOrder) []models.AccountUsage {
	prev := models.PreviousPeriod(r)
	var out []models.AccountUsage
	for sid, members := range rows {
		cur, old := f.recount(members, c, r), f.recount(members, c, prev)
		out = append(out, models.AccountUsage{Account: f.accounts[sid], Count: cur.Count, PreviousCount: old.Count,
			Usage: cur.Usage.Decimal(), PreviousUsage: old.Usage.Decimal(), Price: cur.Price.Decimal(), PreviousPrice: old.Price.Decimal(),
			Change: models.PercentChange(cur.Usage, old.Usage)})
	}
	change := func(a models.AccountUsage) float64 { // only to rank; nil last
		if a.Change == nil {
			return -1e300
		}
		v, _ := a.Change.Float64()
		return v
	}
	slices.SortFunc(out, func(a, b models.AccountUsage) int {
		var k int
		switch order {
		case models.OrderPriceDesc:
			k = b.Price.Cmp(a.Price)
		case models.OrderPrice:
			k = a.Price.Cmp(b.Price)
		case models.OrderUsageDesc:
			k = b.Usage.Cmp(a.Usage)
		case models.OrderCountDesc:
			k = cmp.Compare(b.Count, a.Count)
		case models.OrderName:
			k = cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		case models.OrderChangeDesc:
			k = cmp.Compare(change(b), change(a))
		}
		return cmp.Or(k, cmp.Compare(a.Sid, b.Sid))
	})
	return out
}

func describe(rows []models.AccountUsage) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "\n  %s %-20q count=%d/%d usage=%s/%s price=%s/%s change=%v", r.Sid, r.Name, r.Count, r.PreviousCount, r.Usage, r.PreviousUsage, r.Price, r.PreviousPrice, r.Change)
	}
	return b.String()
}

func sameRows(a, b []models.AccountUsage) bool {
	return slices.EqualFunc(a, b, func(x, y models.AccountUsage) bool {
		return x.Sid == y.Sid && x.Name == y.Name && x.ParentSid == y.ParentSid && x.Currency == y.Currency && x.Count == y.Count && x.PreviousCount == y.PreviousCount &&
			x.Usage.Equal(y.Usage) && x.PreviousUsage.Equal(y.PreviousUsage) && x.Price.Equal(y.Price) && x.PreviousPrice.Equal(y.PreviousPrice) &&
			(x.Change == nil) == (y.Change == nil) && (x.Change == nil || x.Change.Equal(*y.Change))
	})
}

// allPages reads every page of a listing, checking each page's count and totals.
func allPages(t *testing.T, store *repo.Store, r models.Readable, q models.AccountUsageQuery) ([]models.AccountUsage, models.AccountUsagePage) {
	t.Helper()
	var all []models.AccountUsage
	var first models.AccountUsagePage
	for q.Page = 0; ; q.Page++ {
		p, err := store.ListAccountUsage(context.Background(), r, q)
		if err != nil {
			t.Fatal(err)
		}
		if q.Page == 0 {
			first = p
		} else if p.TotalCount != first.TotalCount || fmt.Sprint(p.Totals) != fmt.Sprint(first.Totals) {
			t.Fatalf("page %d: count %d totals %v differ from page 0's %d %v", q.Page, p.TotalCount, p.Totals, first.TotalCount, first.Totals)
		}
		if len(p.Items) > q.CountPerPage {
			t.Fatalf("page %d has %d rows, more than %d", q.Page, len(p.Items), q.CountPerPage)
		}
		all = append(all, p.Items...)
		if len(p.Items) < q.CountPerPage {
			return all, first
		}
	}
}

// checkTotals compares the totals per currency with sums of the expected rows.
func checkTotals(t *testing.T, want []models.AccountUsage, got []models.CurrencyTotals) {
	t.Helper()
	sums := map[string]*models.CurrencyTotals{}
	for _, r := range want {
		s := sums[r.Currency]
		if s == nil {
			s = &models.CurrencyTotals{Currency: r.Currency}
			sums[r.Currency] = s
		}
		s.Count += r.Count
		s.PreviousCount += r.PreviousCount
		s.Usage, s.PreviousUsage = s.Usage.Add(r.Usage), s.PreviousUsage.Add(r.PreviousUsage)
		s.Price, s.PreviousPrice = s.Price.Add(r.Price), s.PreviousPrice.Add(r.PreviousPrice)
	}
	if len(got) != len(sums) {
		t.Fatalf("totals for %d currencies, want %d: %+v", len(got), len(sums), got)
	}
	for _, g := range got {
		w := sums[g.Currency]
		if w == nil || g.Count != w.Count || g.PreviousCount != w.PreviousCount || !g.Usage.Equal(w.Usage) || !g.PreviousUsage.Equal(w.PreviousUsage) ||
			!g.Price.Equal(w.Price) || !g.PreviousPrice.Equal(w.PreviousPrice) {
			t.Errorf("totals %s: %+v, want %+v", g.Currency, g, w)
		}
	}
}

func dateRange(start, end string) models.DateRange {
	s, _ := models.ParseDate(start)
	e, _ := models.ParseDate(end)
	return models.DateRange{Start: s, End: e}
}

func category(name string) models.Category {
	c, _ := models.LookupCategory(name)
	return c
}

// TestAccountUsageRanking pages through every order, category kind and kind
// of range (whole months, partial, across a leap day and years) and compares
// with a recount of the ledger, ties included, and the totals per currency.
func TestAccountUsageRanking(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newOverviewFixture(t, store)
		every := map[string][]string{}
		for sid := range f.accounts {
			every[sid] = []string{sid}
		}
		orders := []models.AccountUsageOrder{models.OrderPriceDesc, models.OrderPrice, models.OrderUsageDesc, models.OrderCountDesc, models.OrderName, models.OrderChangeDesc}
		ranges := []models.DateRange{
			dateRange("2024-02-01", "2024-02-29"), // a leap February, against January
			dateRange("2024-03-01", "2024-03-31"), // against the leap February
			dateRange("2024-02-10", "2024-03-05"), // partial: days before, over the leap day
			dateRange("2024-01-15", "2024-04-20"), // whole months and edges, previous likewise
			dateRange("2024-11-01", "2025-02-28"), // whole months across years
			dateRange("2024-01-01", "2024-12-31"), // a year, against a year with little usage
			dateRange("2025-03-11", "2025-03-31"), // nothing since, previous has usage
			dateRange("2024-03-01", "2024-03-22"), // month to date: the month less the days after
			dateRange("2024-02-29", "2024-02-29"), // the leap day alone
			dateRange("2024-12-20", "2025-01-10"), // partial months across years
			dateRange("2024-03-05", "2025-03-04"), // a rolling year: edges read as months less days
			dateRange("2023-12-01", "2025-02-28"), // a whole year with months around it, previous across three years
			dateRange("2023-11-01", "2025-03-10"), // a year, months and days, previous by day
		}
		for _, c := range []string{models.TotalPrice, "calls", "sms-outbound", "recordings"} {
			for _, r := range ranges {
				for _, o := range orders {
					q := models.AccountUsageQuery{Start: &r.Start, End: r.End, Category: category(c), OrderBy: o, CountPerPage: 3}
					got, page := allPages(t, store, models.Readable{Every: true}, q)
					want := f.expected(every, category(c), r, o)
					if !sameRows(got, want) {
						t.Fatalf("%s %s..%s %s:\ngot%s\nwant%s", c, r.Start, r.End, o, describe(got), describe(want))
					}
					if page.TotalCount != len(f.accounts) || page.Range != r || page.PreviousRange != models.PreviousPeriod(r) {
						t.Errorf("%s %s..%s: count %d, ranges %v %v", c, r.Start, r.End, page.TotalCount, page.Range, page.PreviousRange)
					}
					checkTotals(t, want, page.Totals)
				}
			}
		}
		// The longest ranges, whole years and by day (read as years, months
		// and days, not 4 million days), on both ranking paths.
		for _, r := range []models.DateRange{dateRange("5001-01-01", "9999-12-31"), dateRange("4001-03-05", "9999-11-20")} {
			for _, c := range []string{models.TotalPrice, "calls"} {
				for _, o := range []models.AccountUsageOrder{models.OrderPriceDesc, models.OrderChangeDesc} {
					q := models.AccountUsageQuery{Start: &r.Start, End: r.End, Category: category(c), OrderBy: o, CountPerPage: 100}
					got, page := allPages(t, store, models.Readable{Every: true}, q)
					if want := f.expected(every, category(c), r, o); !sameRows(got, want) {
						t.Fatalf("%s %s..%s %s:\ngot%s\nwant%s", c, r.Start, r.End, o, describe(got), describe(want))
					}
					checkTotals(t, f.expected(every, category(c), r, o), page.Totals)
				}
			}
		}
		// The twins tie on every figure and sit side by side, by SID, in every order.
		r := dateRange("2024-03-01", "2024-03-31")
		lo, hi := min(f.sids["top1"], f.sids["top2"]), max(f.sids["top1"], f.sids["top2"])
		var p models.AccountUsagePage
		for _, o := range orders[:4] {
			var err error
			p, err = store.ListAccountUsage(context.Background(), models.Readable{Every: true}, models.AccountUsageQuery{Start: &r.Start, End: r.End, Category: category("calls"), OrderBy: o, CountPerPage: 100})
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(p.Items, func(a models.AccountUsage) bool { return a.Sid == lo })
			if i < 0 || i+1 >= len(p.Items) || p.Items[i+1].Sid != hi || !p.Items[i].Price.Equal(p.Items[i+1].Price) || p.Items[i].Price.IsZero() {
				t.Errorf("%s: the twins are not tied side by side:%s", o, describe(p.Items))
			}
		}
		if len(p.Totals) != 2 || p.Totals[0].Currency != "eur" || p.Totals[1].Currency != "usd" {
			t.Errorf("totals per currency: %+v", p.Totals)
		}
	})
}

// TestAccountUsageScope checks that a Manager sees its subtree only, that
// ParentId outside the scope is ErrOutOfScope, and the name filter.
func TestAccountUsageScope(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		ctx := context.Background()
		f := newOverviewFixture(t, store)
		r := dateRange("2024-01-01", "2024-06-30")
		q := models.AccountUsageQuery{Start: &r.Start, End: r.End, Category: category(models.TotalPrice), OrderBy: models.OrderName, CountPerPage: 100}
		manager := models.Readable{Roots: []string{f.sids["a"]}}

		got, page := allPages(t, store, manager, q)
		want := f.expected(map[string][]string{f.sids["a"]: {f.sids["a"]}, f.sids["a1"]: {f.sids["a1"]}, f.sids["a2"]: {f.sids["a2"]}}, q.Category, r, q.OrderBy)
		if !sameRows(got, want) {
			t.Fatalf("manager of a:\ngot%s\nwant%s", describe(got), describe(want))
		}
		checkTotals(t, want, page.Totals) // never the parent's or a sibling's figures

		// Both a root and its descendant held: each account once.
		got, _ = allPages(t, store, models.Readable{Roots: []string{f.sids["a"], f.sids["a1"]}}, q)
		if !sameRows(got, want) {
			t.Errorf("manager of a and a1:%s", describe(got))
		}
		// With IncludeSubaccounts the manager's own account heads its rows.
		q.IncludeSubaccounts = true
		got, _ = allPages(t, store, manager, q)
		want = f.expected(map[string][]string{f.sids["a"]: {f.sids["a"], f.sids["a1"]}, f.sids["a2"]: {f.sids["a2"]}}, q.Category, r, q.OrderBy)
		if !sameRows(got, want) {
			t.Errorf("manager of a, with sub-accounts:\ngot%s\nwant%s", describe(got), describe(want))
		}
		q.IncludeSubaccounts = false

		for _, c := range []struct {
			parent string
			reader models.Readable
			want   error
		}{
			{f.sids["top1"], manager, models.ErrOutOfScope}, // the manager's parent
			{f.sids["b"], manager, models.ErrOutOfScope},    // a sibling
			{f.sids["top2"], manager, models.ErrOutOfScope},
			{"AC" + strings.Repeat("f", 32), manager, models.ErrOutOfScope}, // unknown: no probing
			{"AC" + strings.Repeat("f", 32), models.Readable{Every: true}, models.ErrNotFound},
			{f.sids["a"], manager, nil},
			{f.sids["a1"], manager, nil}, // below the root: in scope
			{f.sids["a"], models.Readable{}, models.ErrOutOfScope},
		} {
			q.ParentID = c.parent
			_, err := store.ListAccountUsage(ctx, c.reader, q)
			if !errors.Is(err, c.want) {
				t.Errorf("ParentId %s for %+v: %v, want %v", c.parent, c.reader, err, c.want)
			}
		}
		q.ParentID = ""
		if p, err := store.ListAccountUsage(ctx, models.Readable{}, q); err != nil || p.TotalCount != 0 || len(p.Items) != 0 || len(p.Totals) != 0 {
			t.Errorf("no roots: %+v %v", p, err)
		}

		// NameFilter: a case-insensitive substring of the name or the SID,
		// with LIKE's wildcards taken literally.
		for _, c := range []struct {
			filter string
			reader models.Readable
			want   []string
		}{
			{"ACME", models.Readable{Every: true}, []string{"top1", "a"}},
			{"support", manager, []string{"a", "a1", "a2"}},
			{"100%", models.Readable{Every: true}, []string{"a1"}},
			{"_sales", models.Readable{Every: true}, []string{"c"}},
			{"%", models.Readable{Every: true}, []string{"a1"}},
			{strings.ToUpper(f.sids["euro"][20:]), models.Readable{Every: true}, []string{"euro"}},
			{"zeta", manager, nil},
		} {
			q.NameFilter = c.filter
			got, page := allPages(t, store, c.reader, q)
			var names []string
			for _, r := range got {
				for n, sid := range f.sids {
					if sid == r.Sid {
						names = append(names, n)
					}
				}
			}
			slices.Sort(names)
			slices.Sort(c.want)
			if !slices.Equal(names, c.want) || page.TotalCount != len(c.want) {
				t.Errorf("NameFilter %q: %v (count %d), want %v", c.filter, names, page.TotalCount, c.want)
			}
		}
	})
}

// TestAccountUsageSubaccounts checks the rows of ParentId with and without
// IncludeSubaccounts, and the heads of the whole scope.
func TestAccountUsageSubaccounts(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newOverviewFixture(t, store)
		s := f.sids
		r := dateRange("2024-02-10", "2024-05-31")
		q := models.AccountUsageQuery{Start: &r.Start, End: r.End, Category: category("calls"), OrderBy: models.OrderPriceDesc, CountPerPage: 2}
		admin := models.Readable{Every: true}
		for _, c := range []struct {
			name     string
			parent   string
			subtrees bool
			rows     map[string][]string
		}{
			{"direct children", s["top1"], false, map[string][]string{s["a"]: {s["a"]}, s["b"]: {s["b"]}}},
			{"children with subtrees", s["top1"], true, map[string][]string{s["a"]: {s["a"], s["a1"]}, s["b"]: {s["b"]}}},
			{"a's children", s["a"], true, map[string][]string{s["a1"]: {s["a1"]}, s["a2"]: {s["a2"]}}},
			{"a leaf", s["a1"], true, map[string][]string{}},
			{"every head", "", true, map[string][]string{
				s["top1"]: {s["top1"], s["a"], s["a1"], s["b"]}, s["a2"]: {s["a2"]}, s["top2"]: {s["top2"], s["c"]}, s["euro"]: {s["euro"]}}},
		} {
			q.ParentID, q.IncludeSubaccounts = c.parent, c.subtrees
			got, page := allPages(t, store, admin, q)
			want := f.expected(c.rows, q.Category, r, q.OrderBy)
			if !sameRows(got, want) || page.TotalCount != len(c.rows) {
				t.Errorf("%s:\ngot%s\nwant%s", c.name, describe(got), describe(want))
			}
			checkTotals(t, want, page.Totals)
		}
		// The subtree rows of the whole scope add up to every account's own usage.
		q.ParentID, q.IncludeSubaccounts, q.CountPerPage = "", true, 100
		heads, err := store.ListAccountUsage(context.Background(), admin, q)
		if err != nil {
			t.Fatal(err)
		}
		q.IncludeSubaccounts = false
		flat, err := store.ListAccountUsage(context.Background(), admin, q)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(heads.Totals) != fmt.Sprint(flat.Totals) {
			t.Errorf("totals of the heads %v differ from every account's %v", heads.Totals, flat.Totals)
		}
	})
}

// TestAccountUsageDefaultStart checks ListUsageRecords' default StartDate:
// the earliest creation or first usage day of the listed accounts.
func TestAccountUsageDefaultStart(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := newOverviewFixture(t, store)
		end := models.NewDate(2024, 6, 30)
		q := models.AccountUsageQuery{End: end, Category: category(models.TotalPrice), OrderBy: models.OrderPriceDesc, CountPerPage: 10}
		for _, c := range []struct {
			name   string
			reader models.Readable
			parent string
			end    models.Date
			want   models.Date
		}{
			{"first usage before creation", models.Readable{Every: true}, "", end, models.NewDate(2023, 11, 2)},
			{"the children's creation day", models.Readable{Every: true}, f.sids["top1"], end, models.NewDate(2023, 12, 15)},
			{"a manager's accounts only", models.Readable{Roots: []string{f.sids["a"]}}, "", end, models.NewDate(2023, 12, 15)},
			{"never after EndDate", models.Readable{Every: true}, "", models.NewDate(2023, 1, 1), models.NewDate(2023, 1, 1)},
		} {
			q.ParentID, q.End = c.parent, c.end
			p, err := store.ListAccountUsage(context.Background(), c.reader, q)
			if err != nil {
				t.Fatal(err)
			}
			if p.Range.Start != c.want || p.Range.End != c.end {
				t.Errorf("%s: range %s..%s, want %s..%s", c.name, p.Range.Start, p.Range.End, c.want, c.end)
			}
		}
	})
}
