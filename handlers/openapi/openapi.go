// Package openapi assembles the service's OpenAPI 3.1 document from the
// parts each face describes (its paths and schemas) and serves it. It knows
// neither face: the server hands it their parts. The words both faces use
// (dates, categories, account SIDs, the security schemes) are defined here
// once.
package openapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/evovoice/billing/models"
)

// Schema is a JSON Schema 2020-12 object, as OpenAPI 3.1 embeds it.
type Schema = map[string]any

// Ref points at a schema under components.
func Ref(name string) Schema { return Schema{"$ref": "#/components/schemas/" + name} }

// Nullable is a scalar type that may also be null, the 3.1 way.
func Nullable(typ string) Schema { return Schema{"type": []string{typ, "null"}} }

// Part is what one face contributes: its paths, the schemas they refer to,
// and the tags that group them.
type Part struct {
	Tags       []Tag
	Paths      map[string]PathItem
	Schemas    map[string]Schema
	Responses  map[string]Response  // shared by many operations, under components
	Parameters map[string]Parameter // likewise
}

type Tag struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// PathItem maps a lower-case HTTP method to its operation.
type PathItem map[string]*Operation

type Operation struct {
	OperationID string        `json:"operationId"`
	Summary     string        `json:"summary"`
	Description string        `json:"description,omitempty"`
	Tags        []string      `json:"tags"`
	Security    []Requirement `json:"security"` // empty: no credentials needed
	Parameters  []Parameter   `json:"parameters,omitempty"`
	RequestBody *RequestBody  `json:"requestBody,omitempty"`
	Responses   Responses     `json:"responses"`
}

// Requirement names one security scheme that suffices.
type Requirement map[string][]string

