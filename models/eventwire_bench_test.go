package models_test

import (
	"strings"
	"testing"

	"github.com/evovoice/billing/models"
)

// BenchmarkLongUsage decodes an event whose usage has 3 million digits, the
// input of issue 10 that took 13 s of a core before numbers were bounded.
func BenchmarkLongUsage(b *testing.B) {
	ev := []byte(`{"id":"c-1","accountSid":"AC00000000000000000000000000000001","category":"calls","occurredAt":"2024-02-10T08:00:00Z","usage":` +
		strings.Repeat("9", 3_000_000) + `}`)
	b.SetBytes(int64(len(ev)))
	for b.Loop() {
		if _, err := models.DecodeEventJSON(ev); err == nil || !strings.Contains(err.Error(), "usage is longer") {
			b.Fatal(err)
		}
	}
}
