package handlers_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/handlers/servicestack"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// testPassword is every test user's password; its hash is made once.
const testPassword = "correct horse battery staple"

var testPasswordHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(testPassword)
	if err != nil {
		panic(err)
	}
	return h
})

// clock is a test clock that only moves when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// newSignInEnv is newEnv with a signer, a movable clock and room to adjust
// the handlers' configuration.
func newSignInEnv(t *testing.T, store *repo.Store, mod func(*handlers.Config)) (*env, *clock) {
	t.Helper()
	clk := &clock{now: frozenNow}
	cfg := auth.JWTConfig{Algorithm: "HS256", Secret: testSecret, Now: clk.Now}
	verifier, err := auth.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auth.NewSigner(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := handlers.Config{
		Store:    store,
		Verifier: verifier,
		Signer:   signer,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:      clk.Now,
		// Ten bcrypt checks (cost 12) at once on two cores shared with other
		// work took longer than the 10 s default: these tests are about the
		// throttle's decisions, not the deadline.
		RequestTimeout: time.Minute,
	}
	if mod != nil {
		mod(&hc)
	}
	srv := httptest.NewServer(handlers.New(hc))
	t.Cleanup(srv.Close)
	return &env{t: t, store: store, srv: srv, signer: signer}, clk
}

// user stores a user with the test password.
func (e *env) user(name, display string, roles []string, accounts ...string) models.User {
	e.t.Helper()
	u, err := e.store.CreateUser(e.t.Context(), models.User{Name: name, DisplayName: display, PasswordHash: testPasswordHash(),
		Roles: roles, AccountIDs: accounts, CreatedAt: frozenNow})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// signIn posts JSON credentials, with extra headers as name, value pairs.
func (e *env) signIn(name, password string, headers ...string) response {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"userName": name, "password": password})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/auth/credentials", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.send(req)
}

func tokenCookie(t *testing.T, r response) *http.Cookie {
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
		e, _ := newSignInEnv(t, store, nil)
		day := models.NewDate(2024, 1, 1)
		parent := e.account("Parent", "", day)
		child := e.account("Child", parent, day)
		other := e.account("Other", "", day)
		alice := e.user("alice", "Alice Example", []string{auth.RoleManager}, parent)

		t.Run("JSON", func(t *testing.T) {
			r := e.signIn("alice", testPassword)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", r.StatusCode, r.body)
			}
			var got servicestack.AuthenticateResponse
			r.json(t, &got)
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
			e.records("/billing/usage?AccountId="+child, got.BearerToken)
			e.get("/billing/usage?AccountId="+other, got.BearerToken).expectError(t, 403, "Forbidden")
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/auth", nil)
			req.AddCookie(ck)
			var session servicestack.AuthenticateResponse
			e.send(req).json(t, &session)
			if session.UserName != "alice" || session.DisplayName != "Alice Example" || session.BearerToken != "" {
				t.Errorf("GET /auth: %+v", session)
			}
			claims := tokenClaims(t, got.BearerToken)
			if claims["exp"].(float64)-claims["iat"].(float64) != handlers.DefaultSessionTTL.Seconds() {
				t.Errorf("token lifetime %v", claims)
			}
		})

		t.Run("form, name in any case", func(t *testing.T) {
			r := e.send(formRequest(e.srv.URL+"/auth/credentials", url.Values{"UserName": {"ALICE"}, "Password": {testPassword}}))
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", r.StatusCode, r.body)
			}
			tokenCookie(t, r)
		})

		t.Run("Secure behind a TLS proxy", func(t *testing.T) {
			r := e.signIn("alice", testPassword, "X-Forwarded-Proto", "https")
			if ck := tokenCookie(t, r); !ck.Secure {
				t.Errorf("cookie not Secure: %+v", ck)
			}
		})

		t.Run("wrong password and unknown user look alike", func(t *testing.T) {
			// Each failure takes a second: ask at once.
			var wrong, unknown, bad response
			var wg sync.WaitGroup
			wg.Go(func() { wrong = e.signIn("alice", "not the password") })
			wg.Go(func() { unknown = e.signIn("nobody", testPassword) })
			wg.Go(func() { bad = e.signIn("Not a name!", testPassword) })
			wg.Wait()
			for _, r := range []response{wrong, unknown, bad} {
				eb := r.expectError(t, 401, "Unauthorized")
				if eb.ResponseStatus.Message != "Invalid UserName or Password" {
					t.Errorf("message %q", eb.ResponseStatus.Message)
				}
				if len(r.Cookies()) != 0 {
					t.Errorf("a failed sign-in sets cookies: %v", r.Cookies())
				}
			}
			if string(wrong.body) != string(unknown.body) {
				t.Errorf("the answers differ:\n%s\n%s", wrong.body, unknown.body)
			}
		})

		t.Run("missing fields", func(t *testing.T) {
			r := e.do(http.MethodPost, "/auth/credentials", "", []byte(`{}`))
			eb := r.expectError(t, 400, "Required")
			if len(eb.ResponseStatus.Errors) != 2 {
				t.Errorf("errors %+v", eb.ResponseStatus.Errors)
			}
			e.do(http.MethodPost, "/auth/credentials", "", []byte(`not json`)).expectError(t, 400, "Invalid")
		})

		t.Run("credentials in the URL are ignored", func(t *testing.T) {
			q := url.Values{"userName": {"alice"}, "password": {testPassword}}.Encode()
			e.send(formRequest(e.srv.URL+"/auth/credentials?"+q, url.Values{})).expectError(t, 400, "Required")
			// The body's password counts, not the URL's.
			r := e.send(formRequest(e.srv.URL+"/auth/credentials?password=bogus", url.Values{"userName": {"alice"}, "password": {testPassword}}))
			if r.StatusCode != http.StatusOK {
				t.Errorf("status %d: %s", r.StatusCode, r.body)
			}
		})

		t.Run("other sites may not sign a browser in", func(t *testing.T) {
			e.signIn("alice", testPassword, "Sec-Fetch-Site", "cross-site").expectError(t, 403, "Forbidden")
		})

		t.Run("logout clears the cookie", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/auth/logout", nil)
			r := e.send(req)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", r.StatusCode, r.body)
			}
			ck := tokenCookie(t, r)
			if ck.Value != "" || ck.MaxAge >= 0 || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
				t.Errorf("cookie %+v (%s)", ck, r.Header.Get("Set-Cookie"))
			}
		})

		t.Run("GET /auth", func(t *testing.T) {
			e.get("/auth", "").expectError(t, 401, "Unauthorized")
			// A token from `billing token` has no user name: the subject stands in.
			var got servicestack.AuthenticateResponse
			e.get("/auth", e.admin()).json(t, &got)
			if got.UserID != "user-1" || got.UserName != "user-1" || got.DisplayName != "Test User" {
				t.Errorf("GET /auth: %+v", got)
			}
		})
	})
}

