package jsv

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Decoder reads JSV into Go values.
type Decoder struct {
	// DisallowUnknownFields makes a property that matches no struct field an
	// error instead of being ignored (ServiceStack ignores it).
	DisallowUnknownFields bool
}

// Unmarshal reads one JSV value into v, which must be a non-nil pointer,
// ignoring unknown properties as ServiceStack does.
func Unmarshal(data []byte, v any) error { return Decoder{}.Unmarshal(data, v) }

// Unmarshal reads one JSV value into v, which must be a non-nil pointer.
//
// Strings are read raw or unquoted; bool, integer, float and decimal targets
// accept the value quoted and with thousands separators; a json.RawMessage
// target receives the value converted to JSON (see ToJSON); other
// encoding.TextUnmarshaler targets receive the unquoted text; an interface
// target receives map[string]any, []any or string.
func (d Decoder) Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("jsv: Unmarshal needs a non-nil pointer")
	}
	s := strings.TrimPrefix(string(data), "\uFEFF")
	return d.value(s, rv.Elem(), 0)
}

// SyntaxError reports malformed JSV.
type SyntaxError struct {
	Offset int // byte offset in the value being read
	msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("jsv: %s at offset %d", e.msg, e.Offset) }

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 200

// RawMessage is a JSV value's text as it was sent, to be decoded later by
// rules of the caller's own (quoted strings keep their quotes).
type RawMessage []byte

// maxDecimalLength bounds a decimal's text before it is parsed: parsing
// costs time quadratic in the length, and no amount needs 100 digits.
const maxDecimalLength = 100

var (
	rawType             = reflect.TypeFor[RawMessage]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	errTooDeep          = errors.New("jsv: nesting too deep")
)

