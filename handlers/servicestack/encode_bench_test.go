package servicestack

import (
	"testing"

	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/evovoice/billing/handlers/internal/wiretest"
	"github.com/evovoice/billing/jsv"
)

// benchRecords builds a realistic ListUsageRecords answer of n records:
// daily records of every category of one account, figures of varied size
// and scale, descriptions that need quoting in JSV and CSV.
func benchRecords(n int) UsageRecords {
	out := make(UsageRecords, 0, n)
	for _, r := range wiretest.Records(n) {
		out = append(out, newUsageRecord(r))
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
		encoders := []wiretest.Encoder{
			{Name: "json", Encode: func(dst []byte) ([]byte, error) { return encode(dst, formatJSON, recs) }},
			{Name: "jsv", Encode: func(dst []byte) ([]byte, error) { return encode(dst, formatJSV, recs) }},
			{Name: "xml", Encode: func(dst []byte) ([]byte, error) { return encode(dst, formatXML, recs) }},
			{Name: "csv", Encode: func(dst []byte) ([]byte, error) { return encode(dst, formatCSV, recs) }},
			// encoding/json and jsv.Append through reflection, for comparison
			// with the hand-written paths.
			{Name: "encoding-json", Encode: func(dst []byte) ([]byte, error) { return reply.AppendJSON(dst, plain) }},
			{Name: "jsv-reflect", Encode: func(dst []byte) ([]byte, error) { return jsv.Append(dst, plain) }},
		}
		wiretest.RunEncoders(b, n, encoders)
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