func TestSignInThrottle(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
		e, clk := newSignInEnv(t, store, func(c *handlers.Config) {
			c.TrustedProxies = []*net.IPNet{loopback}
			c.AddrLimit = auth.ThrottleLimit{Failures: 8, Window: 15 * time.Minute, FirstLockout: time.Minute, MaxLockout: time.Hour}
		})
		e.user("bob", "Bob", []string{auth.RoleSystemAdministrator})
		from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }

		// Ten guesses at once: five are checked (and fail), five are refused
		// before any password is compared.
		var wg sync.WaitGroup
		results := make(chan response, 10)
		for i := range 10 {
			wg.Go(func() { results <- e.signIn("bob", "guess", from("198.51.100."+string(rune('1'+i%5)))...) })
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
		r := e.signIn("bob", testPassword, from("192.0.2.50")...)
		r.expectError(t, 429, "TooManyRequests")
		if got := r.Header.Get("Retry-After"); got != "60" {
			t.Errorf("Retry-After %q, want 60", got)
		}
		clk.advance(61 * time.Second)
		if r := e.signIn("bob", testPassword, from("192.0.2.50")...); r.StatusCode != http.StatusOK {
			t.Fatalf("after the lockout: %d %s", r.StatusCode, r.body)
		}

		// One address guessing at many names is stopped too.
		for i := range 8 {
			wg.Go(func() {
				r := e.signIn("user"+string(rune('a'+i)), "guess", from("203.0.113.9")...)
				if r.StatusCode != http.StatusUnauthorized {
					t.Errorf("guess %d: %d %s", i, r.StatusCode, r.body)
				}
			})
		}
		wg.Wait()
		e.signIn("bob", testPassword, from("203.0.113.9")...).expectError(t, 429, "TooManyRequests")
		if r := e.signIn("bob", testPassword, from("203.0.113.10")...); r.StatusCode != http.StatusOK {
			t.Errorf("another address: %d %s", r.StatusCode, r.body)
		}
	})
}

func TestSignInWithoutSigningKey(t *testing.T) {
	e, _ := newSignInEnv(t, repotest.Open(t, "sqlite"), func(c *handlers.Config) { c.Signer = nil })
	eb := e.signIn("alice", testPassword).expectError(t, 503, "SignInUnavailable")
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
