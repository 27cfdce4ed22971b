package jsv

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Appender is implemented by types that write their own JSV. Marshal uses it
// in preference to reflection; hot paths call it directly.
type Appender interface {
	AppendJSV(dst []byte) []byte
}

// escapeChars are the characters that make ServiceStack quote a string.
const escapeChars = "\":,{}[]\r\n"

// NeedsQuotes reports whether s must be quoted in JSV. The empty string is
// written as "" although it has nothing to escape.
func NeedsQuotes(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"', ':', ',', '{', '}', '[', ']', '\r', '\n':
			return true
		}
	}
	return false
}

// AppendString writes a string value: raw, or quoted with its quotes doubled.
func AppendString(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, '"', '"')
	}
	if !NeedsQuotes(s) {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, '"')
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, '"')
}

// AppendInt writes an integer.
func AppendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// AppendBool writes True or False, as .NET does.
func AppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "True"...)
	}
	return append(dst, "False"...)
}

// AppendFloat writes the shortest text that reads back as f, never in
// exponent form.
func AppendFloat(dst []byte, f float64) []byte {
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// AppendDecimal writes a decimal keeping its scale (1.50 stays 1.50), never
// in exponent form, as .NET's decimal.ToString does. It is the text of a
// decimal in every format the service writes, so it lives here once.
func AppendDecimal(dst []byte, d decimal.Decimal) []byte {
	exp := d.Exponent()
	if d.NumDigits() > 18 || exp > 18 || exp < -18 {
		if exp < 0 {
			return append(dst, d.StringFixed(-exp)...)
		}
		return append(dst, d.String()...)
	}
	c := d.CoefficientInt64() // fits: at most 18 digits
	if c < 0 {
		dst = append(dst, '-')
		c = -c
	}
	if exp >= 0 {
		dst = strconv.AppendUint(dst, uint64(c), 10)
		if c != 0 {
			for range exp {
				dst = append(dst, '0')
			}
		}
		return dst
	}
	var digits [20]byte
	ds := strconv.AppendUint(digits[:0], uint64(c), 10)
	scale := int(-exp)
	if len(ds) <= scale { // 0.0ddd
		dst = append(dst, '0', '.')
		for range scale - len(ds) {
			dst = append(dst, '0')
		}
		return append(dst, ds...)
	}
	dst = append(dst, ds[:len(ds)-scale]...)
	dst = append(dst, '.')
	return append(dst, ds[len(ds)-scale:]...)
}

// Marshal writes v as compact JSV. Struct fields are named and omitted as
// encoding/json would name and omit them (json tags, omitempty, "-"), and
// null values (nil pointers, maps, slices and interfaces) are left out.
// Values that implement Appender write themselves; json.Marshaler values are
// converted from their JSON; encoding.TextMarshaler values are strings.
func Marshal(v any) ([]byte, error) {
	return Append(nil, v)
}

// Append is Marshal appending to dst.
func Append(dst []byte, v any) ([]byte, error) {
	if v == nil {
		return dst, nil
	}
	return appendValue(dst, reflect.ValueOf(v))
}

var (
	appenderType      = reflect.TypeFor[Appender]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	decimalType       = reflect.TypeFor[decimal.Decimal]()
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
)

// isNull reports whether JSV leaves the value out.
func isNull(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		return v.IsNil()
	}
	return false
}

