package jsv

import (
	"reflect"
	"strings"
	"sync"
)

// field is a struct field as JSV names it: by its json tag, as encoding/json
// does, so that one set of tags serves both formats.
type field struct {
	name      string
	index     []int
	omitEmpty bool
}

// fieldCache holds the fields of each struct type seen, computed once.
var fieldCache sync.Map // reflect.Type -> []field

func fieldsOf(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	fs := collectFields(t, nil, nil)
	fieldCache.Store(t, fs)
	return fs
}

// collectFields lists the exported fields, flattening untagged embedded
// structs; an outer field hides an embedded one of the same name.
func collectFields(t reflect.Type, index []int, seen map[reflect.Type]bool) []field {
	if seen[t] {
		return nil
	}
	seen = map[reflect.Type]bool{t: true}
	var out, embedded []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(append([]int(nil), index...), i)
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if sf.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			embedded = append(embedded, collectFields(ft, idx, seen)...)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{name: name, index: idx, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")})
	}
	for _, e := range embedded {
		if !hasField(out, e.name) {
			out = append(out, e)
		}
	}
	return out
}

func hasField(fs []field, name string) bool {
	for _, f := range fs {
		if f.name == name {
			return true
		}
	}
	return false
}

// fieldByIndex follows an index path; ok is false through a nil embedded pointer.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// fieldForWrite follows an index path, allocating nil embedded pointers.
func fieldForWrite(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// findField matches a property name case-insensitively: by the json name,
// then by the Go field name.
func findField(fs []field, t reflect.Type, name string) (field, bool) {
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			return f, true
		}
	}
	for _, f := range fs {
		if strings.EqualFold(t.FieldByIndex(f.index).Name, name) {
			return f, true
		}
	}
	return field{}, false
}
