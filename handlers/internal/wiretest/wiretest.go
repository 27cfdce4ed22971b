// Package wiretest holds what the encoder tests and benchmarks of both
// faces share: the reference encoding, sample records, and a runner for
// comparing encoders.
package wiretest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/evovoice/billing/models"
)

// Reference is what encoding/json writes for v, without HTML escaping: the
// bytes the hand-written JSON writers must match.
func Reference(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func Records(n int) []models.UsageRecord {
	cats := models.Categories()
	out := make([]models.UsageRecord, 0, n)
	start := models.NewDate(2024, 1, 1)
	for i := 0; len(out) < n; i++ {
		c := cats[i%len(cats)]
		day := start.AddDays(i / len(cats))
		s := models.Sums{
			Count: int64(i*7919) % 50000,
			Usage: models.Micros(int64(i) * 1234567 % 9_000_000_000_000),
			Price: models.Micros(int64(i) * 98765 % 4_000_000_000),
		}
		out = append(out, models.NewRecord("AC0000000000000000000000000000d002", "usd", c, models.DateRange{Start: day, End: day}, s))
	}
	return out
}

// benchEncoder appends one answer to a buffer.
// Encoder is one way of writing an answer, named for the benchmark.
type Encoder struct {
	Name   string
	Encode func([]byte) ([]byte, error)
}

// runEncoders measures each encoder writing into a reused buffer, as the
// server does.
// RunEncoders benchmarks each encoder on an answer of n records.
func RunEncoders(b *testing.B, n int, encoders []Encoder) {
	for _, e := range encoders {
		b.Run(fmt.Sprintf("%s/%d", e.Name, n), func(b *testing.B) {
			buf, err := e.Encode(nil)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if buf, err = e.Encode(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
