package servicestack

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Operation is one ServiceStack operation. Registering it (in New) is all an
// operation needs to get, with no further code:
//   - its custom route (Path) and the same with a .json, .jsv, .xml or .csv
//     suffix, matched in any letter case;
//   - the predefined routes /{json|jsv|xml|csv}/{reply|oneway}/{Name} and
//     /api/{Name}[.ext], Name in any letter case;
//   - content negotiation (suffix, then ?format=, then Accept; JSON by
//     default), JSONP, and errors as ErrorResponse in the negotiated format;
//   - authentication and the role check (Roles);
//   - an entry on /metadata and classes in /types/typescript.
//
// Build one with newOperation, which fills in the types from its functions.
type Operation struct {
	Name    string   // the request DTO's name, e.g. ListUsageRecords
	Method  string   // the one HTTP method it answers
	Path    string   // its custom route, e.g. /billing/usage
	Roles   []string // a caller needs one of them; empty means no token is needed
	Summary string   // one line for /metadata

	// BodyLimit bounds the request body (echo's notation, e.g. "16M");
	// defaultBodyLimit when empty.
	BodyLimit string

	// Request is the request DTO as clients send it and Response the answer's
	// type; both are read by /metadata and /types/typescript (json tags give
	// the wire names).
	Request, Response reflect.Type

	// Call binds the request from its input, runs the operation and returns
	// the answer, which is then encoded in the negotiated format.
	Call func(c echo.Context, in *Input) (any, error)

	// Example gives a sample request and answer for /metadata.
	Example func() (req, resp any)
}

// newOperation completes an Operation from typed parts: bind reads the
// request DTO (nil binds it generically, see Input.Bind) and handle answers it.
func newOperation[Req, Resp any](o Operation, bind func(*Input) (Req, error), handle func(echo.Context, Req) (Resp, error)) Operation {
	if bind == nil {
		bind = func(in *Input) (Req, error) {
			var r Req
			err := in.Bind(&r)
			return r, err
		}
	}
	o.Request, o.Response = reflect.TypeFor[Req](), reflect.TypeFor[Resp]()
	o.Call = func(c echo.Context, in *Input) (any, error) {
		req, err := bind(in)
		if err != nil {
			return nil, err
		}
		return handle(c, req)
	}
	return o
}

// operations is the service's registry, looked up by name in any case.
type operations struct {
	list   []*Operation
	byName map[string]*Operation // lower-case name
}

func (ops *operations) lookup(name string) (*Operation, bool) {
	o, ok := ops.byName[strings.ToLower(name)]
	return o, ok
}

// mount registers every operation's routes and the predefined routes
// (guarded by needsDB), and the metadata pages, on e.
func (f *Face) mount(e *echo.Echo, needsDB echo.MiddlewareFunc, list []Operation) {
	f.ops = &operations{byName: map[string]*Operation{}}
	for i := range list {
		op := &list[i]
		f.ops.list = append(f.ops.list, op)
		f.ops.byName[strings.ToLower(op.Name)] = op
		e.Add(op.Method, op.Path, f.serve(op), needsDB)
		e.Add(op.Method, op.Path+".:ext", f.serve(op), needsDB)
	}
	for format := formatJSON; format <= formatCSV; format++ {
		for _, kind := range []string{"reply", "oneway"} {
			e.Any("/"+format.String()+"/"+kind+"/:op", f.predefined(format), needsDB)
		}
	}
	e.Any("/api/:op", f.predefined(formatJSON), needsDB)
	e.GET("/metadata", f.metadata)
	e.GET("/types/typescript", f.typescript)
	e.Pre(f.caseInsensitiveRoutes())
}

// predefined serves /{fmt}/reply/{Op} and /api/{Op}[.ext] for any operation.
func (f *Face) predefined(pathFormat format) echo.HandlerFunc {
	return func(c echo.Context) error {
		name := c.Param("op")
		var suffix format
		if pathFormat == formatJSON && strings.HasPrefix(c.Path(), "/api/") {
			if base, ext, ok := strings.Cut(name, "."); ok {
				f, known := parseFormat(ext)
				if !known {
					return unknownSuffix(ext)
				}
				name, suffix = base, f
			}
		}
		op, ok := f.ops.lookup(name)
		if !ok {
			return &problem.Problem{Status: http.StatusNotFound, Code: "NotFound", Message: "There is no operation named " + name}
		}
		if c.Request().Method != op.Method {
			c.Response().Header().Set(echo.HeaderAllow, op.Method)
			return &problem.Problem{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: op.Name + " is called with " + op.Method}
		}
		return f.run(c, op, suffix, pathFormat)
	}
}

// serve serves an operation's custom route, with or without a suffix.
func (f *Face) serve(op *Operation) echo.HandlerFunc {
	return func(c echo.Context) error {
		var suffix format
		if ext := c.Param("ext"); ext != "" || strings.HasSuffix(c.Path(), ".:ext") {
			f, ok := parseFormat(ext)
			if !ok {
				return unknownSuffix(ext)
			}
			suffix = f
		}
		return f.run(c, op, suffix, 0)
	}
}

func unknownSuffix(ext string) error {
	return problem.BadRequest("format", models.CodeInvalid, fmt.Sprintf("Unknown format suffix %q: use .json, .jsv, .xml or .csv", "."+ext))
}

// run negotiates, authenticates, binds, calls the operation and answers.
func (f *Face) run(c echo.Context, op *Operation, suffix, pathFormat format) error {
	n, err := negotiate(c.Request(), suffix, pathFormat)
	c.Set(negotiationKey, n)
	if err != nil {
		return err
	}
	limit := op.BodyLimit
	if limit == "" {
		limit = defaultBodyLimit
	}
	call := func(c echo.Context) error {
		if p := auth.PrincipalOf(c); n.callback != "" && p != nil && p.Via != auth.ViaBearerHeader {
			return problem.BadRequest("callback", models.CodeInvalid, "JSONP is only answered to requests authenticated with an Authorization: Bearer header")
		}
		in, err := newInput(c)
		if err != nil {
			return err
		}
		resp, err := op.Call(c, in)
		if err != nil {
			return err
		}
		return respond(c, n, http.StatusOK, resp)
	}
	h := call
	if len(op.Roles) > 0 {
		h = f.verifier.RequireBearer(op.Roles...)(h)
	}
	return middleware.BodyLimit(limit)(h)(c)
}

// caseInsensitiveRoutes lets /Billing/Usage.JSON reach /billing/usage.json,
// as ServiceStack matches routes in any letter case. Only operation routes
// are rewritten; every other path is left to its own handler.
func (f *Face) caseInsensitiveRoutes() echo.MiddlewareFunc {
	paths := map[string]string{}
	for _, op := range f.ops.list {
		paths[strings.ToLower(op.Path)] = op.Path
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			p := strings.TrimSuffix(r.URL.Path, "/")
			base, ext := p, ""
			if i := strings.LastIndexByte(p, '.'); i > strings.LastIndexByte(p, '/') {
				base, ext = p[:i], p[i:]
			}
			if canonical, ok := paths[strings.ToLower(base)]; ok && canonical != base {
				r.URL.Path = canonical + strings.ToLower(ext)
				r.URL.RawPath = ""
			}
			return next(c)
		}
	}
}
