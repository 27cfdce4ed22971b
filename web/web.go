// Package web holds the admin dashboard's static files, embedded in the
// binary: one page, its script and its style sheet, no external resources.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"regexp"
	"slices"
	"strings"
)

//go:embed index.html static
var files embed.FS

// Asset is one file ready to serve.
type Asset struct {
	Body        []byte
	ContentType string
	// Version is a digest of Body: the file's ETag, and the ?v= that the page
	// puts on its links so browsers may cache static files for good.
	Version string
}

// Page is the path of the dashboard's page among the assets.
const Page = "index.html"

// Assets reads every embedded file, keyed by path ("index.html",
// "static/app.js"). The page's links to static files carry their versions,
// and so do the scripts' imports of each other (app.js imports
// './chart.js?v=…'), so that a new chart.js gives app.js a new version too.
func Assets() (map[string]Asset, error) {
	raw := make(map[string][]byte)
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw[p], err = files.ReadFile(p)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]Asset)
	for p := range raw {
		if err := versionImports(p, raw, out, nil); err != nil {
			return nil, err
		}
	}
	page := out[Page].Body
	for p, a := range out {
		if strings.HasPrefix(p, "static/") {
			page = bytes.ReplaceAll(page, []byte(`"/`+p+`"`), []byte(`"/`+p+`?v=`+a.Version+`"`))
		}
	}
	out[Page] = newAsset(Page, page)
	return out, nil
}

// siblingImport is a static import of another script of the dashboard.
var siblingImport = regexp.MustCompile(`from '\./([a-z0-9-]+\.js)'`)

// versionImports makes the asset of p, after those of the scripts it imports.
func versionImports(p string, raw map[string][]byte, out map[string]Asset, importers []string) error {
	if _, done := out[p]; done {
		return nil
	}
	if slices.Contains(importers, p) {
		return fmt.Errorf("web: %s imports itself through %v", p, importers)
	}
	body := raw[p]
	if strings.HasSuffix(p, ".js") {
		var err error
		body = siblingImport.ReplaceAllFunc(body, func(m []byte) []byte {
			dep := path.Join(path.Dir(p), string(siblingImport.FindSubmatch(m)[1]))
			if _, ok := raw[dep]; !ok {
				err = fmt.Errorf("web: %s imports %s, which does not exist", p, dep)
				return m
			}
			if e := versionImports(dep, raw, out, append(importers, p)); e != nil {
				err = e
				return m
			}
			return []byte("from './" + path.Base(dep) + "?v=" + out[dep].Version + "'")
		})
		if err != nil {
			return err
		}
	}
	out[p] = newAsset(p, body)
	return nil
}

func newAsset(p string, body []byte) Asset {
	sum := sha256.Sum256(body)
	ct := mime.TypeByExtension(path.Ext(p))
	if ct == "" {
		ct = "application/octet-stream"
	}
	return Asset{Body: body, ContentType: ct, Version: hex.EncodeToString(sum[:8])}
}
