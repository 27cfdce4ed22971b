package auth

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// CookieName is ServiceStack's token cookie.
const CookieName = "ss-tok"

const principalKey = "auth.principal"

// PrincipalOf returns the principal an authentication middleware set, or nil.
func PrincipalOf(c echo.Context) *Principal {
	p, _ := c.Get(principalKey).(*Principal)
	return p
}

// SetPrincipal records who the request comes from.
func SetPrincipal(c echo.Context, p *Principal) { c.Set(principalKey, p) }

// BearerToken finds a JWT in the Authorization header or, failing that, in the
// ss-tok cookie, and says where it came from.
func BearerToken(c echo.Context) (string, Via) {
	if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token), ViaBearerHeader
		}
		return "", 0
	}
	if ck, err := c.Cookie(CookieName); err == nil && ck.Value != "" {
		return ck.Value, ViaCookie
	}
	return "", 0
}

// Authenticate turns a bearer token into a principal.
func (v *Verifier) Authenticate(c echo.Context) (*Principal, error) {
	raw, via := BearerToken(c)
	if raw == "" {
		return nil, Unauthorized("Authentication required: send a bearer token")
	}
	claims, err := v.Verify(raw)
	if err != nil {
		return nil, tokenError(err.Error())
	}
	return &Principal{Subject: claims.Subject, UserName: claims.UserName, Name: claims.Name, Roles: claims.Roles, AccountIDs: claims.AccountIDs, Via: via}, nil
}

// RequireBearer is middleware that admits only requests with a valid token
// carrying one of the roles: 401 without a valid token, 403 without the role.
func (v *Verifier) RequireBearer(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, err := v.Authenticate(c)
			if err != nil {
				return err
			}
			if !p.HasAnyRole(roles...) {
				return Forbidden("Invalid Role: this operation needs one of " + strings.Join(roles, ", "))
			}
			SetPrincipal(c, p)
			return next(c)
		}
	}
}
