package web_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/web"
)

func TestAssetsAreSelfContained(t *testing.T) {
	assets, err := web.Assets()
	if err != nil {
		t.Fatal(err)
	}
	page := string(assets[web.Page].Body)
	// Nothing a strict CSP would block: no inline script, style or handler.
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`),
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
	} {
		if m := bad.FindString(page); m != "" {
			t.Errorf("the page has %q", m)
		}
	}
	for name, a := range assets {
		// No other origin: no CDN, no web fonts. The SVG namespace is a name
		// that is never fetched.
		body := strings.ReplaceAll(string(a.Body), `'http://www.w3.org/2000/svg'`, "")
		if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).FindString(body); m != "" {
			t.Errorf("%s refers to another origin: %q", name, m)
		}
		if strings.HasSuffix(name, ".js") {
			for _, bad := range []string{"innerHTML", "eval(", "new Function", ".style.", "'style'", "insertAdjacentHTML", "document.write"} {
				if strings.Contains(body, bad) {
					t.Errorf("%s uses %s", name, bad)
				}
			}
		}
	}
	// Every form control has a label.
	for _, id := range regexp.MustCompile(`<(?:input|select)[^>]*\sid="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		if !strings.Contains(page, `for="`+id[1]+`"`) && !regexp.MustCompile(`<label[^>]*>\s*<input[^>]*id="`+id[1]+`"`).MatchString(page) {
			t.Errorf("#%s has no label", id[1])
		}
	}
}

// The page indents a category by the number of dashes in its name; that holds
// only while the catalog's names follow its hierarchy.
func TestCategoryNamesFollowTheHierarchy(t *testing.T) {
	for _, c := range models.Categories() {
		parent := ""
		if i := strings.LastIndex(c.Name, "-"); i >= 0 {
			parent = c.Name[:i]
		}
		if c.Parent != parent {
			t.Errorf("%s: parent %q, but the page would take %q", c.Name, c.Parent, parent)
		}
		if c.Depth() != strings.Count(c.Name, "-") {
			t.Errorf("%s: depth %d", c.Name, c.Depth())
		}
	}
}

// The scripts import each other with their versions, as the page links them,
// so that a changed module gives every script that imports it a new version.
func TestImportsCarryVersions(t *testing.T) {
	assets, err := web.Assets()
	if err != nil {
		t.Fatal(err)
	}
	imports := regexp.MustCompile(`from '\./([a-z0-9-]+\.js)(\?v=([0-9a-f]+))?'`)
	seen := 0
	for name, a := range assets {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range imports.FindAllStringSubmatch(string(a.Body), -1) {
			seen++
			dep, ok := assets["static/"+m[1]]
			if !ok || m[3] != dep.Version {
				t.Errorf("%s imports %s at version %q; its version is %q", name, m[1], m[3], dep.Version)
			}
		}
	}
	if seen < 3 { // app.js: format.js and chart.js; chart.js: format.js
		t.Errorf("%d imports found", seen)
	}
	if !strings.Contains(string(assets[web.Page].Body), `/static/app.js?v=`+assets["static/app.js"].Version) {
		t.Error("the page does not link app.js at its version")
	}
}
