package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

// AuthTokens finds the stored hash of an account's auth token: what HTTP
// Basic authentication needs from storage.
type AuthTokens interface {
	AuthTokenHash(ctx context.Context, sid string) (string, error)
}

// Basic checks HTTP Basic credentials of the form AccountSid:AuthToken, as
// Twilio and Restcomm clients send them.
type Basic struct {
	tokens   AuthTokens
	notFound error // what AuthTokens returns for an unknown account
}

// NewBasic builds the check over storage; notFound is the error the storage
// returns for an unknown account.
func NewBasic(tokens AuthTokens, notFound error) *Basic {
	return &Basic{tokens: tokens, notFound: notFound}
}

// Authenticate turns Basic credentials into the principal of the account
// they name. A malformed SID, an unknown account and a wrong token all get
// the same answer, after the same hash comparison.
func (b *Basic) Authenticate(ctx context.Context, user, token string) (*Principal, error) {
	sid, ok := models.NormalizeAccountSid(user)
	var hash string
	if ok {
		var err error
		hash, err = b.tokens.AuthTokenHash(ctx, sid)
		if errors.Is(err, b.notFound) {
			ok = false
		} else if err != nil {
			return nil, err
		}
	}
	if !models.AuthTokenMatches(token, hash) || !ok || hash == "" {
		return nil, Unauthorized("Authentication failed: send an account SID and its auth token")
	}
	return &Principal{Subject: sid, AccountIDs: []string{sid}, Via: ViaBasic}, nil
}

// RequireBasicOrBearer is middleware that admits account credentials (HTTP
// Basic) or a bearer token carrying one of the roles: 401 without valid
// credentials, 403 for a token without the role. A Basic principal reads its
// own account and its sub-accounts only.
func RequireBasicOrBearer(b *Basic, v *Verifier, roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var (
				p   *Principal
				err error
			)
			scheme, _, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
			if strings.EqualFold(scheme, "Basic") {
				user, token, ok := c.Request().BasicAuth()
				if !ok {
					return Unauthorized("Authentication failed: the Basic credentials cannot be read")
				}
				p, err = b.Authenticate(c.Request().Context(), user, token)
			} else if raw, _ := BearerToken(c); raw == "" {
				err = Unauthorized("Authentication required: send an account SID and its auth token as HTTP Basic credentials, or a bearer token")
			} else {
				p, err = v.Authenticate(c)
				if err == nil && !p.HasAnyRole(roles...) {
					err = Forbidden("Invalid Role: this operation needs one of " + strings.Join(roles, ", "))
				}
			}
			if err != nil {
				return err
			}
			SetPrincipal(c, p)
			return next(c)
		}
	}
}
