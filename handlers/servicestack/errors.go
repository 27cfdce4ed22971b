package servicestack

import (
	"net/http"

	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/evovoice/billing/jsv"
	"github.com/labstack/echo/v4"
)

// ErrorResponse is ServiceStack's error body, in every format.
type ErrorResponse struct {
	ResponseStatus ResponseStatus `json:"responseStatus"`
}

// ResponseStatus says what went wrong; Errors is always present (empty when
// no field is to blame), as ServiceStack writes it.
type ResponseStatus struct {
	ErrorCode string          `json:"errorCode"`
	Message   string          `json:"message"`
	Errors    []ResponseError `json:"errors"`
}

// ResponseError names one bad field.
type ResponseError struct {
	ErrorCode string `json:"errorCode"`
	FieldName string `json:"fieldName"`
	Message   string `json:"message"`
}

// errorResponse is a problem as ServiceStack clients read it.
func errorResponse(p *problem.Problem) ErrorResponse {
	rs := ResponseStatus{ErrorCode: p.Code, Message: p.Message, Errors: make([]ResponseError, 0, len(p.Fields))}
	for _, f := range p.Fields {
		rs.Errors = append(rs.Errors, ResponseError{ErrorCode: f.Code, FieldName: f.Field, Message: f.Message})
	}
	return ErrorResponse{ResponseStatus: rs}
}

// AppendJSV writes {responseStatus:{errorCode:…,message:…,errors:[…]}}.
func (r ErrorResponse) AppendJSV(b []byte) []byte {
	rs := r.ResponseStatus
	b = append(b, "{responseStatus:{errorCode:"...)
	b = jsv.AppendString(b, rs.ErrorCode)
	b = append(b, ",message:"...)
	b = jsv.AppendString(b, rs.Message)
	b = append(b, ",errors:["...)
	for i, f := range rs.Errors {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "{errorCode:"...)
		b = jsv.AppendString(b, f.ErrorCode)
		b = append(b, ",fieldName:"...)
		b = jsv.AppendString(b, f.FieldName)
		b = append(b, ",message:"...)
		b = jsv.AppendString(b, f.Message)
		b = append(b, '}')
	}
	return append(b, "]}}"...)
}

// appendXML writes the DataContract form: ServiceStack's types namespace and
// the members in their DataMember order (not alphabetical), nulls as i:nil.
func (r ErrorResponse) appendXML(b []byte) []byte {
	rs := r.ResponseStatus
	b = append(b, xmlDeclaration+`<ErrorResponse xmlns:i="`+nsInstance+`" xmlns="`+nsServiceStack+`"><ResponseStatus><ErrorCode>`...)
	b = appendXMLText(b, rs.ErrorCode)
	b = append(b, "</ErrorCode><Message>"...)
	b = appendXMLText(b, rs.Message)
	b = append(b, `</Message><StackTrace i:nil="true" />`...)
	if len(rs.Errors) == 0 {
		b = append(b, "<Errors />"...)
	} else {
		b = append(b, "<Errors>"...)
		for _, f := range rs.Errors {
			b = append(b, "<ResponseError><ErrorCode>"...)
			b = appendXMLText(b, f.ErrorCode)
			b = append(b, "</ErrorCode><FieldName>"...)
			b = appendXMLText(b, f.FieldName)
			b = append(b, "</FieldName><Message>"...)
			b = appendXMLText(b, f.Message)
			b = append(b, `</Message><Meta i:nil="true" /></ResponseError>`...)
		}
		b = append(b, "</Errors>"...)
	}
	return append(b, `<Meta i:nil="true" /></ResponseStatus></ErrorResponse>`...)
}

// appendCSV writes one row for the error itself (FieldName empty) and one
// per bad field, under the header ErrorCode,FieldName,Message.
func (r ErrorResponse) appendCSV(b []byte) []byte {
	rs := r.ResponseStatus
	row := func(b []byte, code, field, msg string) []byte {
		b = appendCSVString(b, code)
		b = append(b, ',')
		b = appendCSVString(b, field)
		b = append(b, ',')
		b = appendCSVString(b, msg)
		return append(b, '\r', '\n')
	}
	b = append(b, "ErrorCode,FieldName,Message\r\n"...)
	b = row(b, rs.ErrorCode, "", rs.Message)
	for _, f := range rs.Errors {
		b = row(b, f.ErrorCode, f.FieldName, f.Message)
	}
	return b
}

// HandleError writes any error as a ServiceStack ErrorResponse in the
// request's negotiated format; it is the server's error handler for every
// route outside the Restcomm face. 401s keep WWW-Authenticate.
func (f *Face) HandleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := reply.Problem(c, f.log, f.store.Unavailable, err)
	if p.Status == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="billing"`)
	}
	if err := respond(c, negotiationOf(c), p.Status, errorResponse(p)); err != nil {
		f.log.Warn("writing an error response failed", "err", err)
	}
}
