package repo

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/evovoice/billing/models"
)

// A models.Date reaches Postgres as that day whether the parameter is a
// date or text (encodeDatesDirectly).
func TestDatesEncodeAsDatesAndText(t *testing.T) {
	url := os.Getenv("BILLING_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("BILLING_TEST_POSTGRES_URL is not set")
	}
	s, err := Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := models.NewDate(2024, 2, 29)
	var (
		asDate time.Time
		asText string
		equal  bool
	)
	err = s.sqlDB.QueryRowContext(context.Background(), "SELECT $1::date, CAST($2 AS text), $3::date = DATE '2024-02-29'", d, d, d).Scan(&asDate, &asText, &equal)
	if err != nil {
		t.Fatal(err)
	}
	if models.DateOf(asDate) != d || asText != "2024-02-29" || !equal {
		t.Errorf("date %v, text %q, equal %v; want 2024-02-29 each way", asDate, asText, equal)
	}
}
