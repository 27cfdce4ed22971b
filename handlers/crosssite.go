package handlers

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/labstack/echo/v4"
)

// sameOriginWrites refuses state-changing requests that a browser sent on
// behalf of another site. The ss-tok cookie (and a sign-in, which sets it)
// is ambient: a browser attaches it to any request to us, whoever wrote the
// page. So every POST, PUT, PATCH or DELETE without an Authorization header
// (which no other site can make a browser send, except Basic credentials a
// browser remembers: the Restcomm face's one write, Usage Triggers, checks
// Sec-Fetch-Site for those itself) must show it comes from our own origin:
//
//  1. Sec-Fetch-Site, when present, must be same-origin, or none (a request
//     the user started, which no site can forge). same-site is refused too:
//     a sibling origin is exactly the attacker to keep out.
//  2. Without it, Origin, when present, must equal our own origin: scheme as
//     the Secure cookie decides it, host from Host (or X-Forwarded-Host from a
//     trusted proxy), default ports aside. "null" is foreign.
//  3. With neither, the request is not from a browser another site could
//     drive (every current browser sends one of them on a POST), so it passes.
//
// It runs on every route, matched or not, so new routes are covered.
func sameOriginWrites(trusted []*net.IPNet) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if safeMethod(r.Method) || r.Header.Get(echo.HeaderAuthorization) != "" {
				return next(c)
			}
			if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
				if site == "same-origin" || site == "none" {
					return next(c)
				}
				return problem.CrossSite
			}
			origin := r.Header.Get(echo.HeaderOrigin)
			if origin == "" || sameOrigin(origin, c.Scheme(), ownHost(r, trusted)) {
				return next(c)
			}
			return problem.CrossSite
		}
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// ownHost is the host the client addressed: Host, or X-Forwarded-Host when
// the peer is one of the trusted proxies (as for X-Forwarded-For).
func ownHost(r *http.Request, trusted []*net.IPNet) string {
	if fwd := r.Header.Get("X-Forwarded-Host"); fwd != "" && peerTrusted(r.RemoteAddr, trusted) {
		first, _, _ := strings.Cut(fwd, ",")
		return strings.TrimSpace(first)
	}
	return r.Host
}

func peerTrusted(remote string, trusted []*net.IPNet) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	for _, n := range trusted {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// sameOrigin compares an Origin header with scheme://host, in any letter
// case and with default ports made explicit.
func sameOrigin(origin, scheme, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" || u.User != nil {
		return false
	}
	return strings.EqualFold(u.Scheme, scheme) && hostWithPort(u.Host, u.Scheme) == hostWithPort(host, scheme)
}

func hostWithPort(host, scheme string) string {
	host = strings.ToLower(host)
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if strings.EqualFold(scheme, "https") {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}