// value reads the token s (the whole text of one value) into v.
func (d Decoder) value(s string, v reflect.Value, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	if s == "" { // an empty token is null
		v.SetZero()
		return nil
	}
	t := v.Type()
	if t == rawType {
		v.SetBytes([]byte(s))
		return nil
	}
	if t == rawMessageType {
		x, err := d.untyped(s, depth)
		if err != nil {
			return err
		}
		j, err := json.Marshal(x)
		if err != nil {
			return err
		}
		v.SetBytes(j)
		return nil
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return d.value(s, v.Elem(), depth+1)
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		text := unquote(s)
		if t == decimalType {
			if text = stripThousands(text); len(text) > maxDecimalLength {
				return fmt.Errorf("jsv: a decimal of %d characters is too long", len(text))
			}
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			return fmt.Errorf("jsv: %q is not a valid %s", text, t.Name())
		}
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(unquote(s))
	case reflect.Bool:
		b, ok := parseBool(unquote(s))
		if !ok {
			return fmt.Errorf("jsv: %q is not a boolean", unquote(s))
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(stripThousands(unquote(s)), 10, t.Bits())
		if err != nil {
			return fmt.Errorf("jsv: %q is not a whole number of %d bits", unquote(s), t.Bits())
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(stripThousands(unquote(s)), 10, t.Bits())
		if err != nil {
			return fmt.Errorf("jsv: %q is not a whole number ≥ 0 of %d bits", unquote(s), t.Bits())
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(stripThousands(unquote(s)), t.Bits())
		if err != nil {
			return fmt.Errorf("jsv: %q is not a number", unquote(s))
		}
		v.SetFloat(f)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return fmt.Errorf("jsv: cannot read into a non-empty interface")
		}
		x, err := d.untyped(s, depth)
		if err != nil {
			return err
		}
		if x == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			b, err := base64.StdEncoding.DecodeString(unquote(s))
			if err != nil {
				return fmt.Errorf("jsv: bytes must be base64")
			}
			v.SetBytes(b)
			return nil
		}
		return d.list(s, v, depth)
	case reflect.Array:
		return d.list(s, v, depth)
	case reflect.Map:
		return d.object(s, v, depth)
	case reflect.Struct:
		return d.object(s, v, depth)
	default:
		return fmt.Errorf("jsv: cannot read into a %s", t.Kind())
	}
	return nil
}

// untyped reads a value without a target type: objects become
// map[string]any, lists []any, everything else a string.
func (d Decoder) untyped(s string, depth int) (any, error) {
	switch {
	case s == "":
		return nil, nil
	case s[0] == '{':
		m := map[string]any{}
		err := d.object(s, reflect.ValueOf(&m).Elem(), depth)
		return m, err
	case strings.TrimSpace(s) != "" && strings.TrimSpace(s)[0] == '[':
		var l []any
		err := d.list(s, reflect.ValueOf(&l).Elem(), depth)
		return l, err
	}
	return unquote(s), nil
}

// list reads [a,b,...]: the text is trimmed and its brackets stripped; blank
// content is an empty list; a trailing comma adds a null element.
func (d Decoder) list(s string, v reflect.Value, depth int) error {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	isSlice := v.Kind() == reflect.Slice
	if isSlice {
		v.Set(reflect.MakeSlice(v.Type(), 0, 4))
	}
	if strings.TrimSpace(s) == "" {
		return nil
	}
	n := 0
	for i := 0; ; {
		end, err := eatValue(s, i)
		if err != nil {
			return err
		}
		tok := s[i:end]
		if isSlice {
			v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
			if err := d.value(tok, v.Index(n), depth+1); err != nil {
				return err
			}
		} else if n < v.Len() {
			if err := d.value(tok, v.Index(n), depth+1); err != nil {
				return err
			}
		}
		n++
		if end == len(s) {
			break
		}
		if s[end] != ',' {
			return &SyntaxError{Offset: end, msg: fmt.Sprintf("expected , after a list element, found %q", s[end])}
		}
		i = end + 1
		if i == len(s) { // "a," ends with a null element
			if isSlice {
				v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
			}
			break
		}
	}
	return nil
}

// object reads {key:value,...} into a struct or a map with string keys.
func (d Decoder) object(s string, v reflect.Value, depth int) error {
	if s[0] != '{' {
		return &SyntaxError{Offset: 0, msg: "expected {"}
	}
	isMap := v.Kind() == reflect.Map
	var fs []field
	if isMap {
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("jsv: cannot read a map with %s keys", v.Type().Key().Kind())
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
	} else {
		fs = fieldsOf(v.Type())
	}
	i := 1
	if i < len(s) && s[i] == '}' {
		return d.trailing(s, i+1)
	}
	for {
		if i >= len(s) {
			return &SyntaxError{Offset: i, msg: "unterminated object"}
		}
		kend, err := eatMapKey(s, i)
		if err != nil {
			return err
		}
		key := unquote(s[i:kend])
		i = kend + 1 // the ':'
		vend, err := eatValue(s, i)
		if err != nil {
			return err
		}
		tok := s[i:vend]
		if isMap {
			ev := reflect.New(v.Type().Elem()).Elem()
			if err := d.value(tok, ev, depth+1); err != nil {
				return err
			}
			v.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), ev)
		} else if name := strings.TrimSpace(key); name != "__type" {
			f, ok := findField(fs, v.Type(), name)
			switch {
			case ok:
				if err := d.value(tok, fieldForWrite(v, f.index), depth+1); err != nil {
					return err
				}
			case d.DisallowUnknownFields:
				return fmt.Errorf("jsv: unknown property %q", name)
			}
		}
		if vend >= len(s) {
			return &SyntaxError{Offset: vend, msg: "unterminated object"}
		}
		switch s[vend] {
		case ',':
			i = vend + 1
		case '}':
			return d.trailing(s, vend+1)
		default:
			return &SyntaxError{Offset: vend, msg: fmt.Sprintf("expected , or } after a value, found %q", s[vend])}
		}
	}
}

// trailing rejects anything after a complete object but blank space.
func (d Decoder) trailing(s string, i int) error {
	if strings.TrimSpace(s[i:]) != "" {
		return &SyntaxError{Offset: i, msg: "unexpected text after the object"}
	}
	return nil
}

// eatMapKey returns the end of the key starting at i; s[end] is the ':'.
func eatMapKey(s string, i int) (int, error) {
	var end int
	switch s[i] {
	case '"':
		e, err := endOfQuoted(s, i)
		if err != nil {
			return 0, err
		}
		end = e
	case '{':
		e, err := endOfBalanced(s, i, '{', '}')
		if err != nil {
			return 0, err
		}
		end = e
	default:
		j := strings.IndexByte(s[i:], ':')
		if j < 0 {
			return 0, &SyntaxError{Offset: i, msg: "property without a value"}
		}
		return i + j, nil
	}
	if end >= len(s) || s[end] != ':' {
		return 0, &SyntaxError{Offset: end, msg: "expected : after a property name"}
	}
	return end, nil
}

