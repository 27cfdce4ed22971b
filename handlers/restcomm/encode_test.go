package restcomm

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"testing"

	"github.com/evovoice/billing/handlers/internal/wiretest"
)

// oddTwilioRecords are records whose strings need every kind of escaping.
func oddTwilioRecords(odd, uri string) []twilioRecord {
	rec := twilioRecord{
		AccountSid: "AC1", APIVersion: "2010-04-01", AsOf: "2026-11-23T10:00:00Z", Category: "calls",
		Count: nullString{s: "42", valid: true}, CountUnit: "calls", Description: odd, EndDate: "2026-11-23",
		Price: "-1.50", PriceUnit: "usd", StartDate: "2026-11-01", URI: uri, Usage: "0.000001", UsageUnit: "minutes",
		SubresourceURIs: subresourceURIs{AllTime: "a", Today: "b&c", Yesterday: odd, ThisMonth: "d", LastMonth: "e", Daily: "f", Monthly: "g", Yearly: "h"},
	}
	total := rec
	total.Category, total.Count = "totalprice", nullString{}
	return []twilioRecord{rec, total}
}

const oddText = `quote " apos ' back \ <b>&amp;</b> ünïcødé 🎉 ` + "\u2028\x00\x7f\xff\t\r\n\ufffe\U0001F600"

func TestTwilioPageJSONMatchesEncodingJSON(t *testing.T) {
	odd := oddText
	next := "/2010-04-01/Accounts/AC1/Usage/Records.json?Category=calls&PageSize=2&Page=1&PageToken=x"
	for _, l := range []twilioListJSON{
		{twilioPaging: twilioPaging{End: 1, FirstPageURI: next, NextPageURI: &next, Page: 0, PageSize: 2, Start: 0, URI: odd}, UsageRecords: oddTwilioRecords(odd, next)},
		{twilioPaging: twilioPaging{End: -1, PreviousPageURI: &odd, Page: 7, PageSize: 1000, Start: 7000}, UsageRecords: []twilioRecord{}},
		{},
	} {
		if got, want := l.appendJSON(nil), wiretest.Reference(t, l); !bytes.Equal(got, want) {
			t.Errorf("appendJSON\n got %s\nwant %s", got, want)
		}
	}
}

func TestTwilioPageXMLMatchesEncodingXML(t *testing.T) {
	uri := "/2012-04-24/Accounts/AC1/Usage/Records?Category=calls&PageSize=2&Page=1&PageToken=x"
	for _, root := range []string{"TwilioResponse", "RestcommResponse"} {
		for _, l := range []twilioListXML{
			{twilioPagingXML: twilioPagingXML{Page: 1, PageSize: 2, Start: 2, End: 3, URI: oddText, FirstPageURI: uri, PreviousPageURI: uri, NextPageURI: oddText}, Records: oddTwilioRecords(oddText, uri)},
			{twilioPagingXML: twilioPagingXML{Page: 0, PageSize: 50, End: 0, URI: uri, FirstPageURI: uri}},
		} {
			want, err := appendTwilioXML(nil, twilioXML{XMLName: xml.Name{Local: root}, Records: &l})
			if err != nil {
				t.Fatal(err)
			}
			if got := appendTwilioPageXML(nil, root, &l); !bytes.Equal(got, want) {
				t.Errorf("appendTwilioPageXML\n got %s\nwant %s", got, want)
			}
		}
	}
}

func FuzzAppendXMLEscaped(f *testing.F) {
	for _, s := range []string{"", "plain", oddText, "\xed\xa0\x80", "\uFFFD", "\xef\xbf\xbf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		if err := xml.EscapeText(&want, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if got := appendXMLEscaped(nil, s); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%q: got %q want %q", s, got, want.Bytes())
		}
	})
}

// TestTwilioCSVCells: the Restcomm face's CSV writes ordinary cells exactly
// as encoding/csv does and neutralises formulas.
func TestTwilioCSVCells(t *testing.T) {
	plain := [][]string{{"a", "b,c", `q"uote`, "line\nbreak", " lead", "", `\.`, "-1.5", "+3", "0.25", "x=1", "é"}}
	var want bytes.Buffer
	if err := csv.NewWriter(&want).WriteAll(plain); err != nil {
		t.Fatal(err)
	}
	got, _ := appendTwilioCSV(nil, plain)
	if string(got) != want.String() {
		t.Errorf("plain cells:\n got %q\nwant %q", got, want.String())
	}
	got, _ = appendTwilioCSV(nil, [][]string{{"=1+2", "+cmd", "-2+3", "@A1", "\tx", "\rx", `=A1,"b"`}})
	if w := `"'=1+2","'+cmd","'-2+3","'@A1","'` + "\t" + `x","'` + "\r" + `x","'=A1,""b"""` + "\n"; string(got) != w {
		t.Errorf("formulas:\n got %q\nwant %q", got, w)
	}
}
