package models

import "strings"

// Category is one of the 26 usage categories of the Restcomm catalog.
type Category struct {
	Name        string
	Parent      string // "" for a root category
	Description string
	UsageUnit   string // "" means the account currency (totalprice)
	CountUnit   string
}

// TotalPrice is the synthetic category that sums every event's price.
const TotalPrice = "totalprice"

// categories lists the catalog in the order every listing uses.
var categories = []Category{
	{"calls", "", "All voice calls, inbound and outbound", "minutes", "calls"},
	{"calls-inbound", "calls", "Inbound voice calls to local and toll-free numbers", "minutes", "calls"},
	{"calls-inbound-local", "calls-inbound", "Inbound voice calls to local numbers", "minutes", "calls"},
	{"calls-inbound-tollfree", "calls-inbound", "Inbound voice calls to toll-free numbers", "minutes", "calls"},
	{"calls-outbound", "calls", "Outbound voice calls", "minutes", "calls"},
	{"calls-client", "calls", "Voice calls to and from client applications", "minutes", "calls"},
	{"calls-sip", "calls", "Voice calls over SIP", "minutes", "calls"},
	{"sms", "", "All SMS messages, inbound and outbound", "messages", "messages"},
	{"sms-inbound", "sms", "Inbound SMS messages to short and long codes", "messages", "messages"},
	{"sms-inbound-shortcode", "sms-inbound", "Inbound SMS messages to short codes", "messages", "messages"},
	{"sms-inbound-longcode", "sms-inbound", "Inbound SMS messages to long codes", "messages", "messages"},
	{"sms-outbound", "sms", "Outbound SMS messages from short and long codes", "messages", "messages"},
	{"sms-outbound-shortcode", "sms-outbound", "Outbound SMS messages from short codes", "messages", "messages"},
	{"sms-outbound-longcode", "sms-outbound", "Outbound SMS messages from long codes", "messages", "messages"},
	{"phonenumbers", "", "All phone numbers owned, local and toll-free", "numbers", "numbers"},
	{"phonenumbers-tollfree", "phonenumbers", "Toll-free phone numbers owned", "numbers", "numbers"},
	{"phonenumbers-local", "phonenumbers", "Local phone numbers owned", "numbers", "numbers"},
	{"shortcodes", "", "All short codes owned, of every type", "shortcodes", "shortcodes"},
	{"shortcodes-vanity", "shortcodes", "Vanity short codes owned", "shortcodes", "shortcodes"},
	{"shortcodes-random", "shortcodes", "Randomly assigned short codes owned", "shortcodes", "shortcodes"},
	{"shortcodes-customerowned", "shortcodes", "Short codes leased from another provider", "shortcodes", "shortcodes"},
	{"calleridlookups", "", "Caller ID (caller name) lookups", "lookups", "lookups"},
	{"recordings", "", "Call recordings made", "minutes", "recordings"},
	{"transcriptions", "", "Recording transcriptions", "minutes", "transcriptions"},
	{"recordingstorage", "", "Storage of call recordings", "minutes", "recordings"},
	{TotalPrice, "", "Total price of all usage", "", ""},
}

// catalog indexes the categories and precomputes each one's subtree.
type catalog struct {
	index   map[string]int
	subtree [][]string // category index -> itself and all descendants, in catalog order
	names   []string
}

var cat = newCatalog()

func newCatalog() catalog {
	c := catalog{index: make(map[string]int, len(categories)), subtree: make([][]string, len(categories))}
	for i, k := range categories {
		c.index[k.Name] = i
		c.names = append(c.names, k.Name)
	}
	for i, k := range categories {
		if k.Name == TotalPrice {
			// Events are never filed under totalprice; it sums everything else.
			c.subtree[i] = c.names[:len(c.names)-1]
			continue
		}
		for _, d := range categories {
			if d.Name == k.Name || isAncestor(k.Name, d.Name) {
				c.subtree[i] = append(c.subtree[i], d.Name)
			}
		}
	}
	return c
}

func isAncestor(anc, name string) bool {
	for p := parentOf(name); p != ""; p = parentOf(p) {
		if p == anc {
			return true
		}
	}
	return false
}

func parentOf(name string) string {
	for _, k := range categories {
		if k.Name == name {
			return k.Parent
		}
	}
	return ""
}

// Categories returns the catalog in listing order. Callers must not modify it.
func Categories() []Category { return categories }

// CategoryNames returns the 26 names in listing order.
func CategoryNames() []string { return cat.names }

// LookupCategory finds a category by its exact lower-case name.
func LookupCategory(name string) (Category, bool) {
	i, ok := cat.index[name]
	if !ok {
		return Category{}, false
	}
	return categories[i], true
}

// CategoryIndex is a category's position in the catalog, the order of every
// listing; ok is false for an unknown name.
func CategoryIndex(name string) (index int, ok bool) {
	index, ok = cat.index[name]
	return index, ok
}

// ParseCategory accepts the documented lower-case name in any letter case, and
// the Restcomm enum spelling (SMS_OUTBOUND_LONGCODE) that old clients send.
func ParseCategory(s string) (Category, bool) {
	return LookupCategory(strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-"))
}

// Subtree returns the category and all of its descendants (every category but
// totalprice, for totalprice): the categories whose events count towards it.
func Subtree(name string) []string {
	i, ok := cat.index[name]
	if !ok {
		return nil
	}
	return cat.subtree[i]
}

// Depth is how many ancestors a category has (0 for a root), for indented display.
func (c Category) Depth() int {
	d := 0
	for p := c.Parent; p != ""; p = parentOf(p) {
		d++
	}
	return d
}
