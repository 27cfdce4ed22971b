// Package handlers is the service's HTTP face: routes, request binding,
// authorization decisions and response encoding. It reads and writes through
// the Store interface below and never builds SQL.
package handlers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/web"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the handlers need from storage.
type Store interface {
	auth.Lineages
	auth.AuthTokens
	// Sign-in failures are counted in the database, so that every instance
	// behind a load balancer sees them.
	auth.ThrottleStore
	Account(ctx context.Context, sid string) (models.Account, error)
	AccountOverview(ctx context.Context, sid string) (models.AccountOverview, error)
	Descendants(ctx context.Context, sid string) ([]string, error)
	FirstUsageDay(ctx context.Context, accounts []string) (models.Date, bool, error)
	UsageTotals(ctx context.Context, q models.UsageQuery) (models.Totals, error)
	UsageByPeriod(ctx context.Context, q models.UsageQuery, g models.Granularity) (models.PeriodTotals, error)
	RecordUsageEvents(ctx context.Context, events []models.UsageEvent) (models.IngestResult, error)
	ListAccounts(ctx context.Context, f models.AccountFilter) (models.AccountPage, error)
	ListAccountUsage(ctx context.Context, r models.Readable, q models.AccountUsageQuery) (models.AccountUsagePage, error)
	UserByName(ctx context.Context, name string) (models.User, error)
	// ReadReplica lets the usage reads made with the returned context go to
	// a healthy read replica, and says when its data is current to (zero:
	// the primary serves, current now). Everything else uses the primary.
	ReadReplica(ctx context.Context) (context.Context, time.Time)
	Ping(ctx context.Context) error
	// Unavailable tells whether an error means the database is unreachable,
	// which requests report as 503 "try again", not as an internal error.
	Unavailable(err error) bool
	DBStats() sql.DBStats
}

// Config wires the handlers to their collaborators.
type Config struct {
	Store    Store
	Verifier *auth.Verifier
	// Signer issues sign-in tokens; without one, sign-in answers 503.
	Signer *auth.Signer
	Logger *slog.Logger
	Now    func() time.Time // the clock behind "today" and sign-in lockouts; time.Now when nil
	// RequestTimeout bounds each request's database work.
	RequestTimeout time.Duration
	// SessionTTL is how long a sign-in lasts (DefaultSessionTTL when 0).
	SessionTTL time.Duration
	// TrustedProxies are the networks whose X-Forwarded-For names the client;
	// without them the peer address is the client.
	TrustedProxies []*net.IPNet
	// SignInLimits per user name and per client address; the auth package's
	// defaults when zero.
	NameLimit, AddrLimit auth.ThrottleLimit
	// Collectors are more metrics for /metrics: the stream consumer's and
	// the usage trigger engine's.
	Collectors []prometheus.Collector
	// QueryBudget bounds the usage queries running at once, in the weight
	// units of admission.go; by default two full pages per database
	// connection. QueryWait is how long a query waits for room before a 503
	// (DefaultQueryWait when 0).
	QueryBudget int
	QueryWait   time.Duration
	// Ready reports whether the database is migrated and the API may serve;
	// until then requests that need the database get 503. nil means ready
	// from the start.
	Ready func() bool
	// Triggers serves the Usage Triggers resource; without it the resource is absent.
	Triggers TriggerEngine
}

// API holds the handlers' shared state.
type API struct {
	store      Store
	verifier   *auth.Verifier
	signer     *auth.Signer
	passwords  *auth.Passwords
	throttle   *auth.SignInThrottle
	sessionTTL time.Duration
	scope      *auth.Scope
	log        *slog.Logger
	now        func() time.Time
	ops        *operations
	ready      func() bool
	metrics    *metrics
	queries    *queryLimit
	triggers   TriggerEngine
}

// Limits on request bodies: ingestion batches are large, nothing else is.
const (
	eventsBodyLimit  = "16M"
	defaultBodyLimit = "1M"
	signInBodyLimit  = "16K"
)

