package handlers

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"testing"

	"github.com/shopspring/decimal"
)

// reference is what encoding/json writes for v, without HTML escaping.
func reference(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	n := int64(-42)
	recs := UsageRecords{
		{AccountSid: "AC1", Category: "calls", Count: &n, CountUnit: "calls", Description: `quote " back \ tab	nl
 <b>&amp;</b> ünïcødé 🎉 ` + "\u2028\u2029\x00\x1f\x7f\xff", EndDate: "2024-01-31",
			Price: jsonDecimal{decimal.RequireFromString("-1.50")}, PriceUnit: "usd", StartDate: "2024-01-01", Usage: "0.000001", UsageUnit: "minutes", URI: "/billing/usage?a=1&b=2"},
		{AccountSid: "AC1", Category: "totalprice", Price: jsonDecimal{decimal.RequireFromString("123456789012345678901234.5")}},
	}
	for _, v := range []UsageRecords{recs, {}, recs[:1]} {
		if got, want := v.appendJSON(nil), reference(t, v); !bytes.Equal(got, want) {
			t.Errorf("appendJSON\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "\x00\b\f\n\r\t\x1f", "\u2028\u2029", "\xff\xfe", "é🎉", "<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendJSONString(nil, s), reference(t, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s want %s", s, got, want)
		}
	})
}

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
		{End: 1, FirstPageURI: next, NextPageURI: &next, Page: 0, PageSize: 2, Start: 0, URI: odd, UsageRecords: oddTwilioRecords(odd, next)},
		{End: -1, PreviousPageURI: &odd, Page: 7, PageSize: 1000, Start: 7000, UsageRecords: []twilioRecord{}},
		{},
	} {
		if got, want := l.appendJSON(nil), reference(t, l); !bytes.Equal(got, want) {
			t.Errorf("appendJSON\n got %s\nwant %s", got, want)
		}
	}
}

func TestTwilioPageXMLMatchesEncodingXML(t *testing.T) {
	uri := "/2012-04-24/Accounts/AC1/Usage/Records?Category=calls&PageSize=2&Page=1&PageToken=x"
	for _, root := range []string{"TwilioResponse", "RestcommResponse"} {
		for _, l := range []twilioListXML{
			{Page: 1, PageSize: 2, Start: 2, End: 3, URI: oddText, FirstPageURI: uri, PreviousPageURI: uri, NextPageURI: oddText, Records: oddTwilioRecords(oddText, uri)},
			{Page: 0, PageSize: 50, End: 0, URI: uri, FirstPageURI: uri},
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
