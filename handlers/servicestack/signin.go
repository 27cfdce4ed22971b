package servicestack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/evovoice/billing/handlers/internal/usage"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

// Sign-in settings.
const (
	// failedSignInDelay is the least time a failed sign-in takes to answer,
	// whatever bcrypt took, so failures are slow and look alike.
	failedSignInDelay = time.Second
	// invalidCredentials never says whether the name or the password was wrong
	// (ServiceStack's wording).
	invalidCredentials = "Invalid UserName or Password"
)

// Authenticate is ServiceStack's sign-in request, for the credentials provider.
type Authenticate struct {
	UserName string `json:"userName"`
	Password string `json:"password"`
}

// AuthenticateResponse answers a sign-in, and GET /auth.
type AuthenticateResponse struct {
	UserID      string   `json:"userId"`
	UserName    string   `json:"userName"`
	DisplayName string   `json:"displayName"`
	Roles       []string `json:"roles"`
	BearerToken string   `json:"bearerToken,omitempty"`
}

// signIn is POST /auth/credentials: check a user's name and password, answer
// a token and set it as the ss-tok cookie.
func (f *Face) signIn(c echo.Context) error {
	start := time.Now()
	if f.signer == nil {
		return &problem.Problem{Status: http.StatusServiceUnavailable, Code: "SignInUnavailable",
			Message: "Sign-in is not available: the service has no key to sign tokens with (for RS256 or ES256, set BILLING_JWT_PRIVATE_KEY)"}
	}
	req, err := bindAuthenticate(c)
	if err != nil {
		return err
	}
	name, nameErr := models.NormalizeUserName(req.UserName)
	if nameErr != nil {
		name = strings.ToLower(strings.TrimSpace(req.UserName))
	}
	ctx := c.Request().Context()
	finish, wait, err := f.throttle.Begin(ctx, name, c.RealIP())
	if err != nil {
		return err
	}
	if wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return &problem.Problem{Status: http.StatusTooManyRequests, Code: "TooManyRequests",
			Message: fmt.Sprintf("Too many failed sign-ins; try again in %s", humanDuration(secs))}
	}
	user, ok, err := f.checkCredentials(ctx, name, nameErr == nil, req.Password)
	if err != nil {
		finish(false)
		return err
	}
	finish(ok)
	if !ok {
		f.log.Info("sign-in failed", "user", name, "remote", c.RealIP())
		sleepUntil(ctx, start.Add(failedSignInDelay))
		return auth.Unauthorized(invalidCredentials)
	}
	token, err := f.signer.SignIdentity(auth.Identity{
		Subject:    strconv.FormatInt(user.ID, 10),
		UserName:   user.Name,
		Name:       user.DisplayName,
		Roles:      user.Roles,
		AccountIDs: user.AccountIDs,
	}, f.sessionTTL)
	if err != nil {
		return err
	}
	c.SetCookie(f.tokenCookie(c, token, f.sessionTTL))
	f.log.Info("signed in", "user", user.Name, "remote", c.RealIP())
	return reply.WriteJSON(c, http.StatusOK, AuthenticateResponse{
		UserID:      strconv.FormatInt(user.ID, 10),
		UserName:    user.Name,
		DisplayName: user.DisplayName,
		Roles:       nonNil(user.Roles),
		BearerToken: token,
	})
}

// checkCredentials looks the user up and checks the password, spending the
// same bcrypt time whether or not the user exists.
func (f *Face) checkCredentials(ctx context.Context, name string, validName bool, password string) (models.User, bool, error) {
	var user models.User
	if validName {
		u, err := f.store.UserByName(ctx, name)
		switch {
		case err == nil:
			user = u
		case !errors.Is(err, models.ErrNotFound):
			return user, false, err
		}
	}
	if len(password) > models.MaxPasswordBytes {
		password = "" // never matches; bcrypt would refuse it anyway
	}
	ok, err := f.passwords.Check(ctx, user.PasswordHash, password)
	return user, ok && password != "", err
}

// bindAuthenticate reads the credentials from JSON or from a form.
func bindAuthenticate(c echo.Context) (Authenticate, error) {
	var req Authenticate
	r := c.Request()
	if strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEApplicationForm) {
		if err := r.ParseForm(); err != nil {
			return req, problem.BadRequest("userName", models.CodeInvalid, "the form cannot be read")
		}
		// PostForm is the body only: credentials in a URL end up in logs and
		// histories, so the query string is not read.
		var errs models.ValidationError
		p := usage.NewParams(r.PostForm, &errs)
		req = Authenticate{UserName: p.Get("userName"), Password: p.Get("password")}
		if err := errs.Err(); err != nil {
			return req, err
		}
	} else if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return req, problem.BadRequest("userName", models.CodeInvalid, `the body must be JSON {"userName":…,"password":…} or a form`)
	}
	var errs models.ValidationError
	if strings.TrimSpace(req.UserName) == "" {
		errs.Add("UserName", models.CodeRequired, "UserName is required")
	}
	if req.Password == "" {
		errs.Add("Password", models.CodeRequired, "Password is required")
	}
	return req, errs.Err()
}

// session is GET /auth: who the token or cookie speaks for.
func (f *Face) session(c echo.Context) error {
	p, err := f.verifier.Authenticate(c)
	if err != nil {
		return err
	}
	userName := p.UserName
	if userName == "" {
		userName = p.Subject
	}
	return reply.WriteJSON(c, http.StatusOK, AuthenticateResponse{UserID: p.Subject, UserName: userName, DisplayName: p.Name, Roles: nonNil(p.Roles)})
}

// signOut is POST /auth/logout: clear the cookie. Tokens are stateless, so a
// copy of the token stays valid until it expires.
func (f *Face) signOut(c echo.Context) error {
	c.SetCookie(f.tokenCookie(c, "", -1))
	return reply.WriteJSON(c, http.StatusOK, struct{}{})
}

// tokenCookie is the ss-tok cookie: out of scripts' reach, never sent by other
// sites, and Secure whenever the browser talks HTTPS to us or to our proxy.
// A negative ttl deletes it.
func (f *Face) tokenCookie(c echo.Context, token string, ttl time.Duration) *http.Cookie {
	ck := &http.Cookie{
		Name:     auth.CookieName,
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   c.Scheme() == "https",
	}
	if ttl < 0 {
		ck.MaxAge = -1
	} else {
		ck.MaxAge = int(ttl.Seconds())
	}
	return ck
}

func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

func humanDuration(secs int) string {
	switch {
	case secs < 2:
		return "1 second"
	case secs < 120:
		return fmt.Sprintf("%d seconds", secs)
	}
	return fmt.Sprintf("%d minutes", (secs+59)/60)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