// New builds the echo server with every route.
func New(cfg Config) *echo.Echo {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Ready == nil {
		cfg.Ready = func() bool { return true }
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.NameLimit == (auth.ThrottleLimit{}) {
		cfg.NameLimit = auth.DefaultNameLimit
	}
	if cfg.AddrLimit == (auth.ThrottleLimit{}) {
		cfg.AddrLimit = auth.DefaultAddrLimit
	}
	if cfg.QueryBudget == 0 {
		cfg.QueryBudget = max(cfg.Store.DBStats().MaxOpenConnections, 1) * queryBudgetPerConn
	}
	if cfg.QueryWait == 0 {
		cfg.QueryWait = DefaultQueryWait
	}
	a := &API{
		store:      cfg.Store,
		verifier:   cfg.Verifier,
		signer:     cfg.Signer,
		passwords:  auth.NewPasswords(),
		throttle:   auth.NewSignInThrottle(cfg.Store, cfg.NameLimit, cfg.AddrLimit, cfg.Now),
		sessionTTL: cfg.SessionTTL,
		scope:      auth.NewScope(cfg.Store, models.ErrNotFound),
		log:        cfg.Logger,
		now:        cfg.Now,
		ready:      cfg.Ready,
		metrics:    newMetrics(cfg.Store.DBStats, cfg.Collectors...),
		queries:    newQueryLimit(int64(cfg.QueryBudget), cfg.QueryWait),
		triggers:   cfg.Triggers,
	}
	assets, err := web.Assets()
	if err != nil {
		panic(fmt.Sprintf("the embedded dashboard cannot be read: %v", err)) // a build defect
	}
	static := staticFiles{assets: assets}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = a.handleError
	e.IPExtractor = clientAddress(cfg.TrustedProxies)
	e.Pre(middleware.RemoveTrailingSlash())
	e.Use(
		a.metrics.middleware,
		middleware.RequestID(),
		a.accessLog,
		middleware.Recover(),
		securityHeaders,
		sameOriginWrites(cfg.TrustedProxies),
		requestTimeout(cfg.RequestTimeout),
		a.requireReady,
	)

	e.GET("/healthz", a.healthz)
	e.GET("/readyz", a.readyz)
	// Counts and timings by route only: no token needed, no account data.
	e.GET("/metrics", a.metrics.handler())

	// The dashboard and its sign-in.
	e.GET("/", static.page)
	e.GET("/static/*", static.file)
	e.POST("/auth/credentials", a.signIn, middleware.BodyLimit(signInBodyLimit))
	e.POST("/auth/logout", a.signOut, middleware.BodyLimit(signInBodyLimit))
	e.GET("/auth", a.session)

	// The ServiceStack operations: each gets its routes, formats, metadata
	// and TypeScript DTO from the registry (see Operation).
	a.mount(e, []Operation{
		a.listAccountsOp(),
		a.listUsageRecordsOp(),
		a.listAccountUsageOp(),
		a.recordUsageEventsOp(),
	})
	// The Restcomm/Twilio Usage Records face, with its own errors and auth.
	a.usageRecordsRoutes(e)
	return e
}

// clientAddress says where a request comes from: the peer, or what
// X-Forwarded-For says when the peer is a trusted proxy. Trusting the header
// from anyone would let a client pick its own address and dodge the sign-in
// throttle.
func clientAddress(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// DefaultRequestTimeout bounds a request, its database calls included.
const DefaultRequestTimeout = 10 * time.Second

// errNotReady is what requests that need the database get until it has been
// reached and migrated; each face renders it as its own 503.
var errNotReady = errors.New("the database has not been reached and migrated yet")

// errUnavailable is the ServiceStack answer while the database is down or
// not yet migrated.
var errUnavailable = &apiError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable",
	Message: "The usage database is not available at the moment; try again in a few seconds"}

// requireReady answers 503 until the database has been reached and
// migrated, so that a service started before its database says so clearly.
// It guards every route but those that work without the database, so that
// a new route is guarded unless said otherwise. The Restcomm face guards its
// routes itself, after its error middleware, to answer in Twilio's shape.
func (a *API) requireReady(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if a.ready() || databaseFree(c.Path()) || isRestcommRoute(c.Path()) {
			return next(c)
		}
		return errNotReady
	}
}

// guardReady is requireReady for the routes of a group that renders its own
// errors.
func (a *API) guardReady(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !a.ready() {
			return errNotReady
		}
		return next(c)
	}
}

// databaseFree are the routes that answer without the database; "" is a
// path no route matched.
func databaseFree(route string) bool {
	switch route {
	case "", "/healthz", "/readyz", "/metrics", "/", "/static/*", "/metadata", "/types/typescript", "/auth", "/auth/logout":
		return true
	}
	return false
}

func isRestcommRoute(route string) bool {
	for _, f := range faces {
		if strings.HasPrefix(route, f.prefix+"/") {
			return true
		}
	}
	return false
}

// today is the current UTC calendar day by the injected clock.
func (a *API) today() models.Date { return models.DateOf(a.now()) }

// requestTimeout gives every request a deadline that database calls inherit.
func requestTimeout(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// accessLog writes one structured line per request, tagged with its id.
func (a *API) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the error now, so that the status logged is the one sent
		}
		req, res := c.Request(), c.Response()
		a.log.LogAttrs(req.Context(), slog.LevelInfo, "request",
			slog.String("id", res.Header().Get(echo.HeaderXRequestID)),
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.Int("status", res.Status),
			slog.Int64("bytes", res.Size),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", c.RealIP()),
		)
		return nil
	}
}

func (a *API) healthz(c echo.Context) error {
	return writeJSON(c, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(c echo.Context) error {
	// Load balancers and `billing check` may retry a 503 after this long.
	notReady := func(status string) error {
		c.Response().Header().Set("Retry-After", "1")
		return writeJSON(c, http.StatusServiceUnavailable, map[string]string{"status": status})
	}
	if !a.ready() {
		return notReady("starting: the database has not been reached and migrated yet")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.log.Warn("database not reachable", "err", err)
		return notReady("database unavailable")
	}
	return writeJSON(c, http.StatusOK, map[string]string{"status": "ready"})
}
