package servicestack

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// XML is written as .NET's DataContractSerializer writes it for ServiceStack:
// compact, with an XML declaration, the i: (XMLSchema-instance) prefix
// declared before the default namespace, PascalCase elements in ordinal
// (byte-wise) order of their names, nulls as i:nil="true", and lists of
// plain values in the Serialization/Arrays namespace.
const (
	xmlDeclaration = `<?xml version="1.0" encoding="utf-8"?>`
	nsInstance     = "http://www.w3.org/2001/XMLSchema-instance"
	// nsDashboard is the data-contract namespace of Evo Voice's DTOs (CLR
	// namespace Voice.Api.Dashboard).
	nsDashboard    = "http://schemas.datacontract.org/2004/07/Voice.Api.Dashboard"
	nsServiceStack = "http://schemas.servicestack.net/types"
	nsArrays       = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
)

// appendXML writes a response DTO (a struct or a list) in the dashboard namespace.
func appendXML(dst []byte, v any) ([]byte, error) {
	rv := deref(reflect.ValueOf(v))
	if !rv.IsValid() {
		return dst, fmt.Errorf("xml: nothing to write")
	}
	root := contractName(rv.Type())
	dst = append(dst, xmlDeclaration...)
	dst = append(dst, '<')
	dst = append(dst, root...)
	dst = append(dst, ` xmlns:i="`+nsInstance+`" xmlns="`+nsDashboard+`"`...)
	start := len(dst)
	dst = append(dst, '>')
	dst, err := appendXMLContent(dst, rv, 0)
	if err != nil {
		return dst, err
	}
	if len(dst) == start+1 { // nothing inside: <Root ... />
		return append(dst[:start], " />"...), nil
	}
	return appendEndTag(dst, root), nil
}

// contractName is the data-contract name of a type: its Go name, or
// ArrayOf{Item} for a list.
func contractName(t reflect.Type) string {
	t = derefType(t)
	if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		return "ArrayOf" + contractName(t.Elem())
	}
	switch scalarOf(t) {
	case scalarString:
		return "string"
	case scalarBool:
		return "boolean"
	case scalarInt:
		if t.Bits() == 64 {
			return "long"
		}
		return "int"
	case scalarUint:
		if t.Bits() == 64 {
			return "unsignedLong"
		}
		return "unsignedInt"
	case scalarFloat:
		return "double"
	case scalarDecimal:
		return "decimal"
	}
	return t.Name()
}

// appendXMLContent writes the children of an element holding v.
func appendXMLContent(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	if depth > 32 {
		return dst, fmt.Errorf("xml: value nested too deep")
	}
	if k := scalarOf(v.Type()); k != notScalar {
		return appendXMLScalar(dst, v, k)
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		elem := derefType(v.Type().Elem())
		name := contractName(elem)
		prefix := ""
		if scalarOf(elem) != notScalar {
			prefix = "d2p1:" // declared by the enclosing member element
		}
		var err error
		for i := range v.Len() {
			e := v.Index(i)
			if isNil(e) {
				dst = append(dst, '<')
				dst = append(dst, prefix+name...)
				dst = append(dst, ` i:nil="true" />`...)
				continue
			}
			if dst, err = appendXMLElement(dst, prefix+name, "", deref(e), depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		entry := "d2p1:KeyValueOf" + contractName(v.Type().Key()) + contractName(v.Type().Elem())
		var err error
		for _, k := range keys {
			dst = append(dst, '<')
			dst = append(dst, entry...)
			dst = append(dst, '>')
			dst = appendXMLText(append(dst, "<d2p1:Key>"...), k.String())
			dst = append(dst, "</d2p1:Key>"...)
			if dst, err = appendXMLMember(dst, "d2p1:Value", v.MapIndex(k), depth+1); err != nil {
				return dst, err
			}
			dst = appendEndTag(dst, entry)
		}
		return dst, nil
	case reflect.Struct:
		fs := dtoFields(v.Type())
		var err error
		for _, i := range xmlOrder(v.Type()) {
			f := fs[i]
			fv := v.Field(f.index)
			if f.kind != notScalar && !isNil(fv) {
				// Plain member: written directly, the common case.
				dst = append(dst, '<')
				dst = append(dst, f.pascal...)
				dst = append(dst, '>')
				if dst, err = appendXMLScalar(dst, deref(fv), f.kind); err != nil {
					return dst, err
				}
				dst = appendEndTag(dst, f.pascal)
				continue
			}
			if dst, err = appendXMLMember(dst, f.pascal, fv, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	return dst, fmt.Errorf("xml: cannot write a %s", v.Kind())
}

// appendXMLMember writes one member element, i:nil when it is null.
func appendXMLMember(dst []byte, name string, v reflect.Value, depth int) ([]byte, error) {
	if isNil(v) {
		dst = append(dst, '<')
		dst = append(dst, name...)
		return append(dst, ` i:nil="true" />`...), nil
	}
	v = deref(v)
	attrs := ""
	if t := v.Type(); ((t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && scalarOf(derefType(t.Elem())) != notScalar && t != rawMessageType) || t.Kind() == reflect.Map {
		attrs = ` xmlns:d2p1="` + nsArrays + `"`
	}
	return appendXMLElement(dst, name, attrs, v, depth)
}

// appendXMLElement writes <name attrs>content</name>, or <name attrs /> when
// a list or object has no content.
func appendXMLElement(dst []byte, name, attrs string, v reflect.Value, depth int) ([]byte, error) {
	dst = append(dst, '<')
	dst = append(dst, name...)
	dst = append(dst, attrs...)
	dst = append(dst, '>')
	start := len(dst)
	dst, err := appendXMLContent(dst, v, depth)
	if err != nil {
		return dst, err
	}
	if len(dst) == start && scalarOf(v.Type()) == notScalar {
		return append(dst[:start-1], " />"...), nil
	}
	return appendEndTag(dst, name), nil
}

func appendEndTag(dst []byte, name string) []byte {
	dst = append(dst, '<', '/')
	dst = append(dst, name...)
	return append(dst, '>')
}

// appendXMLScalar writes a plain value's text.
func appendXMLScalar(dst []byte, v reflect.Value, kind scalarKind) ([]byte, error) {
	if out, ok, err := appendScalar(dst, v, kind, appendXMLText, strconv.AppendBool); ok {
		return out, err
	}
	return dst, fmt.Errorf("xml: cannot write a %s", v.Kind())
}

// decimalOf reads a decimal or a one-field decimal wrapper (through a
// pointer when it can, which saves boxing a copy).
func decimalOf(v reflect.Value) decimal.Decimal {
	if v.Type() != decimalType {
		v = v.Field(0)
	}
	if v.CanAddr() {
		return *v.Addr().Interface().(*decimal.Decimal)
	}
	return v.Interface().(decimal.Decimal)
}

// appendXMLText escapes text as .NET's XmlWriter does (&, <, >, and \r as a
// character reference); characters XML 1.0 cannot carry become U+FFFD so that
// the document always parses.
func appendXMLText(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				dst = append(dst, "&amp;"...)
			case c == '<':
				dst = append(dst, "&lt;"...)
			case c == '>':
				dst = append(dst, "&gt;"...)
			case c == '\r':
				dst = append(dst, "&#xD;"...)
			case c < 0x20 && c != '\n' && c != '\t':
				dst = append(dst, "\uFFFD"...)
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}
