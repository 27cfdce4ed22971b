package models

import (
	"slices"
	"testing"
)

func TestStoredCategories(t *testing.T) {
	calls, _ := LookupCategory("calls")
	inbound, _ := LookupCategory("calls-inbound")
	sms, _ := LookupCategory("sms-outbound")
	total, _ := LookupCategory(TotalPrice)
	got := StoredCategories([]Category{inbound, calls, sms})
	want := []string{"calls-inbound", "calls-inbound-local", "calls-inbound-tollfree", "calls", "calls-outbound", "calls-client", "calls-sip",
		"sms-outbound", "sms-outbound-shortcode", "sms-outbound-longcode"}
	if !slices.Equal(got, want) {
		t.Errorf("StoredCategories = %v, want %v", got, want)
	}
	if got := StoredCategories([]Category{sms, total}); got != nil {
		t.Errorf("with totalprice: %v, want nil (every category)", got)
	}
}

func TestListedCategories(t *testing.T) {
	totals := Totals{"calls-sip": {Count: 1}, "sms-inbound-longcode": {Price: 5}, "sms-outbound-longcode": {Price: -5}}
	var names []string
	for _, c := range ListedCategories(Categories(), false, totals) {
		names = append(names, c.Name)
	}
	// sms sums to zero over the range, so it is not listed; totalprice is not
	// listed either, for the same reason.
	want := []string{"calls", "calls-sip", "sms-inbound", "sms-inbound-longcode", "sms-outbound", "sms-outbound-longcode"}
	if !slices.Equal(names, want) {
		t.Errorf("listed %v, want %v", names, want)
	}
	recordings, _ := LookupCategory("recordings")
	if got := ListedCategories([]Category{recordings}, true, nil); len(got) != 1 {
		t.Errorf("a named category is always listed: %v", got)
	}
}

func TestCategoryIndex(t *testing.T) {
	for i, name := range CategoryNames() {
		if got, ok := CategoryIndex(name); !ok || got != i {
			t.Errorf("CategoryIndex(%s) = %d, %v", name, got, ok)
		}
	}
	if _, ok := CategoryIndex("faxes"); ok {
		t.Error("faxes has an index")
	}
}
