// Package handlers is the service's HTTP server: middleware, metrics,
// readiness, the dashboard's files, and the two API faces mounted from
// handlers/servicestack and handlers/restcomm, which share
// handlers/internal/usage (the usage plan), problem (errors) and reply
// (the response writer). It never builds SQL.
package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/evovoice/billing/handlers/internal/usage"
	"github.com/evovoice/billing/handlers/openapi"
	"github.com/evovoice/billing/handlers/restcomm"
	"github.com/evovoice/billing/handlers/servicestack"
	"github.com/evovoice/billing/web"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the server and its faces need from storage: each face's
// own contract, and the pool the server reports on.
type Store interface {
	servicestack.Store
	restcomm.Store
	usage.Store
	Ping(ctx context.Context) error
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
	// units of internal/usage/admission.go; by default two full pages per database
	// connection. QueryWait is how long a query waits for room before a 503
	// (usage.DefaultQueryWait, 1 s, when 0).
	QueryBudget int
	QueryWait   time.Duration
	// Ready reports whether the database is migrated and the API may serve;
	// until then requests that need the database get 503. nil means ready
	// from the start.
	Ready func() bool
	// Triggers serves the Usage Triggers resource; without it the resource is absent.
	Triggers restcomm.TriggerEngine
}

// server holds what the server's own routes need.
type server struct {
	store   Store
	log     *slog.Logger
	ready   func() bool
	metrics *metrics
}

// DefaultSessionTTL is how long a sign-in's token lasts.
const DefaultSessionTTL = 12 * time.Hour

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
		cfg.QueryBudget = max(cfg.Store.DBStats().MaxOpenConnections, 1) * usage.BudgetPerConn
	}
	if cfg.QueryWait == 0 {
		cfg.QueryWait = usage.DefaultQueryWait
	}
	srv := &server{store: cfg.Store, log: cfg.Logger, ready: cfg.Ready, metrics: newMetrics(cfg.Store.DBStats, cfg.Collectors...)}
	queries := usage.New(cfg.Store, cfg.Now, cfg.QueryBudget, cfg.QueryWait)
	ss := servicestack.New(servicestack.Config{
		Store: cfg.Store, Usage: queries, Verifier: cfg.Verifier, Signer: cfg.Signer, Logger: cfg.Logger,
		SessionTTL: cfg.SessionTTL, NameLimit: cfg.NameLimit, AddrLimit: cfg.AddrLimit, Now: cfg.Now,
		Ingested: srv.metrics.ingestedEvents,
	})
	rc := restcomm.New(restcomm.Config{Store: cfg.Store, Usage: queries, Verifier: cfg.Verifier, Logger: cfg.Logger, Triggers: cfg.Triggers})
	assets, err := web.Assets()
	if err != nil {
		panic(fmt.Sprintf("the embedded dashboard cannot be read: %v", err)) // a build defect
	}
	static := staticFiles{assets: assets}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	// Errors outside the Restcomm face are answered in ServiceStack's shape.
	e.HTTPErrorHandler = ss.HandleError
	e.IPExtractor = clientAddress(cfg.TrustedProxies)
	e.Pre(middleware.RemoveTrailingSlash())
	e.Use(
		srv.metrics.middleware,
		middleware.RequestID(),
		srv.accessLog,
		middleware.Recover(),
		securityHeaders,
		sameOriginWrites(cfg.TrustedProxies),
		requestTimeout(cfg.RequestTimeout),
	)

	e.GET("/healthz", srv.healthz)
	e.GET("/readyz", srv.readyz)
	// Counts and timings by route only: no token needed, no account data.
	e.GET("/metrics", srv.metrics.handler())

	// The dashboard.
	e.GET("/", static.page)
	e.GET("/static/*", static.file)

	// The two API faces. Readiness is a property of the routes that need the
	// database: each face guards those with srv.needsDB.
	ss.Mount(e, srv.needsDB)
	rc.Mount(e, srv.needsDB)

	// The OpenAPI document of both faces, built once from what they mount.
	ssPart, err := ss.OpenAPI()
	if err != nil {
		panic(fmt.Sprintf("the OpenAPI document cannot be built: %v", err)) // a build defect
	}
	doc, err := openapi.Document(ssPart, rc.OpenAPI())
	if err != nil {
		panic(fmt.Sprintf("the OpenAPI document cannot be built: %v", err))
	}
	e.GET("/openapi.json", echo.WrapHandler(openapi.NewServed(doc)))
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

// needsDB answers 503 until the database has been reached and migrated, so
// that a service started before its database says so clearly; each face
// renders it in its own shape.
func (s *server) needsDB(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.ready() {
			return problem.NotReady
		}
		return next(c)
	}
}

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
func (s *server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the error now, so that the status logged is the one sent
		}
		req, res := c.Request(), c.Response()
		s.log.LogAttrs(req.Context(), slog.LevelInfo, "request",
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

func (s *server) healthz(c echo.Context) error {
	return reply.WriteJSON(c, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) readyz(c echo.Context) error {
	// Load balancers and `billing check` may retry a 503 after this long.
	notReady := func(status string) error {
		c.Response().Header().Set("Retry-After", "1")
		return reply.WriteJSON(c, http.StatusServiceUnavailable, map[string]string{"status": status})
	}
	if !s.ready() {
		return notReady("starting: the database has not been reached and migrated yet")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("database not reachable", "err", err)
		return notReady("database unavailable")
	}
	return reply.WriteJSON(c, http.StatusOK, map[string]string{"status": "ready"})
}
