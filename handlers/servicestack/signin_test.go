package servicestack_test

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/handlers/servicestack"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

func tokenCookie(t *testing.T, r handlertest.Response) *http.Cookie {
	t.Helper()
	for _, c := range r.Cookies() {
		if c.Name == "ss-tok" {
			return c
		}
	}
	t.Fatalf("no ss-tok cookie in %v", r.Header.Values("Set-Cookie"))
	return nil
}

func TestSignIn(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		e, _ := handlertest.NewSignIn(t, store, nil)
		day := models.NewDate(2024, 1, 1)
		parent := e.Account("Parent", "", day)
		child := e.Account("Child", parent, day)
		other := e.Account("Other", "", day)
		alice := handlertest.AddUser(e, "alice", "Alice Example", []string{auth.RoleManager}, parent)

		t.Run("JSON", func(t *testing.T) {
			r := handlertest.SignIn(e, "alice", handlertest.Password)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", r.StatusCode, r.Body)
			}
			var got servicestack.AuthenticateResponse
			r.JSON(t, &got)
			if got.UserName != "alice" || got.DisplayName != "Alice Example" ||
				strings.Join(got.Roles, ",") != "Manager" || got.BearerToken == "" {
				t.Fatalf("answer %+v", got)
			}
			if got.UserID != jsonNumber(alice.ID) {
				t.Errorf("userId %q, want %d", got.UserID, alice.ID)
			}
			ck := tokenCookie(t, r)
			if ck.Value != got.BearerToken || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure {
				t.Errorf("cookie %+v", ck)
			}
			if ck.MaxAge != int(handlers.DefaultSessionTTL.Seconds()) {
				t.Errorf("cookie Max-Age %d", ck.MaxAge)
			}
			// The token carries the user's scope, by header and by cookie.
			e.Records("/billing/usage?AccountId="+child, got.BearerToken)
			e.Get("/billing/usage?AccountId="+other, got.BearerToken).ExpectError(t, 403, "Forbidden")
			req, _ := http.NewRequest(http.MethodGet, e.Srv.URL+"/auth", nil)
			req.AddCookie(ck)
			var session servicestack.AuthenticateResponse
			e.Send(req).JSON(t, &session)
			if session.UserName != "alice" || session.DisplayName != "Alice Example" || session.BearerToken != "" {
				t.Errorf("GET /auth: %+v", session)
			}
			claims := tokenClaims(t, got.BearerToken)
			if claims["exp"].(float64)-claims["iat"].(float64) != handlers.DefaultSessionTTL.Seconds() {
				t.Errorf("token lifetime %v", claims)
			}
		})

		t.Run("form, name in any case", func(t *testing.T) {
			r := e.Send(formRequest(e.Srv.URL+"/auth/credentials", url.Values{"UserName": {"ALICE"}, "Password": {handlertest.Password}}))
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", r.StatusCode, r.Body)
			}
			tokenCookie(t, r)
		})

		t.Run("Secure behind a TLS proxy", func(t *testing.T) {
			r := handlertest.SignIn(e, "alice", handlertest.Password, "X-Forwarded-Proto", "https")
			if ck := tokenCookie(t, r); !ck.Secure {
				t.Errorf("cookie not Secure: %+v", ck)
			}
		})

		t.Run("wrong password and unknown user look alike", func(t *testing.T) {
			// Each failure takes a second: ask at once.
			var wrong, unknown, bad handlertest.Response
			var wg sync.WaitGroup
			wg.Go(func() { wrong = handlertest.SignIn(e, "alice", "not the password") })
			wg.Go(func() { unknown = handlertest.SignIn(e, "nobody", handlertest.Password) })
			wg.Go(func() { bad = handlertest.SignIn(e, "Not a name!", handlertest.Password) })
			wg.Wait()
			for _, r := range []handlertest.Response{wrong, unknown, bad} {
				eb := r.ExpectError(t, 401, "Unauthorized")
				if eb.ResponseStatus.Message != "Invalid UserName or Password" {
					t.Errorf("message %q", eb.ResponseStatus.Message)
				}
				if len(r.Cookies()) != 0 {
					t.Errorf("a failed sign-in sets cookies: %v", r.Cookies())
				}
			}
			if string(wrong.Body) != string(unknown.Body) {
				t.Errorf("the answers differ:\n%s\n%s", wrong.Body, unknown.Body)
			}
		})

		t.Run("missing fields", func(t *testing.T) {
			r := e.Do(http.MethodPost, "/auth/credentials", "", []byte(`{}`))
			eb := r.ExpectError(t, 400, "Required")
			if len(eb.ResponseStatus.Errors) != 2 {
				t.Errorf("errors %+v", eb.ResponseStatus.Errors)
			}
			e.Do(http.MethodPost, "/auth/credentials", "", []byte(`not json`)).ExpectError(t, 400, "Invalid")
		})

		t.Run("credentials in the URL are ignored", func(t *testing.T) {
			q := url.Values{"userName": {"alice"}, "password": {handlertest.Password}}.Encode()
			e.Send(formRequest(e.Srv.URL+"/auth/credentials?"+q, url.Values{})).ExpectError(t, 400, "Required")
			// The body's password counts, not the URL's.
			r := e.Send(formRequest(e.Srv.URL+"/auth/credentials?password=bogus", url.Values{"userName": {"alice"}, "password": {handlertest.Password}}))
			if r.StatusCode != http.StatusOK {
				t.Errorf("status %d: %s", r.StatusCode, r.Body)
			}
		})

		t.Run("other sites may not sign a browser in", func(t *testing.T) {
			handlertest.SignIn(e, "alice", handlertest.Password, "Sec-Fetch-Site", "cross-site").ExpectError(t, 403, "Forbidden")
		})

		t.Run("logout clears the cookie", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.Srv.URL+"/auth/logout", nil)
			r := e.Send(req)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", r.StatusCode, r.Body)
			}
			ck := tokenCookie(t, r)
			if ck.Value != "" || ck.MaxAge >= 0 || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
				t.Errorf("cookie %+v (%s)", ck, r.Header.Get("Set-Cookie"))
			}
		})

		t.Run("GET /auth", func(t *testing.T) {
			e.Get("/auth", "").ExpectError(t, 401, "Unauthorized")
			// A token from `billing token` has no user name: the subject stands in.
			var got servicestack.AuthenticateResponse
			e.Get("/auth", e.Admin()).JSON(t, &got)
			if got.UserID != "user-1" || got.UserName != "user-1" || got.DisplayName != "Test User" {
				t.Errorf("GET /auth: %+v", got)
			}
		})
	})
}

