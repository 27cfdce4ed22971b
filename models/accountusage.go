package models

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// ErrOutOfScope is what the accounts overview returns when ParentId names an
// account the caller may not read (or one that does not exist, for a caller
// who does not read every account), so that SIDs cannot be probed. The API
// answers it with 403.
var ErrOutOfScope = errors.New("the parent account is not one you may read")

// Readable is which accounts a caller may read: every account, or Roots and
// their sub-accounts at any depth (no Roots: none).
type Readable struct {
	Every bool
	Roots []string
}

// AccountUsageOrder is how the accounts overview sorts its rows. Every order
// ends with the account SID, so that pages never overlap or skip.
type AccountUsageOrder string

const (
	OrderPriceDesc  AccountUsageOrder = "-price" // the default
	OrderPrice      AccountUsageOrder = "price"
	OrderUsageDesc  AccountUsageOrder = "-usage"
	OrderCountDesc  AccountUsageOrder = "-count"
	OrderName       AccountUsageOrder = "name"    // lower-cased name, byte order
	OrderChangeDesc AccountUsageOrder = "-change" // accounts without a change last
)

var accountUsageOrders = []AccountUsageOrder{OrderPriceDesc, OrderPrice, OrderUsageDesc, OrderCountDesc, OrderName, OrderChangeDesc}

// Limits of the accounts overview's paging (Page counts from 0).
const (
	DefaultAccountUsagePerPage = 100
	MaxAccountUsagePerPage     = 1000
	maxAccountUsagePage        = 1_000_000
	maxNameFilterLen           = 200
)

// AccountUsageInput is a ListAccountUsage request as sent: every field is the
// text of a query parameter, "" when absent.
type AccountUsageInput struct {
	StartDate, EndDate string
	ParentID           string
	Category           string
	IncludeSubaccounts string
	NameFilter         string
	OrderBy            string
	Page, CountPerPage string
}

// AccountUsageQuery is a checked ListAccountUsage request.
type AccountUsageQuery struct {
	// Start nil: the earliest creation or first usage day of the listed
	// accounts (of their subtrees with IncludeSubaccounts), as ListUsageRecords
	// defaults it for one account, but never after End.
	Start              *Date
	End                Date // defaults to today
	ParentID           string
	Category           Category // defaults to totalprice
	IncludeSubaccounts bool
	NameFilter         string
	OrderBy            AccountUsageOrder
	Page, CountPerPage int
}

// CheckAccountUsage parses every field, applying the defaults, and reports
// every bad one at once.
func CheckAccountUsage(in AccountUsageInput, today Date) (AccountUsageQuery, error) {
	var errs ValidationError
	q := AccountUsageQuery{End: today, OrderBy: OrderPriceDesc, CountPerPage: DefaultAccountUsagePerPage,
		NameFilter: strings.TrimSpace(in.NameFilter)}
	q.Category, _ = LookupCategory(TotalPrice)
	date := func(name, s string) *Date {
		if s == "" {
			return nil
		}
		d, err := ParseDateParam(s, today)
		if err != nil {
			errs.Add(name, CodeInvalid, fmt.Sprintf("%s: %v; use %s", name, err, DateForms))
			return nil
		}
		return &d
	}
	q.Start = date("StartDate", in.StartDate)
	if end := date("EndDate", in.EndDate); end != nil {
		q.End = *end
	}
	if q.Start != nil && *q.Start > q.End {
		errs.Add("StartDate", CodeInvalid, fmt.Sprintf("StartDate %s is after EndDate %s", *q.Start, q.End))
	} else if q.Start != nil && PreviousPeriod(DateRange{*q.Start, q.End}).Start < MinDate {
		errs.Add("StartDate", CodeInvalid, fmt.Sprintf("StartDate %s leaves no room for the previous period, which would start before %s", *q.Start, MinDate))
	}
	if in.ParentID != "" {
		sid, ok := NormalizeAccountSid(in.ParentID)
		if !ok {
			errs.Add("ParentId", CodeInvalid, fmt.Sprintf("ParentId %q is not an account SID (AC followed by 32 hex digits)", in.ParentID))
		}
		q.ParentID = sid
	}
	if in.Category != "" {
		c, ok := ParseCategory(in.Category)
		if !ok {
			errs.Add("Category", CodeInvalid, fmt.Sprintf("Category %q is not a usage category; valid categories are %s", in.Category, strings.Join(CategoryNames(), ", ")))
		} else {
			q.Category = c
		}
	}
	if s := in.IncludeSubaccounts; s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			errs.Add("IncludeSubaccounts", CodeInvalid, fmt.Sprintf("IncludeSubaccounts %q is not true or false", s))
		}
		q.IncludeSubaccounts = b
	}
	if len(q.NameFilter) > maxNameFilterLen {
		errs.Add("NameFilter", CodeInvalid, fmt.Sprintf("NameFilter is longer than %d characters", maxNameFilterLen))
	}
	if s := strings.TrimSpace(in.OrderBy); s != "" {
		i := slices.IndexFunc(accountUsageOrders, func(o AccountUsageOrder) bool { return strings.EqualFold(string(o), s) })
		if i < 0 {
			names := make([]string, len(accountUsageOrders))
			for i, o := range accountUsageOrders {
				names[i] = string(o)
			}
			errs.Add("OrderBy", CodeInvalid, fmt.Sprintf("OrderBy %q is not one of %s", s, strings.Join(names, ", ")))
		} else {
			q.OrderBy = accountUsageOrders[i]
		}
	}
	number := func(name, s string, def, lo, hi int) int {
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			errs.Add(name, CodeInvalid, fmt.Sprintf("%s %q is not a whole number from %d to %d", name, s, lo, hi))
			return def
		}
		return n
	}
	q.Page = number("Page", in.Page, 0, 0, maxAccountUsagePage)
	q.CountPerPage = number("CountPerPage", in.CountPerPage, DefaultAccountUsagePerPage, 1, MaxAccountUsagePerPage)
	return q, errs.Err()
}

