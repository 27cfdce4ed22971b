package handlers

import (
	"encoding/xml"
	"fmt"
	"testing"

	"github.com/evovoice/billing/jsv"
	"github.com/evovoice/billing/models"
)

// benchRecords builds a realistic ListUsageRecords answer of n records:
// daily records of every category of one account, figures of varied size
// and scale, descriptions that need quoting in JSV and CSV.
func benchRecords(n int) UsageRecords {
	out := make(UsageRecords, 0, n)
	for _, r := range benchModelRecords(n) {
		out = append(out, newUsageRecord(r))
	}
	return out
}

func benchModelRecords(n int) []models.UsageRecord {
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

// plainRecord is UsageRecord without its AppendJSV method, so that
// jsv.Append has to walk its fields by reflection.
type plainRecord UsageRecord

// BenchmarkEncode measures each format's encoder on a 26-record answer (one
// range query) and a 10,000-record answer (daily records over a year),
// writing into a reused buffer as the server does.
//
//	go test ./handlers -run '^$' -bench Encode -benchmem
func BenchmarkEncode(b *testing.B) {
	for _, n := range []int{26, 10000} {
		recs := benchRecords(n)
		plain := make([]plainRecord, n)
		for i := range recs {
			plain[i] = plainRecord(recs[i])
		}
		encoders := []benchEncoder{
			{"json", func(dst []byte) ([]byte, error) { return encode(dst, formatJSON, recs) }},
			{"jsv", func(dst []byte) ([]byte, error) { return encode(dst, formatJSV, recs) }},
			{"xml", func(dst []byte) ([]byte, error) { return encode(dst, formatXML, recs) }},
			{"csv", func(dst []byte) ([]byte, error) { return encode(dst, formatCSV, recs) }},
			// encoding/json and jsv.Append through reflection, for comparison
			// with the hand-written paths.
			{"encoding-json", func(dst []byte) ([]byte, error) { return appendJSON(dst, plain) }},
			{"jsv-reflect", func(dst []byte) ([]byte, error) { return jsv.Append(dst, plain) }},
		}
		runEncoders(b, n, encoders)
	}
}

// TestBenchRecordsEncode keeps the benchmark data honest: every encoder
// writes it, and JSV reads back equal to JSON.
func TestBenchRecordsEncode(t *testing.T) {
	recs := benchRecords(300)
	for f := formatJSON; f <= formatCSV; f++ {
		if _, err := encode(nil, f, recs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	hand, _ := encode(nil, formatJSV, recs)
	plain := make([]plainRecord, len(recs))
	for i := range recs {
		plain[i] = plainRecord(recs[i])
	}
	reflected, err := jsv.Append(nil, plain)
	if err != nil || string(hand) != string(reflected) {
		t.Fatalf("hand-written JSV differs from reflection:\n%.300s\n%.300s", hand, reflected)
	}
}

// benchUsagePage builds a Restcomm page of n daily records as readUsagePage
// does, with the nine URIs each record carries.
func benchUsagePage(n int) usagePage {
	u := usageURIs{base: "/2010-04-01/Accounts/AC0000000000000000000000000000d002/Usage/Records", suffix: ".json"}
	daily, _ := findSubresource("Daily")
	next := "/2010-04-01/Accounts/AC0000000000000000000000000000d002/Usage/Records/Daily.json?StartDate=2024-01-01&EndDate=2026-11-22&PageSize=50&Page=1&PageToken=PAAAAAT6k"
	pg := usagePage{face: faces[0], asOf: "2026-11-23T10:00:00+00:00", pageSize: n, end: n - 1, uri: next, firstPageURI: next, nextPageURI: &next}
	for _, r := range benchModelRecords(n) {
		pg.records = append(pg.records, newTwilioRecord(r, faces[0], pg.asOf, u, daily))
	}
	return pg
}

// BenchmarkUsagePage measures the Restcomm face's encoders on a page of 50
// records (the default page size) and of 1,000 (the largest).
//
//	go test ./handlers -run '^$' -bench UsagePage -benchmem
func BenchmarkUsagePage(b *testing.B) {
	for _, n := range []int{50, 1000} {
		pg := benchUsagePage(n)
		encoders := []benchEncoder{
			{"json", func(dst []byte) ([]byte, error) { return appendUsagePage(dst, formatJSON, pg) }},
			{"xml", func(dst []byte) ([]byte, error) { return appendUsagePage(dst, formatXML, pg) }},
			{"csv", func(dst []byte) ([]byte, error) { return appendUsagePage(dst, formatCSV, pg) }},
			// encoding/json and encoding/xml, for comparison.
			{"encoding-json", func(dst []byte) ([]byte, error) {
				return appendJSON(dst, twilioListJSON{End: pg.end, FirstPageURI: pg.firstPageURI, NextPageURI: pg.nextPageURI,
					PageSize: pg.pageSize, URI: pg.uri, UsageRecords: pg.records})
			}},
			{"encoding-xml", func(dst []byte) ([]byte, error) {
				return appendTwilioXML(dst, twilioXML{XMLName: xml.Name{Local: pg.face.xmlRoot}, Records: &twilioListXML{
					PageSize: pg.pageSize, End: pg.end, URI: pg.uri, FirstPageURI: pg.firstPageURI, NextPageURI: *pg.nextPageURI, Records: pg.records}})
			}},
		}
		runEncoders(b, n, encoders)
	}
}

// benchEncoder appends one answer to a buffer.
type benchEncoder struct {
	name string
	enc  func([]byte) ([]byte, error)
}

// runEncoders measures each encoder writing into a reused buffer, as the
// server does.
func runEncoders(b *testing.B, n int, encoders []benchEncoder) {
	for _, e := range encoders {
		b.Run(fmt.Sprintf("%s/%d", e.name, n), func(b *testing.B) {
			buf, err := e.enc(nil)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if buf, err = e.enc(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
