package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

// Twilio error codes of the face. A field error with a Twilio-specific code
// carries it as text; any other field error is a bad parameter, 20001.
const (
	codeInvalidParameter = 20001 // our choice: Twilio documents no code for these parameters
	codePageSizeTooLarge = "20007"
	codeInvalidPageToken = "21481"
)

// twilioError is a failure as the Restcomm / Twilio face reports it.
type twilioError struct {
	Status  int
	Code    int
	Message string
}

func (e *twilioError) Error() string { return e.Message }

func resourceNotFound(c echo.Context) error {
	return &twilioError{Status: http.StatusNotFound, Code: 20404, Message: "The requested resource " + c.Request().URL.Path + " was not found"}
}

// twilioErrors is the face's error handler, as middleware on its routes: it
// writes any error as Twilio's {code, message, more_info, status}, in the
// format the request asked for.
func (a *API) twilioErrors(f face) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if err == nil || c.Response().Committed {
				return err
			}
			e := a.twilioErrorOf(c, err)
			if e.Status == http.StatusServiceUnavailable {
				c.Response().Header().Set("Retry-After", "1")
			}
			if e.Status == http.StatusUnauthorized {
				h := c.Response().Header()
				// A browser answered with a Basic challenge asks its user for
				// a user name and password in a dialog of its own. The
				// dashboard's session (the cookie, no Authorization header)
				// is therefore challenged for Bearer only.
				if !dashboardSession(c.Request()) {
					h.Add(echo.HeaderWWWAuthenticate, `Basic realm="billing"`)
				}
				h.Add(echo.HeaderWWWAuthenticate, `Bearer realm="billing"`)
			}
			return writeTwilioErrorBody(c, f, requestFormat(c.Request()), twilioErrorBody{
				Code:     e.Code,
				Message:  e.Message,
				MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(e.Code),
				Status:   e.Status,
			})
		}
	}
}

// dashboardSession reports a request that authenticates with the dashboard's
// cookie alone.
func dashboardSession(r *http.Request) bool {
	if r.Header.Get(echo.HeaderAuthorization) != "" {
		return false
	}
	ck, err := r.Cookie(auth.CookieName)
	return err == nil && ck.Value != ""
}

// twilioErrorOf maps any error to what the client is told. Errors it does not
// recognise are internal: logged in full, reported without detail.
func (a *API) twilioErrorOf(c echo.Context, err error) *twilioError {
	var (
		te *twilioError
		ve *models.ValidationError
		au *auth.Error
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &te):
		return te
	case errors.As(err, &ve):
		return fromValidationError(ve)
	case errors.As(err, &au):
		switch au.Status {
		case http.StatusUnauthorized:
			return &twilioError{Status: au.Status, Code: 20003, Message: au.Message}
		case http.StatusForbidden:
			return &twilioError{Status: au.Status, Code: 20403, Message: au.Message}
		case http.StatusNotFound:
			return &twilioError{Status: au.Status, Code: 20404, Message: au.Message}
		}
	case errors.As(err, &he):
		if he.Code == http.StatusNotFound {
			return resourceNotFound(c).(*twilioError)
		}
		return &twilioError{Status: he.Code, Code: he.Code, Message: http.StatusText(he.Code)}
	case errors.Is(err, context.DeadlineExceeded):
		a.logError(c, err)
		return &twilioError{Status: http.StatusServiceUnavailable, Code: 20503, Message: "The request took too long; try again"}
	case errors.Is(err, errBusy):
		return &twilioError{Status: http.StatusServiceUnavailable, Code: 20503, Message: busyMessage}
	case errors.Is(err, errNotReady):
		return &twilioError{Status: http.StatusServiceUnavailable, Code: 20503, Message: errUnavailable.Message}
	case a.store.Unavailable(err):
		a.logError(c, err)
		return &twilioError{Status: http.StatusServiceUnavailable, Code: 20503, Message: errUnavailable.Message}
	}
	a.logError(c, err)
	return &twilioError{Status: http.StatusInternalServerError, Code: 20500, Message: "An internal error occurred; quote request id " + c.Response().Header().Get(echo.HeaderXRequestID)}
}

// fromValidationError reports every bad parameter in one message, under the
// first Twilio-specific code among them (clients test for 20007 and 21481),
// else 20001.
func fromValidationError(ve *models.ValidationError) *twilioError {
	e := &twilioError{Status: http.StatusBadRequest, Code: codeInvalidParameter, Message: "The request is not valid"}
	msgs := make([]string, len(ve.Errors))
	for i, f := range ve.Errors {
		msgs[i] = f.Message
		if code, err := strconv.Atoi(f.Code); err == nil && e.Code == codeInvalidParameter {
			e.Code = code
		}
	}
	if len(msgs) > 0 {
		e.Message = strings.Join(msgs, "; ")
	}
	return e
}
