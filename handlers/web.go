package handlers

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/evovoice/billing/web"
	"github.com/labstack/echo/v4"
)

// contentSecurityPolicy lets the page load only its own script, style sheet
// and API: no inline script or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// securityHeaders go on every response, API answers included.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		return next(c)
	}
}

// staticFiles serves the embedded dashboard with ETags. The page is always
// revalidated (a cheap 304); static files requested with their current
// version are cached for a year, since a new version has a new URL.
type staticFiles struct {
	assets map[string]web.Asset
}

func (s staticFiles) page(c echo.Context) error {
	return s.serve(c, web.Page, "no-cache")
}

func (s staticFiles) file(c echo.Context) error {
	p := "static/" + c.Param("*")
	a, ok := s.assets[p]
	if !ok || strings.Contains(p, "..") {
		return echo.ErrNotFound
	}
	cache := "no-cache"
	if c.QueryParam("v") == a.Version {
		cache = "public, max-age=31536000, immutable"
	}
	return s.serve(c, p, cache)
}

func (s staticFiles) serve(c echo.Context, p, cacheControl string) error {
	a := s.assets[p]
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, a.ContentType)
	h.Set("ETag", `"`+a.Version+`"`)
	h.Set("Cache-Control", cacheControl)
	// ServeContent answers If-None-Match with 304, and HEAD without a body.
	http.ServeContent(c.Response(), c.Request(), p, time.Time{}, bytes.NewReader(a.Body))
	return nil
}
