package restcomm_test

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"testing"
	"time"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
	"github.com/shopspring/decimal"
)

// wireRecord is a record's figures as the JSON face writes them.
type wireRecord struct {
	Category  string  `json:"category"`
	StartDate string  `json:"start_date"`
	EndDate   string  `json:"end_date"`
	Count     *string `json:"count"`
	Usage     string  `json:"usage"`
	Price     string  `json:"price"`
}

// figures are exact sums of records.
type figures struct {
	count, usage, price decimal.Decimal
	nullCount           bool
}

func (s *figures) add(r wireRecord) {
	if r.Count == nil {
		s.nullCount = true
	} else {
		s.count = s.count.Add(decimal.RequireFromString(*r.Count))
	}
	s.usage = s.usage.Add(decimal.RequireFromString(r.Usage))
	s.price = s.price.Add(decimal.RequireFromString(r.Price))
}

func figuresOf(r wireRecord) figures {
	var s figures
	s.add(r)
	return s
}

func (s figures) equal(o figures) bool {
	return s.nullCount == o.nullCount && s.count.Equal(o.count) && s.usage.Equal(o.usage) && s.price.Equal(o.price)
}

func (s figures) String() string {
	return fmt.Sprintf("count %s (null %v) usage %s price %s", s.count, s.nullCount, s.usage, s.price)
}

// fetchAll reads every page of a JSON list by following next_page_uri.
func fetchAll(f *handlertest.Family, t *testing.T, path string) []wireRecord {
	t.Helper()
	var all []wireRecord
	for path != "" {
		r := f.BasicGet(path, f.Parent, "")
		r.WantStatus(t, 200)
		var page struct {
			Next    *string      `json:"next_page_uri"`
			Records []wireRecord `json:"usage_records"`
		}
		r.JSON(t, &page)
		all = append(all, page.Records...)
		path = ""
		if page.Next != nil {
			path = *page.Next
		}
	}
	return all
}

