package servicestack

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/evovoice/billing/jsv"
	"github.com/shopspring/decimal"
)

// A DTO is a Go struct whose json tags give the camelCase wire names that
// JSON and JSV use. XML and CSV use the same names in PascalCase (ServiceStack
// applies camelCase to JSON and JSV only); /metadata and /types/typescript
// read the same fields. dtoField describes one field once per type.
type dtoField struct {
	name      string // camelCase, as in JSON
	pascal    string // as in XML and CSV
	index     int
	typ       reflect.Type
	kind      scalarKind // of typ without pointers, computed once
	omitEmpty bool
}

var dtoCache sync.Map // reflect.Type -> []dtoField

// dtoFields lists a struct type's wire fields in declaration order.
func dtoFields(t reflect.Type) []dtoField {
	if fs, ok := dtoCache.Load(t); ok {
		return fs.([]dtoField)
	}
	var fs []dtoField
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		fs = append(fs, dtoField{
			name:      name,
			pascal:    pascalCase(name),
			index:     i,
			typ:       sf.Type,
			kind:      scalarOf(derefType(sf.Type)),
			omitEmpty: strings.Contains(","+opts+",", ",omitempty,"),
		})
	}
	dtoCache.Store(t, fs)
	return fs
}

var xmlOrderCache sync.Map // reflect.Type -> []int

// xmlOrder lists a struct's fields in ordinal order of their PascalCase
// names, as DataContractSerializer writes them.
func xmlOrder(t reflect.Type) []int {
	if o, ok := xmlOrderCache.Load(t); ok {
		return o.([]int)
	}
	fs := dtoFields(t)
	order := make([]int, len(fs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(fs[a].pascal, fs[b].pascal) })
	xmlOrderCache.Store(t, order)
	return order
}

func pascalCase(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// scalarKind is how a value is written as text in XML, CSV and metadata.
type scalarKind int

const (
	notScalar scalarKind = iota
	scalarString
	scalarBool
	scalarInt
	scalarUint
	scalarFloat
	scalarDecimal
	scalarText // encoding.TextMarshaler
)

var (
	decimalType       = reflect.TypeFor[decimal.Decimal]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
)

// scalarOf classifies a type (pointers already removed).
func scalarOf(t reflect.Type) scalarKind {
	switch {
	case t == decimalType:
		return scalarDecimal
	case t == rawMessageType:
		return scalarText
	case t.Implements(textMarshalerType):
		if t.Kind() == reflect.Struct && t.NumField() == 1 && t.Field(0).Type == decimalType {
			return scalarDecimal // a decimal wrapper such as jsonDecimal
		}
		return scalarText
	}
	switch t.Kind() {
	case reflect.String:
		return scalarString
	case reflect.Bool:
		return scalarBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return scalarInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return scalarUint
	case reflect.Float32, reflect.Float64:
		return scalarFloat
	}
	return notScalar
}

// appendScalar writes a plain value's text, escaped by text; the formats
// differ only in escaping and in how they spell booleans. ok is false for a
// kind that is not a scalar.
func appendScalar(dst []byte, v reflect.Value, kind scalarKind, text func([]byte, string) []byte, boolean func([]byte, bool) []byte) (out []byte, ok bool, err error) {
	switch kind {
	case scalarString:
		return text(dst, v.String()), true, nil
	case scalarBool:
		return boolean(dst, v.Bool()), true, nil
	case scalarInt:
		return strconv.AppendInt(dst, v.Int(), 10), true, nil
	case scalarUint:
		return strconv.AppendUint(dst, v.Uint(), 10), true, nil
	case scalarFloat:
		return strconv.AppendFloat(dst, v.Float(), 'f', -1, v.Type().Bits()), true, nil
	case scalarDecimal:
		return jsv.AppendDecimal(dst, decimalOf(v)), true, nil
	case scalarText:
		if v.Type() == rawMessageType {
			return text(dst, string(v.Bytes())), true, nil
		}
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return dst, true, err
		}
		return text(dst, string(b)), true, nil
	}
	return dst, false, nil
}

// isNil reports a null value: a nil pointer, slice, map or interface.
func isNil(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		return v.IsNil()
	}
	return !v.IsValid()
}

// deref follows pointers and interfaces to the value (invalid for nil).
func deref(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
