package restcomm

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/evovoice/billing/handlers/internal/reply"
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

// codeTooManyTriggers is our choice: Twilio documents no code for its
// limit of 1,000 usage triggers an account.
const codeTooManyTriggers = 21622

// namedCodes are the face's codes for problems that share a status with
// others (problem.Problem's Code); they win over twilioCodes.
var namedCodes = map[string]int{
	problem.TooManyTriggers.Code: codeTooManyTriggers,
}

// twilioCodes are the face's codes by HTTP status; a status without one
// is its own code.
var twilioCodes = map[int]int{
	http.StatusBadRequest:          codeInvalidParameter,
	http.StatusUnauthorized:        20003,
	http.StatusForbidden:           20403,
	http.StatusNotFound:            20404,
	http.StatusMethodNotAllowed:    20004,
	http.StatusInternalServerError: 20500,
	http.StatusServiceUnavailable:  20503,
}

func resourceNotFound(c echo.Context) error {
	return &problem.Problem{Status: http.StatusNotFound, Code: "NotFound", Message: "The requested resource " + c.Request().URL.Path + " was not found"}
}

// errors is the face's error handler, as middleware on its routes: it
// writes any error as Twilio's {code, message, more_info, status}, in the
// format the request asked for.
func (f *Face) errors(v version) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if err == nil || c.Response().Committed {
				return err
			}
			if errors.Is(err, echo.ErrNotFound) || errors.Is(err, models.ErrNotFound) {
				err = resourceNotFound(c) // Twilio names the path it did not find
			}
			p := reply.Problem(c, f.log, f.store.Unavailable, err)
			if p.Status == http.StatusUnauthorized {
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
			e := twilioErrorOf(p)
			return writeTwilioErrorBody(c, v, requestFormat(c.Request()), e)
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

// twilioErrorOf renders a problem as Twilio's error. Bad fields are all
// reported in one message, under the first Twilio-specific code among them
// (clients test for 20007 and 21481), else 20001.
func twilioErrorOf(p *problem.Problem) twilioErrorBody {
	code, ok := namedCodes[p.Code]
	if !ok {
		code, ok = twilioCodes[p.Status]
	}
	if !ok {
		code = p.Status
	}
	msg := p.Message
	if len(p.Fields) > 0 {
		msgs := make([]string, len(p.Fields))
		specific := false
		for i, fe := range p.Fields {
			msgs[i] = fe.Message
			if n, err := strconv.Atoi(fe.Code); err == nil && !specific {
				code, specific = n, true
			}
		}
		msg = strings.Join(msgs, "; ")
	}
	return twilioErrorBody{Code: code, Message: msg, MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), Status: p.Status}
}
