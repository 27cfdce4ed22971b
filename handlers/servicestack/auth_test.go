package servicestack_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
	"github.com/golang-jwt/jwt/v5"
)

// claims builds token claims around the frozen clock.
func claims(roles []string, accounts []string, mod func(*auth.Claims)) *auth.Claims {
	c := &auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   "user-1",
			IssuedAt:  jwt.NewNumericDate(handlertest.Now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(handlertest.Now.Add(time.Hour)),
		},
		Roles:      roles,
		AccountIDs: accounts,
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func sign(t *testing.T, method jwt.SigningMethod, key any, c *auth.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthMatrix(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store, func(c *auth.JWTConfig) { c.Issuer, c.Audience = "billing-tests", "billing-api" })
		day := models.NewDate(2024, 1, 1)
		parent := e.Account("Parent", "", day)
		child := e.Account("Child", parent, day)
		grandchild := e.Account("Grandchild", child, day)
		other := e.Account("Other", "", day)
		unknown := models.NewAccountSid()
		path := func(sid string) string { return "/billing/usage?AccountId=" + sid }

		good := func(roles []string, accounts ...string) string {
			return sign(t, jwt.SigningMethodHS256, handlertest.Secret, claims(roles, accounts, func(c *auth.Claims) {
				c.Issuer, c.Audience = "billing-tests", jwt.ClaimStrings{"billing-api"}
			}))
		}
		admin := good([]string{auth.RoleSystemAdministrator})
		manager := good([]string{auth.RoleManager}, parent)
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","roles":["SystemAdministrator"],"exp":9999999999,"iss":"billing-tests","aud":"billing-api"}`))

		cases := []struct {
			name   string
			token  string
			path   string
			status int
			code   string
		}{
			{"no token", "", path(parent), 401, "Unauthorized"},
			{"garbage token", "not.a.jwt", path(parent), 401, "TokenException"},
			{"bad signature", sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-12345"), claims([]string{auth.RoleSystemAdministrator}, nil, func(c *auth.Claims) { c.Issuer, c.Audience = "billing-tests", jwt.ClaimStrings{"billing-api"} })), path(parent), 401, "TokenException"},
			{"alg none", header + "." + payload + ".", path(parent), 401, "TokenException"},
			{"wrong algorithm HS384", sign(t, jwt.SigningMethodHS384, handlertest.Secret, claims([]string{auth.RoleSystemAdministrator}, nil, func(c *auth.Claims) { c.Issuer, c.Audience = "billing-tests", jwt.ClaimStrings{"billing-api"} })), path(parent), 401, "TokenException"},
			{"wrong algorithm RS256", sign(t, jwt.SigningMethodRS256, rsaKey, claims([]string{auth.RoleSystemAdministrator}, nil, func(c *auth.Claims) { c.Issuer, c.Audience = "billing-tests", jwt.ClaimStrings{"billing-api"} })), path(parent), 401, "TokenException"},
			{"expired", sign(t, jwt.SigningMethodHS256, handlertest.Secret, claims([]string{auth.RoleSystemAdministrator}, nil, func(c *auth.Claims) {
				c.Issuer, c.Audience = "billing-tests", jwt.ClaimStrings{"billing-api"}
				c.ExpiresAt = jwt.NewNumericDate(handlertest.Now.Add(-time.Hour))
			})), path(parent), 401, "TokenException"},
			{"no expiry", sign(t, jwt.SigningMethodHS256, handlertest.Secret, claims([]string{auth.RoleSystemAdministrator}, nil, func(c *auth.Claims) {
				c.Issuer, c.Audience = "billing-tests", jwt.ClaimStrings{"billing-api"}
				c.ExpiresAt = nil
			})), path(parent), 401, "TokenException"},
			{"not valid yet", sign(t, jwt.SigningMethodHS256, handlertest.Secret, claims([]string{auth.RoleSystemAdministrator}, nil, func(c *auth.Claims) {
				c.Issuer, c.Audience = "billing-tests", jwt.ClaimStrings{"billing-api"}
				c.NotBefore = jwt.NewNumericDate(handlertest.Now.Add(time.Hour))
			})), path(parent), 401, "TokenException"},
			{"wrong issuer", sign(t, jwt.SigningMethodHS256, handlertest.Secret, claims([]string{auth.RoleSystemAdministrator}, nil, func(c *auth.Claims) { c.Issuer, c.Audience = "someone-else", jwt.ClaimStrings{"billing-api"} })), path(parent), 401, "TokenException"},
			{"wrong audience", sign(t, jwt.SigningMethodHS256, handlertest.Secret, claims([]string{auth.RoleSystemAdministrator}, nil, func(c *auth.Claims) { c.Issuer, c.Audience = "billing-tests", jwt.ClaimStrings{"other-api"} })), path(parent), 401, "TokenException"},
			{"no audience", sign(t, jwt.SigningMethodHS256, handlertest.Secret, claims([]string{auth.RoleSystemAdministrator}, nil, func(c *auth.Claims) { c.Issuer = "billing-tests" })), path(parent), 401, "TokenException"},
			{"missing role", good([]string{"Viewer"}, parent), path(parent), 403, "Forbidden"},
			{"role in the wrong case", good([]string{"manager"}, parent), path(parent), 403, "Forbidden"},
			{"admin reads any account", admin, path(other), 200, ""},
			{"admin, unknown account", admin, path(unknown), 404, "NotFound"},
			{"manager, own account", manager, path(parent), 200, ""},
			{"manager, sub-account", manager, path(child), 200, ""},
			{"manager, sub-sub-account", manager, path(grandchild), 200, ""},
			{"manager, other account", manager, path(other), 403, "Forbidden"},
			{"manager, unknown account", manager, path(unknown), 403, "Forbidden"},
			{"manager of a child, its parent", good([]string{auth.RoleManager}, child), path(parent), 403, "Forbidden"},
			{"manager without accounts", good([]string{auth.RoleManager}), path(parent), 403, "Forbidden"},
			{"manager, own account by default", manager, "/billing/usage", 200, ""},
			{"admin, no AccountId", admin, "/billing/usage", 400, "Required"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.Get(c.path, c.token)
				if c.status == 200 {
					if r.StatusCode != 200 {
						t.Fatalf("status %d: %s", r.StatusCode, r.Body)
					}
					return
				}
				r.ExpectError(t, c.status, c.code)
				if c.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
				}
				if strings.Contains(string(r.Body), "golang") || strings.Contains(string(r.Body), "jwt.") {
					t.Errorf("error leaks internals: %s", r.Body)
				}
			})
		}

		t.Run("ss-tok cookie", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.Srv.URL+path(child), nil)
			req.AddCookie(&http.Cookie{Name: "ss-tok", Value: manager})
			if r := e.Send(req); r.StatusCode != 200 {
				t.Fatalf("status %d: %s", r.StatusCode, r.Body)
			}
		})
		t.Run("basic credentials are not a bearer token", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.Srv.URL+path(child), nil)
			req.SetBasicAuth(parent, "x")
			req.AddCookie(&http.Cookie{Name: "ss-tok", Value: manager})
			e.Send(req).ExpectError(t, 401, "Unauthorized")
		})
		t.Run("ingestion needs SystemAdministrator", func(t *testing.T) {
			body := []byte(`{"events":[{"id":"e1","accountSid":"` + parent + `","category":"calls","occurredAt":"2024-01-02T00:00:00Z"}]}`)
			e.Do(http.MethodPost, "/billing/usage/events", manager, body).ExpectError(t, 403, "Forbidden")
			e.Do(http.MethodPost, "/billing/usage/events", "", body).ExpectError(t, 401, "Unauthorized")
			if r := e.Do(http.MethodPost, "/billing/usage/events", admin, body); r.StatusCode != 200 {
				t.Fatalf("admin ingest: %d %s", r.StatusCode, r.Body)
			}
		})
	})
}

