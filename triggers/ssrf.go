package triggers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// errPrivate is why a callback to an internal address is refused.
var errPrivate = errors.New("resolves to a loopback, private, link-local, multicast or unspecified address")

// blocked are ranges the IsX methods below do not cover: "this network",
// carrier-grade NAT (shared address space), the broadcast address, and
// local-use NAT64 (RFC 8215), whose embedded IPv4 address may sit anywhere
// in the prefix and reach a network of ours through our own translator.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("255.255.255.255/32"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// embedsIPv4 are IPv6 ranges that carry an IPv4 address in their last 32
// bits and reach it: well-known NAT64 (64:ff9b::10.0.0.1 is 10.0.0.1 to a
// DNS64 network) and the deprecated IPv4-compatible form (::127.0.0.1).
// 6to4 (2002::/16) carries it in bits 16-47.
var embedsIPv4 = []netip.Prefix{
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("::/96"),
}

var sixToFour = netip.MustParsePrefix("2002::/16")

// internal reports whether an address must not receive callbacks. IPv4
// addresses written as IPv6 (::ffff:127.0.0.1, NAT64, 6to4) are judged as
// the IPv4 address they reach.
func internal(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		for _, p := range embedsIPv4 {
			if p.Contains(a) && a != netip.IPv6Unspecified() {
				a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
				break
			}
		}
		if sixToFour.Contains(a) {
			a = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsValid() {
		return true
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// checkDestination resolves a callback URL's host and refuses it when any
// of its addresses is internal. Delivery checks again the address it
// actually dials (dialControl), since DNS answers can change.
func checkDestination(ctx context.Context, resolver *net.Resolver, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if internal(a) {
			return errPrivate
		}
		return nil
	}
	addrs, err := resolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("host %q does not resolve", host)
	}
	for _, a := range addrs {
		if internal(a) {
			return errPrivate
		}
	}
	return nil
}

// dialControl refuses, just before connecting, a connection to an internal
// address: the address checked is the one dialled, after resolution, so a
// name that resolves differently at delivery (DNS rebinding) cannot slip
// through.
func dialControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("callback address %q: %w", address, err)
	}
	if internal(ap.Addr()) {
		return fmt.Errorf("callback address %s %w", ap.Addr(), errPrivate)
	}
	return nil
}

// callbackClient is the HTTP client of deliveries: 5 s to connect, 15 s in
// all, no proxy from the environment (it would dial in our place, past the
// address check), no redirects followed.
func callbackClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: connectTimeout}
	if !allowPrivate {
		dialer.Control = dialControl
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   connectTimeout,
			ResponseHeaderTimeout: deliveryTimeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       30 * time.Second,
		},
		Timeout:       deliveryTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