// eatValue returns the end of the value starting at i: up to the next , or }
// for a raw value, past the closing quote or bracket otherwise. An empty
// value (i at , or } or the end) is null.
func eatValue(s string, i int) (int, error) {
	if i >= len(s) {
		return i, nil
	}
	switch s[i] {
	case ',', '}':
		return i, nil
	case '"':
		return endOfQuoted(s, i)
	case '{':
		return endOfBalanced(s, i, '{', '}')
	case '[':
		return endOfBalanced(s, i, '[', ']')
	}
	j := strings.IndexAny(s[i:], ",}")
	if j < 0 {
		return len(s), nil
	}
	return i + j, nil
}

// endOfQuoted returns the index after the quote closing the string at i; a
// doubled quote inside is a literal quote.
func endOfQuoted(s string, i int) (int, error) {
	for j := i + 1; j < len(s); j++ {
		if s[j] != '"' {
			continue
		}
		if j+1 < len(s) && s[j+1] == '"' {
			j++
			continue
		}
		return j + 1, nil
	}
	return 0, &SyntaxError{Offset: i, msg: "unterminated quoted string"}
}

// endOfBalanced returns the index after the bracket closing the one at i,
// ignoring brackets inside quotes.
func endOfBalanced(s string, i int, open, close byte) (int, error) {
	depth, quoted := 0, false
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == open:
			depth++
		case c == close:
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, &SyntaxError{Offset: i, msg: fmt.Sprintf("unterminated %c", open)}
}

// Unquote reads a scalar value's text: a quoted one loses its quotes and has
// doubled quotes undoubled; others are taken as they are.
func Unquote(s string) string { return unquote(s) }

// Properties calls fn with each property of the JSV object in data, in
// order and duplicates included, its key unquoted and its value as sent (""
// for null). It lets a caller apply its own rules to keys and values.
func Properties(data []byte, fn func(key string, value []byte)) error {
	s := strings.TrimSpace(strings.TrimPrefix(string(data), "\uFEFF"))
	if s == "" || s[0] != '{' {
		return &SyntaxError{Offset: 0, msg: "expected {"}
	}
	i := 1
	if i < len(s) && s[i] == '}' {
		return Decoder{}.trailing(s, i+1)
	}
	for {
		if i >= len(s) {
			return &SyntaxError{Offset: i, msg: "unterminated object"}
		}
		kend, err := eatMapKey(s, i)
		if err != nil {
			return err
		}
		key := strings.TrimSpace(unquote(s[i:kend]))
		i = kend + 1
		vend, err := eatValue(s, i)
		if err != nil {
			return err
		}
		fn(key, []byte(s[i:vend]))
		if vend >= len(s) {
			return &SyntaxError{Offset: vend, msg: "unterminated object"}
		}
		switch s[vend] {
		case ',':
			i = vend + 1
		case '}':
			return Decoder{}.trailing(s, vend+1)
		default:
			return &SyntaxError{Offset: vend, msg: fmt.Sprintf("expected , or } after a value, found %q", s[vend])}
		}
	}
}

// unquote reads a string token: quoted ones lose their quotes and have
// doubled quotes undoubled; others are taken as they are.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	inner := s[1 : len(s)-1]
	if !strings.Contains(inner, `""`) {
		return inner
	}
	return strings.ReplaceAll(inner, `""`, `"`)
}

// stripThousands removes thousands separators from a number ("3,333.3").
func stripThousands(s string) string {
	if !strings.Contains(s, ",") {
		return s
	}
	return strings.ReplaceAll(s, ",", "")
}

// parseBool accepts the spellings ServiceStack accepts.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "t", "1", "y", "yes", "on":
		return true, true
	case "false", "f", "0", "n", "no", "off":
		return false, true
	}
	return false, false
}

// ToJSON converts JSV to JSON without knowing its types: objects and lists
// keep their shape, null stays null, and every other value becomes a JSON
// string. It lets JSV feed code that reads JSON leniently (numbers given as
// strings, as ServiceStack clients often send them).
func ToJSON(data []byte) ([]byte, error) {
	var v any
	if err := Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}
