// Package problem turns any error a request meets into one neutral answer
// (status, code, message, bad fields) that each API face renders in its own
// shape: ServiceStack's ErrorResponse, Twilio's {code, message, more_info,
// status}. Classifying in one place keeps the faces from drifting apart.
package problem

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

// Problem is a failure as a client is told it. Code is a ServiceStack-style
// name (NotFound, ServiceUnavailable) or, for bad fields, the first field's
// code; a face with numeric codes maps it by Status and Fields.
type Problem struct {
	Status  int
	Code    string
	Message string
	Fields  []models.FieldError
}

func (p *Problem) Error() string { return p.Message }

// Answers shared by both faces.
var (
	// NotReady is what requests that need the database get until it has been
	// reached and migrated.
	NotReady = unavailable("The usage database is not available at the moment; try again in a few seconds")
	// Busy is what a usage query gets when the service is already answering
	// as many as it may.
	Busy = unavailable("The service is answering as many usage queries as it can at once; try again in a second")
	// TooManyTriggers is a create refused by the per-account limit.
	TooManyTriggers = &Problem{Status: http.StatusBadRequest, Code: "TooManyTriggers",
		Message: fmt.Sprintf("An account has at most %d usage triggers: delete one before creating another", models.MaxTriggersPerAccount)}
	// CrossSite is a state-changing request a browser sent for another site.
	CrossSite = &Problem{Status: http.StatusForbidden, Code: "Forbidden",
		Message: "Requests that change state must come from this service's own pages (or carry an Authorization header); this one came from another site"}
	// outOfScope and notFound are an account the caller may not read and one
	// that does not exist; the store answers notFound only to a caller who
	// reads every account, so that SIDs cannot be probed.
	outOfScope = &Problem{Status: http.StatusForbidden, Code: "Forbidden", Message: "You may not read the account named in the request"}
	notFound   = &Problem{Status: http.StatusNotFound, Code: "NotFound", Message: "The resource the request names does not exist"}
	tooSlow    = unavailable("The request took too long; try again")
	internal   = &Problem{Status: http.StatusInternalServerError, Code: "InternalServerError", Message: "An internal error occurred"}
)

func unavailable(msg string) *Problem {
	return &Problem{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: msg}
}

// BadRequest reports one bad parameter.
func BadRequest(field, code, message string) error {
	return &models.ValidationError{Errors: []models.FieldError{{Field: field, Code: code, Message: message}}}
}

// TooLargeOr passes on echo's 413 from a body limit, or gives fallback
// for any other failure to read a body.
func TooLargeOr(err, fallback error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he
	}
	return fallback
}

// Of classifies err. dbDown tells whether an error means the database is
// unreachable (503 "try again"). Logged is true for errors whose detail is
// kept from the client and belongs in the log: internal errors, timeouts
// and an unreachable database.
func Of(err error, dbDown func(error) bool) (p *Problem, logged bool) {
	var (
		pr *Problem
		ve *models.ValidationError
		ce *models.ConflictError
		au *auth.Error
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &pr):
		return pr, false
	case errors.Is(err, models.ErrTooManyTriggers):
		return TooManyTriggers, false
	case errors.Is(err, models.ErrOutOfScope):
		return outOfScope, false
	case errors.Is(err, models.ErrNotFound):
		return notFound, false
	case errors.As(err, &ce):
		return fromFields(http.StatusConflict, ce.Errors), false
	case errors.As(err, &ve):
		return fromFields(http.StatusBadRequest, ve.Errors), false
	case errors.As(err, &au):
		return &Problem{Status: au.Status, Code: au.Code, Message: au.Message}, false
	case errors.As(err, &he):
		return fromHTTPError(he), false
	case errors.Is(err, context.DeadlineExceeded):
		return tooSlow, true
	case dbDown(err):
		return NotReady, true
	}
	return internal, true
}

func fromFields(status int, fields []models.FieldError) *Problem {
	p := &Problem{Status: status, Code: models.CodeInvalid, Message: "The request is not valid", Fields: fields}
	if len(fields) > 0 {
		p.Code, p.Message = fields[0].Code, fields[0].Message
	}
	return p
}

// fromHTTPError covers what echo itself rejects: unknown routes, wrong
// methods, oversized bodies.
func fromHTTPError(he *echo.HTTPError) *Problem {
	p := &Problem{Status: he.Code, Code: http.StatusText(he.Code), Message: http.StatusText(he.Code)}
	switch he.Code {
	case http.StatusNotFound:
		p.Code, p.Message = "NotFound", "No such route"
	case http.StatusMethodNotAllowed:
		p.Code, p.Message = "MethodNotAllowed", "This route does not take that method"
	case http.StatusRequestEntityTooLarge:
		p.Code, p.Message = "RequestEntityTooLarge", "The request body is too large"
	}
	return p
}