// TestUsageRecordsCrossCheck compares the subresources with each other over
// random ranges of random usage: the Daily records of a category sum to its
// AllTime record, each Monthly record to its days, each Yearly one to its
// months; and bucketed answers list exactly the categories with usage.
func TestUsageRecordsCrossCheck(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		f := handlertest.NewFamily(t, store)
		rng := rand.New(rand.NewPCG(2024, 3))
		first := models.NewDate(2022, 12, 1)
		var leaves []string
		for _, c := range models.Categories() {
			if len(models.Subtree(c.Name)) == 1 {
				leaves = append(leaves, c.Name)
			}
		}
		members := []string{f.Parent, f.Child, f.Child2, f.Grandchild}
		var events []models.UsageEvent
		for i := range 600 {
			day := first + models.Date(rng.IntN(int(models.NewDate(2024, 3, 15)-first)+1))
			events = append(events, models.UsageEvent{
				ID:         fmt.Sprintf("random-%d", i),
				AccountSid: members[rng.IntN(len(members))],
				Category:   leaves[rng.IntN(len(leaves))],
				OccurredAt: day.Time().Add(time.Duration(rng.IntN(86400)) * time.Second),
				Count:      int64(rng.IntN(6)),
				Usage:      models.Micros(rng.Int64N(100_000_000)),
				Price:      models.Micros(rng.Int64N(6_000_000) - 1_000_000), // credits too
			})
		}
		f.Record(events...)

		query := func(account, sub string, v url.Values) string {
			return handlertest.RecordsPath("/2010-04-01", account, sub+".json") + "?" + v.Encode()
		}
		for i := range 12 {
			start := first + models.Date(rng.IntN(480))
			end := start + models.Date(rng.IntN(420))
			account := []string{f.Parent, f.Child}[rng.IntN(2)]
			category := models.Categories()[rng.IntN(26)].Name
			if i%2 == 0 { // categories with children, or totalprice, half the time
				category = []string{"calls", "calls-inbound", "sms", "sms-outbound", "phonenumbers", "shortcodes", "totalprice"}[rng.IntN(7)]
			}
			v := url.Values{"StartDate": {start.String()}, "EndDate": {end.String()}, "Category": {category}, "PageSize": {"97"}}
			if rng.IntN(3) == 0 {
				v.Set("IncludeSubaccounts", "false")
			}
			t.Run(fmt.Sprintf("%d %s %s..%s", i, category, start, end), func(t *testing.T) {
				allTime := fetchAll(f, t, query(account, "AllTime", v))
				daily := fetchAll(f, t, query(account, "Daily", v))
				monthly := fetchAll(f, t, query(account, "Monthly", v))
				yearly := fetchAll(f, t, query(account, "Yearly", v))
				if len(allTime) != 1 || len(daily) != int(end-start)+1 {
					t.Fatalf("%d AllTime records, %d days", len(allTime), len(daily))
				}
				var days figures
				for _, d := range daily {
					days.add(d)
				}
				if want := figuresOf(allTime[0]); !days.equal(want) {
					t.Errorf("Daily sums to %v, AllTime is %v", days, want)
				}
				checkTiling(t, "Monthly", monthly, daily, start, end)
				checkTiling(t, "Yearly", yearly, monthly, start, end)
			})
		}

		for i := range 3 {
			start := first + models.Date(rng.IntN(300))
			end := start + models.Date(rng.IntN(200))
			v := url.Values{"StartDate": {start.String()}, "EndDate": {end.String()}, "PageSize": {"211"}}
			t.Run(fmt.Sprintf("every category %d %s..%s", i, start, end), func(t *testing.T) {
				allTime := fetchAll(f, t, query(f.Parent, "AllTime", v))
				byCategory := map[string][]wireRecord{}
				for _, d := range fetchAll(f, t, query(f.Parent, "Daily", v)) {
					byCategory[d.Category] = append(byCategory[d.Category], d)
				}
				for _, a := range allTime {
					days, listed := byCategory[a.Category]
					var sum figures
					sum.nullCount = a.Count == nil // an unlisted totalprice sums to zero, with its null count
					for _, d := range days {
						sum.add(d)
					}
					zero := figures{nullCount: a.Count == nil}
					if listed != !figuresOf(a).equal(zero) {
						t.Errorf("%s listed %v, AllTime %v", a.Category, listed, figuresOf(a))
					}
					if listed && len(days) != int(end-start)+1 {
						t.Errorf("%s: %d days", a.Category, len(days))
					}
					if !sum.equal(figuresOf(a)) {
						t.Errorf("%s: Daily sums to %v, AllTime is %v", a.Category, sum, figuresOf(a))
					}
				}
			})
		}
	})
}

// checkTiling checks that periods tile [start, end] in order and that each
// sums the finer records inside it.
func checkTiling(t *testing.T, name string, periods, finer []wireRecord, start, end models.Date) {
	t.Helper()
	next := start
	j := 0
	for _, p := range periods {
		ps, pe := mustDate(t, p.StartDate), mustDate(t, p.EndDate)
		if ps != next || pe < ps || pe > end {
			t.Fatalf("%s period %s..%s does not follow %s", name, ps, pe, next)
		}
		var sum figures
		sum.nullCount = p.Count == nil
		for ; j < len(finer) && mustDate(t, finer[j].EndDate) <= pe; j++ {
			sum.add(finer[j])
		}
		if want := figuresOf(p); !sum.equal(want) {
			t.Errorf("%s %s..%s is %v, its parts sum to %v", name, ps, pe, want, sum)
		}
		next = pe + 1
	}
	if next != end+1 || j != len(finer) {
		t.Errorf("%s periods end at %s, want %s", name, next-1, end)
	}
}

func mustDate(t *testing.T, s string) models.Date {
	t.Helper()
	d, err := models.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
