package servicestack

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/evovoice/billing/jsv"
)

// CSV is written as ServiceStack's CsvSerializer writes it: a header row of
// the field names (PascalCase), one row per record, CRLF line ends, a field
// quoted (RFC 4180) only when it holds a comma, a quote or a line break.
// Plain values are written as in JSV (True/False, decimals with their
// scale); a nested object or list is written as JSV text in its cell. An
// answer that is an object (ListAccounts' {items,totalCount,totalPages}) is
// written as the first list inside it; an object without a list is one row.

// appendCSV writes a response value as CSV.
func appendCSV(dst []byte, v any) ([]byte, error) {
	rv := deref(reflect.ValueOf(v))
	if !rv.IsValid() {
		return dst, nil
	}
	if rv.Kind() == reflect.Struct {
		if list, ok := firstList(rv); ok {
			rv = list
		} else {
			return appendCSVRows(dst, rv.Type(), func(yield func(reflect.Value) bool) { yield(rv) })
		}
	}
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return dst, fmt.Errorf("csv: cannot write a %s", rv.Kind())
	}
	elem := derefType(rv.Type().Elem())
	rows := func(yield func(reflect.Value) bool) {
		for i := range rv.Len() {
			if !yield(deref(rv.Index(i))) {
				return
			}
		}
	}
	if elem.Kind() != reflect.Struct {
		// A list of plain values: one column, no header (as ServiceStack).
		var err error
		for e := range rows {
			if dst, err = appendCSVField(dst, e); err != nil {
				return dst, err
			}
			dst = append(dst, '\r', '\n')
		}
		return dst, nil
	}
	return appendCSVRows(dst, elem, rows)
}

// firstList finds the first list field of a struct.
func firstList(v reflect.Value) (reflect.Value, bool) {
	for _, f := range dtoFields(v.Type()) {
		fv := v.Field(f.index)
		if t := derefType(f.typ); (t.Kind() == reflect.Slice && t != rawMessageType && t.Elem().Kind() != reflect.Uint8) || t.Kind() == reflect.Array {
			return deref(fv), true
		}
	}
	return reflect.Value{}, false
}

func appendCSVRows(dst []byte, t reflect.Type, rows func(func(reflect.Value) bool)) ([]byte, error) {
	fs := dtoFields(t)
	for i, f := range fs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendCSVString(dst, f.pascal)
	}
	dst = append(dst, '\r', '\n')
	var err error
	for row := range rows {
		for i, f := range fs {
			if i > 0 {
				dst = append(dst, ',')
			}
			if !row.IsValid() { // a null record is an empty row
				continue
			}
			if dst, err = appendCSVCell(dst, row.Field(f.index), f.kind); err != nil {
				return dst, err
			}
		}
		dst = append(dst, '\r', '\n')
	}
	return dst, nil
}

// appendCSVField writes one cell; null is an empty cell.
func appendCSVField(dst []byte, v reflect.Value) ([]byte, error) {
	if isNil(v) {
		return dst, nil
	}
	return appendCSVCell(dst, v, scalarOf(deref(v).Type()))
}

// appendCSVCell writes one cell whose scalar kind is known.
func appendCSVCell(dst []byte, v reflect.Value, kind scalarKind) ([]byte, error) {
	if isNil(v) {
		return dst, nil
	}
	v = deref(v)
	if out, ok, err := appendScalar(dst, v, kind, appendCSVString, jsv.AppendBool); ok {
		return out, err
	}
	text, err := jsv.Marshal(v.Interface())
	if err != nil {
		return dst, err
	}
	return appendCSVString(dst, string(text)), nil
}

// appendCSVString quotes a field only when it must (RFC 4180), or when it
// is neutralised as a formula (see defuseFormula).
func appendCSVString(dst []byte, s string) []byte {
	s, defused := reply.DefuseFormula(s)
	if !defused && !strings.ContainsAny(s, ",\"\r\n") {
		return append(dst, s...)
	}
	return reply.AppendQuoted(dst, s)
}