// WholeMonths reports whether a range starts on the 1st of a month and ends
// on the last day of a month.
func (r DateRange) WholeMonths() bool {
	return r.Start == r.Start.MonthStart() && r.End == r.End.MonthEnd()
}

// PreviousPeriod is the period a range is compared with: as many whole
// calendar months just before it when the range is whole months (March is
// compared with February, all of 2024 with all of 2023), else as many days
// just before it (the 29 days of February 2024 with the 29 days before).
func PreviousPeriod(r DateRange) DateRange {
	if !r.WholeMonths() {
		n := Date(r.Days())
		return DateRange{r.Start - n, r.Start - 1}
	}
	s, e := r.Start.Time(), r.End.Time()
	months := (e.Year()-s.Year())*12 + int(e.Month()-s.Month()) + 1
	return DateRange{NewDate(s.Year(), s.Month()-time.Month(months), 1), r.Start - 1}
}

// AccountUsageRow is one account of the overview with its figures over the
// range and the previous period, of one category (and of its subtree of
// accounts with IncludeSubaccounts).
type AccountUsageRow struct {
	Account
	Current, Previous Sums
}

// AccountUsage is one row as the API answers it.
type AccountUsage struct {
	Account
	Count, PreviousCount int64
	Usage, PreviousUsage decimal.Decimal
	Price, PreviousPrice decimal.Decimal
	// Change is the percent change of Usage over PreviousUsage, rounded to
	// 2 decimal places half away from zero; nil when PreviousUsage is zero.
	Change *decimal.Decimal
}

// CurrencyTotals are the figures of every matching account of one currency.
type CurrencyTotals struct {
	Currency             string
	Count, PreviousCount int64
	Usage, PreviousUsage decimal.Decimal
	Price, PreviousPrice decimal.Decimal
	Change               *decimal.Decimal
}

// AccountUsagePage is the overview's answer: one page of rows, the totals per
// currency of every matching account (in currency order), and how many
// accounts match.
type AccountUsagePage struct {
	Range, PreviousRange DateRange
	Items                []AccountUsage
	Totals               []CurrencyTotals
	TotalCount           int
}

// ChangeScale is how many decimal places a change carries.
const ChangeScale = 2

// PercentChange is (usage - previous) / |previous| × 100, computed exactly
// from the integer micro-units and rounded to ChangeScale places half away
// from zero; nil when previous is zero. Dividing by the magnitude keeps the
// sign meaning "went up" when the previous usage was negative (credits).
func PercentChange(usage, previous Micros) *decimal.Decimal {
	if previous == 0 {
		return nil
	}
	p := decimal.New(int64(previous), 0).Abs()
	d := decimal.New(int64(usage-previous), 0).Mul(decimal.New(100, 0)).DivRound(p, ChangeScale)
	return &d
}

// figures turns one category's sums into what the overview shows: for
// totalprice, as in Rollup, the usage is the price and there is no count
// (the API leaves it out, as ListUsageRecords does).
func figures(c Category, s Sums) Sums {
	if c.Name == TotalPrice {
		return Sums{Usage: s.Price, Price: s.Price}
	}
	return s
}

// CurrencySums are the figures of every matching account of one currency,
// as stored (before figures), and how many accounts there are.
type CurrencySums struct {
	Currency          string
	Accounts          int
	Current, Previous Sums
}

// SortFigure is the figure an order ranks by, "price", "usage" or "count"
// (then by account SID), as the overview shows it: for totalprice the usage
// is the price and there is no count, so -count ranks by SID alone (figure
// ""). ok is false for orders by a value computed from the figures (name in
// lower case, change), which only BuildAccountUsagePage ranks.
func (q AccountUsageQuery) SortFigure() (figure string, desc, ok bool) {
	total := q.Category.Name == TotalPrice
	switch q.OrderBy {
	case OrderPriceDesc, "":
		return "price", true, true
	case OrderPrice:
		return "price", false, true
	case OrderUsageDesc:
		if total {
			return "price", true, true
		}
		return "usage", true, true
	case OrderCountDesc:
		if total {
			return "", false, true
		}
		return "count", true, true
	}
	return "", false, false
}

