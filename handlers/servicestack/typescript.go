package servicestack

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/labstack/echo/v4"
)

// typescript serves /types/typescript: the operations' DTOs as TypeScript
// classes in the shape ServiceStack's "Add ServiceStack Reference" generates,
// so that @servicestack/client's JsonServiceClient uses them as they are
// (getTypeName names the operation for /api/{Name}, getMethod picks the verb,
// createResponse gives the answer's type).
func (f *Face) typescript(c echo.Context) error {
	base := c.Scheme() + "://" + c.Request().Host
	body := generateTypeScript(f.ops.list, base, f.usage.Now().UTC().Format("2006-01-02 15:04:05"))
	return reply.Body(c, http.StatusOK, "text/plain; charset=utf-8", []byte(body))
}

func generateTypeScript(ops []*Operation, baseURL, date string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `/* Options:
Date: %s
Version: 8
Tip: To override a DTO option, remove "//" prefix before updating
BaseUrl: %s

//GlobalNamespace: 
//MakePropertiesOptional: False
//AddServiceStackTypes: True
//AddResponseStatus: False
//AddImplicitVersion: 
//AddDescriptionAsComments: True
//IncludeTypes: 
//ExcludeTypes: 
//DefaultImports: 
*/

`, date, baseURL)
	b.WriteString(`export interface IReturn<T>
{
    createResponse(): T;
}

export interface IReturnVoid
{
    createResponse(): void;
}

export interface IGet
{
}

export interface IPost
{
}

export interface IPut
{
}

export interface IDelete
{
}

export interface IPatch
{
}

`)
	g := tsGen{seen: map[reflect.Type]bool{}, b: &b}
	// ServiceStack's own error types, then every type the operations use.
	g.class(reflect.TypeFor[ErrorResponse](), "")
	for _, op := range ops {
		g.request(op)
	}
	return b.String()
}

type tsGen struct {
	seen map[reflect.Type]bool
	b    *strings.Builder
}

// class writes a plain DTO class once, its dependencies first.
func (g *tsGen) class(t reflect.Type, comment string) {
	t = derefType(t)
	if g.seen[t] || t.Kind() != reflect.Struct || scalarOf(t) != notScalar {
		return
	}
	g.seen[t] = true
	for _, f := range dtoFields(t) {
		g.classesIn(f.typ)
	}
	g.b.WriteString(comment)
	fmt.Fprintf(g.b, "export class %s\n{\n", t.Name())
	g.properties(t)
	fmt.Fprintf(g.b, "\n    public constructor(init?: Partial<%s>) { (Object as any).assign(this, init); }\n}\n\n", t.Name())
}

// classesIn writes the classes of the structs a field type holds.
func (g *tsGen) classesIn(t reflect.Type) {
	t = derefType(t)
	switch {
	case scalarOf(t) != notScalar:
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map:
		g.classesIn(t.Elem())
	case t.Kind() == reflect.Struct:
		g.class(t, "")
	}
}

func (g *tsGen) properties(t reflect.Type) {
	for _, f := range dtoFields(t) {
		opt := ""
		if f.omitEmpty || f.typ.Kind() == reflect.Pointer {
			opt = "?"
		}
		fmt.Fprintf(g.b, "    public %s%s: %s;\n", f.name, opt, tsType(f.typ))
	}
}

// request writes an operation's request DTO class.
func (g *tsGen) request(op *Operation) {
	for _, f := range dtoFields(derefType(op.Request)) {
		g.classesIn(f.typ)
	}
	g.classesIn(op.Response)
	name := op.Name
	resp := tsType(op.Response)
	marker := map[string]string{http.MethodGet: "IGet", http.MethodPost: "IPost", http.MethodPut: "IPut", http.MethodDelete: "IDelete", http.MethodPatch: "IPatch"}[op.Method]
	if op.Summary != "" {
		fmt.Fprintf(g.b, "/**\n* %s\n*/\n", strings.ReplaceAll(op.Summary, "*/", "* /"))
	}
	fmt.Fprintf(g.b, "// @Route(%q, %q)\n", op.Path, op.Method)
	if len(op.Roles) > 0 {
		fmt.Fprintf(g.b, "// @RequiresAnyRole(%s)\n", quotedList(op.Roles))
	}
	fmt.Fprintf(g.b, "export class %s implements IReturn<%s>", name, resp)
	if marker != "" {
		fmt.Fprintf(g.b, ", %s", marker)
	}
	g.b.WriteString("\n{\n")
	g.properties(derefType(op.Request))
	fmt.Fprintf(g.b, "\n    public constructor(init?: Partial<%s>) { (Object as any).assign(this, init); }\n", name)
	fmt.Fprintf(g.b, "    public createResponse() { return %s; }\n", tsNew(op.Response))
	fmt.Fprintf(g.b, "    public getTypeName() { return '%s'; }\n", name)
	fmt.Fprintf(g.b, "    public getMethod() { return '%s'; }\n}\n\n", op.Method)
}

func quotedList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ",")
}

// tsType is the TypeScript type of a wire value.
func tsType(t reflect.Type) string {
	t = derefType(t)
	switch scalarOf(t) {
	case scalarString:
		return "string"
	case scalarBool:
		return "boolean"
	case scalarInt, scalarUint, scalarFloat, scalarDecimal:
		return "number"
	case scalarText:
		if t == rawMessageType {
			return "any"
		}
		return "string"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return tsType(t.Elem()) + "[]"
	case reflect.Map:
		return "{ [index: string]: " + tsType(t.Elem()) + "; }"
	case reflect.Struct:
		return t.Name()
	}
	return "any"
}

// tsNew is the empty answer createResponse returns.
func tsNew(t reflect.Type) string {
	t = derefType(t)
	switch {
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "new Array<" + tsType(t.Elem()) + ">()"
	case t.Kind() == reflect.Struct && scalarOf(t) == notScalar:
		return "new " + t.Name() + "()"
	case scalarOf(t) == scalarString:
		return "''"
	}
	return "{}"
}
