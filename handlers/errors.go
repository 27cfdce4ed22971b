package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/evovoice/billing/auth"
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

// responseStatus is ServiceStack's error body: errors is always present.
type responseStatus struct {
	ErrorCode string          `json:"errorCode"`
	Message   string          `json:"message"`
	Errors    []responseError `json:"errors"`
}

type responseError struct {
	ErrorCode string `json:"errorCode"`
	FieldName string `json:"fieldName"`
	Message   string `json:"message"`
}

type errorResponse struct {
	ResponseStatus responseStatus `json:"responseStatus"`
}

// classify maps any error to what the client is told. Errors it does not
// recognise are internal: logged in full, reported without detail.
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

// handleError writes any error as a ServiceStack ErrorResponse.
func (a *API) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := a.classify(c, err)
	body := errorResponse{ResponseStatus: responseStatus{ErrorCode: e.Code, Message: e.Message, Errors: []responseError{}}}
	for _, f := range e.Errors {
		body.ResponseStatus.Errors = append(body.ResponseStatus.Errors, responseError{ErrorCode: f.Code, FieldName: f.Field, Message: f.Message})
	}
	if e.Status == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="billing"`)
	}
	if e.Status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "1")
	}
	if err := writeJSON(c, e.Status, body); err != nil {
		a.log.Warn("writing an error response failed", "err", err)
	}
}
