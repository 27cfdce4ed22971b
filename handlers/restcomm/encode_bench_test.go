package restcomm

import (
	"encoding/xml"
	"testing"

	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/evovoice/billing/handlers/internal/wiretest"
)

// benchUsagePage builds a Restcomm page of n daily records as readUsagePage
// does, with the nine URIs each record carries.
func benchUsagePage(n int) usagePage {
	u := usageURIs{base: "/2010-04-01/Accounts/AC0000000000000000000000000000d002/Usage/Records", suffix: ".json"}
	daily, _ := findSubresource("Daily")
	next := "/2010-04-01/Accounts/AC0000000000000000000000000000d002/Usage/Records/Daily.json?StartDate=2024-01-01&EndDate=2026-11-22&PageSize=50&Page=1&PageToken=PAAAAAT6k"
	pg := usagePage{version: versions[0], asOf: "2026-11-23T10:00:00+00:00", pageSize: n, end: n - 1, uri: next, firstPageURI: next, nextPageURI: &next}
	for _, r := range wiretest.Records(n) {
		pg.records = append(pg.records, newTwilioRecord(r, versions[0], pg.asOf, u, daily))
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
		encoders := []wiretest.Encoder{
			{Name: "json", Encode: func(dst []byte) ([]byte, error) { return appendUsagePage(dst, formatJSON, pg) }},
			{Name: "xml", Encode: func(dst []byte) ([]byte, error) { return appendUsagePage(dst, formatXML, pg) }},
			{Name: "csv", Encode: func(dst []byte) ([]byte, error) { return appendUsagePage(dst, formatCSV, pg) }},
			// encoding/json and encoding/xml, for comparison.
			{Name: "encoding-json", Encode: func(dst []byte) ([]byte, error) {
				return reply.AppendJSON(dst, twilioListJSON{twilioPaging: twilioPaging{End: pg.end, FirstPageURI: pg.firstPageURI, NextPageURI: pg.nextPageURI,
					PageSize: pg.pageSize, URI: pg.uri}, UsageRecords: pg.records})
			}},
			{Name: "encoding-xml", Encode: func(dst []byte) ([]byte, error) {
				return appendTwilioXML(dst, twilioXML{XMLName: xml.Name{Local: pg.version.xmlRoot}, Records: &twilioListXML{
					twilioPagingXML: twilioPagingXML{PageSize: pg.pageSize, End: pg.end, URI: pg.uri, FirstPageURI: pg.firstPageURI, NextPageURI: *pg.nextPageURI}, Records: pg.records}})
			}},
		}
		wiretest.RunEncoders(b, n, encoders)
	}
}
