package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/jsv"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

// apiError is a failure as the ServiceStack face reports it.
type apiError struct {
	Status  int
	Code    string
	Message string
	Errors  []models.FieldError
}

func (e *apiError) Error() string { return e.Message }

// badRequest reports one bad parameter.
func badRequest(field, code, message string) error {
	return &models.ValidationError{Errors: []models.FieldError{{Field: field, Code: code, Message: message}}}
}

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

// response is the error as ServiceStack clients read it.
func (e *apiError) response() ErrorResponse {
	rs := ResponseStatus{ErrorCode: e.Code, Message: e.Message, Errors: make([]ResponseError, 0, len(e.Errors))}
	for _, f := range e.Errors {
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

// classify maps any error to what the client is told: status, code, message
// and bad fields, independent of how a face renders them (the ServiceStack
// face here; other faces render the same classification their own way).
// Errors it does not recognise are internal: logged in full, reported
// without detail.
func (a *API) classify(c echo.Context, err error) *apiError {
	var (
		ae *apiError
		ve *models.ValidationError
		ce *models.ConflictError
		au *auth.Error
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ce):
		return fromFields(http.StatusConflict, ce.Errors)
	case errors.As(err, &ve):
		return fromFields(http.StatusBadRequest, ve.Errors)
	case errors.As(err, &au):
		return &apiError{Status: au.Status, Code: au.Code, Message: au.Message}
	case errors.As(err, &he):
		return fromHTTPError(he)
	case errors.Is(err, context.DeadlineExceeded):
		a.logError(c, err)
		return &apiError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "The request took too long; try again"}
	case errors.Is(err, errNotReady):
		return errUnavailable
	case errors.Is(err, errBusy):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: busyMessage}
	case a.store.Unavailable(err):
		a.logError(c, err)
		return errUnavailable
	}
	a.logError(c, err)
	return &apiError{Status: http.StatusInternalServerError, Code: "InternalServerError", Message: "An internal error occurred; quote request id " + c.Response().Header().Get(echo.HeaderXRequestID)}
}

func (a *API) logError(c echo.Context, err error) {
	a.log.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
		slog.String("id", c.Response().Header().Get(echo.HeaderXRequestID)),
		slog.String("path", c.Request().URL.Path),
		slog.String("err", err.Error()))
}

func fromFields(status int, fields []models.FieldError) *apiError {
	e := &apiError{Status: status, Code: models.CodeInvalid, Message: "The request is not valid", Errors: fields}
	if len(fields) > 0 {
		e.Code, e.Message = fields[0].Code, fields[0].Message
	}
	return e
}

// fromHTTPError covers what echo itself rejects: unknown routes, wrong
// methods, oversized bodies.
func fromHTTPError(he *echo.HTTPError) *apiError {
	e := &apiError{Status: he.Code, Code: http.StatusText(he.Code), Message: http.StatusText(he.Code)}
	switch he.Code {
	case http.StatusNotFound:
		e.Code, e.Message = "NotFound", "No such route"
	case http.StatusMethodNotAllowed:
		e.Code, e.Message = "MethodNotAllowed", "This route does not take that method"
	case http.StatusRequestEntityTooLarge:
		e.Code, e.Message = "RequestEntityTooLarge", "The request body is too large"
	}
	return e
}

// handleError writes any error as a ServiceStack ErrorResponse in the
// request's negotiated format. 401s keep WWW-Authenticate.
func (a *API) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := a.classify(c, err)
	if e.Status == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="billing"`)
	}
	if e.Status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "1")
	}
	if err := respond(c, negotiationOf(c), e.Status, e.response()); err != nil {
		a.log.Warn("writing an error response failed", "err", err)
	}
}
