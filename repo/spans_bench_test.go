package repo

import (
	"testing"

	"github.com/evovoice/billing/models"
)

// BenchmarkOverviewSpansLongestRange plans the rollup rows of the longest
// overview range, by day: run with -benchmem (walked day by day it took
// 1.7 s and ~500 MB of a request; by periods 3 ms and ~1 MB).
func BenchmarkOverviewSpansLongestRange(b *testing.B) {
	r := models.DateRange{Start: models.NewDate(5001, 1, 5), End: models.NewDate(9999, 12, 20)}
	for b.Loop() {
		overviewSpans(r, models.PreviousPeriod(r))
	}
}
