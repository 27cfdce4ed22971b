package handlers

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/evovoice/billing/jsv"
)

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
