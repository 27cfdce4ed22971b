package servicestack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/evovoice/billing/handlers/internal/usage"
	"github.com/evovoice/billing/jsv"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

// Input is what a request carries for its operation: parameters (the fields
// of a form body, then the query string) and a JSON or JSV body.
type Input struct {
	values     url.Values
	body       []byte
	bodyFormat format // formatJSON or formatJSV when there is a body
	form       bool   // the parameters include a form body
}

// newInput reads the request's parameters and body. A body is read for
// methods other than GET, HEAD and DELETE, by its Content-Type: JSON (also
// when none is given), JSV (text/jsv, application/jsv) or a form.
func newInput(c echo.Context) (*Input, error) {
	r := c.Request()
	in := &Input{values: r.URL.Query()}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodDelete:
		return in, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	switch mt {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := c.Request().ParseMultipartForm(8 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return nil, problem.TooLargeOr(err, problem.BadRequest("body", models.CodeInvalid, "The form body cannot be read"))
		}
		form := r.PostForm
		for k, vs := range in.values {
			if !usage.HasKey(form, k) {
				form[k] = vs
			}
		}
		in.values, in.form = form, true
		return in, nil
	case "", "application/json", "text/json":
		in.bodyFormat = formatJSON
	case "application/jsv", "text/jsv":
		in.bodyFormat = formatJSV
	default:
		if strings.HasSuffix(mt, "+json") {
			in.bodyFormat = formatJSON
			break
		}
		return nil, &problem.Problem{Status: http.StatusUnsupportedMediaType, Code: "UnsupportedMediaType",
			Message: "Send the body as application/json, text/jsv (or application/jsv) or a form"}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, problem.TooLargeOr(err, problem.BadRequest("body", models.CodeInvalid, "The body cannot be read"))
	}
	in.body = bytes.TrimSpace(body)
	if len(in.body) == 0 {
		in.bodyFormat = 0
	}
	return in, nil
}

// Bind fills a request DTO (a pointer to a struct): first from the body
// (JSON or JSV), then each field still empty from the parameter of the same
// name in any letter case. A string field takes the parameter as it is;
// other fields read it as JSV (so 5, "5", True and [a,b] all work). Every
// parameter that does not fit is reported, named by its field.
func (in *Input) Bind(v any) error {
	if in.bodyFormat != 0 {
		if err := in.decodeBody(v, false); err != nil {
			return err
		}
	}
	var errs models.ValidationError
	in.bindValues(reflect.ValueOf(v).Elem(), &errs, false)
	checkText(reflect.ValueOf(v).Elem(), &errs)
	return errs.Err()
}

// DecodeBody reads the body (JSON, JSV or a form) into v; strict refuses
// properties that match no field. A request without a body is an error.
func (in *Input) DecodeBody(v any, strict bool) error {
	var errs models.ValidationError
	switch {
	case in.form:
		in.bindValues(reflect.ValueOf(v).Elem(), &errs, strict)
	case in.bodyFormat == 0:
		return problem.BadRequest("body", models.CodeRequired, "The request needs a body")
	default:
		if err := in.decodeBody(v, strict); err != nil {
			return err
		}
	}
	checkText(reflect.ValueOf(v).Elem(), &errs)
	return errs.Err()
}

// checkText reports every string field of a decoded request that is not
// text a database can store (models.TextProblem): the one check between any
// body format and the Store. Raw values (json.RawMessage, jsv.RawMessage)
// are left to the decoder that reads them.
func checkText(v reflect.Value, errs *models.ValidationError) {
	for _, f := range dtoFields(v.Type()) {
		fv := v.Field(f.index)
		for fv.Kind() == reflect.Pointer && !fv.IsNil() {
			fv = fv.Elem()
		}
		switch {
		case fv.Kind() == reflect.String:
			if problem := models.TextProblem(fv.String()); problem != "" {
				errs.Add(f.pascal, models.CodeInvalid, f.pascal+" "+problem)
			}
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
			for i := range fv.Len() {
				if problem := models.TextProblem(fv.Index(i).String()); problem != "" {
					errs.Add(f.pascal, models.CodeInvalid, f.pascal+" "+problem)
					break
				}
			}
		case fv.Kind() == reflect.Struct:
			checkText(fv, errs)
		}
	}
}

func (in *Input) decodeBody(v any, strict bool) error {
	if in.bodyFormat == formatJSV {
		if err := (jsv.Decoder{DisallowUnknownFields: strict}).Unmarshal(in.body, v); err != nil {
			return problem.BadRequest("body", models.CodeInvalid, "The JSV body cannot be read: "+strings.TrimPrefix(err.Error(), "jsv: "))
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(in.body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return problem.BadRequest("body", models.CodeInvalid, "The JSON body cannot be read: "+jsonProblem(err))
	}
	if dec.More() {
		return problem.BadRequest("body", models.CodeInvalid, "The JSON body holds more than one value")
	}
	return nil
}

// jsonProblem describes a JSON decoding error without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at offset %d", se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the JSON ends too early"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// bindValues fills the empty fields of a struct from the parameters.
func (in *Input) bindValues(v reflect.Value, errs *models.ValidationError, strict bool) {
	p := usage.NewParams(in.values, errs)
	fs := dtoFields(v.Type())
	for _, f := range fs {
		fv := v.Field(f.index)
		if !fv.IsZero() {
			continue
		}
		s := p.Raw(f.pascal) // checkText sees the strings once decoded
		if s == "" {
			continue
		}
		if fv.Kind() == reflect.String {
			fv.SetString(s)
			continue
		}
		if err := jsv.Unmarshal([]byte(s), fv.Addr().Interface()); err != nil {
			errs.Add(f.pascal, models.CodeInvalid, fmt.Sprintf("%s: %q is not a valid value", f.pascal, s))
		}
	}
	if !strict {
		return
	}
	for k := range in.values {
		if strings.EqualFold(k, "format") || strings.EqualFold(k, "callback") {
			continue // negotiation parameters, not request fields
		}
		known := false
		for _, f := range fs {
			known = known || strings.EqualFold(k, f.name)
		}
		if !known {
			errs.Add(k, models.CodeInvalid, fmt.Sprintf("%s is not a field of this request", k))
		}
	}
}