// BuildAccountUsagePage orders the rows, totals them per currency and cuts
// the requested page. rows hold every matching account, so the totals and
// the count cover all pages. Rows rank on their integer micro-units (the
// same order as the exact decimals) and only the page's rows become
// decimals: converting and moving 1,000 full rows was half the overview's
// CPU on the bench data.
func BuildAccountUsagePage(q AccountUsageQuery, period DateRange, rows []AccountUsageRow) AccountUsagePage {
	ranked := make([]rankedRow, len(rows))
	var sums []CurrencySums
	for i := range rows {
		r := &rows[i]
		cur, prev := figures(q.Category, r.Current), figures(q.Category, r.Previous)
		ranked[i] = rankedRow{row: r, cur: cur, prev: prev}
		if q.OrderBy == OrderChangeDesc {
			// Ranked as the rounded decimal the answer shows.
			ranked[i].change = PercentChange(cur.Usage, prev.Usage)
		}
		j := slices.IndexFunc(sums, func(s CurrencySums) bool { return s.Currency == r.Currency })
		if j < 0 {
			j = len(sums)
			sums = append(sums, CurrencySums{Currency: r.Currency})
		}
		sums[j].Accounts++
		sums[j].Current.Add(r.Current)
		sums[j].Previous.Add(r.Previous)
	}
	slices.SortFunc(ranked, accountUsageCompare(q.OrderBy))
	from := min(q.Page*q.CountPerPage, len(ranked))
	page := make([]AccountUsageRow, 0, min(q.CountPerPage, len(ranked)-from))
	for _, r := range ranked[from:min(from+q.CountPerPage, len(ranked))] {
		page = append(page, *r.row)
	}
	return AccountUsagePageOf(q, period, page, sums)
}

// AccountUsagePageOf is the answer made of one page of rows, already ranked
// and cut, and the sums per currency of every matching account.
func AccountUsagePageOf(q AccountUsageQuery, period DateRange, page []AccountUsageRow, sums []CurrencySums) AccountUsagePage {
	out := AccountUsagePage{Range: period, PreviousRange: PreviousPeriod(period), Totals: []CurrencyTotals{}, Items: make([]AccountUsage, 0, len(page))}
	for _, r := range page {
		cur, prev := figures(q.Category, r.Current), figures(q.Category, r.Previous)
		out.Items = append(out.Items, AccountUsage{Account: r.Account, Count: cur.Count, PreviousCount: prev.Count,
			Usage: cur.Usage.Decimal(), PreviousUsage: prev.Usage.Decimal(),
			Price: cur.Price.Decimal(), PreviousPrice: prev.Price.Decimal(),
			Change: PercentChange(cur.Usage, prev.Usage)})
	}
	sums = slices.Clone(sums)
	slices.SortFunc(sums, func(a, b CurrencySums) int { return strings.Compare(a.Currency, b.Currency) })
	for _, t := range sums {
		out.TotalCount += t.Accounts
		cur, prev := figures(q.Category, t.Current), figures(q.Category, t.Previous)
		out.Totals = append(out.Totals, CurrencyTotals{Currency: t.Currency, Count: cur.Count, PreviousCount: prev.Count,
			Usage: cur.Usage.Decimal(), PreviousUsage: prev.Usage.Decimal(),
			Price: cur.Price.Decimal(), PreviousPrice: prev.Price.Decimal(),
			Change: PercentChange(cur.Usage, prev.Usage)})
	}
	return out
}

// rankedRow is a row's figures while ranking, before they become decimals.
type rankedRow struct {
	row       *AccountUsageRow
	cur, prev Sums
	change    *decimal.Decimal // only when ranking by change
}

// accountUsageCompare orders rows by the key, then by account SID. Prices and
// usages compare exactly, even across currencies (a ranking, not a sum).
func accountUsageCompare(o AccountUsageOrder) func(a, b rankedRow) int {
	var key func(a, b rankedRow) int
	switch o {
	case OrderPrice:
		key = func(a, b rankedRow) int { return cmp.Compare(a.cur.Price, b.cur.Price) }
	case OrderUsageDesc:
		key = func(a, b rankedRow) int { return cmp.Compare(b.cur.Usage, a.cur.Usage) }
	case OrderCountDesc:
		key = func(a, b rankedRow) int { return cmp.Compare(b.cur.Count, a.cur.Count) }
	case OrderName:
		key = func(a, b rankedRow) int {
			return strings.Compare(strings.ToLower(a.row.Name), strings.ToLower(b.row.Name))
		}
	case OrderChangeDesc:
		key = func(a, b rankedRow) int {
			switch {
			case a.change == nil && b.change == nil:
				return 0
			case a.change == nil:
				return 1
			case b.change == nil:
				return -1
			}
			return b.change.Cmp(*a.change)
		}
	default:
		key = func(a, b rankedRow) int { return cmp.Compare(b.cur.Price, a.cur.Price) }
	}
	return func(a, b rankedRow) int {
		if c := key(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.row.Sid, b.row.Sid)
	}
}
