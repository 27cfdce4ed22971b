package handlertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Contract is the server's own /openapi.json, loaded for checking answers
// against it. Checking works at the level the document describes: JSON
// bodies against their schemas; XML, JSV, JSONP and CSV bodies by status
// and content type, as text (CSV must also parse as CSV).
type Contract struct {
	doc    *openapi3.T
	router routers.Router
	folded routers.Router // the same paths in lower case: ServiceStack routes match in any case
}

// Routes the document does not describe because they are not API: the
// dashboard, probes, metrics, and the metadata pages.
var notAPI = []string{"/static/", "/healthz", "/readyz", "/metrics", "/metadata", "/types/typescript", "/openapi.json"}

// registerDecoders teaches openapi3filter (whose registry is its own
// package state) to read the text formats as strings.
var registerDecoders = sync.OnceFunc(func() {
	for _, ct := range []string{"application/xml", "text/jsv", "application/jsv", "text/javascript"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
})

// loaded keeps each document loaded once per test binary, by its ETag:
// loading and routing 190 paths costs far more than a test's requests.
var loaded sync.Map // ETag -> *Contract

// LoadContract fetches and loads the document a server serves.
func LoadContract(t testing.TB, baseURL string) *Contract {
	t.Helper()
	registerDecoders()
	res, err := http.Get(baseURL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %v", res.StatusCode, err)
	}
	etag := res.Header.Get("ETag")
	if c, ok := loaded.Load(etag); ok {
		return c.(*Contract)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("loading /openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("/openapi.json is not valid: %v", err)
	}
	c := &Contract{doc: doc}
	if c.router, err = gorillamux.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	folded, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatal(err)
	}
	lower := openapi3.NewPaths()
	for path, item := range folded.Paths.Map() {
		lower.Set(strings.ToLower(path), item)
	}
	folded.Paths = lower
	if c.folded, err = gorillamux.NewRouter(folded); err != nil {
		t.Fatal(err)
	}
	loaded.Store(etag, c)
	return c
}

// Check says what is wrong with an answer to req, or nil; reqBody is what
// req carried. A request answered 2xx must itself be one the document
// describes (the server took it), so it is checked too.
func (c *Contract) Check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	for _, p := range notAPI {
		if req.URL.Path == p || strings.HasPrefix(req.URL.Path, p) && strings.HasSuffix(p, "/") {
			return nil
		}
	}
	if req.URL.Path == "/" {
		return nil
	}
	route, params, err := c.router.FindRoute(req)
	if errors.Is(err, routers.ErrPathNotFound) {
		lower := req.Clone(req.Context())
		lower.URL.Path, lower.URL.RawPath = strings.ToLower(req.URL.Path), ""
		route, params, err = c.folded.FindRoute(lower)
		if err == nil {
			params = pathParamsAsSent(route, req.URL.Path)
		}
	}
	if err != nil {
		// A path or method the document has no operation for can only be
		// refused: the document cannot list every path that does not exist.
		if status >= 400 && status < 500 {
			return nil
		}
		return fmt.Errorf("%s %s answered %d, but the document has no such operation (%v)", req.Method, req.URL.Path, status, err)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	if status >= 200 && status < 300 {
		sent := req.Clone(req.Context())
		sent.Body = io.NopCloser(bytes.NewReader(reqBody))
		if err := openapi3filter.ValidateRequest(req.Context(), &openapi3filter.RequestValidationInput{Request: sent, PathParams: params, Route: route, Options: opts}); err != nil {
			return fmt.Errorf("%s %s was answered %d, but %s does not describe the request: %v\nbody: %.400s", req.Method, req.URL.RequestURI(), status, route.Path, err, reqBody)
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		return fmt.Errorf("%s %s answered %d %s, which %s does not describe: %v\nbody: %.400s", req.Method, req.URL.Path, status, header.Get("Content-Type"), route.Path, err, body)
	}
	return nil
}

// pathParamsAsSent reads the path parameters of a route found through the
// lower-case router from the path as sent: under the names the operation
// declares ({accountsid} is AccountSid) and in their own letter case (the
// SID's AC).
func pathParamsAsSent(route *routers.Route, path string) map[string]string {
	declared := map[string]string{}
	for _, p := range append(route.PathItem.Parameters, route.Operation.Parameters...) {
		if p.Value != nil && p.Value.In == "path" {
			declared[strings.ToLower(p.Value.Name)] = p.Value.Name
		}
	}
	out := map[string]string{}
	sent := strings.Split(path, "/")
	for i, seg := range strings.Split(route.Path, "/") {
		open, shut := strings.Index(seg, "{"), strings.Index(seg, "}")
		if open < 0 || shut < open || i >= len(sent) || len(sent[i]) < len(seg)-shut-1+open {
			continue
		}
		name := seg[open+1 : shut]
		if n, ok := declared[strings.ToLower(name)]; ok {
			name = n
		}
		out[name] = sent[i][open : len(sent[i])-(len(seg)-shut-1)]
	}
	return out
}

// Validating wraps a transport so that every answer it carries is checked
// against the contract; one the document does not describe fails t.
func (c *Contract) Validating(t testing.TB, next http.RoundTripper) http.RoundTripper {
	return checkedTransport{t: t, c: c, next: next}
}

type checkedTransport struct {
	t    testing.TB
	c    *Contract
	next http.RoundTripper
}

func (ct checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var sent []byte
	if req.Body != nil {
		var err error
		if sent, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(sent))
	}
	res, err := ct.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return res, nil // the caller sees the short body and reports it
	}
	if err := ct.c.Check(req, sent, res.StatusCode, res.Header, body); err != nil {
		ct.t.Errorf("OpenAPI contract: %v", err)
	}
	return res, nil
}
