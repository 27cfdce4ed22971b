package handlers_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/repo/repotest"
)

func TestDashboardFiles(t *testing.T) {
	e := handlertest.New(t, repotest.Open(t, "sqlite"))

	page := e.Get("/", "")
	if page.StatusCode != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", page.StatusCode, page.Header.Get("Content-Type"))
	}
	csp := page.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %q", csp)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-cache"} {
		if got := page.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}

	// Revalidation is a 304 with no body.
	etag := page.Header.Get("ETag")
	req, _ := http.NewRequest(http.MethodGet, e.Srv.URL+"/", nil)
	req.Header.Set("If-None-Match", etag)
	if r := e.Send(req); r.StatusCode != http.StatusNotModified || len(r.Body) != 0 || etag == "" {
		t.Errorf("revalidation: %d, %d bytes, ETag %q", r.StatusCode, len(r.Body), etag)
	}

	// The page links its static files by version; those URLs never change.
	links := regexp.MustCompile(`"(/static/[^"?]+)\?v=([0-9a-f]+)"`).FindAllStringSubmatch(string(page.Body), -1)
	if len(links) != 2 {
		t.Fatalf("versioned links in the page: %v", links)
	}
	for _, l := range links {
		r := e.Get(l[1]+"?v="+l[2], "")
		if r.StatusCode != http.StatusOK || r.Header.Get("ETag") != `"`+l[2]+`"` || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s: %d ETag %q Cache-Control %q", l[0], r.StatusCode, r.Header.Get("ETag"), r.Header.Get("Cache-Control"))
		}
		if r := e.Get(l[1], ""); r.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s without its version is cached: %q", l[1], r.Header.Get("Cache-Control"))
		}
	}
	if ct := e.Get("/static/app.js", "").Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("app.js is served as %q", ct)
	}
	e.Get("/static/nothing.js", "").ExpectError(t, 404, "NotFound")
	e.Get("/static/../web.go", "").ExpectError(t, 404, "NotFound")

	// API answers carry the same headers.
	if r := e.Get("/healthz", ""); r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("API answers lack nosniff")
	}
}
