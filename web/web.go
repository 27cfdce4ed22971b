// Package web holds the admin dashboard's static files, embedded in the
// binary: one page, its script and its style sheet, no external resources.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
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
// "static/app.js"). The page's links to static files carry their versions.
func Assets() (map[string]Asset, error) {
	out := make(map[string]Asset)
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = newAsset(p, body)
		return nil
	})
	if err != nil {
		return nil, err
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

func newAsset(p string, body []byte) Asset {
	sum := sha256.Sum256(body)
	ct := mime.TypeByExtension(path.Ext(p))
	if ct == "" {
		ct = "application/octet-stream"
	}
	return Asset{Body: body, ContentType: ct, Version: hex.EncodeToString(sum[:8])}
}