type Parameter struct {
	Ref         string `json:"$ref,omitempty"` // alone, for a shared one (ParamRef)
	Name        string `json:"name,omitempty"`
	In          string `json:"in,omitempty"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Schema      Schema `json:"schema,omitempty"`
	Example     any    `json:"example,omitempty"`
}

// ParamRef points at a parameter under components.
func ParamRef(name string) Parameter { return Parameter{Ref: "#/components/parameters/" + name} }

// ResponseRef points at a response under components.
func ResponseRef(name string) Response { return Response{Ref: "#/components/responses/" + name} }

type RequestBody struct {
	Description string               `json:"description,omitempty"`
	Required    bool                 `json:"required"`
	Content     map[string]MediaType `json:"content"`
}

type MediaType struct {
	Schema  Schema `json:"schema"`
	Example any    `json:"example,omitempty"`
}

// Responses maps a status code ("200") to its response.
type Responses map[string]Response

type Response struct {
	Ref         string               `json:"$ref,omitempty"` // alone, for a shared one (ResponseRef)
	Description string               `json:"description,omitempty"`
	Headers     map[string]Header    `json:"headers,omitempty"`
	Content     map[string]MediaType `json:"content,omitempty"`
}

type Header struct {
	Description string `json:"description,omitempty"`
	Schema      Schema `json:"schema"`
}

// The security schemes, by the names operations use.
const (
	BearerJWT     = "bearerJWT"
	SessionCookie = "ssTokCookie"
	BasicAuth     = "basicAuth"
)

var securitySchemes = map[string]any{
	BearerJWT: map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
		"description": "A JWT naming the caller's roles (SystemAdministrator, Manager) and accounts."},
	SessionCookie: map[string]any{"type": "apiKey", "in": "cookie", "name": "ss-tok",
		"description": "The dashboard's sign-in session: the same JWT, set by POST /auth/credentials."},
	BasicAuth: map[string]any{"type": "http", "scheme": "basic",
		"description": "Twilio style: an account SID and that account's auth token (Restcomm / Twilio face only)."},
}

// Date is a query date: a calendar day (UTC) or an offset from today.
func Date() Schema {
	return Schema{
		"description": "A UTC calendar day (YYYY-MM-DD) or an offset from today in whole days (-30days, +30days, -1day, 0days).",
		"anyOf": []Schema{
			{"type": "string", "format": "date"},
			{"type": "string", "pattern": `^[+-]?\d{1,7}days?$`},
		},
	}
}

// Day is a calendar day as answers write it.
func Day() Schema { return Schema{"type": "string", "format": "date"} }

// Category is a usage category as answers write it.
func Category() Schema {
	return Schema{"type": "string", "enum": models.CategoryNames()}
}

// CategoryParam is a category as requests may spell it: a name of the
// catalog, or the same in any letter case with _ for - (SMS_OUTBOUND, the
// Restcomm enum spelling older clients send).
func CategoryParam() Schema {
	s := anyCase(models.CategoryNames(), "[-_]")
	s["description"] = "A usage category; requests may use any letter case and _ for -."
	return s
}

// AnyCase is one of words, in any letter case (the words as written are
// the enum clients see).
func AnyCase(words ...string) Schema {
	s := anyCase(words, "-")
	s["description"] = "In any letter case."
	return s
}

// anyCase is one of words with every letter in either case and each
// hyphen written as hyphen.
func anyCase(words []string, hyphen string) Schema {
	alts := make([]string, len(words))
	for i, w := range words {
		var b strings.Builder
		for _, r := range w {
			switch lo, up := unicode.ToLower(r), unicode.ToUpper(r); {
			case r == '-':
				b.WriteString(hyphen)
			case lo != up:
				b.WriteString("[" + string(up) + string(lo) + "]")
			default:
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		alts[i] = b.String()
	}
	return Schema{"type": "string", "anyOf": []Schema{{"enum": words}, {"pattern": "^(" + strings.Join(alts, "|") + ")$"}}}
}

// SidList is account SIDs in one query parameter, as ServiceStack reads a
// list: separated by commas, optionally in [ ] (JSV).
func SidList() Schema {
	sid := "AC[0-9a-fA-F]{32}"
	return Schema{"type": "string", "description": "Account SIDs separated by commas, optionally in [ ] (JSV).",
		"pattern": `^\[?` + sid + `(,` + sid + `)*\]?$`}
}

// AccountSid is an account's SID.
func AccountSid() Schema {
	return Schema{"type": "string", "pattern": "^AC[0-9a-fA-F]{32}$", "example": "AC0000000000000000000000000000d002"}
}

// Document is the whole OpenAPI document, as JSON. Two parts describing
// the same path or two different schemas under one name are a build defect.
func Document(parts ...Part) ([]byte, error) {
	paths := map[string]PathItem{}
	schemas := map[string]Schema{}
	responses := map[string]Response{}
	parameters := map[string]Parameter{}
	var tags []Tag
	for _, p := range parts {
		tags = append(tags, p.Tags...)
		for path, item := range p.Paths {
			if _, dup := paths[path]; dup {
				return nil, fmt.Errorf("openapi: path %s is described twice", path)
			}
			for _, op := range item {
				if op.Security == nil {
					op.Security = []Requirement{}
				}
			}
			paths[path] = item
		}
		if err := merge(schemas, p.Schemas, "schema"); err != nil {
			return nil, err
		}
		if err := merge(responses, p.Responses, "response"); err != nil {
			return nil, err
		}
		if err := merge(parameters, p.Parameters, "parameter"); err != nil {
			return nil, err
		}
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Name < tags[j].Name })
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Billing",
			"version": "1",
			"summary": "Usage records over two faces: ServiceStack operations and the Twilio / Restcomm Usage API.",
			"description": "The ServiceStack operations answer in JSON (the default), JSV, XML and CSV, chosen by route suffix, then ?format=, then Accept; " +
				"errors are ServiceStack's ErrorResponse in the same format. The Twilio / Restcomm face answers XML by default, JSON and CSV by suffix " +
				"(or JSON by Accept), with Twilio's envelope, paging and errors. Routes of the ServiceStack face match in any letter case.",
			"license": map[string]any{"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
		},
		"servers":    []map[string]string{{"url": "/", "description": "this server"}},
		"tags":       tags,
		"paths":      paths,
		"components": map[string]any{"schemas": schemas, "responses": responses, "parameters": parameters, "securitySchemes": securitySchemes},
	}
	return json.Marshal(doc)
}

func merge[T any](into, from map[string]T, kind string) error {
	for name, v := range from {
		if old, dup := into[name]; dup && !reflect.DeepEqual(old, v) {
			return fmt.Errorf("openapi: %s %s is described twice, differently", kind, name)
		}
		into[name] = v
	}
	return nil
}

// Served is the document as an HTTP resource: no credentials, an ETag and
// If-None-Match, since clients and tools fetch it again and again.
type Served struct {
	body []byte
	etag string
}

func NewServed(doc []byte) *Served {
	sum := sha256.Sum256(doc)
	return &Served{body: doc, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

func (s *Served) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("ETag", s.etag)
	h.Set("Cache-Control", "no-cache")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, s.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", fmt.Sprint(len(s.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(s.body)
	}
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