func appendValue(dst []byte, v reflect.Value) ([]byte, error) {
	if !v.IsValid() || isNull(v) {
		return dst, nil
	}
	t := v.Type()
	switch {
	case t == decimalType:
		return AppendDecimal(dst, v.Interface().(decimal.Decimal)), nil
	case t == rawMessageType:
		return FromJSON(dst, v.Bytes())
	case t.Implements(appenderType):
		return v.Interface().(Appender).AppendJSV(dst), nil
	case t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(appenderType) && v.CanAddr():
		return v.Addr().Interface().(Appender).AppendJSV(dst), nil
	case t.Implements(jsonMarshalerType):
		b, err := v.Interface().(json.Marshaler).MarshalJSON()
		if err != nil {
			return dst, err
		}
		return FromJSON(dst, b)
	case t.Implements(textMarshalerType):
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return dst, err
		}
		return AppendString(dst, string(b)), nil
	}
	switch v.Kind() {
	case reflect.String:
		return AppendString(dst, v.String()), nil
	case reflect.Bool:
		return AppendBool(dst, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(dst, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(dst, v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return dst, fmt.Errorf("jsv: cannot write %v", f)
		}
		return strconv.AppendFloat(dst, f, 'f', -1, t.Bits()), nil
	case reflect.Pointer, reflect.Interface:
		return appendValue(dst, v.Elem())
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && v.Kind() == reflect.Slice {
			return base64.StdEncoding.AppendEncode(dst, v.Bytes()), nil
		}
		return appendList(dst, v)
	case reflect.Map:
		return appendMap(dst, v)
	case reflect.Struct:
		return appendStruct(dst, v)
	}
	return dst, fmt.Errorf("jsv: cannot write a %s", t.Kind())
}

func appendList(dst []byte, v reflect.Value) ([]byte, error) {
	dst = append(dst, '[')
	var err error
	for i := range v.Len() {
		if i > 0 {
			dst = append(dst, ',')
		}
		e := v.Index(i)
		// A null object in a list is written {}, any other null as nothing.
		if e.Kind() == reflect.Pointer && e.IsNil() && e.Type().Elem().Kind() == reflect.Struct {
			dst = append(dst, '{', '}')
			continue
		}
		if dst, err = appendValue(dst, e); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

func appendMap(dst []byte, v reflect.Value) ([]byte, error) {
	if v.Type().Key().Kind() != reflect.String {
		return dst, fmt.Errorf("jsv: cannot write a map with %s keys", v.Type().Key().Kind())
	}
	keys := v.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	dst = append(dst, '{')
	first := true
	var err error
	for _, k := range keys {
		e := v.MapIndex(k)
		if isNull(e) {
			continue // ServiceStack leaves null dictionary values out
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = AppendString(dst, k.String())
		dst = append(dst, ':')
		if dst, err = appendValue(dst, e); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

func appendStruct(dst []byte, v reflect.Value) ([]byte, error) {
	dst = append(dst, '{')
	first := true
	var err error
	for _, f := range fieldsOf(v.Type()) {
		fv, ok := fieldByIndex(v, f.index)
		if !ok || isNull(fv) || (f.omitEmpty && fv.IsZero()) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, f.name...)
		dst = append(dst, ':')
		if dst, err = appendValue(dst, fv); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// FromJSON converts one JSON value to JSV: null object members are left out,
// null list elements become empty slots, numbers keep their text.
func FromJSON(dst []byte, data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dst, err := fromJSONValue(dst, dec, nil)
	if err != nil {
		return dst, fmt.Errorf("jsv: converting JSON: %w", err)
	}
	if dec.More() {
		return dst, fmt.Errorf("jsv: converting JSON: more than one value")
	}
	return dst, nil
}

// fromJSONValue writes the next JSON value; tok is its first token when the
// caller has already read it.
func fromJSONValue(dst []byte, dec *json.Decoder, tok json.Token) ([]byte, error) {
	if tok == nil {
		var err error
		if tok, err = dec.Token(); err != nil {
			return dst, err
		}
	}
	switch t := tok.(type) {
	case nil:
		return dst, nil
	case bool:
		return AppendBool(dst, t), nil
	case json.Number:
		return append(dst, t...), nil
	case string:
		return AppendString(dst, t), nil
	case json.Delim:
		if t == '[' {
			dst = append(dst, '[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					dst = append(dst, ',')
				}
				var err error
				if dst, err = fromJSONValue(dst, dec, nil); err != nil {
					return dst, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return dst, err
			}
			return append(dst, ']'), nil
		}
		dst = append(dst, '{')
		first := true
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return dst, err
			}
			vt, err := dec.Token()
			if err != nil {
				return dst, err
			}
			if vt == nil {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = AppendString(dst, kt.(string))
			dst = append(dst, ':')
			if dst, err = fromJSONValue(dst, dec, vt); err != nil {
				return dst, err
			}
		}
		if _, err := dec.Token(); err != nil {
			return dst, err
		}
		return append(dst, '}'), nil
	}
	return dst, fmt.Errorf("unexpected %v", tok)
}
