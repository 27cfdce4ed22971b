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
// carrier-grade NAT (shared address space) and the broadcast address.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("255.255.255.255/32"),
}

// internal reports whether an address must not receive callbacks. IPv4
// addresses written as IPv6 (::ffff:127.0.0.1) are judged as IPv4.
func internal(a netip.Addr) bool {
	a = a.Unmap()
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
