package servicestack

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/labstack/echo/v4"
)

// metadata serves /metadata: every operation (or the one named by ?op=) with
// its routes, roles, parameters, and a sample request and answer in each
// format, produced by the same encoders that answer real requests.
func (f *Face) metadata(c echo.Context) error {
	only := c.QueryParam("op")
	var page metadataPage
	for _, op := range f.ops.list {
		if only != "" && !strings.EqualFold(only, op.Name) {
			continue
		}
		m, err := describe(op, c.Request().Host)
		if err != nil {
			return err
		}
		page.Operations = append(page.Operations, m)
	}
	if only != "" && len(page.Operations) == 0 {
		return &problem.Problem{Status: http.StatusNotFound, Code: "NotFound", Message: "There is no operation named " + only}
	}
	var body bytes.Buffer
	if err := metadataTemplate.Execute(&body, page); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	return reply.Body(c, http.StatusOK, "text/html; charset=utf-8", body.Bytes())
}

type metadataPage struct {
	Operations []operationDoc
}

type operationDoc struct {
	Name, Method, Summary string
	Routes                []string
	Roles                 string
	Params                []paramDoc
	Response              string
	Samples               []sampleDoc
}

type paramDoc struct{ Name, Type, Where string }

type sampleDoc struct{ Format, Request, Response string }

func describe(op *Operation, host string) (operationDoc, error) {
	d := operationDoc{
		Name: op.Name, Method: op.Method, Summary: op.Summary,
		Routes: []string{
			op.Path + "[.json|.jsv|.xml|.csv]",
			"/api/" + op.Name + "[.json|.jsv|.xml|.csv]",
			"/{json|jsv|xml|csv}/reply/" + op.Name,
		},
		Roles:    strings.Join(op.Roles, " or "),
		Response: tsType(op.Response),
	}
	if d.Roles == "" {
		d.Roles = "none (no token needed)"
	}
	where := "query string"
	if op.Method != http.MethodGet && op.Method != http.MethodDelete {
		where = "body (JSON, JSV or form)"
	}
	for _, f := range dtoFields(derefType(op.Request)) {
		d.Params = append(d.Params, paramDoc{Name: f.pascal, Type: tsType(f.typ), Where: where})
	}
	if op.Example == nil {
		return d, nil
	}
	req, resp := op.Example()
	for f := formatJSON; f <= formatCSV; f++ {
		s, err := sample(op, host, f, req, resp)
		if err != nil {
			return d, err
		}
		d.Samples = append(d.Samples, s)
	}
	return d, nil
}

// sample is one format's example exchange, as the wire carries it.
func sample(op *Operation, host string, f format, req, resp any) (sampleDoc, error) {
	var r strings.Builder
	target := op.Path + "." + f.String()
	var reqBody []byte
	if op.Method == http.MethodGet || op.Method == http.MethodDelete {
		if q := queryOf(req); q != "" {
			target += "?" + q
		}
	} else {
		bf := formatJSON
		if f == formatJSV {
			bf = formatJSV
		}
		var err error
		if reqBody, err = encode(nil, bf, req); err != nil {
			return sampleDoc{}, err
		}
	}
	r.WriteString(op.Method + " " + target + " HTTP/1.1\nHost: " + host + "\nAuthorization: Bearer …\n")
	if reqBody != nil {
		ct := "application/json"
		if f == formatJSV {
			ct = "text/jsv"
		}
		r.WriteString("Content-Type: " + ct + "\nContent-Length: " + strconv.Itoa(len(reqBody)) + "\n\n")
		r.Write(pretty(f, reqBody))
	}
	body, err := encode(nil, f, resp)
	if err != nil {
		return sampleDoc{}, err
	}
	n := negotiation{format: f, contentType: contentTypeOf(f, nil)}
	response := "HTTP/1.1 200 OK\nContent-Type: " + n.contentType + "\nContent-Length: " + strconv.Itoa(len(body)) + "\nVary: Accept\n\n" + string(pretty(f, body))
	return sampleDoc{Format: strings.ToUpper(f.String()), Request: r.String(), Response: response}, nil
}

// pretty indents JSON for reading; the other formats are shown as sent.
func pretty(f format, body []byte) []byte {
	if f != formatJSON {
		return body
	}
	var b bytes.Buffer
	if json.Indent(&b, body, "", "  ") != nil {
		return body
	}
	return b.Bytes()
}

// queryOf writes a request DTO's non-empty fields as a query string.
func queryOf(req any) string {
	v := deref(reflect.ValueOf(req))
	if !v.IsValid() || v.Kind() != reflect.Struct {
		return ""
	}
	var parts []string
	for _, f := range dtoFields(v.Type()) {
		fv := v.Field(f.index)
		if isNil(fv) || fv.IsZero() {
			continue
		}
		text, err := encode(nil, formatJSV, fv.Interface())
		if err != nil {
			continue
		}
		parts = append(parts, url.QueryEscape(f.pascal)+"="+url.QueryEscape(string(text)))
	}
	return strings.Join(parts, "&")
}

var metadataTemplate = template.Must(template.New("metadata").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Billing operations</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h2{margin-top:2.5rem;border-bottom:1px solid #ccc}
pre{background:#f6f6f6;padding:.75rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}
code{background:#f2f2f2;padding:0 .2rem}
</style></head><body>
<h1>Billing operations</h1>
<p>Every operation answers in JSON (the default), JSV, XML and CSV. Choose with a route suffix
(<code>.jsv</code>), which wins over <code>?format=jsv</code>, which wins over the HTTP Accept header.
JSON answers can be wrapped for JSONP with <code>?callback=name</code> (requests with an Authorization header only).
Errors come back as <code>{"responseStatus":{"errorCode","message","errors":[{"errorCode","fieldName","message"}]}}</code>
in the same format. TypeScript DTOs for <code>@servicestack/client</code>: <a href="/types/typescript">/types/typescript</a>.
The OpenAPI 3.1 document of every route, both faces: <a href="/openapi.json">/openapi.json</a>.</p>
<ul>{{range .Operations}}<li><a href="#{{.Name}}">{{.Name}}</a> — {{.Summary}}</li>{{end}}</ul>
{{range .Operations}}
<h2 id="{{.Name}}">{{.Name}}</h2>
<p>{{.Summary}}</p>
<p><b>Routes</b> ({{.Method}}):</p><ul>{{range .Routes}}<li><code>{{.}}</code></li>{{end}}</ul>
<p><b>Roles</b>: {{.Roles}}. <b>Answer</b>: <code>{{.Response}}</code>.</p>
<table><thead><tr><th>Parameter</th><th>Type</th><th>In</th></tr></thead><tbody>
{{range .Params}}<tr><td>{{.Name}}</td><td>{{.Type}}</td><td>{{.Where}}</td></tr>{{end}}
</tbody></table>
{{range .Samples}}<h3>{{.Format}}</h3>
<p>Sample request:</p><pre>{{.Request}}</pre>
<p>Sample answer:</p><pre>{{.Response}}</pre>{{end}}
{{end}}
</body></html>
`))
