package models

import (
	"slices"
	"testing"
)

func TestCatalog(t *testing.T) {
	names := CategoryNames()
	if len(names) != 26 || names[0] != "calls" || names[25] != TotalPrice {
		t.Fatalf("catalog = %v", names)
	}
	for _, c := range Categories() {
		if c.Parent != "" {
			if _, ok := LookupCategory(c.Parent); !ok {
				t.Errorf("%s has unknown parent %s", c.Name, c.Parent)
			}
		}
		if c.Description == "" || (c.Name != TotalPrice && (c.UsageUnit == "" || c.CountUnit == "")) {
			t.Errorf("%s lacks a description or units", c.Name)
		}
	}
	want := map[string][]string{
		"calls":            {"calls", "calls-inbound", "calls-inbound-local", "calls-inbound-tollfree", "calls-outbound", "calls-client", "calls-sip"},
		"calls-inbound":    {"calls-inbound", "calls-inbound-local", "calls-inbound-tollfree"},
		"sms-outbound":     {"sms-outbound", "sms-outbound-shortcode", "sms-outbound-longcode"},
		"phonenumbers":     {"phonenumbers", "phonenumbers-tollfree", "phonenumbers-local"},
		"shortcodes":       {"shortcodes", "shortcodes-vanity", "shortcodes-random", "shortcodes-customerowned"},
		"recordingstorage": {"recordingstorage"},
	}
	for name, sub := range want {
		if got := Subtree(name); !slices.Equal(got, sub) {
			t.Errorf("Subtree(%s) = %v, want %v", name, got, sub)
		}
	}
	if got := Subtree(TotalPrice); len(got) != 25 || slices.Contains(got, TotalPrice) {
		t.Errorf("Subtree(totalprice) = %v", got)
	}
	for in, want := range map[string]string{"SMS_OUTBOUND_LONGCODE": "sms-outbound-longcode", "Calls": "calls", "calls": "calls"} {
		if c, ok := ParseCategory(in); !ok || c.Name != want {
			t.Errorf("ParseCategory(%q) = %v, %v", in, c.Name, ok)
		}
	}
	if _, ok := ParseCategory("calls-mobile"); ok {
		t.Error("calls-mobile is not in the catalog")
	}
}

func TestRollup(t *testing.T) {
	totals := Totals{
		"calls":                  {Count: 1, Usage: 2_000_000, Price: 10},
		"calls-inbound-local":    {Count: 2, Usage: 3_000_000, Price: 20},
		"calls-inbound-tollfree": {Count: 3, Usage: 4_000_000, Price: 30},
		"sms-outbound-longcode":  {Count: 5, Usage: 5_000_000, Price: -7},
	}
	calls, _ := LookupCategory("calls")
	if got := Rollup(calls, totals); got != (Sums{Count: 6, Usage: 9_000_000, Price: 60}) {
		t.Errorf("calls = %+v", got)
	}
	inbound, _ := LookupCategory("calls-inbound")
	if got := Rollup(inbound, totals); got != (Sums{Count: 5, Usage: 7_000_000, Price: 50}) {
		t.Errorf("calls-inbound = %+v", got)
	}
	tp, _ := LookupCategory(TotalPrice)
	if got := Rollup(tp, totals); got != (Sums{Usage: 53, Price: 53}) {
		t.Errorf("totalprice = %+v", got)
	}
	r := NewRecord("AC1", "eur", tp, DateRange{}, Rollup(tp, totals))
	if r.Count != nil || r.CountUnit != "" || r.UsageUnit != "eur" || r.PriceUnit != "eur" || r.Usage.String() != "0.000053" {
		t.Errorf("totalprice record = %+v", r)
	}
}