func TestSignInThrottle(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
		e, clk := handlertest.NewSignIn(t, store, func(c *handlers.Config) {
			c.TrustedProxies = []*net.IPNet{loopback}
			c.AddrLimit = auth.ThrottleLimit{Failures: 8, Window: 15 * time.Minute, FirstLockout: time.Minute, MaxLockout: time.Hour}
		})
		handlertest.AddUser(e, "bob", "Bob", []string{auth.RoleSystemAdministrator})
		from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }

		// Ten guesses at once: five are checked (and fail), five are refused
		// before any password is compared.
		var wg sync.WaitGroup
		results := make(chan handlertest.Response, 10)
		for i := range 10 {
			wg.Go(func() { results <- handlertest.SignIn(e, "bob", "guess", from("198.51.100."+string(rune('1'+i%5)))...) })
		}
		wg.Wait()
		close(results)
		statuses := map[int]int{}
		for r := range results {
			statuses[r.StatusCode]++
			if r.StatusCode == http.StatusTooManyRequests && r.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
		if statuses[401] != 5 || statuses[429] != 5 {
			t.Fatalf("statuses %v, want five 401 and five 429", statuses)
		}

		// Locked out: even the right password is refused, for a minute.
		r := handlertest.SignIn(e, "bob", handlertest.Password, from("192.0.2.50")...)
		r.ExpectError(t, 429, "TooManyRequests")
		if got := r.Header.Get("Retry-After"); got != "60" {
			t.Errorf("Retry-After %q, want 60", got)
		}
		clk.Advance(61 * time.Second)
		if r := handlertest.SignIn(e, "bob", handlertest.Password, from("192.0.2.50")...); r.StatusCode != http.StatusOK {
			t.Fatalf("after the lockout: %d %s", r.StatusCode, r.Body)
		}

		// One address guessing at many names is stopped too.
		for i := range 8 {
			wg.Go(func() {
				r := handlertest.SignIn(e, "user"+string(rune('a'+i)), "guess", from("203.0.113.9")...)
				if r.StatusCode != http.StatusUnauthorized {
					t.Errorf("guess %d: %d %s", i, r.StatusCode, r.Body)
				}
			})
		}
		wg.Wait()
		handlertest.SignIn(e, "bob", handlertest.Password, from("203.0.113.9")...).ExpectError(t, 429, "TooManyRequests")
		if r := handlertest.SignIn(e, "bob", handlertest.Password, from("203.0.113.10")...); r.StatusCode != http.StatusOK {
			t.Errorf("another address: %d %s", r.StatusCode, r.Body)
		}
	})
}

func TestSignInWithoutSigningKey(t *testing.T) {
	e, _ := handlertest.NewSignIn(t, repotest.Open(t, "sqlite"), func(c *handlers.Config) { c.Signer = nil })
	eb := handlertest.SignIn(e, "alice", handlertest.Password).ExpectError(t, 503, "SignInUnavailable")
	if !strings.Contains(eb.ResponseStatus.Message, "BILLING_JWT_PRIVATE_KEY") {
		t.Errorf("message %q", eb.ResponseStatus.Message)
	}
}

func formRequest(u string, form url.Values) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// tokenClaims reads a JWT's claims without checking it.
func tokenClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }
