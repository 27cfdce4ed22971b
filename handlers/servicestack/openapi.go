package servicestack

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"

	"github.com/evovoice/billing/handlers/openapi"
)

// OpenAPI describes the face for /openapi.json: every registered
// operation on each of its routes, from the same registry that routes it
// and writes /metadata (samples included), and the sign-in routes.
func (f *Face) OpenAPI() (openapi.Part, error) {
	p := openapi.Part{
		Tags: []openapi.Tag{
			{Name: tagOperations, Description: "ServiceStack operations: JSON, JSV, XML and CSV on every route; see /metadata."},
			{Name: tagSignIn, Description: "The dashboard's sign-in, ServiceStack's /auth routes."},
		},
		Paths:     map[string]openapi.PathItem{},
		Schemas:   map[string]openapi.Schema{},
		Responses: map[string]openapi.Response{},
		Parameters: map[string]openapi.Parameter{
			"format": {Name: "format", In: "query", Description: "The answer's format when the route has no suffix; ServiceStack's modifiers after a dot (csv.foo) are ignored.",
				Schema: openapi.Schema{"type": "string", "anyOf": []openapi.Schema{{"enum": []string{"json", "jsv", "xml", "csv"}}, {"pattern": `^(json|jsv|xml|csv)(\.[A-Za-z0-9]+)*$`}}}},
			"callback": {Name: "callback", In: "query",
				Description: "JSONP: wraps a JSON answer in this function (requests with an Authorization header only).",
				Schema:      openapi.Schema{"type": "string", "pattern": `^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$`, "maxLength": 128}},
		},
	}
	g := schemaGen{schemas: p.Schemas}
	errSchema := g.schema(reflect.TypeFor[ErrorResponse]())
	for fm := format(0); fm <= formatCSV; fm++ {
		// An error found before the format is known (a bad suffix or
		// callback, a cross-site refusal) is JSON whatever the route.
		c := contentOf(fm, errSchema, nil)
		c["application/json"] = openapi.MediaType{Schema: errSchema}
		p.Responses[errorName(fm)] = openapi.Response{Description: "ServiceStack's ErrorResponse, in the route's format (JSON when the request was refused before its format was known)", Content: c}
	}
	for _, op := range f.ops.list {
		d, err := describeOpenAPI(op, &g, errSchema)
		if err != nil {
			return p, err
		}
		for path, item := range d {
			p.Paths[path] = item
		}
	}
	signInPaths(p.Paths, &g, errSchema)
	return p, nil
}

const (
	tagOperations = "ServiceStack"
	tagSignIn     = "Sign-in"
)

// route is one way to reach an operation: a path, its operationId suffix,
// the format its suffix fixes (0: negotiated) and the one its path
// prefers (/{format}/reply/: ?format= still wins over it).
type route struct {
	path, id   string
	format     format
	pathFormat format
}

func routesOf(op *Operation) []route {
	var rs []route
	add := func(path, id string) {
		rs = append(rs, route{path: path, id: op.Name + id})
		for fm := formatJSON; fm <= formatCSV; fm++ {
			rs = append(rs, route{path: path + "." + fm.String(), id: op.Name + id + "_" + fm.String(), format: fm})
		}
	}
	add(op.Path, "")
	add("/api/"+op.Name, "_api")
	for fm := formatJSON; fm <= formatCSV; fm++ {
		for _, kind := range []string{"reply", "oneway"} {
			rs = append(rs, route{path: "/" + fm.String() + "/" + kind + "/" + op.Name, id: op.Name + "_" + fm.String() + "_" + kind, pathFormat: fm})
		}
	}
	return rs
}

// mediaTypes are the content types each format answers with.
var mediaTypes = map[format][]string{
	formatJSON: {"application/json"},
	formatJSV:  {"text/jsv", "application/jsv"},
	formatXML:  {"application/xml"},
	formatCSV:  {"text/csv"},
}

func describeOpenAPI(op *Operation, g *schemaGen, errSchema openapi.Schema) (map[string]openapi.PathItem, error) {
	var samples map[format]string
	var jsonReq, jsonResp any
	if op.Example != nil {
		req, resp := op.Example()
		samples = map[format]string{}
		for fm := formatJSON; fm <= formatCSV; fm++ {
			b, err := encode(nil, fm, resp)
			if err != nil {
				return nil, err
			}
			samples[fm] = string(b)
		}
		if err := json.Unmarshal([]byte(samples[formatJSON]), &jsonResp); err != nil {
			return nil, err
		}
		b, err := encode(nil, formatJSON, req)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &jsonReq); err != nil {
			return nil, err
		}
	}
	respSchema := g.schema(op.Response)
	reqType := derefType(op.Request)
	body := op.Method != http.MethodGet && op.Method != http.MethodDelete

	paths := map[string]openapi.PathItem{}
	for _, r := range routesOf(op) {
		var example func(format) any
		if samples != nil {
			example = func(fm format) any {
				if fm == formatJSON {
					return jsonResp
				}
				return samples[fm]
			}
		}
		o := &openapi.Operation{
			OperationID: r.id,
			Summary:     op.Summary,
			Tags:        []string{tagOperations},
			Responses: openapi.Responses{
				"200": {Description: op.Name + "'s answer", Content: contentOf(r.format, respSchema, example)},
			},
		}
		switch {
		case r.pathFormat != 0:
			o.Description = "A predefined route of " + op.Name + ": answers " + strings.ToUpper(r.pathFormat.String()) + " unless ?format= names another format."
		case r.format == 0 && op.Path != r.path:
			o.Description = "A predefined route of " + op.Name + "."
		}
		errors := []string{"400", "406", "413", "415", "500", "503"}
		if body {
			errors = append(errors, "409")
		}
		if len(op.Roles) > 0 {
			o.Security = []openapi.Requirement{{openapi.BearerJWT: {}}, {openapi.SessionCookie: {}}}
			errors = append(errors, "401", "403", "404")
			o.Description = strings.TrimSpace(o.Description + " Roles: " + strings.Join(op.Roles, " or ") + ".")
		}
		for _, status := range errors {
			o.Responses[status] = openapi.ResponseRef(errorName(r.format))
		}
		if r.format == 0 {
			o.Parameters = append(o.Parameters, openapi.ParamRef("format"))
		}
		if r.format == 0 || r.format == formatJSON {
			o.Parameters = append(o.Parameters, openapi.ParamRef("callback"))
		}
		if body {
			o.RequestBody = &openapi.RequestBody{Required: true, Content: map[string]openapi.MediaType{
				"application/json":                  {Schema: g.schema(op.Request), Example: jsonReq},
				"text/jsv":                          {Schema: openapi.Schema{"type": "string", "description": "the request in JSV"}},
				"application/jsv":                   {Schema: openapi.Schema{"type": "string", "description": "the request in JSV"}},
				"application/x-www-form-urlencoded": {Schema: formSchema(reqType)},
			}}
		} else {
			for _, fd := range dtoFields(reqType) {
				prm := openapi.Parameter{Name: fd.pascal, In: "query", Schema: g.field(reqType.Field(fd.index), true)}
				if m, ok := jsonReq.(map[string]any); ok && m[fd.name] != nil {
					prm.Example = m[fd.name]
				}
				if fd.typ.Kind() == reflect.Slice {
					prm.Description = "A comma-separated list, optionally in [ ] (JSV)."
					prm.Example = nil
				}
				o.Parameters = append(o.Parameters, prm)
			}
		}
		paths[r.path] = openapi.PathItem{strings.ToLower(op.Method): o}
	}
	return paths, nil
}

// errorName names the shared error response of a route's format.
func errorName(fm format) string {
	if fm == 0 {
		return "ErrorResponse"
	}
	return "ErrorResponse_" + fm.String()
}

// contentOf is what a route of a fixed format (0: negotiated) answers:
// JSON by its schema, the other formats as text, JSONP where JSON is.
func contentOf(only format, schema openapi.Schema, example func(format) any) map[string]openapi.MediaType {
	formats := []format{only}
	if only == 0 {
		formats = []format{formatJSON, formatJSV, formatXML, formatCSV}
	}
	c := map[string]openapi.MediaType{}
	for _, fm := range formats {
		for _, mt := range mediaTypes[fm] {
			m := openapi.MediaType{Schema: openapi.Schema{"type": "string", "description": strings.ToUpper(fm.String()) + " text"}}
			if fm == formatJSON {
				m.Schema = schema
			}
			if example != nil {
				m.Example = example(fm)
			}
			c[mt] = m
		}
	}
	if only == 0 || only == formatJSON {
		c["text/javascript"] = openapi.MediaType{Schema: openapi.Schema{"type": "string", "description": "JSONP: the JSON answer wrapped in the callback"}}
	}
	return c
}

// formSchema is a request DTO as a form: each field as text (JSV for
// lists and objects).
func formSchema(t reflect.Type) openapi.Schema {
	props := map[string]any{}
	for _, fd := range dtoFields(t) {
		props[fd.name] = openapi.Schema{"type": "string", "description": "JSV text for lists and objects"}
	}
	return openapi.Schema{"type": "object", "properties": props}
}

// signInBody is Authenticate as ServiceStack binds it: names in any letter
// case, so both the JavaScript clients' camelCase and the C# clients'
// PascalCase.
func signInBody() openapi.Schema {
	return openapi.Schema{"type": "object",
		"properties": map[string]any{
			"userName": openapi.Schema{"type": "string"}, "password": openapi.Schema{"type": "string", "format": "password"},
			"UserName": openapi.Schema{"type": "string"}, "Password": openapi.Schema{"type": "string", "format": "password"},
		},
		"anyOf": []openapi.Schema{{"required": []string{"userName", "password"}}, {"required": []string{"UserName", "Password"}}},
	}
}

// signInPaths describes /auth/credentials, /auth/logout and /auth.
func signInPaths(paths map[string]openapi.PathItem, g *schemaGen, errSchema openapi.Schema) {
	jsonOf := func(s openapi.Schema) map[string]openapi.MediaType {
		return map[string]openapi.MediaType{"application/json": {Schema: s}}
	}
	errs := func(o *openapi.Operation, statuses ...string) *openapi.Operation {
		for _, s := range statuses {
			o.Responses[s] = openapi.Response{Description: http.StatusText(atoi(s)) + ": ServiceStack's ErrorResponse", Content: jsonOf(errSchema)}
		}
		return o
	}
	session := g.schema(reflect.TypeFor[AuthenticateResponse]())
	cookie := map[string]openapi.Header{"Set-Cookie": {Description: "ss-tok, the session's token (HttpOnly, SameSite=Strict)", Schema: openapi.Schema{"type": "string"}}}
	paths["/auth/credentials"] = openapi.PathItem{"post": errs(&openapi.Operation{
		OperationID: "SignIn", Summary: "Signs in with a user name and password; sets the ss-tok cookie.", Tags: []string{tagSignIn},
		RequestBody: &openapi.RequestBody{Required: true, Content: map[string]openapi.MediaType{
			"application/json":                  {Schema: signInBody()},
			"application/x-www-form-urlencoded": {Schema: signInBody()},
		}},
		Responses: openapi.Responses{"200": {Description: "Signed in", Headers: cookie, Content: jsonOf(session)}},
	}, "400", "401", "403", "413", "415", "429", "500", "503")}
	paths["/auth/logout"] = openapi.PathItem{"post": errs(&openapi.Operation{
		OperationID: "SignOut", Summary: "Ends the dashboard's session: clears the ss-tok cookie.", Tags: []string{tagSignIn},
		Responses: openapi.Responses{"200": {Description: "Signed out", Headers: cookie, Content: jsonOf(openapi.Schema{"type": "object"})}},
	}, "403", "413")}
	paths["/auth"] = openapi.PathItem{"get": errs(&openapi.Operation{
		OperationID: "Session", Summary: "Who the session (or bearer token) is.", Tags: []string{tagSignIn},
		Security:  []openapi.Requirement{{openapi.BearerJWT: {}}, {openapi.SessionCookie: {}}},
		Responses: openapi.Responses{"200": {Description: "The session", Content: jsonOf(session)}},
	}, "401")}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// schemaGen writes JSON Schemas of DTO types, each struct once under
// components.
type schemaGen struct{ schemas map[string]openapi.Schema }

func (g *schemaGen) schema(t reflect.Type) openapi.Schema {
	t = derefType(t)
	switch scalarOf(t) {
	case scalarString, scalarText:
		if t == rawMessageType {
			return openapi.Schema{}
		}
		return openapi.Schema{"type": "string"}
	case scalarBool:
		return openapi.Schema{"type": "boolean"}
	case scalarInt, scalarUint:
		return openapi.Schema{"type": "integer"}
	case scalarFloat:
		return openapi.Schema{"type": "number"}
	case scalarDecimal:
		return openapi.Schema{"type": "number", "description": "an exact decimal, digit for digit"}
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return openapi.Schema{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return openapi.Schema{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		name := t.Name()
		if _, done := g.schemas[name]; !done {
			g.schemas[name] = nil // recursion guard
			props, required := map[string]any{}, []string{}
			for _, fd := range dtoFields(t) {
				s := g.field(t.Field(fd.index), false)
				switch {
				case fd.typ.Kind() == reflect.Pointer && !fd.omitEmpty:
					s = nullable(s) // a nil pointer is written null
				case !fd.omitEmpty:
					required = append(required, fd.name)
				}
				props[fd.name] = s
			}
			g.schemas[name] = openapi.Schema{"type": "object", "properties": props, "required": required}
		}
		return openapi.Ref(name)
	}
	return openapi.Schema{}
}

// nullable lets a schema also be JSON null (OpenAPI 3.1: a type list, or
// anyOf for a reference).
func nullable(s openapi.Schema) openapi.Schema {
	if t, ok := s["type"].(string); ok {
		n := openapi.Schema{}
		for k, v := range s {
			n[k] = v
		}
		n["type"] = []string{t, "null"}
		return n
	}
	return openapi.Schema{"anyOf": []any{s, openapi.Schema{"type": "null"}}}
}

// field is a field's schema; its openapi tag names a word of the shared
// vocabulary (date, day, category, sid). asParam picks the request forms.
func (g *schemaGen) field(sf reflect.StructField, asParam bool) openapi.Schema {
	word := sf.Tag.Get("openapi")
	var s openapi.Schema
	switch word {
	case "date":
		s = openapi.Date()
	case "day":
		s = openapi.Day()
	case "category":
		if asParam {
			s = openapi.CategoryParam()
		} else {
			s = openapi.Category()
		}
	case "sid":
		if asParam && sf.Type.Kind() == reflect.Slice {
			return openapi.SidList() // one parameter, as ServiceStack reads a list
		}
		s = openapi.AccountSid()
	default:
		return g.schema(sf.Type)
	}
	if sf.Type.Kind() == reflect.Slice {
		return openapi.Schema{"type": "array", "items": s}
	}
	return s
}
