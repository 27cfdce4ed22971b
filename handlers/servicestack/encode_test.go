package servicestack

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/evovoice/billing/handlers/internal/wiretest"
	"github.com/evovoice/billing/jsv"
	"github.com/shopspring/decimal"
)

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	n := int64(-42)
	recs := UsageRecords{
		{AccountSid: "AC1", Category: "calls", Count: &n, CountUnit: "calls", Description: `quote " back \ tab	nl
 <b>&amp;</b> ünïcødé 🎉 ` + "\u2028\u2029\x00\x1f\x7f\xff", EndDate: "2024-01-31",
			Price: jsonDecimal{decimal.RequireFromString("-1.50")}, PriceUnit: "usd", StartDate: "2024-01-01", Usage: "0.000001", UsageUnit: "minutes", URI: "/billing/usage?a=1&b=2"},
		{AccountSid: "AC1", Category: "totalprice", Price: jsonDecimal{decimal.RequireFromString("123456789012345678901234.5")}},
	}
	for _, v := range []UsageRecords{recs, {}, recs[:1]} {
		if got, want := v.appendJSON(nil), wiretest.Reference(t, v); !bytes.Equal(got, want) {
			t.Errorf("appendJSON\n got %s\nwant %s", got, want)
		}
	}
}

// Operations still to come answer objects such as ListAccounts'
// {items,totalCount,totalPages}; the generic writers must render them.
type testAccount struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	ParentID    *string  `json:"parentAccountId,omitempty"`
	AncestorIDs []string `json:"ancestorIds"`
	Active      bool     `json:"active"`
}

type testAccountsPage struct {
	Items      []testAccount `json:"items"`
	TotalCount int           `json:"totalCount"`
	TotalPages int           `json:"totalPages"`
}

func TestGenericWritersOnAnObjectAnswer(t *testing.T) {
	parent := "AC1"
	page := testAccountsPage{Items: []testAccount{
		{ID: "AC1", Name: "Acme, Inc.", AncestorIDs: []string{}, Active: true},
		{ID: "AC2", Name: `The "Support" team`, ParentID: &parent, AncestorIDs: []string{"AC1"}},
	}, TotalCount: 2, TotalPages: 1}

	b, err := encode(nil, formatCSV, page)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	want := [][]string{
		{"Id", "Name", "ParentAccountId", "AncestorIds", "Active"},
		{"AC1", "Acme, Inc.", "", "[]", "True"},
		{"AC2", `The "Support" team`, "AC1", "[AC1]", "False"},
	}
	if len(rows) != len(want) || strings.Join(rows[0], "|") != strings.Join(want[0], "|") ||
		strings.Join(rows[1], "|") != strings.Join(want[1], "|") || strings.Join(rows[2], "|") != strings.Join(want[2], "|") {
		t.Errorf("CSV rows %q, want %q", rows, want)
	}

	b, err = encode(nil, formatXML, page)
	if err != nil {
		t.Fatal(err)
	}
	wantXML := `<?xml version="1.0" encoding="utf-8"?><testAccountsPage xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Dashboard">` +
		`<Items><testAccount><Active>true</Active><AncestorIds xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays" /><Id>AC1</Id><Name>Acme, Inc.</Name><ParentAccountId i:nil="true" /></testAccount>` +
		`<testAccount><Active>false</Active><AncestorIds xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays"><d2p1:string>AC1</d2p1:string></AncestorIds><Id>AC2</Id><Name>The "Support" team</Name><ParentAccountId>AC1</ParentAccountId></testAccount></Items>` +
		`<TotalCount>2</TotalCount><TotalPages>1</TotalPages></testAccountsPage>`
	if string(b) != wantXML {
		t.Errorf("XML\n %s\nwant\n %s", b, wantXML)
	}
	if err := xml.Unmarshal(b, new(struct{})); err != nil {
		t.Errorf("not well-formed: %v", err)
	}

	b, err = encode(nil, formatJSV, page)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{items:[{id:AC1,name:"Acme, Inc.",ancestorIds:[],active:True},{id:AC2,name:"The ""Support"" team",parentAccountId:AC1,ancestorIds:[AC1],active:False}],totalCount:2,totalPages:1}`; string(b) != want {
		t.Errorf("JSV %s\nwant %s", b, want)
	}
	var back testAccountsPage
	if err := jsv.Unmarshal(b, &back); err != nil || back.Items[1].Name != page.Items[1].Name || *back.Items[1].ParentID != "AC1" {
		t.Errorf("JSV read back %+v, %v", back, err)
	}
}

func TestXMLTextIsAlwaysWellFormed(t *testing.T) {
	got := string(appendXMLText(nil, "a&b<c>d\r\ne\x00f\xffg\u00e9"))
	if want := "a&amp;b&lt;c&gt;d&#xD;\ne\uFFFDf\uFFFDg\u00e9"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
