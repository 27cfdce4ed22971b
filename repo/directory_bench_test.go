package repo

import (
	"database/sql"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
)

// BenchmarkDirectoryMemory reports what the account directory costs per
// account, map included, for 1,000,000 synthetic accounts (one in ten a
// sub-account, names of 14 characters, every one with usage and a token).
func BenchmarkDirectoryMemory(b *testing.B) {
	const n = 1_000_000
	hash := models.HashAuthToken("token")
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		before := heapInUse()
		rows := make([]accountState, n)
		for i := range rows {
			r := accountRow{Sid: fmt.Sprintf("AC%032x", i), Name: fmt.Sprintf("account %06d", i), Currency: "usd", AuthTokenHash: hash, CreatedAt: created}
			if i%10 == 9 {
				r.ParentSid = sql.NullString{String: fmt.Sprintf("AC%032x", i-9), Valid: true}
			}
			rows[i] = accountState{row: r, firstUsage: models.DateOf(created)}
		}
		d := newDirectory(rows)
		rows = nil
		after := heapInUse()
		b.ReportMetric(float64(after-before)/n, "bytes/account")
		b.ReportMetric(float64(after-before)/(1<<20), "MiB/1M-accounts")
		runtime.KeepAlive(d)
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
