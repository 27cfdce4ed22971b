package usage

import (
	"context"
	"time"

	"github.com/evovoice/billing/handlers/internal/problem"
	"golang.org/x/sync/semaphore"
)

// Heavy work is a usage query, on either face: it holds a database
// connection for two to four statements and builds a page of records. Its
// cost is about 90 KB plus 0.8 KB a record on the page (measured by
// BenchmarkWidestDailyPeakMemory: 32 concurrent queries peaked at 4.2 MB of
// heap with 50-record pages and 28 MB with 1000-record pages), so a query
// weighs queryBaseWeight plus the most records its page can hold, in units
// of about 1 KB. Everything else (sign-in, ListAccounts, ingestion) has its
// own limits or is a single indexed statement.
const (
	queryBaseWeight = 100
	// BudgetPerConn is two full pages per database connection: one reading
	// while the other encodes. With the default pool of 8 that is 17,600
	// units (~17 MB of pages in flight): 16 pages of 1000 or 117 of 50.
	BudgetPerConn = 2 * (queryBaseWeight + MaxPageRecords)
	// MaxPageRecords is the largest page either face answers (Twilio's
	// PageSize limit).
	MaxPageRecords = 1000
	// DefaultQueryWait is how long a query waits for room before it is
	// answered 503 with Retry-After: long enough to ride out a burst of
	// pages (a 1000-record page takes ~10 ms), short enough that a client
	// hears "busy" rather than a timeout.
	DefaultQueryWait = time.Second
)

// queryLimit bounds the usage queries running at once by their weight.
type queryLimit struct {
	sem    *semaphore.Weighted
	budget int64
	wait   time.Duration
}

func newQueryLimit(budget int64, wait time.Duration) *queryLimit {
	return &queryLimit{sem: semaphore.NewWeighted(budget), budget: budget, wait: wait}
}

// Admit waits for room for a query whose page holds up to records
// records, and returns the function that gives the room back; beyond the
// wait it is problem.Busy, which each face answers as its own 503.
func (s *Service) Admit(ctx context.Context, records int) (release func(), err error) {
	return s.queries.acquire(ctx, queryBaseWeight+records)
}

// acquire waits up to the limit's wait for room for a query of a weight,
// and returns the function that gives the room back. Queries are admitted
// in arrival order, so a large page is not starved by small ones.
func (l *queryLimit) acquire(ctx context.Context, weight int) (release func(), err error) {
	n := min(int64(weight), l.budget) // a budget smaller than a page still admits one at a time
	waiting, cancel := context.WithTimeout(ctx, l.wait)
	defer cancel()
	if err := l.sem.Acquire(waiting, n); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // the request itself ended
		}
		return nil, problem.Busy
	}
	return func() { l.sem.Release(n) }, nil
}