func TestHealthChecksNeedNoAuth(t *testing.T) {
	e := handlertest.New(t, repotest.Open(t, "sqlite"))
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := e.Get(p, ""); r.StatusCode != 200 {
			t.Errorf("GET %s: %d %s", p, r.StatusCode, r.Body)
		}
	}
	e.Get("/no/such/route", "").ExpectError(t, 404, "NotFound")
}

// rawToken signs any header and claims text with the test secret, so that
// a token can carry what no JWT library would write.
func rawToken(t *testing.T, header, claims string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(header)) + "." + enc([]byte(claims))
	sig, err := jwt.SigningMethodHS256.Sign(signing, handlertest.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + enc(sig)
}

// TestLenientTokensRefused: tokens that a lenient reader would take are 401
// with the real reason, on both faces and by cookie too.
func TestLenientTokensRefused(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e := handlertest.New(t, store, func(c *auth.JWTConfig) { c.Issuer, c.Audience = "billing-tests", "billing-api" })
		sid := e.Account("Parent", "", models.NewDate(2024, 1, 1))
		exp := handlertest.Now.Add(time.Hour).Unix()
		const hdr = `{"alg":"HS256","typ":"JWT"}`
		rest := fmt.Sprintf(`"iss":"billing-tests","aud":"billing-api","sub":"u1","exp":%d,"accountIds":["%s"]`, exp, sid)
		good := rawToken(t, hdr, `{`+rest+`,"roles":["SystemAdministrator"]}`)
		cases := []struct{ name, token, reason string }{
			{"crit naming an unknown extension", rawToken(t, `{"alg":"HS256","typ":"JWT","crit":["urn:example:ext"],"urn:example:ext":true}`, `{`+rest+`,"roles":["SystemAdministrator"]}`), "crit"},
			{"exp as a string", rawToken(t, hdr, fmt.Sprintf(`{"iss":"billing-tests","aud":"billing-api","sub":"u1","exp":"%d","roles":["SystemAdministrator"]}`, exp)), "exp must be a number"},
			{"roles twice", rawToken(t, hdr, `{`+rest+`,"roles":["Viewer"],"roles":["SystemAdministrator"]}`), `"roles" twice`},
			{"roles and Roles", rawToken(t, hdr, `{`+rest+`,"roles":["Viewer"],"Roles":["SystemAdministrator"]}`), `twice`},
			{"alg twice in the header", rawToken(t, `{"alg":"HS256","alg":"HS256"}`, `{`+rest+`,"roles":["SystemAdministrator"]}`), `"alg" twice`},
			{"no issuer", rawToken(t, hdr, fmt.Sprintf(`{"aud":"billing-api","sub":"u1","exp":%d,"roles":["SystemAdministrator"]}`, exp)), "Token has no issuer"},
			{"no audience", rawToken(t, hdr, fmt.Sprintf(`{"iss":"billing-tests","sub":"u1","exp":%d,"roles":["SystemAdministrator"]}`, exp)), "Token has no audience"},
			{"no expiry", rawToken(t, hdr, `{"iss":"billing-tests","aud":"billing-api","sub":"u1","roles":["SystemAdministrator"]}`), "Token has no expiry"},
		}
		servicestack := "/billing/usage?AccountId=" + sid
		restcomm := "/2010-04-01/Accounts/" + sid + "/Usage/Records.json"
		for _, p := range []string{servicestack, restcomm} {
			if r := e.Get(p, good); r.StatusCode != 200 {
				t.Fatalf("GET %s with a well-formed token: %d %s", p, r.StatusCode, r.Body)
			}
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				eb := e.Get(servicestack, c.token).ExpectError(t, 401, "TokenException")
				if !strings.Contains(eb.ResponseStatus.Message, c.reason) {
					t.Errorf("ServiceStack message %q, want %q", eb.ResponseStatus.Message, c.reason)
				}
				req, _ := http.NewRequest(http.MethodGet, e.Srv.URL+servicestack, nil)
				req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: c.token})
				e.Send(req).ExpectError(t, 401, "TokenException")

				r := e.Get(restcomm, c.token)
				var tw struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
					Status  int    `json:"status"`
				}
				r.JSON(t, &tw)
				if r.StatusCode != 401 || tw.Code != 20003 || tw.Status != 401 || !strings.Contains(tw.Message, c.reason) {
					t.Errorf("Restcomm: %d %s, want 401 code 20003 saying %q", r.StatusCode, r.Body, c.reason)
				}
			})
		}
	})
}

// TestReadyzRetryAfter: both kinds of 503 from /readyz say when to retry.
func TestReadyzRetryAfter(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		starting, _ := handlertest.NewSignIn(t, store, func(c *handlers.Config) { c.Ready = func() bool { return false } })
		down, _ := handlertest.NewSignIn(t, store, nil)
		if r := down.Get("/readyz", ""); r.StatusCode != 200 || r.Header.Get("Retry-After") != "" {
			t.Fatalf("ready: %d %q %s", r.StatusCode, r.Header.Get("Retry-After"), r.Body)
		}
		if err := store.Close(); err != nil { // the database goes away
			t.Fatal(err)
		}
		for name, e := range map[string]*handlertest.Env{"not migrated yet": starting, "database unreachable": down} {
			r := e.Get("/readyz", "")
			if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" {
				t.Errorf("%s: %d Retry-After %q %s", name, r.StatusCode, r.Header.Get("Retry-After"), r.Body)
			}
		}
	})
}
