package triggers

import (
	"net/netip"
	"testing"
)

// IPv6 forms that reach an IPv4 address are judged as that address: an
// internal one is refused, a public one is not.
func TestInternalJudgesEmbeddedIPv4(t *testing.T) {
	for addr, want := range map[string]bool{
		"64:ff9b::a9fe:a9fe": true,  // NAT64 of 169.254.169.254
		"64:ff9b::a00:1":     true,  // NAT64 of 10.0.0.1
		"64:ff9b::808:808":   false, // NAT64 of 8.8.8.8
		"64:ff9b:1::808:808": true,  // local-use NAT64: our own translator
		"::7f00:1":           true,  // IPv4-compatible 127.0.0.1
		"::808:808":          false, // IPv4-compatible 8.8.8.8
		"2002:c0a8:1::1":     true,  // 6to4 of 192.168.0.1
		"2002:808:808::1":    false, // 6to4 of 8.8.8.8
		"::ffff:a00:1":       true,  // IPv4-mapped 10.0.0.1
		"::":                 true,
		"::1":                true,
		"2606:4700::1111":    false,
	} {
		if got := internal(netip.MustParseAddr(addr)); got != want {
			t.Errorf("internal(%s) = %v, want %v", addr, got, want)
		}
	}
}
