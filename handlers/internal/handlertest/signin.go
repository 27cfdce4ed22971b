package handlertest

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

// Password is every test user's password; its hash is made once.
const Password = "correct horse battery staple"

var passwordHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(Password)
	if err != nil {
		panic(err)
	}
	return h
})

// Clock is a test Clock that only moves when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// NewSignIn is newEnv with a signer, a movable Clock and room to adjust
// the handlers' configuration.
// NewSignIn starts a server that signs users in, on a clock the test moves.
func NewSignIn(t *testing.T, store *repo.Store, mod func(*handlers.Config)) (*Env, *Clock) {
	t.Helper()
	clk := &Clock{now: Now}
	cfg := auth.JWTConfig{Algorithm: "HS256", Secret: Secret, Now: clk.Now}
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
	return NewEnv(t, store, srv, signer), clk
}

// user stores a user with the test password.
// AddUser stores a user with Password.
func AddUser(e *Env, name, display string, roles []string, accounts ...string) models.User {
	e.T.Helper()
	u, err := e.Store.CreateUser(e.T.Context(), models.User{Name: name, DisplayName: display, PasswordHash: passwordHash(),
		Roles: roles, AccountIDs: accounts, CreatedAt: Now})
	if err != nil {
		e.T.Fatal(err)
	}
	return u
}

// signIn posts JSON credentials, with extra headers as name, value pairs.
// SignIn posts credentials to /auth/credentials.
func SignIn(e *Env, name, password string, headers ...string) Response {
	e.T.Helper()
	body, _ := json.Marshal(map[string]string{"userName": name, "password": password})
	req, _ := http.NewRequest(http.MethodPost, e.Srv.URL+"/auth/credentials", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.Send(req)
}
